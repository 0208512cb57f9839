package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Mlx;
import dev.lorabeam.pipeline.memory.MemoryModel;
import dev.lorabeam.pipeline.memory.ModelShape;
import java.nio.file.Path;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses a training step that cannot fit in MLX's memory limit. MLX's CPU backend neither enforces
 * the limit nor reports a failed allocation (its {@code malloc} hands a null buffer to the kernel,
 * which segfaults the JVM; on Linux the kernel's OOM killer usually ends the process first), so the
 * refusal has to come before the step runs:
 * <ul>
 *   <li>before a session's first step, from {@link MemoryModel}'s prediction for this model and
 *       these flags, refused when it exceeds the limit by more than {@link #MARGIN} (and
 *       {@link #SLACK_BYTES});
 *   <li>after every step, from MLX's measured peak of that step (the engine resets the peak counter
 *       when a step starts). Every step of a run has the same shapes and so the same peak: a step
 *       over the limit stops the run before the next one, whose peak would be the same.
 * </ul>
 * Metal enforces the limit itself and throws; {@link OutOfMemory#explain} turns that into the same message.
 */
final class StepMemoryCheck {
  private static final Logger LOG = LoggerFactory.getLogger(StepMemoryCheck.class);

  /**
   * How far the prediction may exceed the limit before a step is refused unmeasured. The memory
   * model was measured within −14% to +3.9% of MLX's peak (README, {@code MemoryModelTest}): a
   * prediction 10% over the limit means a real peak over it, so no step that fits is refused.
   */
  static final double MARGIN = 1.10;

  /**
   * Bytes the prediction may exceed the limit by on top of {@link #MARGIN}: the model's fixed 1 MB
   * of MLX working set is most of its error on tiny steps (the tests' tiny Llama: predicted
   * 2.49 MB, measured 1.56 MB), and negligible on real ones.
   */
  static final long SLACK_BYTES = 1_000_000;

  private final TrainConfig config;
  private final @Nullable ModelShape shape;
  private final int rowsPerRank;
  private long measuredPeak = -1;

  StepMemoryCheck(TrainConfig config, Path model, int worldSize) {
    this.config = config;
    this.shape = shapeOrNull(model);
    this.rowsPerRank = Math.max(1, config.batchSize() / Math.max(1, worldSize));
  }

  /** Throws the out-of-memory {@link dev.lorabeam.transforms.UserError} when the next step cannot fit. */
  void beforeStep(@Nullable Path checkpoint) {
    long limit = Mlx.memoryLimit();
    if (measuredPeak >= 0) {
      if (measuredPeak > limit) {
        throw OutOfMemory.overLimit(measuredPeak, config, checkpoint);
      }
      return;
    }
    if (shape == null) {
      return;
    }
    MemoryModel.Estimate predicted = MemoryModel.estimate(shape, plan());
    if (predicted.total() > MARGIN * limit + SLACK_BYTES) {
      throw OutOfMemory.predicted(predicted, config, checkpoint);
    }
  }

  /** Records a finished step's MLX peak (bytes) and stops the run when it went over the limit. */
  void afterStep(long peakBytes, @Nullable Path checkpoint) {
    measuredPeak = peakBytes;
    if (peakBytes > Mlx.memoryLimit()) {
      throw OutOfMemory.overLimit(peakBytes, config, checkpoint);
    }
  }

  /** The flags the memory model reads, for one rank's micro-batch. */
  MemoryModel.Plan plan() {
    int computeBytes = "float32".equals(config.computeDtype()) ? 4 : 2;
    return new MemoryModel.Plan(config.quantize(), rowsPerRank, config.trainSeqLength(), config.loraRank(),
        config.loraLayers(), config.gradCheckpoint(), computeBytes);
  }

  private static @Nullable ModelShape shapeOrNull(Path model) {
    try {
      return ModelShape.read(model);
    } catch (RuntimeException e) {
      // No prediction for this model: the measured peak of each step still guards the run.
      LOG.debug("no memory prediction for {}: {}", model, e.getMessage());
      return null;
    }
  }
}
