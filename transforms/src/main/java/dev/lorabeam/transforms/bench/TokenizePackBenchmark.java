package dev.lorabeam.transforms.bench;

import dev.lorabeam.transforms.pack.BlockPacker;
import dev.lorabeam.transforms.read.DataSource;
import dev.lorabeam.transforms.render.DocumentRenderer;
import dev.lorabeam.transforms.read.Example;
import dev.lorabeam.transforms.read.ExampleParser;
import dev.lorabeam.transforms.jobs.PreprocessConfig;
import dev.lorabeam.transforms.jobs.PreprocessJob;
import dev.lorabeam.transforms.jobs.PreprocessSummary;
import dev.lorabeam.transforms.read.ReadExamples;
import dev.lorabeam.transforms.render.TokenizedDoc;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenize+pack throughput over the sample corpus: first the plain-Java loop (parse, render,
 * encode, pack; the floor Beam cannot beat), then the real preprocess pipeline on the
 * DirectRunner, which adds Beam's per-element work and writes shards.
 *
 * <p>Run: {@code mvn -q -pl transforms exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lorabeam.transforms.bench.TokenizePackBenchmark
 * [-Dexec.args="DATA MODEL T ROUNDS"]} (defaults: data/sample/train.jsonl smollm2-135m 512 3).
 */
public final class TokenizePackBenchmark {
  private TokenizePackBenchmark() {}

  public static void main(String[] args) throws Exception {
    String data = args.length > 0 ? args[0] : "data/sample/train.jsonl";
    String model = args.length > 1 ? args[1] : ModelLocator.DEMO_ALIAS;
    int t = args.length > 2 ? Integer.parseInt(args[2]) : 512;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    // "beam-only" skips the plain-Java floor, so the peak heap printed is the pipeline's alone.
    boolean beamOnly = args.length > 4 && args[4].equals("beam-only");
    TextTokenizer tok = ModelLocator.fromEnvironment().resolve(model).tokenizer();
    tok.open();
    List<String> files = DataSource.matchedFiles(List.of(data), data);
    long bytes = DataSource.totalBytes(files);
    System.out.printf("input %s: %.2f MB, tokenizer %s, T=%d, %d cores%n", data, bytes / 1e6,
        tok.describe(), t, Runtime.getRuntime().availableProcessors());
    for (int r = 1; r <= rounds && !beamOnly; r++) {
      plainJava(files, tok, t, bytes, r);
    }
    Path out = Files.createTempDirectory("lorabeam-bench");
    for (int r = 1; r <= rounds; r++) {
      PreprocessSummary s = PreprocessJob.run(PreprocessConfig.of(data, tok, out).withSeqLength(t),
          PreprocessJob.defaultOptions());
      PreprocessSummary.Split split = s.split("train");
      System.out.printf("beam direct runner, round %d: %.2f s, %.2f MB/s, %,.0f tokens/s, "
              + "%d blocks, packing efficiency %.1f%%%n", r, split.seconds(),
          bytes / 1e6 / split.seconds(), split.tokens() / split.seconds(), split.pack().blocks(),
          100 * split.pack().efficiency());
    }
    System.out.printf("peak heap (sum of heap pools' peaks, whole process): %.0f MB%n",
        peakHeapBytes() / 1e6);
  }

  /** Peak used bytes of every heap memory pool since JVM start. */
  static long peakHeapBytes() {
    long peak = 0;
    for (java.lang.management.MemoryPoolMXBean pool
        : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak;
  }

  private static void plainJava(List<String> files, TextTokenizer tok, int t, long bytes, int r)
      throws Exception {
    long start = System.nanoTime();
    ExampleParser parser = new ExampleParser(ReadExamples.DEFAULT_MAX_ROW_BYTES);
    DocumentRenderer renderer = new DocumentRenderer(tok, false);
    List<TokenizedDoc> docs = new ArrayList<>();
    long tokens = 0;
    for (String f : files) {
      List<String> lines = Files.readAllLines(Path.of(f));
      for (int i = 0; i < lines.size(); i++) {
        byte[] raw = lines.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Example e = parser.parse(f, i + 1, raw, raw.length).example();
        TokenizedDoc d = renderer.render(e);
        tokens += d.length();
        docs.add(d);
      }
    }
    double encodeSeconds = (System.nanoTime() - start) / 1e9;
    long[] blocks = {0};
    new BlockPacker(t, BlockPacker.LongDocPolicy.SPLIT, 0, 0).pack(docs, b -> blocks[0]++);
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("plain java, round %d: %.2f s (encode %.2f s), %.2f MB/s, %,.0f tokens/s, "
        + "%d blocks%n", r, seconds, encodeSeconds, bytes / 1e6 / seconds, tokens / seconds,
        blocks[0]);
  }
}
