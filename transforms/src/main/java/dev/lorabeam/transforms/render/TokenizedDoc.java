package dev.lorabeam.transforms.render;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * One document as token ids with a loss weight per token.
 *
 * @param tokens ids, (L)
 * @param weights (L); weights[j] = loss weight of predicting tokens[j] from tokens[0..j-1].
 *     weights[0] is never used (nothing predicts the first token) and is kept 0.
 */
@DefaultCoder(TokenizedDoc.TokenizedDocCoder.class)
public record TokenizedDoc(int[] tokens, float[] weights, String sourceFile, long line)
    implements java.io.Serializable {

  public TokenizedDoc {
    if (tokens.length != weights.length) {
      throw new IllegalArgumentException("tokens (" + tokens.length + ") and weights ("
          + weights.length + ") must have the same length at " + sourceFile + ":" + line);
    }
  }

  public int length() {
    return tokens.length;
  }

  /** Number of targets with a non-zero weight: what this document contributes to training. */
  public long trainedTargets() {
    long n = 0;
    for (int j = 1; j < weights.length; j++) {
      n += weights[j] != 0 ? 1 : 0;
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenizedDoc d && Arrays.equals(tokens, d.tokens)
        && Arrays.equals(weights, d.weights) && sourceFile.equals(d.sourceFile) && line == d.line;
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(tokens) + Long.hashCode(line);
  }

  @Override
  public String toString() {
    return "TokenizedDoc[" + sourceFile + ":" + line + ", " + tokens.length + " tokens]";
  }

  /** Explicit coder: varint length, then raw little-endian-free int/float streams. */
  public static final class TokenizedDocCoder extends AtomicCoder<TokenizedDoc> {
    public static TokenizedDocCoder of() {
      return new TokenizedDocCoder();
    }

    @Override
    public void encode(TokenizedDoc doc, OutputStream out) throws IOException {
      ArrayCodec.writeInts(doc.tokens(), out);
      ArrayCodec.writeFloats(doc.weights(), out);
      StringUtf8Coder.of().encode(doc.sourceFile(), out);
      VarLongCoder.of().encode(doc.line(), out);
    }

    @Override
    public TokenizedDoc decode(InputStream in) throws IOException {
      int[] tokens = ArrayCodec.readInts(in);
      float[] weights = ArrayCodec.readFloats(in);
      return new TokenizedDoc(tokens, weights, StringUtf8Coder.of().decode(in),
          VarLongCoder.of().decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
