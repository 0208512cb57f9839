package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.transforms.UserError;
import java.nio.file.Path;
import java.util.Locale;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Out of memory, said once and with the fix. Two ways in: MLX refuses an allocation (Metal
 * enforces its memory limit and throws), or a step's peak went over the limit, which MLX's CPU
 * backend treats only as a hint — checked here so {@code --max-memory} means the same on Linux.
 */
final class OutOfMemory {
  private OutOfMemory() {}

  static boolean isOutOfMemory(MlxException e) {
    String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
    return m.contains("allocate") || m.contains("malloc") || m.contains("out of memory")
        || m.contains("bad_alloc") || m.contains("memory limit") || m.contains("resource limit");
  }

  static UserError explain(MlxException e, TrainConfig config, @Nullable Path checkpoint) {
    return new UserError(message("(" + e.getMessage() + ")", config, checkpoint), e);
  }

  /** A step whose peak memory (bytes) went over MLX's limit. */
  static UserError overLimit(long peakBytes, TrainConfig config, @Nullable Path checkpoint) {
    return new UserError(message(String.format("(the step peaked at %.2f GB)", peakBytes / 1e9), config, checkpoint));
  }

  private static String message(String detail, TrainConfig config, @Nullable Path checkpoint) {
    return String.format(
        "out of memory at the MLX memory limit of %.2f GB %s. Try --quantize 4, a smaller --batch-size (now %d) "
            + "or --train-seq-length (now %d), or --grad-checkpoint; or raise --max-memory. Last checkpoint: %s",
        Mlx.memoryLimit() / 1e9, detail, config.batchSize(), config.trainSeqLength(),
        checkpoint == null ? "none yet" : checkpoint + " (intact)");
  }
}
