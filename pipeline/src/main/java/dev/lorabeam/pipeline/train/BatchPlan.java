package dev.lorabeam.pipeline.train;

import java.io.Serializable;
import java.util.Random;

/**
 * Which blocks each optimizer step trains on, as a pure function of (block count, rows per step,
 * seed): epoch e is a seeded permutation of the block indices {@code 0 … blocks−1} (manifest order
 * of the shard directory), cut into steps of {@code rowsPerStep} indices. The last step of an epoch
 * is completed with indices from the start of that epoch's permutation, so no block is dropped and
 * every step has the same shape. Nothing here holds data: the trainer reads the rows of step i from
 * the shards, and the plan's only memory is one epoch's permutation (4 bytes per block).
 *
 * <p>The plan does not depend on {@code --max-steps} or {@code --epochs}: they only say how many
 * steps are run, so a resumed run with a longer {@code --max-steps} continues the same order.
 *
 * @param blocks blocks in the shard directory
 * @param rowsPerStep blocks per optimizer step ({@code batchSize × gradAccumulation})
 * @param seed {@code --seed}
 * @param totalSteps steps this run trains on this data ({@code --max-steps}, else epochs × steps per epoch)
 */
record BatchPlan(long blocks, int rowsPerStep, long seed, long totalSteps) implements Serializable {
  private static final long serialVersionUID = 1L;

  BatchPlan {
    if (blocks == 0) {
      throw new IllegalArgumentException("the training data produced no blocks: check --data");
    }
    if (blocks > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a shard directory of " + blocks
          + " blocks is over the 2^31 − 1 blocks one permutation can index; split the data");
    }
    if (rowsPerStep < 1 || totalSteps < 1) {
      throw new IllegalArgumentException("rows per step " + rowsPerStep + " and steps " + totalSteps + " must be ≥ 1");
    }
  }

  /** The plan of a run: {@code --max-steps} when given, else {@code --epochs} passes. */
  static BatchPlan of(long blocks, TrainConfig config) {
    int rows = config.effectiveBatchSize();
    long steps = config.maxSteps() != null ? config.maxSteps() : config.epochs() * stepsPerEpoch(blocks, rows);
    return new BatchPlan(blocks, rows, config.seed(), steps);
  }

  static long stepsPerEpoch(long blocks, int rowsPerStep) {
    return (blocks + rowsPerStep - 1) / rowsPerStep;
  }

  long stepsPerEpoch() {
    return stepsPerEpoch(blocks, rowsPerStep);
  }

  /** 0-based epoch of the 0-based step {@code index}. */
  int epochOf(long index) {
    return (int) (index / stepsPerEpoch());
  }

  /** The block indices of step {@code index}, given that epoch's permutation. */
  long[] rows(long index, int[] permutation) {
    long b = index % stepsPerEpoch();
    long[] rows = new long[rowsPerStep];
    for (int r = 0; r < rowsPerStep; r++) {
      rows[r] = permutation[(int) ((b * rowsPerStep + r) % blocks)];
    }
    return rows;
  }

  /** Epoch {@code epoch}'s order: Fisher–Yates over 0 … blocks−1 from {@code Random(seed · 1000003 + epoch)}. */
  int[] permutation(int epoch) {
    int n = (int) blocks;
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Random random = new Random(seed * 1_000_003L + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }
}
