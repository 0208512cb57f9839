package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.pipeline.cli.UserError;
import java.nio.file.Path;
import java.util.Locale;
import org.checkerframework.checker.nullness.qual.Nullable;

/** Recognises MLX's allocation failures and says what to change. */
final class OutOfMemory {
  private OutOfMemory() {}

  static boolean isOutOfMemory(MlxException e) {
    String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
    return m.contains("unable to allocate") || m.contains("out of memory") || m.contains("bad_alloc")
        || m.contains("memory limit") || m.contains("[malloc]");
  }

  static UserError explain(MlxException e, TrainConfig config, @Nullable Path checkpoint) {
    return new UserError(String.format(
        "out of memory at the MLX memory limit of %.1f GB (%s). Try --quantize 4, a smaller --batch-size (now %d) "
            + "or --train-seq-length (now %d), or --grad-checkpoint; or raise --max-memory. Last checkpoint: %s",
        Mlx.memoryLimit() / 1e9, e.getMessage(), config.batchSize(), config.trainSeqLength(),
        checkpoint == null ? "none yet" : checkpoint + " (intact)"), e);
  }
}
