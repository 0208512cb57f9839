package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Issue 12 item 3 and issue 10 item 3: what {@code --resume} does when the data under the same
 * {@code --data} changes (the nightly cron case), and the learning-rate schedule of the new run.
 */
public class RetrainingTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  private static Path model;
  private static List<String> rows;

  @BeforeClass
  public static void makeModel() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    rows = TrainJobTest.sampleRows(128);
  }

  private static TrainConfigBuilder tiny(Path out, String data) {
    return TrainConfig.builder(model.toString(), data).adapterPath(out.toString()).maxMemoryGb(4.0)
        .trainSeqLength(64).batchSize(2).loraRank(4).loraLayers(-1).learningRate(5e-3).stepsPerEval(0)
        .valBatches(0).saveEvery(2).maxGradNorm(0).seed(11);
  }

  private static CheckpointStore.Manifest latest(TrainConfig config) {
    return CheckpointStore.of(config).latest().orElseThrow().manifest();
  }

  /** Runs {@code work} and returns what it printed to stderr (where the resume notice goes). */
  private static String stderrOf(Supplier<?> work) {
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      work.get();
    } finally {
      System.setErr(saved);
    }
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  public void aGlobWhoseFilesChangeIsNewDataAndTheSameFilesContinueExactly() throws IOException {
    Path nightly = TMP.newFolder("nightly").toPath();
    Files.write(nightly.resolve("day-1.jsonl"), rows.subList(0, 64));
    String glob = nightly.resolve("day-*.jsonl").toString();
    Path out = TMP.newFolder("nightly-out").toPath();

    TrainConfig day1 = tiny(out, glob).maxSteps(4).build();
    TrainJobTest.run(day1);
    CheckpointStore.Manifest first = latest(day1);
    assertEquals(4, first.step());

    // Night 2: a new file under the same glob (the pattern string is unchanged).
    Files.write(nightly.resolve("day-2.jsonl"), rows.subList(64, 128));
    TrainConfig day2 = tiny(out, glob).maxSteps(3).resume(true).build();
    String notice = stderrOf(() -> TrainJobTest.run(day2));
    assertTrue(notice, notice.contains("at step 4 (new data: the blocks changed"));
    CheckpointStore.Manifest second = latest(day2);
    assertEquals("3 steps on the new data after the 4 on the old", 7, second.step());
    assertEquals("the new data started at its first batch", 3, second.nextIndex());
    assertEquals(4, second.stepOffset());
    assertNotEquals(first.dataFingerprint(), second.dataFingerprint());

    // The same files again (a rerun of night 2 with more steps): same data, continues at batch 3.
    TrainConfig rerun = tiny(out, glob).maxSteps(5).resume(true).build();
    notice = stderrOf(() -> TrainJobTest.run(rerun));
    assertTrue(notice, notice.contains("at step 7 (same data: continuing at batch 3)"));
    assertEquals(9, latest(rerun).step());
    assertEquals(5, latest(rerun).nextIndex());

    // Another seed orders the same blocks differently: that is other data too, and says so.
    TrainConfig reseeded = tiny(out, glob).maxSteps(1).resume(true).seed(12).build();
    notice = stderrOf(() -> TrainJobTest.run(reseeded));
    assertTrue(notice, notice.contains("new data: ") && notice.contains("--seed 11 → 12"));
  }

  @Test
  public void newDataGetsItsOwnWarmupAndDecayByDefault() throws IOException {
    double[] lr = retrainLearningRates(false);
    LrSchedule own = LrSchedule.of("cosine", 5e-3, 2, 4);
    for (int i = 0; i < 4; i++) {
      assertEquals("step " + (9 + i), own.at(1 + i), lr[i], 1e-12);
    }
    assertEquals("the new data's first step warms up from the peak's half, not from the old decay's end",
        2.5e-3, lr[0], 1e-12);
  }

  @Test
  public void continueScheduleKeepsOneScheduleOverBothRuns() throws IOException {
    double[] lr = retrainLearningRates(true);
    LrSchedule whole = LrSchedule.of("cosine", 5e-3, 2, 12);
    for (int i = 0; i < 4; i++) {
      assertEquals("step " + (9 + i), whole.at(9 + i), lr[i], 1e-12);
    }
    assertTrue("late in one decay: " + lr[0], lr[0] < 0.4 * 5e-3);
  }

  /** 8 cosine steps on one file, then --resume on another for 4: the learning rates of steps 9–12. */
  private double[] retrainLearningRates(boolean continueSchedule) throws IOException {
    Path dir = TMP.newFolder().toPath();
    Path out = TMP.newFolder().toPath();
    Files.write(dir.resolve("train.jsonl"), rows.subList(0, 64));
    TrainJobTest.run(tiny(out, dir.toString()).maxSteps(8).lrSchedule("cosine").warmupSteps(2).build());
    Files.write(dir.resolve("train.jsonl"), rows.subList(64, 128));
    List<StepMetrics> m = TrainJobTest.run(tiny(out, dir.toString()).maxSteps(4).lrSchedule("cosine")
        .warmupSteps(2).resume(true).continueSchedule(continueSchedule).build());
    assertEquals(12, m.size());
    return m.subList(8, 12).stream().mapToDouble(StepMetrics::lr).toArray();
  }
}
