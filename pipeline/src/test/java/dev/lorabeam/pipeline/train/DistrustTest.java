package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * The empirical distrust term: the formula, {@code additive} changing only the reported loss,
 * {@code weighted} turning it into per-token weights of mean 1 with the promised ratios.
 */
public class DistrustTest {

  @Test
  public void empiricalMatchesTheFormula() {
    double expected = 2.7 * Math.pow(Math.log(1 - 0.05 + 1e-8) + 7.0, 2);
    assertEquals(expected, Distrust.empirical(0.05, 7.0, 2.7), 1e-12);
    assertEquals(130.37, Distrust.empirical(0.05, 7.0, 2.7), 0.01);
    assertEquals(4.58, Distrust.empirical(0.90, 1.0, 2.7), 0.01);
    // w = 0, H = 0: ln(1 + 1e-8)² · α, essentially 0 but finite.
    assertTrue(Distrust.empirical(0, 0, 2.7) < 1e-15);
  }

  @Test
  public void primarySourcesGetAboutThirtyTimesTheWeightOfAuthoritativeOnes() {
    double primary = Distrust.empirical(0.05, 7.0, 2.7);
    double authority = Distrust.empirical(0.90, 1.0, 2.7);
    double[] w = Distrust.normalisedWeights(new double[] {primary, authority});
    assertEquals(primary / authority, w[0] / w[1], 1e-12);
    assertTrue("ratio " + w[0] / w[1], w[0] / w[1] > 25 && w[0] / w[1] < 35);
  }

  @Test
  public void outOfRangeInputsAreRejectedNamingTheField() {
    assertMessage("auth_weight must be in [0, 0.99] (got 1.0)", () -> Distrust.empirical(1.0, 1, 2.7));
    assertMessage("auth_weight must be in [0, 0.99] (got -0.1)", () -> Distrust.empirical(-0.1, 1, 2.7));
    assertMessage("prov_entropy must be ≥ 0 bits (got -1.0)", () -> Distrust.empirical(0.5, -1, 2.7));
    assertMessage("--alpha must be > 0 (got 0.0)", () -> Distrust.empirical(0.5, 1, 0));
    assertMessage("--distrust must be one of off, additive, weighted (got 'x')", () -> Distrust.mode("x"));
  }

  @Test
  public void additiveAddsLambdaTimesTheBatchMeanToTheReportedLossOnly() {
    double[] lemp = {100, 4, 10};
    assertEquals(2.5 + 0.6 * 38, Distrust.additiveLoss(2.5, lemp, 0.6), 1e-12);
    assertEquals(2.5, Distrust.additiveLoss(2.5, new double[0], 0.6), 0);
  }

  @Test
  public void additiveAndOffLeaveTheTokenWeightsUnchanged() {
    float[] weights = {0, 1, 1, 1, 0, 1, 1, 0};
    int[] segments = {1, 1, 1, 2, 2, 2, 0, 0};
    double[] documentWeights = {3.0, 0.1};
    // Same array, same values: the engine computes the same loss and gradients as without distrust.
    assertSame(weights, Distrust.tokenWeights("additive", weights, segments, documentWeights));
    assertSame(weights, Distrust.tokenWeights("off", weights, segments, documentWeights));
    assertArrayEquals(new float[] {0, 1, 1, 1, 0, 1, 1, 0}, weights, 0);
  }

  @Test
  public void weightedMultipliesEachTokenByItsDocumentsWeight() {
    float[] weights = {0, 1, 1, 1, 0, 1, 1, 0};
    int[] segments = {1, 1, 1, 2, 2, 2, 0, 0};
    float[] out = Distrust.tokenWeights("weighted", weights, segments, new double[] {3.0, 0.1});
    assertArrayEquals(new float[] {0, 3, 3, 0.1f, 0, 0.1f, 0, 0}, out, 1e-6f);
  }

  @Test
  public void normalisedWeightsHaveMeanOneAndKeepRatios() {
    double[] lemp = {130.4, 4.58, 50, 0.5, 20};
    double[] w = Distrust.normalisedWeights(lemp);
    double sum = 0;
    for (double v : w) {
      sum += v;
    }
    assertEquals(1.0, sum / w.length, 1e-12);
    for (int i = 1; i < lemp.length; i++) {
      assertEquals(lemp[i] / lemp[0], w[i] / w[0], 1e-12);
    }
  }

  @Test
  public void weightsAgainstTheTrainingSetMeanAndAllZeroFallBackToOne() {
    assertArrayEquals(new double[] {2, 0.5}, Distrust.normalisedWeights(new double[] {10, 2.5}, 5), 1e-12);
    assertArrayEquals(new double[] {1, 1, 1}, Distrust.normalisedWeights(new double[] {0, 0, 0}), 0);
    assertMessage("L_emp must be finite and ≥ 0 (got NaN at 1)", () -> Distrust.normalisedWeights(new double[] {1, Double.NaN}));
  }

  private static void assertMessage(String expected, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage(), e.getMessage().contains(expected));
  }
}
