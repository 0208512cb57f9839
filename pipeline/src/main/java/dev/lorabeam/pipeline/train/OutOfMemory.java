package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.pipeline.memory.MemoryModel;
import dev.lorabeam.transforms.UserError;
import java.nio.file.Path;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Out of memory, said once and with the fix. Three ways in: MLX refuses an allocation (Metal
 * enforces its memory limit and throws), the memory model predicts a step over the limit before it
 * runs, or a step's measured peak went over it — MLX's CPU backend treats the limit only as a hint,
 * so {@link StepMemoryCheck} makes {@code --max-memory} mean the same on Linux.
 */
final class OutOfMemory {
  private OutOfMemory() {}

  static UserError explain(MlxException e, TrainConfig config, @Nullable Path checkpoint) {
    return new UserError(message("(" + e.getMessage() + ")", config, checkpoint), e);
  }

  /** A step whose peak memory (bytes), measured by MLX, went over MLX's limit. */
  static UserError overLimit(long peakBytes, TrainConfig config, @Nullable Path checkpoint) {
    return new UserError(message(String.format("(the step peaked at %.3f GB, measured)", peakBytes / 1e9), config,
        checkpoint));
  }

  /** A step refused before it ran: the memory model predicts a peak over the limit. */
  static UserError predicted(MemoryModel.Estimate e, TrainConfig config, @Nullable Path checkpoint) {
    return new UserError(message(String.format(
        "(the step would peak at %.3f GB, predicted: weights %.3f, LoRA + AdamW %.3f, activations %.3f, "
            + "logits %.3f GB; refused before it ran)",
        e.total() / 1e9, e.weights() / 1e9, e.lora() / 1e9, e.activations() / 1e9, e.logits() / 1e9),
        config, checkpoint));
  }

  private static String message(String detail, TrainConfig config, @Nullable Path checkpoint) {
    return String.format(
        "out of memory at the MLX memory limit of %.2f GB %s. Try --quantize 4, a smaller --batch-size (now %d) "
            + "or --train-seq-length (now %d), or --grad-checkpoint; or raise --max-memory. Last checkpoint: %s",
        Mlx.memoryLimit() / 1e9, detail, config.batchSize(), config.trainSeqLength(),
        checkpoint == null ? "none yet" : checkpoint + " (intact)");
  }
}
