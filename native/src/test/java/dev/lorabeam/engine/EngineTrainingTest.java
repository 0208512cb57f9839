package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Training behaviour users rely on: flat memory, exact resume, QLoRA, accumulation, checkpointing. */
public class EngineTrainingTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static Path model;

  @BeforeClass
  public static void writeModel() throws Exception {
    model = TinyModels.llama(TMP.newFolder("tiny").toPath(), 2);
  }

  @Test
  public void activeMemoryIsFlatAcrossStepsAndReturnsToItsLevelAfterClose() {
    Mlx.clearCache();
    long beforeOpen = Mlx.activeMemory();
    long atStep20 = 0;
    long atStep200 = 0;
    Random random = new Random(1);
    Batch batch = TinyModels.countingBatch(random, 4, 32);
    try (Engine engine = Engine.open(TinyModels.config(model).withMaxGradNorm(1.0))) {
      for (int step = 1; step <= 200; step++) {
        engine.step(batch, 1e-3);
        if (step == 20) {
          atStep20 = Mlx.activeMemory();
        }
      }
      atStep200 = Mlx.activeMemory();
    }
    long afterClose = Mlx.activeMemory();
    System.out.printf("memory: before open %d, step 20 %d, step 200 %d, after close %d bytes%n", beforeOpen,
        atStep20, atStep200, afterClose);
    assertTrue("step 200 vs step 20: " + (atStep200 - atStep20) + " bytes",
        Math.abs(atStep200 - atStep20) <= 1 << 20);
    assertEquals("active memory after close vs before open", beforeOpen, afterClose);
  }

  @Test
  public void resumingFromSavedAdaptersAndOptimizerGivesBitIdenticalLosses() throws Exception {
    Random random = new Random(2);
    List<Batch> batches = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      batches.add(TinyModels.countingBatch(random, 2, 24));
    }
    Path dir = TMP.newFolder("ckpt").toPath();
    double[] continued = new double[3];
    EngineConfig config = TinyModels.config(model).withAdam(0.9, 0.999, 1e-8, 0.01, true);
    try (Engine engine = Engine.open(config)) {
      for (int i = 0; i < 5; i++) {
        engine.step(batches.get(i), 2e-3);
      }
      engine.saveAdapters(dir);
      engine.saveOptimizerState(dir.resolve("optimizer.safetensors"));
      for (int i = 0; i < 3; i++) {
        continued[i] = engine.step(batches.get(5 + i), 2e-3).loss();
      }
    }
    try (Engine resumed = Engine.open(config.withSeed(99))) {
      resumed.loadAdapters(dir);
      resumed.loadOptimizerState(dir.resolve("optimizer.safetensors"));
      for (int i = 0; i < 3; i++) {
        StepResult r = resumed.step(batches.get(5 + i), 2e-3);
        System.out.printf("resume: step %d loss %.9f continued %.9f%n", r.step(), r.loss(), continued[i]);
        assertEquals(6 + i, r.step());
        assertEquals("bit-identical loss at step " + r.step(), Double.doubleToLongBits(continued[i]),
            Double.doubleToLongBits(r.loss()));
      }
    }
    assertTrue(Files.exists(dir.resolve("adapter_config.json")));
  }

  @Test
  public void fourBitBaseStartsWithin2PercentOfFloat32AndTrains() {
    Random random = new Random(3);
    Batch batch = TinyModels.countingBatch(random, 4, 32);
    double floatLoss;
    try (Engine engine = Engine.open(TinyModels.config(model))) {
      floatLoss = engine.evalLoss(batch).loss();
    }
    try (Engine q4 = Engine.open(TinyModels.config(model).withQuantizeBits(4))) {
      assertEquals("q4_g64", q4.modelInfo().quantization());
      double first = q4.step(batch, 1e-3).loss();
      double last = first;
      for (int i = 1; i < 50; i++) {
        last = q4.step(batch, 1e-3).loss();
      }
      System.out.printf("qlora: float32 loss %.5f, 4-bit first %.5f (%.3f%%), after 50 steps %.5f%n", floatLoss,
          first, 100 * Math.abs(first - floatLoss) / floatLoss, last);
      assertTrue("4-bit start " + first + " vs float32 " + floatLoss,
          Math.abs(first - floatLoss) <= 0.02 * floatLoss);
      assertTrue("loss fell from " + first + " to " + last, last < 0.8 * first);
    }
  }

  /**
   * k = 4 micro-batches of 2 rows give the same losses and adapters as one batch of 8 rows over 5
   * AdamW steps, with weights so uneven (whole zero rows, weights 0.1..5) that per-micro-batch
   * normalisation would differ by ~1e-1: the step divides by the whole step's N.
   */
  @Test
  public void accumulatingFourMicroBatchesWithUnevenWeightsEqualsOneBigBatchOverFiveSteps() {
    Random random = new Random(4);
    List<Batch> batches = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      batches.add(unevenlyWeighted(random, TinyModels.countingBatch(random, 8, 16)));
    }
    float[][] adapters = new float[2][];
    double[][] losses = new double[2][5];
    for (int run = 0; run < 2; run++) {
      try (Engine engine = Engine.open(TinyModels.config(model).withGradAccumulation(run == 0 ? 1 : 4))) {
        TinyModels.randomizeLora(engine, 3, 0.02);
        for (int i = 0; i < batches.size(); i++) {
          losses[run][i] = engine.step(batches.get(i), 1e-3).loss();
        }
        adapters[run] = engine.loraValues();
      }
    }
    float diff = TinyModels.maxAbsDiff(adapters[0], adapters[1]);
    System.out.printf("accumulation: losses %s vs %s, max adapter diff after 5 steps %.3e%n",
        java.util.Arrays.toString(losses[0]), java.util.Arrays.toString(losses[1]), diff);
    for (int i = 0; i < 5; i++) {
      assertEquals("loss at step " + (i + 1), losses[0][i], losses[1][i], 1e-5);
    }
    assertTrue("max adapter diff " + diff, diff <= 1e-5);
  }

  /** Rows 0..7: row 1 all zero, row 6 mostly zero, the rest weights 0.1..5 (a micro-batch = 2 rows). */
  private static Batch unevenlyWeighted(Random random, Batch b) {
    float[] w = new float[b.weights().length];
    for (int i = 0; i < w.length; i++) {
      int row = i / b.seqLen();
      boolean dropped = row == 1 || (row == 6 && i % b.seqLen() > 2) || random.nextInt(6) == 0;
      w[i] = dropped ? 0f : 0.1f + 4.9f * random.nextFloat() * (row % 2 == 0 ? 1 : 0.2f);
    }
    return new Batch(b.rows(), b.seqLen(), b.tokens(), b.segments(), w);
  }

  /** Accumulation keeps one micro-batch's activations alive, not k of them. */
  @Test
  public void peakMemoryAtFourMicroBatchesIsWithinTenPercentOfOne() {
    Random random = new Random(8);
    Batch micro = TinyModels.countingBatch(random, 2, 256);
    Batch four = TinyModels.countingBatch(random, 8, 256);
    long[] peaks = new long[2];
    for (int run = 0; run < 2; run++) {
      try (Engine engine = Engine.open(TinyModels.config(model).withGradAccumulation(run == 0 ? 1 : 4))) {
        Batch batch = run == 0 ? micro : four;
        engine.step(batch, 1e-3);  // traces and compiles
        Mlx.clearCache();
        peaks[run] = engine.step(batch, 1e-3).peakMemoryBytes();
      }
    }
    System.out.printf("accumulation memory: peak %.2f MB at k=1 (2 rows), %.2f MB at k=4 (4 x 2 rows), ratio %.3f%n",
        peaks[0] / 1e6, peaks[1] / 1e6, (double) peaks[1] / peaks[0]);
    assertTrue("peak at k=1 is reported", peaks[0] > 0);
    assertTrue("peak at k=4 " + peaks[1] + " <= 1.1 x peak at k=1 " + peaks[0], peaks[1] <= 1.1 * peaks[0]);
  }

  @Test
  public void gradientCheckpointingChangesNothingButMemory() {
    Batch batch = TinyModels.countingBatch(new Random(5), 2, 32);
    double[] plain = new double[3];
    double[] checkpointed = new double[3];
    try (Engine engine = Engine.open(TinyModels.config(model))) {
      for (int i = 0; i < 3; i++) {
        plain[i] = engine.step(batch, 1e-3).loss();
      }
    }
    try (Engine engine = Engine.open(TinyModels.config(model).withGradCheckpoint(true))) {
      for (int i = 0; i < 3; i++) {
        checkpointed[i] = engine.step(batch, 1e-3).loss();
      }
    }
    for (int i = 0; i < 3; i++) {
      assertEquals("step " + (i + 1), plain[i], checkpointed[i], 1e-5);
    }
  }

  @Test
  public void gradientCheckpointingLowersPeakMemory() {
    Batch batch = TinyModels.countingBatch(new Random(7), 4, 256);
    long[] peaks = new long[2];
    for (int i = 0; i < 2; i++) {
      try (Engine engine = Engine.open(TinyModels.config(model).withGradCheckpoint(i == 1))) {
        engine.step(batch, 1e-3);  // traces and compiles
        Mlx.clearCache();
        Mlx.resetPeakMemory();
        engine.step(batch, 1e-3);
        peaks[i] = Mlx.peakMemory();
      }
    }
    System.out.printf("checkpointing: peak %.1f MB without, %.1f MB with%n", peaks[0] / 1e6, peaks[1] / 1e6);
    assertTrue("peak with checkpointing " + peaks[1] + " < without " + peaks[0], peaks[1] < peaks[0]);
  }

  /**
   * With beta1 = 0, beta2 = 1, eps = 1 and no decay AdamW is plain SGD (update = lr·g), so the
   * applied update shows the clipping: |Δθ| = lr·maxGradNorm when clipped, lr·|g| when not.
   */
  @Test
  public void clippingScalesTheAppliedUpdateToMaxGradNormAndReportsTheUnclippedNorm() {
    Batch batch = TinyModels.randomBatch(new Random(6), 2, 16);
    double lr = 1e-2;
    double[] delta = new double[2];
    double[] reported = new double[2];
    for (int run = 0; run < 2; run++) {
      EngineConfig sgd = TinyModels.config(model).withAdam(0.0, 1.0, 1.0, 0.0, false)
          .withMaxGradNorm(run == 0 ? 0.0 : 1e-3);
      try (Engine engine = Engine.open(sgd)) {
        TinyModels.randomizeLora(engine, 5, 0.02);
        float[] before = engine.loraValues();
        StepResult r = engine.step(batch, lr);
        float[] after = engine.loraValues();
        double sq = 0;
        for (int i = 0; i < before.length; i++) {
          sq += Math.pow((double) after[i] - before[i], 2);
        }
        delta[run] = Math.sqrt(sq);
        reported[run] = r.gradNorm();
        assertEquals(32, r.trainedTokens());
        assertEquals(32.0, r.weightSum(), 0);
      }
    }
    System.out.printf("clipping: |Δθ| %.4e unclipped (lr·|g| = %.4e), %.4e clipped to 1e-3 (lr·1e-3 = %.1e)%n",
        delta[0], lr * reported[0], delta[1], lr * 1e-3);
    assertEquals("the same gradient norm is reported with and without clipping", reported[0], reported[1],
        1e-6 * reported[0]);
    assertTrue("the gradient is larger than the clip: " + reported[0], reported[0] > 1e-2);
    assertEquals("unclipped update", lr * reported[0], delta[0], 1e-3 * lr * reported[0]);
    assertEquals("clipped update", lr * 1e-3, delta[1], 1e-2 * lr * 1e-3);
  }
}
