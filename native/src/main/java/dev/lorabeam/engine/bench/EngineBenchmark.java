package dev.lorabeam.engine.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.StepResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Trained tokens/s, peak memory and MFU of this engine against mlx_lm.lora, run one after the other
 * in one invocation on the same Hugging Face model directory, the same token rows, T, B, LoRA rank
 * and layers, and the same AdamW settings. The engine runs in this JVM; mlx-lm runs
 * bench_peer.py from the project venv (mlx_lm.lora's train_model and trainer.train on pre-tokenized
 * rows). MFU is against a float32 GEMM peak measured in the same run. See native/BENCHMARK.md.
 */
public final class EngineBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> ALL_KEYS = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
      "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

  /** One side's measured steps. */
  record Side(String name, long tokens, double seconds, double bestTokensPerSec, long peakBytes, List<Double> losses) {
    double tokensPerSec() {
      return tokens / seconds;
    }
  }

  private EngineBenchmark() {}

  public static void main(String[] args) throws Exception {
    BenchmarkOptions o;
    try {
      o = BenchmarkOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    PythonVenv venv = PythonVenv.locate();
    venv.problem().ifPresent(p -> {
      throw new IllegalStateException(p);
    });
    Path model = o.model() != null ? o.model() : ensureRandomModel(venv, o);
    LoraFlops shape = LoraFlops.of(model);
    int layers = Math.min(o.layers(), shape.layers());
    int[] rows = makeRows(o, shape.vocab());  // (rows, T + 1)
    Path rowsFile = Files.createTempFile("lorabeam-bench-rows", ".npy");
    writeNpy(rowsFile, rows, o.rows(), o.seqLen() + 1);

    double flopsPerToken = shape.perToken(o.seqLen(), o.rank(), layers);
    System.out.printf("== lorabeam EngineBenchmark ==%nMLX %s on %s%n", Mlx.version(), Mlx.deviceInfoJson());
    System.out.printf("model %s: %d blocks, hidden %d, heads %d/%d, vocab %d; LoRA rank %d, scale %.0f on the last"
            + " %d blocks (%,d trainable parameters)%n", model, shape.layers(), shape.hidden(), shape.heads(),
        shape.kvHeads(), shape.vocab(), o.rank(), o.scale(), layers, shape.trainableParams(o.rank(), layers));
    System.out.printf("rows: B=%d x T=%d, %d warm-up + %d measured steps per side; AdamW lr %g, weight decay %g,"
            + " bias correction %s, grad checkpoint %s%n", o.batchSize(), o.seqLen(), o.warmup(), o.steps(), o.lr(),
        o.weightDecay(), o.biasCorrection(), o.gradCheckpoint());
    System.out.printf("BLAS: engine %s; mlx-lm %s%n", loadedBlas().orElse("the MLX wheel's"),
        o.peerSameBlas() && loadedBlas().isPresent() ? "the same (LD_PRELOAD)" : "the MLX wheel's");
    double gemmBefore = Mlx.gemmGflops(o.gemmN(), 3);
    System.out.printf("float32 GEMM (%d^3, 3 products): %.2f GFLOP/s%n", o.gemmN(), gemmBefore);
    System.out.printf("model FLOPs per trained token: %.1f MFLOP (%s)%n%n", flopsPerToken / 1e6, LoraFlops.FORMULA);

    Side ours = o.runEngine() ? runEngine(o, model, layers, rows) : null;
    Side peer = o.runPeer() ? runPeer(o, venv, model, layers, rowsFile) : null;
    Files.deleteIfExists(rowsFile);
    // The peak is the better of two measurements, before and after: on a shared machine either one may be low.
    double gemmAfter = Mlx.gemmGflops(o.gemmN(), 3);
    double gemm = Math.max(gemmBefore, gemmAfter);
    System.out.printf("%nfloat32 GEMM peak: %.2f GFLOP/s (before %.2f, after %.2f)%n", gemm, gemmBefore, gemmAfter);
    report(o, ours, peer, gemm, flopsPerToken);
  }

  private static Side runEngine(BenchmarkOptions o, Path model, int layers, int[] rows) {
    System.out.printf("lorabeam: opening %s ...%n", model);
    Mlx.resetPeakMemory();
    EngineConfig config = new EngineConfig(model, o.dtype(), 0, o.rank(), o.scale(), 0.0, layers, ALL_KEYS, 0.9,
        0.999, 1e-8, o.weightDecay(), o.biasCorrection(), 0.0, 1, o.gradCheckpoint(), o.seed());
    long tokens = 0;
    double seconds = 0;
    double best = 0;
    List<Double> losses = new ArrayList<>();
    try (Engine engine = Engine.open(config)) {
      for (int s = 0; s < o.warmup() + o.steps(); s++) {
        Batch batch = batch(o, rows, s);
        long tic = System.nanoTime();
        StepResult r = engine.step(batch, o.lr());
        double secs = (System.nanoTime() - tic) / 1e9;
        losses.add(r.loss());
        boolean measured = s >= o.warmup();
        if (measured) {
          tokens += r.trainedTokens();
          seconds += secs;
          best = Math.max(best, r.trainedTokens() / secs);
        }
        System.out.printf("lorabeam step %d%s: loss %.4f, %d tokens in %.2f s (%.1f tokens/s)%n", s + 1,
            measured ? "" : " (warm-up)", r.loss(), r.trainedTokens(), secs, r.trainedTokens() / secs);
      }
      long peak = Mlx.peakMemory();
      timeValidation(o, engine, rows);
      return new Side("lorabeam", tokens, seconds, best, peak, losses);
    }
  }

  /** Validation (Engine.evalLoss, no gradient) on the first batch: one warm-up call, then the best of two. */
  private static void timeValidation(BenchmarkOptions o, Engine engine, int[] rows) {
    Batch batch = batch(o, rows, 0);
    engine.evalLoss(batch);
    double best = Double.MAX_VALUE;
    for (int i = 0; i < 2; i++) {
      long tic = System.nanoTime();
      engine.evalLoss(batch);
      best = Math.min(best, (System.nanoTime() - tic) / 1e9);
    }
    System.out.printf("lorabeam validation: %d tokens in %.2f s (%.1f tokens/s, best of 2 after a warm-up)%n",
        batch.rows() * batch.seqLen(), best, batch.rows() * batch.seqLen() / best);
  }

  private static Side runPeer(BenchmarkOptions o, PythonVenv venv, Path model, int layers, Path rowsFile) {
    System.out.printf("%nmlx_lm.lora: running bench_peer.py from %s (its report follows on stderr) ...%n", venv.venv());
    List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--rows", rowsFile.toString(),
        "--batch-size", String.valueOf(o.batchSize()), "--warmup", String.valueOf(o.warmup()),
        "--steps", String.valueOf(o.steps()), "--rank", String.valueOf(o.rank()), "--scale", String.valueOf(o.scale()),
        "--num-layers", String.valueOf(layers), "--lr", String.valueOf(o.lr()),
        "--weight-decay", String.valueOf(o.weightDecay()), "--seed", String.valueOf(o.seed())));
    if (o.biasCorrection()) {
      args.add("--bias-correction");
    }
    if (o.gradCheckpoint()) {
      args.add("--grad-checkpoint");
    }
    JsonNode r = venv.runScript(Duration.ofHours(6), "bench_peer.py", args, true, peerEnv(o));
    List<Double> losses = new ArrayList<>();
    r.get("losses").forEach(n -> losses.add(n.asDouble()));
    double best = 0;
    for (JsonNode rate : r.get("step_tokens_per_sec")) {
      best = Math.max(best, rate.asDouble());
    }
    return new Side(r.get("peer").asText(), r.get("trained_tokens").asLong(), r.get("seconds").asDouble(), best,
        r.get("peak_memory_bytes").asLong(), losses);
  }

  /** LD_PRELOAD of the BLAS this JVM's liblorabeam loaded, so both sides multiply with the same library. */
  private static Map<String, String> peerEnv(BenchmarkOptions o) {
    Optional<String> blas = loadedBlas();
    if (!o.peerSameBlas() || blas.isEmpty()) {
      return Map.of();
    }
    return Map.of("LD_PRELOAD", blas.get());
  }

  /** The OpenBLAS this process mapped (Linux), if any. */
  public static Optional<String> loadedBlas() {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return Optional.empty();
    }
    try (Stream<String> lines = Files.lines(maps)) {
      return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
          .filter(p -> p.contains("libopenblas")).findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static void report(BenchmarkOptions o, Side ours, Side peer, double gemmGflops, double flopsPerToken)
      throws IOException {
    System.out.printf("%n%-44s %10s %10s %14s %8s%n", "side", "tokens/s", "best step", "peak memory", "MFU");
    ObjectNode json = JSON.createObjectNode();
    json.put("seq_len", o.seqLen()).put("batch_size", o.batchSize()).put("measured_steps", o.steps())
        .put("gemm_gflops", gemmGflops).put("flops_per_token", flopsPerToken).put("flops_formula", LoraFlops.FORMULA);
    for (Side s : Arrays.asList(ours, peer)) {
      if (s == null) {
        continue;
      }
      double mfu = s.tokensPerSec() * flopsPerToken / (gemmGflops * 1e9);
      System.out.printf("%-44s %10.2f %10.2f %11.1f MB %7.1f%%%n", s.name(), s.tokensPerSec(), s.bestTokensPerSec(),
          s.peakBytes() / 1e6, 100 * mfu);
      ObjectNode n = json.putObject(s == ours ? "lorabeam" : "mlx_lm");
      n.put("name", s.name()).put("tokens_per_sec", s.tokensPerSec()).put("best_step_tokens_per_sec",
          s.bestTokensPerSec()).put("trained_tokens", s.tokens())
          .put("seconds", s.seconds()).put("peak_memory_bytes", s.peakBytes()).put("mfu", mfu);
      s.losses().forEach(n.putArray("losses")::add);
    }
    if (ours != null && peer != null) {
      double speed = ours.tokensPerSec() / peer.tokensPerSec();
      double memory = (double) ours.peakBytes() / peer.peakBytes();
      double bestSpeed = ours.bestTokensPerSec() / peer.bestTokensPerSec();
      System.out.printf("lorabeam / mlx-lm: tokens/s %.3fx (best steps %.3fx), peak memory %.3fx%n", speed, bestSpeed,
          memory);
      json.put("tokens_per_sec_ratio", speed).put("best_step_tokens_per_sec_ratio", bestSpeed)
          .put("peak_memory_ratio", memory);
    }
    if (o.out() != null) {
      Files.writeString(o.out(), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
      System.out.println("results written to " + o.out());
    }
  }

  /** Step s trains rows [s·B, (s+1)·B): every token a target of weight 1 in one document per row. */
  private static Batch batch(BenchmarkOptions o, int[] rows, int step) {
    int b = o.batchSize();
    int t = o.seqLen();
    int first = (step * b) % o.rows();
    int[] tokens = Arrays.copyOfRange(rows, first * (t + 1), (first + b) * (t + 1));  // (B, T + 1)
    int[] segments = new int[b * t];  // (B, T)
    Arrays.fill(segments, 1);
    float[] weights = new float[b * t];  // (B, T)
    Arrays.fill(weights, 1f);
    return new Batch(b, t, tokens, segments, weights);
  }

  private static int[] makeRows(BenchmarkOptions o, int vocab) {
    Random random = new Random(o.seed());
    int[] rows = new int[o.rows() * (o.seqLen() + 1)];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = 1 + random.nextInt(vocab - 1);
    }
    return rows;
  }

  private static Path ensureRandomModel(PythonVenv venv, BenchmarkOptions o) {
    Path dir = venv.repoRoot().resolve("native/target/bench").resolve(o.shape() + "-random-seed" + o.seed());
    if (!Files.isRegularFile(dir.resolve("model.safetensors")) || !Files.isRegularFile(dir.resolve("config.json"))) {
      System.out.printf("writing a random %s model to %s ...%n", o.shape(), dir);
      venv.runScript(Duration.ofMinutes(10), "make_tiny_llama.py",
          List.of(dir.toString(), "--shape", o.shape(), "--seed", String.valueOf(o.seed())), false);
    }
    return dir;
  }

  /** A NumPy .npy (format 1.0) of little-endian int32 with shape (rows, cols), which np.load reads. */
  static void writeNpy(Path file, int[] data, int rows, int cols) throws IOException {
    String dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
    int unpadded = 10 + dict.length() + 1;
    String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
    ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
    buf.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
    buf.asIntBuffer().put(data);
    Files.write(file, buf.array());
  }
}
