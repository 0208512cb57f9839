package dev.lorabeam.transforms.pack;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupIntoBatches;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Shuffles blocks ({@link Reshuffle}) and groups them into {@link TrainBatch}es of B blocks.
 * The last batch of each key may be smaller; {@link #dropIncomplete()} drops it, as trainers
 * with fixed shapes want. Blocks are spread over {@code keys} keys (default 1: a single
 * training engine consumes all batches anyway).
 */
public final class BatchBlocks extends PTransform<PCollection<PackedBlock>, PCollection<TrainBatch>> {

  public static final String METRICS_NAMESPACE = "lorabeam.batch";

  private final int batchSize;
  private final int keys;
  private final boolean dropIncomplete;

  private BatchBlocks(int batchSize, int keys, boolean dropIncomplete) {
    this.batchSize = batchSize;
    this.keys = keys;
    this.dropIncomplete = dropIncomplete;
  }

  /** @param batchSize B, blocks per training step */
  public static BatchBlocks of(int batchSize) {
    return new BatchBlocks(batchSize, 1, false);
  }

  public BatchBlocks withKeys(int keys) {
    return new BatchBlocks(batchSize, keys, dropIncomplete);
  }

  public BatchBlocks dropIncomplete() {
    return new BatchBlocks(batchSize, keys, true);
  }

  @Override
  public PCollection<TrainBatch> expand(PCollection<PackedBlock> blocks) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
    }
    if (keys < 1) {
      throw new IllegalArgumentException("key count must be >= 1, got " + keys);
    }
    return blocks
        .apply("Shuffle", Reshuffle.viaRandomKey())
        .apply("SpreadOverKeys", ParDo.of(new KeyFn(keys)))
        .setCoder(KvCoder.of(VarIntCoder.of(), PackedBlockCoder.of()))
        .apply("GroupIntoBatches", GroupIntoBatches.ofSize(batchSize))
        .apply("ToTrainBatch", ParDo.of(new ToBatchFn(batchSize, dropIncomplete)))
        .setCoder(TrainBatch.TrainBatchCoder.of());
  }

  static final class KeyFn extends DoFn<PackedBlock, KV<Integer, PackedBlock>> {
    private final int keys;
    private int next;

    KeyFn(int keys) {
      this.keys = keys;
    }

    @ProcessElement
    public void process(@Element PackedBlock block, OutputReceiver<KV<Integer, PackedBlock>> out) {
      next = (next + 1) % keys;
      out.output(KV.of(next, block));
    }
  }

  static final class ToBatchFn extends DoFn<KV<Integer, Iterable<PackedBlock>>, TrainBatch> {
    private final int batchSize;
    private final boolean dropIncomplete;
    private final Counter dropped = Metrics.counter(METRICS_NAMESPACE, "blocks_dropped_incomplete");
    private final Counter batches = Metrics.counter(METRICS_NAMESPACE, "batches");

    ToBatchFn(int batchSize, boolean dropIncomplete) {
      this.batchSize = batchSize;
      this.dropIncomplete = dropIncomplete;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<PackedBlock>> group,
        OutputReceiver<TrainBatch> out) {
      List<PackedBlock> blocks = new ArrayList<>();
      group.getValue().forEach(blocks::add);
      if (dropIncomplete && blocks.size() < batchSize) {
        dropped.inc(blocks.size());
        return;
      }
      batches.inc();
      out.output(new TrainBatch(blocks));
    }
  }
}
