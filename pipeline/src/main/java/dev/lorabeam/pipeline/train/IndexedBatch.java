package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.pack.TrainBatch;
import dev.lorabeam.transforms.pack.TrainBatch.TrainBatchCoder;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;

/**
 * One optimizer step's worth of blocks ({@code batchSize × gradAccumulation} rows), with its
 * position in the run: {@code index} is the 0-based step this batch feeds, so the trainer can put
 * batches back in order whatever order the runner delivers them in.
 */
public record IndexedBatch(long index, int epoch, long totalSteps, TrainBatch batch) {

  public IndexedBatch {
    if (index < 0 || index >= totalSteps) {
      throw new IllegalArgumentException("batch index " + index + " outside [0, " + totalSteps + ")");
    }
  }

  /** Explicit binary coder: three longs/ints and the blocks' own coder. */
  public static final class IndexedBatchCoder extends AtomicCoder<IndexedBatch> {
    private static final IndexedBatchCoder INSTANCE = new IndexedBatchCoder();

    public static IndexedBatchCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(IndexedBatch value, OutputStream out) throws IOException {
      DataOutputStream data = new DataOutputStream(out);
      data.writeLong(value.index());
      data.writeInt(value.epoch());
      data.writeLong(value.totalSteps());
      data.flush();
      TrainBatchCoder.of().encode(value.batch(), out);
    }

    @Override
    public IndexedBatch decode(InputStream in) throws IOException {
      DataInputStream data = new DataInputStream(in);
      long index = data.readLong();
      int epoch = data.readInt();
      long total = data.readLong();
      return new IndexedBatch(index, epoch, total, TrainBatchCoder.of().decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
