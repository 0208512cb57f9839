package dev.lorabeam.pipeline.flink;

import static org.junit.Assert.assertEquals;

import dev.lorabeam.pipeline.cli.LorabeamCli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The data and the DirectRunner reference run that the Flink tests compare against. */
final class PreprocessRuns {
  /** Rows of data/sample taken per split: enough for several blocks in every shard, quick on 2 cores. */
  static final int TRAIN_ROWS = 100;
  static final int VALID_ROWS = 20;

  private PreprocessRuns() {}

  /** The first rows of data/sample/train.jsonl and valid.jsonl, copied into {@code dir}. */
  static Path sampleData(Path dir) throws IOException {
    Path sample = Path.of(System.getProperty("lorabeam.root", "..")).resolve("data/sample");
    Files.createDirectories(dir);
    copyHead(sample.resolve("train.jsonl"), dir.resolve("train.jsonl"), TRAIN_ROWS);
    copyHead(sample.resolve("valid.jsonl"), dir.resolve("valid.jsonl"), VALID_ROWS);
    return dir;
  }

  /** {@code preprocess} of {@code data} into {@code out} with the demo model's tokenizer, plus extra flags. */
  static String[] args(Path data, Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("preprocess", "--data", data.toString(),
        "--model", "smollm2-135m", "--train-seq-length", "256", "--output", out.toString()));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  /** The reference: the same command on the DirectRunner, in this JVM. */
  static Path direct(Path data, Path out) {
    assertEquals("DirectRunner preprocess exit code", 0, LorabeamCli.execute(args(data, out)));
    return out;
  }

  private static void copyHead(Path from, Path to, int rows) throws IOException {
    try (Stream<String> lines = Files.lines(from)) {
      Files.write(to, lines.limit(rows).toList());
    }
  }
}
