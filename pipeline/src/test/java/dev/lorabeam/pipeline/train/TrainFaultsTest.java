package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.WriteFaults;
import dev.lorabeam.pipeline.cli.LorabeamCli;
import dev.lorabeam.pipeline.memory.MemoryModel;
import dev.lorabeam.pipeline.memory.ModelShape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Faults a user meets during {@code train}, through the real CLI in this JVM on the real engine: a
 * step that cannot fit in {@code --max-memory} and a disk that fills while a checkpoint is written
 * (injected: ENOSPC in the engine's native writer, or in the Java writer of the manifest). Each
 * stops with one message and exit code 2, the JVM carries on, and the previous checkpoint is still
 * the one {@code --resume} takes.
 */
public class TrainFaultsTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static Path model;
  private static Path data;

  @BeforeClass
  public static void makeModelAndData() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    data = TrainJobTest.sampleSplit(TMP.newFolder("data").toPath(), 40, 8);
  }

  @After
  public void disarm() {
    WriteFaults.clear();
    DurableFiles.failNthWrite(0);
  }

  record Run(int exitCode, String stderr) {}

  /** {@code train} on the tiny model through the CLI, 4 steps per checkpoint, stderr captured. */
  static Run train(Path out, int maxSteps, double maxMemoryGb, String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
        "--adapter-path", out.toString(), "--max-memory", Double.toString(maxMemoryGb), "--max-steps", "" + maxSteps,
        "--train-seq-length", "64", "--batch-size", "2", "--lora-rank", "4", "--lora-layers", "-1",
        "--learning-rate", "5e-3", "--steps-per-eval", "0", "--val-batches", "0", "--save-every", "4", "--seed", "11"));
    args.addAll(List.of(extra));
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      int code = LorabeamCli.execute(args.toArray(String[]::new));
      return new Run(code, captured.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(err);
      System.err.print(captured.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  public void aStepPredictedOverTheLimitIsRefusedBeforeItRuns() throws IOException {
    Path out = TMP.newFolder("predicted").toPath();
    assertEquals(0, train(out, 4, 4.0).exitCode());
    long predicted = predictedPeak(out);
    Run refused = train(out, 8, predicted / 2 / 1e9, "--resume");
    assertEquals(refused.stderr(), 2, refused.exitCode());
    String m = errorLine(refused);
    assertTrue(m, m.contains("out of memory at the MLX memory limit of "));
    assertTrue(m, m.contains(String.format("the step would peak at %.3f GB, predicted", predicted / 1e9)));
    assertTrue(m, m.contains("refused before it ran"));
    for (String fix : List.of("--quantize 4", "--batch-size (now 2)", "--train-seq-length (now 64)",
        "--grad-checkpoint", "--max-memory")) {
      assertTrue(fix + " in " + m, m.contains(fix));
    }
    assertTrue(m, m.contains("step-000004 (intact)"));
    assertEquals("no step ran", 4, MetricsWriter.readAll(out.resolve("metrics.jsonl")).size());
    assertLatestIs(out, 4);
    // The JVM and MLX carry on: the same run resumes under a limit it fits in and finishes.
    assertTrue(Mlx.activeMemory() >= 0);
    assertEquals(0, train(out, 8, 4.0, "--resume").exitCode());
    assertLatestIs(out, 8);
  }

  @Test
  public void aStepWhoseMeasuredPeakIsOverTheLimitStopsTheRun() throws IOException {
    Path out = TMP.newFolder("measured").toPath();
    assertEquals(0, train(out, 4, 4.0).exitCode());
    long measured = Math.round(MetricsWriter.readAll(out.resolve("metrics.jsonl")).get(3).memoryGb() * 1e9);
    long predicted = predictedPeak(out);
    // A limit the prediction passes (it is within StepMemoryCheck.MARGIN) but the real peak exceeds.
    double low = (predicted - StepMemoryCheck.SLACK_BYTES) / StepMemoryCheck.MARGIN;
    assertTrue("memory model " + predicted + " vs measured " + measured + " bytes: over the margin",
        low < measured * 0.999);
    double limit = (low + measured * 0.999) / 2;
    Run stopped = train(out, 8, limit / 1e9, "--resume");
    assertEquals(stopped.stderr(), 2, stopped.exitCode());
    String m = errorLine(stopped);
    assertTrue(m, m.contains("GB, measured)") && m.contains("step-000004 (intact)") && m.contains("--max-memory"));
    assertLatestIs(out, 4);
  }

  @Test
  public void aFullDiskWhileTheEngineWritesTheAdaptersKeepsThePreviousCheckpoint() throws IOException {
    Path out = TMP.newFolder("enospc-native").toPath();
    assertEquals(0, train(out, 4, 4.0).exitCode());
    byte[] published = Files.readAllBytes(out.resolve(CheckpointStore.ADAPTERS_FILE));
    WriteFaults.failNthNativeWrite(3, WriteFaults.ENOSPC);  // the first tensor of step 8's adapters
    Run full = train(out, 8, 4.0, "--resume");
    assertEquals(full.stderr(), 2, full.exitCode());
    String m = errorLine(full);
    assertTrue(m, m.startsWith("error: cannot write the checkpoint of step 8 under " + out.resolve("checkpoints")));
    assertTrue(m, m.contains("No space left on device (errno 28)") && m.contains("adapters"));
    assertTrue(m, m.contains("A checkpoint needs about ") && m.contains(" free there"));
    assertTrue(m, m.contains("the latest checkpoint is still " + out.resolve("checkpoints/step-000004") + " (step 4"));
    assertEquals("one message, no stack trace", 1, errorLines(full).size());
    assertEquals(List.of("step-000004"), names(out.resolve("checkpoints")));
    assertArrayEquals("the published adapters are step 4's", published,
        Files.readAllBytes(out.resolve(CheckpointStore.ADAPTERS_FILE)));
    assertLatestIs(out, 4);
    assertEquals("--resume continues from step 4 and finishes", 0, train(out, 8, 4.0, "--resume").exitCode());
    assertLatestIs(out, 8);
  }

  @Test
  public void aFullDiskWhileTheManifestIsWrittenKeepsThePreviousCheckpoint() throws IOException {
    Path out = TMP.newFolder("enospc-java").toPath();
    assertEquals(0, train(out, 4, 4.0).exitCode());
    DurableFiles.failNthWrite(1);  // manifest.json, written last, before the directory is renamed
    Run full = train(out, 8, 4.0, "--resume");
    assertEquals(full.stderr(), 2, full.exitCode());
    String m = errorLine(full);
    assertTrue(m, m.contains("manifest.json") && m.contains("No space left on device"));
    assertTrue(m, m.contains("Nothing of step 8 was kept: the latest checkpoint is still "));
    assertEquals(List.of("step-000004"), names(out.resolve("checkpoints")));
    assertLatestIs(out, 4);
  }

  private static long predictedPeak(Path out) {
    TrainConfig config = CheckpointStore.of(TrainConfig.builder(model.toString(), data.toString())
        .adapterPath(out.toString()).build()).latest().orElseThrow().manifest().trainConfig();
    return MemoryModel.estimate(ModelShape.read(model), new StepMemoryCheck(config, model, 1).plan()).total();
  }

  private static void assertLatestIs(Path out, long step) {
    CheckpointStore.Checkpoint latest = new CheckpointStore(out, 3).latest().orElseThrow();
    assertEquals(step, latest.step());
    CheckpointStore.verify(latest.dir());
  }

  private static List<String> errorLines(Run run) {
    return run.stderr().lines().filter(l -> l.contains("error:") || l.contains("Exception")).toList();
  }

  private static String errorLine(Run run) {
    return errorLines(run).stream().filter(l -> l.contains("error: ")).findFirst().orElse(run.stderr())
        .replaceAll("\u001B\\[[0-9;]*m", "");
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
