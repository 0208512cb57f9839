package dev.lorabeam.engine;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The loss and its LoRA gradient are right: finite differences, packing, loss weights. */
public class EngineGradientTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static Engine engine;

  @BeforeClass
  public static void open() throws Exception {
    Path model = TinyModels.llama(TMP.newFolder("tiny").toPath(), 1);
    engine = Engine.open(TinyModels.config(model));
    TinyModels.randomizeLora(engine, 11, 0.02);
  }

  @AfterClass
  public static void close() {
    engine.close();
  }

  @Test
  public void loraGradientMatchesCentralFiniteDifferencesWithin1e3() {
    Batch batch = twoDocumentBatch(new Random(3));
    double[] loss = new double[1];
    float[] g = engine.loraGradient(batch, loss);
    float[] theta = engine.loraValues();
    double gNorm = norm(g);
    Random random = new Random(5);
    double worst = 0;
    for (int trial = 0; trial < 4; trial++) {
      // Direction: the gradient's own direction mixed with noise, so g·d is far from 0.
      double[] d = new double[g.length];
      for (int i = 0; i < d.length; i++) {
        d[i] = g[i] / gNorm + (trial == 0 ? 0 : random.nextGaussian() / Math.sqrt(d.length));
      }
      double dNorm = norm(d);
      double analytic = 0;
      for (int i = 0; i < d.length; i++) {
        d[i] /= dNorm;
        analytic += g[i] * d[i];
      }
      double eps = 5e-3;  // five-point stencil: truncation O(eps^4); float32 loss noise ~1e-6 / eps
      double numeric = (-lossAt(theta, d, 2 * eps, batch) + 8 * lossAt(theta, d, eps, batch)
          - 8 * lossAt(theta, d, -eps, batch) + lossAt(theta, d, -2 * eps, batch)) / (12 * eps);
      double rel = Math.abs(numeric - analytic) / Math.abs(analytic);
      System.out.printf("finite differences: direction %d analytic %.6f numeric %.6f rel err %.2e%n", trial,
          analytic, numeric, rel);
      worst = Math.max(worst, rel);
    }
    engine.setLoraValues(theta);
    assertTrue("worst relative error " + worst, worst <= 1e-3);
  }

  @Test
  public void packedDocumentsHaveTheSameTokenLossesAsEachDocumentAlone() {
    Random random = new Random(8);
    int[] a = randomTokens(random, 10);
    int[] b = randomTokens(random, 14);
    int padding = 4;
    int seqLen = a.length + b.length - 1 + padding;
    int[] tokens = new int[seqLen + 1];
    int[] segments = new int[seqLen];
    float[] weights = new float[seqLen];
    System.arraycopy(a, 0, tokens, 0, a.length);
    System.arraycopy(b, 0, tokens, a.length, b.length);
    for (int i = 0; i < seqLen; i++) {
      segments[i] = i < a.length ? 1 : i < a.length + b.length ? 2 : 0;
      // Target i is trained when input i and target i belong to the same document.
      weights[i] = i < a.length - 1 || (i >= a.length && i < a.length + b.length - 1) ? 1f : 0f;
    }
    float[] packed = engine.tokenLosses(new Batch(1, seqLen, tokens, segments, weights));
    float[] alone = new float[seqLen];
    float[] la = engine.tokenLosses(Batch.ofRows(1, a.length - 1, a));
    float[] lb = engine.tokenLosses(Batch.ofRows(1, b.length - 1, b));
    System.arraycopy(la, 0, alone, 0, la.length);
    System.arraycopy(lb, 0, alone, a.length, lb.length);
    float diff = TinyModels.maxAbsDiff(packed, alone);
    System.out.printf("packing: max |packed - alone| = %.3e over %d targets%n", diff, la.length + lb.length);
    assertTrue("max diff " + diff, diff <= 1e-5);
    for (float v : packed) {
      assertTrue("finite token loss", Float.isFinite(v));
    }
  }

  @Test
  public void weightedGradientIsTheWeightedMeanOfPerExampleGradients() {
    Random random = new Random(9);
    int rows = 3;
    int seqLen = 16;
    Batch base = TinyModels.randomBatch(random, rows, seqLen);
    float[] weights = new float[rows * seqLen];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = i % 5 == 0 ? 0f : 0.25f + 2 * random.nextFloat();
    }
    double[] loss = new double[1];
    float[] combined = engine.loraGradient(new Batch(rows, seqLen, base.tokens(), base.segments(), weights), loss);
    double[] expected = new double[combined.length];
    double totalWeight = 0;
    for (int r = 0; r < rows; r++) {
      int[] t = java.util.Arrays.copyOfRange(base.tokens(), r * (seqLen + 1), (r + 1) * (seqLen + 1));
      float[] w = java.util.Arrays.copyOfRange(weights, r * seqLen, (r + 1) * seqLen);
      int[] s = new int[seqLen];
      java.util.Arrays.fill(s, 1);
      double wr = 0;
      for (float x : w) {
        wr += x;
      }
      float[] gr = engine.loraGradient(new Batch(1, seqLen, t, s, w), loss);
      for (int i = 0; i < gr.length; i++) {
        expected[i] += wr * gr[i];
      }
      totalWeight += wr;
    }
    double maxDiff = 0;
    for (int i = 0; i < combined.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(combined[i] - expected[i] / totalWeight));
    }
    System.out.printf("loss weights: max |g(w) - sum(w_i g_i)/sum(w_i)| = %.3e (max |g| %.3e)%n", maxDiff,
        maxAbs(combined));
    assertTrue("max diff " + maxDiff, maxDiff <= 1e-5);
  }

  @Test
  public void zeroWeightTargetsDoNotChangeTheLoss() {
    Batch full = TinyModels.randomBatch(new Random(10), 1, 12);
    float[] w = full.weights().clone();
    w[3] = 0f;
    LossResult masked = engine.evalLoss(new Batch(1, 12, full.tokens(), full.segments(), w));
    float[] ce = engine.tokenLosses(full);
    double sum = 0;
    for (int i = 0; i < ce.length; i++) {
      sum += i == 3 ? 0 : ce[i];
    }
    assertEquals(11, masked.trainedTokens());
    assertEquals(11.0, masked.weightSum(), 0);
    assertEquals(sum / 11, masked.loss(), 1e-5);
    assertArrayEquals(new float[0], new float[0], 0f);
  }

  private static double lossAt(float[] theta, double[] d, double eps, Batch batch) {
    float[] shifted = new float[theta.length];
    for (int i = 0; i < theta.length; i++) {
      shifted[i] = (float) (theta[i] + eps * d[i]);
    }
    engine.setLoraValues(shifted);
    return engine.evalLoss(batch).loss();
  }

  /** Two rows: one packed with two documents and a masked tail, one single document. */
  private static Batch twoDocumentBatch(Random random) {
    int seqLen = 20;
    int[] tokens = randomTokens(random, 2 * (seqLen + 1));
    int[] segments = new int[2 * seqLen];
    float[] weights = new float[2 * seqLen];
    for (int i = 0; i < seqLen; i++) {
      segments[i] = i < 9 ? 1 : i < 17 ? 2 : 0;
      weights[i] = segments[i] == 0 || i == 8 ? 0f : 1f;
      segments[seqLen + i] = 1;
      weights[seqLen + i] = 0.5f + (i % 3);
    }
    return new Batch(2, seqLen, tokens, segments, weights);
  }

  private static int[] randomTokens(Random random, int n) {
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = random.nextInt(TinyModels.VOCAB);
    }
    return t;
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += (double) x * x;
    }
    return Math.sqrt(s);
  }

  private static double norm(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x * x;
    }
    return Math.sqrt(s);
  }

  private static double maxAbs(float[] v) {
    double m = 0;
    for (float x : v) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
