package dev.lorabeam.pipeline.train;

import java.io.Serializable;
import java.util.Locale;

/**
 * The empirical distrust term of the tool this project replaces, and the two ways of using it.
 *
 * <p>Per example {@code L_emp = α · (ln(1 − w_auth + 1e-8) + H_prov)²}, with authority weight
 * {@code w_auth ∈ [0, 0.99]} and provenance entropy {@code H_prov ≥ 0} bits. Primary sources (low
 * authority, high entropy) get a large value; e.g. with α = 2.7, (0.05, 7.0) gives ≈ 130 and
 * (0.90, 1.0) gives ≈ 4.6, a ratio of about 28.
 *
 * <ul>
 *   <li>{@code additive} reproduces the old tool: reported loss = CE + λ · mean(L_emp) over the
 *       batch's examples. L_emp depends only on the data, never on the model's parameters, so its
 *       gradient is zero and the sum trains exactly like CE alone: it changes the printed number and
 *       nothing else. Token weights are left as they are. Kept for comparison with old runs.
 *   <li>{@code weighted} multiplies the loss weight of every token of an example by
 *       {@code L_emp / mean(L_emp over the training set)}: weights have mean 1 over the training set
 *       (the overall step size stays comparable to {@code off}) and primary sources really get the
 *       stronger training signal users were promised. Reported loss = the weighted CE.
 *   <li>{@code off}: plain CE.
 * </ul>
 */
public final class Distrust implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final double MAX_AUTH_WEIGHT = 0.99;
  private static final double EPS = 1e-8;

  private Distrust() {}

  /** {@code α · (ln(1 − w + 1e-8) + H)²}. */
  public static double empirical(double authWeight, double provEntropy, double alpha) {
    if (!(authWeight >= 0 && authWeight <= MAX_AUTH_WEIGHT)) {
      throw new IllegalArgumentException(
          "auth_weight must be in [0, " + MAX_AUTH_WEIGHT + "] (got " + authWeight + ")");
    }
    if (!(provEntropy >= 0 && Double.isFinite(provEntropy))) {
      throw new IllegalArgumentException("prov_entropy must be ≥ 0 bits (got " + provEntropy + ")");
    }
    if (!(alpha > 0 && Double.isFinite(alpha))) {
      throw new IllegalArgumentException("--alpha must be > 0 (got " + alpha + ")");
    }
    double inner = Math.log(1 - authWeight + EPS) + provEntropy;
    return alpha * inner * inner;
  }

  /** The mode named by {@code --distrust}: off, additive or weighted. */
  public static String mode(String name) {
    String m = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
    if (!TrainConfig.DISTRUST_MODES.contains(m)) {
      throw new IllegalArgumentException("--distrust must be one of "
          + String.join(", ", TrainConfig.DISTRUST_MODES) + " (got '" + name + "')");
    }
    return m;
  }

  /** {@code λ · mean(lemp)}: the distrust part of the {@code additive} reported loss. */
  public static double additiveTerm(double[] lemp, double lambda) {
    return lemp.length == 0 ? 0 : lambda * mean(lemp);
  }

  /** {@code additive} reported loss: {@code ce + λ · mean(lemp)} over the batch's examples. */
  public static double additiveLoss(double ce, double[] lemp, double lambda) {
    return ce + additiveTerm(lemp, lambda);
  }

  /**
   * {@code lemp[i] / mean(lemp)}: per-example weights with mean 1, keeping the ratios of L_emp. If
   * every value is 0 (nothing to prefer) all weights are 1.
   */
  public static double[] normalisedWeights(double[] lemp) {
    for (int i = 0; i < lemp.length; i++) {
      checkLemp(lemp[i], i);
    }
    return normalisedWeights(lemp, lemp.length == 0 ? 0 : mean(lemp));
  }

  /** {@code lemp[i] / meanLemp}, with the mean taken over the whole training set. */
  public static double[] normalisedWeights(double[] lemp, double meanLemp) {
    if (!(meanLemp >= 0 && Double.isFinite(meanLemp))) {
      throw new IllegalArgumentException("mean L_emp must be finite and ≥ 0 (got " + meanLemp + ")");
    }
    double[] w = new double[lemp.length];
    for (int i = 0; i < lemp.length; i++) {
      checkLemp(lemp[i], i);
      w[i] = meanLemp == 0 ? 1 : lemp[i] / meanLemp;
    }
    return w;
  }

  /**
   * The loss weights the engine gets for one block (T target positions): for {@code off} and
   * {@code additive} the block's own weights, unchanged; for {@code weighted} each target's weight
   * times the weight of the document it belongs to.
   *
   * @param weights (T) mask weights: 0 = not trained
   * @param segments (T) 1-based document id per position, 0 = padding
   * @param documentWeights (D) normalised weight of document {@code s} at index {@code s − 1}
   */
  public static float[] tokenWeights(
      String mode, float[] weights, int[] segments, double[] documentWeights) {
    if (!mode(mode).equals("weighted")) {
      return weights;
    }
    if (segments.length != weights.length) {
      throw new IllegalArgumentException("segments (" + segments.length
          + ") and weights (" + weights.length + ") must have the same length");
    }
    float[] out = new float[weights.length];
    for (int i = 0; i < weights.length; i++) {
      int s = segments[i];
      if (s > documentWeights.length) {
        throw new IllegalArgumentException("segment " + s + " at position " + i
            + " has no document weight (" + documentWeights.length + " given)");
      }
      out[i] = s == 0 ? 0f : (float) (weights[i] * documentWeights[s - 1]);
    }
    return out;
  }

  private static void checkLemp(double value, int index) {
    if (!(value >= 0 && Double.isFinite(value))) {
      throw new IllegalArgumentException("L_emp must be finite and ≥ 0 (got " + value + " at " + index + ")");
    }
  }

  private static double mean(double[] values) {
    double sum = 0;
    for (double v : values) {
      sum += v;
    }
    return sum / values.length;
  }
}
