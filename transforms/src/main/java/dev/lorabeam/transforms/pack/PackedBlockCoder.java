package dev.lorabeam.transforms.pack;

import dev.lorabeam.transforms.render.ArrayCodec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderException;

/**
 * Explicit coder for {@link PackedBlock} (Beam has no int[] coder, and Java serialization is slow
 * and fragile): three length-prefixed little-endian arrays, tokens (T+1), segments (T),
 * weights (T). Deterministic, so blocks can be grouping keys or compared by bytes.
 */
public final class PackedBlockCoder extends AtomicCoder<PackedBlock> {
  private static final PackedBlockCoder INSTANCE = new PackedBlockCoder();

  public static PackedBlockCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(PackedBlock block, OutputStream out) throws IOException {
    ArrayCodec.writeInts(block.tokens(), out);
    ArrayCodec.writeInts(block.segments(), out);
    ArrayCodec.writeFloats(block.weights(), out);
  }

  @Override
  public PackedBlock decode(InputStream in) throws IOException {
    int[] tokens = ArrayCodec.readInts(in);
    int[] segments = ArrayCodec.readInts(in);
    float[] weights = ArrayCodec.readFloats(in);
    try {
      return new PackedBlock(tokens, segments, weights);
    } catch (IllegalArgumentException e) {
      throw new CoderException("corrupt PackedBlock: " + e.getMessage());
    }
  }

  @Override
  public void verifyDeterministic() {}

  @Override
  public boolean consistentWithEquals() {
    return true;
  }
}
