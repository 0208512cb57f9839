package dev.lorabeam.transforms.pack;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.util.VarInt;

/**
 * B packed blocks that form one training step; all blocks share T.
 *
 * @param blocks (B) blocks, each tokens (T+1), segments (T), weights (T)
 */
@DefaultCoder(TrainBatch.TrainBatchCoder.class)
public record TrainBatch(List<PackedBlock> blocks) implements java.io.Serializable {

  public TrainBatch {
    blocks = List.copyOf(blocks);
    if (blocks.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one block");
    }
    int t = blocks.get(0).length();
    for (PackedBlock b : blocks) {
      if (b.length() != t) {
        throw new IllegalArgumentException("blocks of T=" + t + " and T=" + b.length()
            + " cannot share a batch");
      }
    }
  }

  public int size() {
    return blocks.size();
  }

  public int seqLength() {
    return blocks.get(0).length();
  }

  /** Row-major (B, T+1) tokens, the layout the engine takes. */
  public int[] tokens() {
    int w = seqLength() + 1;
    int[] out = new int[size() * w];
    for (int b = 0; b < size(); b++) {
      System.arraycopy(blocks.get(b).tokens(), 0, out, b * w, w);
    }
    return out;
  }

  /** Row-major (B, T) segment ids. */
  public int[] segments() {
    int t = seqLength();
    int[] out = new int[size() * t];
    for (int b = 0; b < size(); b++) {
      System.arraycopy(blocks.get(b).segments(), 0, out, b * t, t);
    }
    return out;
  }

  /** Row-major (B, T) loss weights. */
  public float[] weights() {
    int t = seqLength();
    float[] out = new float[size() * t];
    for (int b = 0; b < size(); b++) {
      System.arraycopy(blocks.get(b).weights(), 0, out, b * t, t);
    }
    return out;
  }

  public long trainedTargets() {
    return blocks.stream().mapToLong(PackedBlock::trainedTargets).sum();
  }

  /** Explicit coder: varint B, then B {@link PackedBlockCoder} encodings. */
  public static final class TrainBatchCoder extends AtomicCoder<TrainBatch> {
    public static TrainBatchCoder of() {
      return new TrainBatchCoder();
    }

    @Override
    public void encode(TrainBatch batch, OutputStream out) throws IOException {
      VarInt.encode(batch.size(), out);
      for (PackedBlock b : batch.blocks()) {
        PackedBlockCoder.of().encode(b, out);
      }
    }

    @Override
    public TrainBatch decode(InputStream in) throws IOException {
      int n = VarInt.decodeInt(in);
      List<PackedBlock> blocks = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        blocks.add(PackedBlockCoder.of().decode(in));
      }
      return new TrainBatch(blocks);
    }

    @Override
    public void verifyDeterministic() {}
  }
}
