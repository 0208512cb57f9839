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

/**
 * The training step's loss and LoRA gradient are right: finite differences, packing, absolute loss
 * weights. Every gradient here comes out of the compiled training step itself: with adamBeta1 = 0
 * AdamW's first moment after a step is exactly the gradient that step applied, and a step at
 * learning rate 0 leaves the adapters where they are, so its loss is the loss at those adapters.
 */
public class EngineGradientTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static Engine engine;

  @BeforeClass
  public static void open() throws Exception {
    Path model = TinyModels.llama(TMP.newFolder("tiny").toPath(), 1);
    engine = Engine.open(gradientProbe(model));
    TinyModels.randomizeLora(engine, 11, 0.02);
  }

  /** AdamW with beta1 = 0 and no weight decay: m = the step's gradient; lr = 0 changes nothing. */
  static EngineConfig gradientProbe(Path model) {
    return TinyModels.config(model).withAdam(0.0, 0.999, 1e-8, 0.0, false);
  }

  @AfterClass
  public static void close() {
    engine.close();
  }

  /** The gradient the compiled step computes at the current adapters (they stay unchanged). */
  static float[] stepGradient(Engine e, Batch batch) {
    e.step(batch, 0.0);
    return e.firstMoment();
  }

  @Test
  public void stepGradientMatchesFiniteDifferencesOfTheStepLossWithin1e3() {
    Batch batch = twoDocumentBatch(new Random(3));
    float[] theta = engine.loraValues();
    float[] g = stepGradient(engine, batch);
    assertArrayEquals("a step at lr 0 leaves the adapters unchanged", theta, engine.loraValues(), 0f);
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
      System.out.printf("finite differences through the step: direction %d analytic %.6f numeric %.6f rel err %.2e%n",
          trial, analytic, numeric, rel);
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

  /**
   * g(batch) = Σ_r N_r g_r / N: each row's own step gradient g_r (normalised by its own N_r)
   * weighted by its trained-target count, over the batch's N. Under the old Σw normalisation the
   * weights 0.25..2.25 of different rows would mix differently and this fails by ~1e-2.
   */
  @Test
  public void weightedGradientIsTheSumOfPerRowWeightedGradientsOverTrainedTokens() {
    Random random = new Random(9);
    int rows = 3;
    int seqLen = 16;
    Batch base = TinyModels.randomBatch(random, rows, seqLen);
    float[] weights = new float[rows * seqLen];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = i % 5 == 0 ? 0f : (0.25f + 2 * random.nextFloat()) * (1 + i / seqLen);
    }
    float[] combined = stepGradient(engine, new Batch(rows, seqLen, base.tokens(), base.segments(), weights));
    double[] expected = new double[combined.length];
    long totalTrained = 0;
    for (int r = 0; r < rows; r++) {
      int[] t = java.util.Arrays.copyOfRange(base.tokens(), r * (seqLen + 1), (r + 1) * (seqLen + 1));
      float[] w = java.util.Arrays.copyOfRange(weights, r * seqLen, (r + 1) * seqLen);
      int[] s = new int[seqLen];
      java.util.Arrays.fill(s, 1);
      long trained = 0;
      for (float x : w) {
        trained += x > 0 ? 1 : 0;
      }
      float[] gr = stepGradient(engine, new Batch(1, seqLen, t, s, w));
      for (int i = 0; i < gr.length; i++) {
        expected[i] += trained * gr[i];
      }
      totalTrained += trained;
    }
    double maxDiff = 0;
    for (int i = 0; i < combined.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(combined[i] - expected[i] / totalTrained));
    }
    System.out.printf("loss weights: max |g(w) - sum(N_r g_r)/N| = %.3e (max |g| %.3e)%n", maxDiff,
        maxAbs(combined));
    assertTrue("max diff " + maxDiff, maxDiff <= 1e-5);
  }

  /** Tripling every weight triples the loss and the gradient: weights are absolute, not relative. */
  @Test
  public void tripledWeightsGiveThreeTimesTheLossAndTheGradient() {
    Batch batch = twoDocumentBatch(new Random(12));
    float[] tripled = batch.weights().clone();
    for (int i = 0; i < tripled.length; i++) {
      tripled[i] *= 3;
    }
    StepResult once = engine.step(batch, 0.0);
    float[] g1 = engine.firstMoment();
    StepResult thrice = engine.step(new Batch(batch.rows(), batch.seqLen(), batch.tokens(), batch.segments(),
        tripled), 0.0);
    float[] g3 = engine.firstMoment();
    double maxDiff = 0;
    for (int i = 0; i < g1.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(g3[i] - 3 * g1[i]));
    }
    System.out.printf("absolute weights: loss %.6f -> %.6f, max |g(3w) - 3 g(w)| = %.3e (max |g| %.3e)%n",
        once.loss(), thrice.loss(), maxDiff, maxAbs(g1));
    assertEquals(once.trainedTokens(), thrice.trainedTokens());
    assertEquals(3 * once.loss(), thrice.loss(), 1e-5 * thrice.loss());
    assertTrue("max diff " + maxDiff, maxDiff <= 1e-5 * 3 * maxAbs(g1));
  }

  /** The step loss is Σ w·CE / N; evalLoss is the plain CE mean over the same N targets. */
  @Test
  public void stepLossIsWeightedSumOverTrainedTokensAndEvalLossIsPlainCrossEntropy() {
    Batch ones = TinyModels.randomBatch(new Random(10), 2, 12);
    float[] w = new float[ones.weights().length];
    for (int i = 0; i < w.length; i++) {
      w[i] = i % 4 == 3 ? 0f : 0.5f + (i % 3);
    }
    Batch batch = new Batch(2, 12, ones.tokens(), ones.segments(), w);
    float[] ce = engine.tokenLosses(batch);
    double weighted = 0;
    double plain = 0;
    double weightSum = 0;
    long n = 0;
    for (int i = 0; i < ce.length; i++) {
      weighted += w[i] * ce[i];
      plain += w[i] > 0 ? ce[i] : 0;
      weightSum += w[i];
      n += w[i] > 0 ? 1 : 0;
    }
    StepResult step = engine.step(batch, 0.0);
    LossResult eval = engine.evalLoss(batch);
    System.out.printf("losses: step %.6f (Σw·CE/N %.6f), eval %.6f (plain CE %.6f), N %d, Σw %.1f%n", step.loss(),
        weighted / n, eval.loss(), plain / n, n, weightSum);
    assertEquals(18, n);
    assertEquals(n, step.trainedTokens());
    assertEquals(n, eval.trainedTokens());
    assertEquals(weightSum, eval.weightSum(), 1e-4);
    assertEquals(weighted / n, step.loss(), 1e-5);
    assertEquals(plain / n, eval.loss(), 1e-5);
  }

  private static double lossAt(float[] theta, double[] d, double eps, Batch batch) {
    float[] shifted = new float[theta.length];
    for (int i = 0; i < theta.length; i++) {
      shifted[i] = (float) (theta[i] + eps * d[i]);
    }
    engine.setLoraValues(shifted);
    return engine.step(batch, 0.0).loss();
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
