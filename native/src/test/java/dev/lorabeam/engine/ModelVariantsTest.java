package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Architecture variants and options load and train: qwen2 biases, tied embeddings, llama3 RoPE, dtypes, dropout. */
public class ModelVariantsTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  @Test
  public void qwen2WithQkvBiasesAndTiedEmbeddingsTrains() throws Exception {
    Path dir = TinyModels.write(TMP.newFolder("qwen2").toPath(), "qwen2", 1, TinyModels.FFN, true, true, "");
    assertTrains(TinyModels.config(dir), "qwen2");
  }

  @Test
  public void mistralAndLlama3RopeScalingLoadAndTrain() throws Exception {
    Path mistral = TinyModels.write(TMP.newFolder("mistral").toPath(), "mistral", 2, TinyModels.FFN);
    assertTrains(TinyModels.config(mistral), "mistral");
    String rope = ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
        + " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}";
    Path scaled = TinyModels.write(TMP.newFolder("llama3").toPath(), "llama", 3, TinyModels.FFN, false, false, rope);
    Path plain = TinyModels.write(TMP.newFolder("llama3plain").toPath(), "llama", 3, TinyModels.FFN);
    Batch batch = TinyModels.randomBatch(new Random(1), 1, 40);
    double scaledLoss;
    double plainLoss;
    try (Engine a = Engine.open(TinyModels.config(scaled)); Engine b = Engine.open(TinyModels.config(plain))) {
      scaledLoss = a.evalLoss(batch).loss();
      plainLoss = b.evalLoss(batch).loss();
    }
    assertNotEquals("rope scaling changes positions beyond the original context", plainLoss, scaledLoss, 0);
    assertEquals(plainLoss, scaledLoss, 0.05);
  }

  @Test
  public void bfloat16AndFloat16ComputeStayCloseToFloat32() throws Exception {
    Path dir = TinyModels.llama(TMP.newFolder("dtypes").toPath(), 4);
    Batch batch = TinyModels.countingBatch(new Random(2), 2, 32);
    double reference;
    try (Engine engine = Engine.open(TinyModels.config(dir))) {
      reference = engine.evalLoss(batch).loss();
    }
    for (String dtype : new String[] {"bfloat16", "float16"}) {
      try (Engine engine = Engine.open(TinyModels.config(dir).withComputeDtype(dtype))) {
        double loss = engine.evalLoss(batch).loss();
        System.out.printf("dtype %s: loss %.5f vs float32 %.5f%n", dtype, loss, reference);
        assertEquals(dtype, reference, loss, 0.01 * reference);
        if (dtype.equals("bfloat16")) {  // one step: half-precision training kernels are slow on CPU
          assertTrue(dtype + " trains", Double.isFinite(engine.step(TinyModels.countingBatch(new Random(5), 1, 8),
              1e-3).loss()));
        }
      }
    }
  }

  @Test
  public void dropoutIsReproducibleFromTheSeedAndStillTrains() throws Exception {
    Path dir = TinyModels.llama(TMP.newFolder("dropout").toPath(), 5);
    Batch batch = TinyModels.countingBatch(new Random(3), 2, 32);
    EngineConfig config = TinyModels.config(dir).withLora(4, 20.0, 0.2, -1, null);
    double[] first = new double[20];
    try (Engine engine = Engine.open(config)) {
      for (int i = 0; i < first.length; i++) {
        first[i] = engine.step(batch, 2e-3).loss();
      }
    }
    try (Engine engine = Engine.open(config)) {
      for (int i = 0; i < first.length; i++) {
        assertEquals("step " + (i + 1), first[i], engine.step(batch, 2e-3).loss(), 0);
      }
    }
    assertTrue("loss fell: " + first[0] + " -> " + first[19], first[19] < first[0]);
  }

  /** Dropout really drops: at the same adapters (lr 0) the training loss moves with every step's mask. */
  @Test
  public void dropoutChangesTheTrainingLossAndNothingWithoutIt() throws Exception {
    Path dir = TinyModels.llama(TMP.newFolder("dropout-effect").toPath(), 6);
    Batch batch = TinyModels.countingBatch(new Random(4), 2, 32);
    double[][] losses = new double[2][3];
    for (int run = 0; run < 2; run++) {
      try (Engine engine = Engine.open(TinyModels.config(dir).withLora(4, 20.0, run == 0 ? 0.0 : 0.5, -1, null))) {
        TinyModels.randomizeLora(engine, 2, 0.05);  // B != 0, so the LoRA path (where dropout acts) matters
        for (int i = 0; i < 3; i++) {
          losses[run][i] = engine.step(batch, 0.0).loss();
        }
        assertEquals("evaluation never drops", engine.evalLoss(batch).loss(), losses[0][0], 1e-5);
      }
    }
    System.out.printf("dropout: losses at fixed adapters without %s, with 0.5 %s%n",
        java.util.Arrays.toString(losses[0]), java.util.Arrays.toString(losses[1]));
    assertEquals("no dropout: the same loss every step", losses[0][0], losses[0][2], 0);
    for (int i = 0; i < 3; i++) {
      assertTrue("dropout moves the loss at step " + (i + 1) + ": " + losses[1][i] + " vs " + losses[0][i],
          Math.abs(losses[1][i] - losses[0][i]) > 1e-3 * losses[0][i]);
    }
    assertTrue("a new mask each step: " + losses[1][0] + " vs " + losses[1][1],
        Math.abs(losses[1][0] - losses[1][1]) > 1e-4 * losses[1][0]);
  }

  private static void assertTrains(EngineConfig config, String architecture) {
    Batch batch = TinyModels.countingBatch(new Random(4), 2, 24);
    try (Engine engine = Engine.open(config)) {
      assertEquals(architecture, engine.modelInfo().architecture());
      double first = engine.step(batch, 2e-3).loss();
      double last = first;
      for (int i = 0; i < 15; i++) {
        last = engine.step(batch, 2e-3).loss();
      }
      assertTrue(architecture + " loss fell: " + first + " -> " + last, last < first);
    }
  }
}
