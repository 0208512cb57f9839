package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The engine's fast paths compute what the general paths compute: the causal attention mode for
 * one-document rows (against the segment mask), gradients and validation included, on a tiny random
 * Llama. The chunked LM head's gradient is checked by finite differences through the compiled step in
 * {@link EngineGradientTest} (the head always runs in ≥ 4 chunks, so small batches cross chunk edges).
 */
public class EngineFastPathsTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final int ROWS = 2;
  private static final int T = 24;
  private static final int DOC = 17;  // tokens of each row's one document; the rest is padding (weight 0)
  private static Path model;

  @BeforeClass
  public static void write() throws Exception {
    model = TinyModels.llama(TMP.newFolder("tiny").toPath(), 3);
  }

  /**
   * One document per row followed by padding. With the padding in its own segment (0) the rows hold two
   * segments and the engine builds the (B, 1, T, T) mask; with the padding in the document's segment the
   * rows hold one and it takes SDPA's causal mode. Causality alone keeps the padding out of the
   * document's attention, so every trained loss and gradient must agree.
   */
  private static Batch paddedBatch(boolean paddingInOwnSegment) {
    Random random = new Random(21);
    int[] tokens = new int[ROWS * (T + 1)];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = random.nextInt(TinyModels.VOCAB);
    }
    int[] segments = new int[ROWS * T];
    float[] weights = new float[ROWS * T];
    for (int r = 0; r < ROWS; r++) {
      for (int t = 0; t < T; t++) {
        boolean doc = t < DOC;
        segments[r * T + t] = doc || !paddingInOwnSegment ? 1 + r : 0;
        weights[r * T + t] = doc ? 1f : 0f;
      }
    }
    return new Batch(ROWS, T, tokens, segments, weights);
  }

  @Test
  public void causalModeForOneDocumentRowsMatchesTheSegmentMask() {
    try (Engine engine = Engine.open(EngineGradientTest.gradientProbe(model))) {
      TinyModels.randomizeLora(engine, 5, 0.05);
      Batch masked = paddedBatch(true);
      Batch causal = paddedBatch(false);
      double[] lossMasked = new double[1];
      double[] lossCausal = new double[1];
      float[] gMasked = stepGradient(engine, masked, lossMasked);
      float[] gCausal = stepGradient(engine, causal, lossCausal);
      float[] tMasked = engine.tokenLosses(masked);
      float[] tCausal = engine.tokenLosses(causal);
      float gDiff = TinyModels.maxAbsDiff(gMasked, gCausal) / maxAbs(gMasked);
      float tDiff = TinyModels.maxAbsDiff(tMasked, tCausal);
      double evalDiff = Math.abs(engine.evalLoss(masked).loss() - engine.evalLoss(causal).loss());
      System.out.printf("causal vs segment mask: loss %.7f / %.7f, token losses max |Δ| %.2e, gradient max |Δ|/max %.2e,"
          + " eval loss |Δ| %.2e%n", lossMasked[0], lossCausal[0], tDiff, gDiff, evalDiff);
      assertEquals(lossMasked[0], lossCausal[0], 1e-6);
      assertTrue("token losses differ by " + tDiff, tDiff <= 1e-5);
      assertTrue("gradients differ by " + gDiff + " of their largest entry", gDiff <= 1e-5);
      assertTrue("validation losses differ by " + evalDiff, evalDiff <= 1e-6);
    }
  }

  @Test
  public void compiledStepsCausalAndMaskedGraphsTrainAlike() {
    float[] after = null;
    for (boolean ownSegment : new boolean[] {true, false}) {
      try (Engine engine = Engine.open(TinyModels.config(model))) {
        TinyModels.randomizeLora(engine, 5, 0.05);
        for (int s = 0; s < 2; s++) {
          engine.step(paddedBatch(ownSegment), 1e-3);
        }
        float[] values = engine.loraValues();
        if (after != null) {
          float diff = TinyModels.maxAbsDiff(after, values);
          System.out.printf("two steps, causal vs segment mask: adapters max |Δ| %.2e%n", diff);
          assertTrue("adapters differ by " + diff, diff <= 1e-5);
        }
        after = values;
      }
    }
  }

  /** The gradient the compiled step applies (AdamW with β1 = 0 keeps it as m; lr 0 leaves the adapters). */
  private static float[] stepGradient(Engine engine, Batch batch, double[] loss) {
    loss[0] = engine.step(batch, 0.0).loss();
    return engine.firstMoment();
  }

  private static float maxAbs(float[] a) {
    float m = 0;
    for (float v : a) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }
}
