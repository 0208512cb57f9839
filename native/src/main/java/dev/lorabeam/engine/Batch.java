package dev.lorabeam.engine;

/**
 * One training batch as the engine reads it. {@code tokens} is (rows, seqLen + 1) row-major: inputs
 * are {@code tokens[:, :-1]}, targets {@code tokens[:, 1:]}. {@code segments} (rows, seqLen) holds the
 * 1-based document id of each input position (0 = padding); attention is causal within a document.
 * {@code weights} (rows, seqLen) is the loss weight of each target (0 = not trained).
 */
public record Batch(int rows, int seqLen, int[] tokens, int[] segments, float[] weights) {
  public Batch {
    if (rows < 1 || seqLen < 1) {
      throw new IllegalArgumentException("batch shape must be positive, got rows=" + rows + " seqLen=" + seqLen);
    }
    if (tokens == null || segments == null || weights == null) {
      throw new IllegalArgumentException("batch arrays must not be null");
    }
    long tokenCount = (long) rows * (seqLen + 1);
    long positions = (long) rows * seqLen;
    if (tokens.length != tokenCount) {
      throw new IllegalArgumentException("tokens has " + tokens.length + " ids, expected rows*(seqLen+1) = "
          + rows + "*" + (seqLen + 1) + " = " + tokenCount);
    }
    if (segments.length != positions) {
      throw new IllegalArgumentException("segments has " + segments.length + " ids, expected rows*seqLen = "
          + positions);
    }
    if (weights.length != positions) {
      throw new IllegalArgumentException("weights has " + weights.length + " values, expected rows*seqLen = "
          + positions);
    }
  }

  /** Rows that are each one whole document with every target trained (weight 1). */
  public static Batch ofRows(int rows, int seqLen, int[] tokens) {
    int[] segments = new int[rows * seqLen];
    float[] weights = new float[rows * seqLen];
    java.util.Arrays.fill(segments, 1);
    java.util.Arrays.fill(weights, 1f);
    return new Batch(rows, seqLen, tokens, segments, weights);
  }
}
