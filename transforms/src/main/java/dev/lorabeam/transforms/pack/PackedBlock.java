package dev.lorabeam.transforms.pack;

import java.util.Arrays;
import org.apache.beam.sdk.coders.DefaultCoder;

/**
 * A training row of exactly T+1 tokens holding one or more (pieces of) documents.
 *
 * <p>The engine relies on exactly this: inputs = tokens[0..T-1], targets = tokens[1..T];
 * segments[i] = 1-based id of the document that input token i belongs to within this block,
 * 0 = padding; attention is causal within a segment; weights[i] = loss weight of predicting
 * tokens[i+1], and is 0 whenever tokens[i+1] is not in the same segment as tokens[i].
 *
 * @param tokens (T+1) token ids
 * @param segments (T) segment id per input position
 * @param weights (T) loss weight per target position
 */
@DefaultCoder(PackedBlockCoder.class)
public record PackedBlock(int[] tokens, int[] segments, float[] weights)
    implements java.io.Serializable {

  public PackedBlock {
    if (segments.length != weights.length || tokens.length != segments.length + 1) {
      throw new IllegalArgumentException("block shapes disagree: tokens " + tokens.length
          + ", segments " + segments.length + ", weights " + weights.length
          + " (need T+1, T, T)");
    }
  }

  /** T, the number of input (and target) positions. */
  public int length() {
    return segments.length;
  }

  /** Targets with a non-zero weight: the tokens this block really trains on. */
  public long trainedTargets() {
    long n = 0;
    for (float w : weights) {
      n += w != 0 ? 1 : 0;
    }
    return n;
  }

  /** Number of documents (or document chunks) in the block. */
  public int documents() {
    int max = 0;
    for (int s : segments) {
      max = Math.max(max, s);
    }
    return max;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PackedBlock b && Arrays.equals(tokens, b.tokens)
        && Arrays.equals(segments, b.segments) && Arrays.equals(weights, b.weights);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(segments);
  }

  @Override
  public String toString() {
    return "PackedBlock[T=" + length() + ", docs=" + documents() + ", trained="
        + trainedTargets() + "]";
  }
}
