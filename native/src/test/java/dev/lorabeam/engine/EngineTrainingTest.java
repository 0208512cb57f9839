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

  @Test
  public void gradientAccumulationOverTwoMicroBatchesEqualsOneFullBatch() {
    Batch batch = TinyModels.randomBatch(new Random(4), 4, 16);
    float[] full;
    float[] accumulated;
    double lossFull;
    double lossAccumulated;
    try (Engine engine = Engine.open(TinyModels.config(model))) {
      lossFull = engine.step(batch, 1e-2).loss();
      full = engine.loraValues();
    }
    try (Engine engine = Engine.open(TinyModels.config(model).withGradAccumulation(2))) {
      lossAccumulated = engine.step(batch, 1e-2).loss();
      accumulated = engine.loraValues();
    }
    float diff = TinyModels.maxAbsDiff(full, accumulated);
    System.out.printf("accumulation: loss %.7f vs %.7f, max adapter diff %.3e%n", lossFull, lossAccumulated, diff);
    assertEquals(lossFull, lossAccumulated, 1e-5);
    assertTrue("max adapter diff " + diff, diff <= 1e-5);
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

  @Test
  public void clippingBoundsTheUpdateAndReportsTheUnclippedNorm() {
    Batch batch = TinyModels.randomBatch(new Random(6), 2, 16);
    try (Engine engine = Engine.open(TinyModels.config(model).withMaxGradNorm(1e-3))) {
      StepResult r = engine.step(batch, 1e-3);
      assertTrue("reported norm is before clipping: " + r.gradNorm(), r.gradNorm() > 1e-3);
      assertEquals(32, r.trainedTokens());
      assertEquals(32.0, r.weightSum(), 0);
    }
  }
}
