package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.TrainBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;

/**
 * Turns the whole set of packed blocks into the run's numbered batches: a canonical order (blocks
 * sorted by content, so the runner's delivery order does not matter), then one seeded shuffle per
 * epoch, cut into batches of {@code rowsPerStep} blocks. The last batch of an epoch is completed
 * with blocks from the start of that epoch's order, so no block is dropped and every step has the
 * same shape. Same seed and data ⇒ same batches in the same order, which makes resume and reload
 * reproducible.
 */
final class OrderBatchesFn extends DoFn<KV<Integer, Iterable<PackedBlock>>, KV<Integer, IndexedBatch>> {
  private final int rowsPerStep;
  private final int epochs;
  private final Integer maxSteps;
  private final long seed;
  private final Counter blocksCounter = Metrics.counter("lorabeam.train", "blocks");

  OrderBatchesFn(int rowsPerStep, int epochs, Integer maxSteps, long seed) {
    this.rowsPerStep = rowsPerStep;
    this.epochs = epochs;
    this.maxSteps = maxSteps;
    this.seed = seed;
  }

  @ProcessElement
  public void process(@Element KV<Integer, Iterable<PackedBlock>> all, OutputReceiver<KV<Integer, IndexedBatch>> out) {
    List<PackedBlock> blocks = new ArrayList<>();
    all.getValue().forEach(blocks::add);
    blocks.sort(CANONICAL);
    blocksCounter.inc(blocks.size());
    long stepsPerEpoch = stepsPerEpoch(blocks.size(), rowsPerStep);
    long total = totalSteps(blocks.size(), rowsPerStep, epochs, maxSteps);
    long index = 0;
    for (int epoch = 0; index < total; epoch++) {
      List<PackedBlock> order = new ArrayList<>(blocks);
      java.util.Collections.shuffle(order, new Random(seed * 1_000_003L + epoch));
      for (long b = 0; b < stepsPerEpoch && index < total; b++, index++) {
        List<PackedBlock> rows = new ArrayList<>(rowsPerStep);
        for (int r = 0; r < rowsPerStep; r++) {
          rows.add(order.get((int) ((b * rowsPerStep + r) % order.size())));
        }
        out.output(KV.of(0, new IndexedBatch(index, epoch, total, new TrainBatch(rows))));
      }
    }
  }

  static long stepsPerEpoch(long blocks, int rowsPerStep) {
    return (blocks + rowsPerStep - 1) / rowsPerStep;
  }

  /** {@code --max-steps} when given, else epochs × steps per epoch. */
  static long totalSteps(long blocks, int rowsPerStep, int epochs, Integer maxSteps) {
    if (blocks == 0) {
      throw new IllegalArgumentException("the training data produced no blocks: check --data");
    }
    return maxSteps != null ? maxSteps : epochs * stepsPerEpoch(blocks, rowsPerStep);
  }

  /** Total order on blocks by content: tokens, then segments, then weights. */
  static final Comparator<PackedBlock> CANONICAL =
      Comparator.<PackedBlock, int[]>comparing(PackedBlock::tokens, Arrays::compare)
          .thenComparing(PackedBlock::segments, Arrays::compare)
          .thenComparing(PackedBlock::weights, Arrays::compare);
}
