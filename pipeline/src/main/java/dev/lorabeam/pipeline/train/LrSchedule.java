package dev.lorabeam.pipeline.train;

import java.io.Serializable;
import java.util.Locale;

/**
 * The learning rate of each optimizer step: a linear warm-up to the peak, then constant, cosine
 * or linear decay. Steps are 1-based (the step about to run), so a resumed run asks for step
 * {@code checkpoint.step + 1} and continues exactly where it stopped.
 *
 * <ul>
 *   <li>warm-up, {@code 1 ≤ s ≤ W}: {@code peak · s / W} — the first step already trains (mlx-lm's
 *       warm-up starts at 0 and wastes its first step);
 *   <li>after warm-up, with {@code k = s − W − 1} and {@code n = total − W}: constant {@code peak};
 *       cosine {@code peak · ½(1 + cos(π k / n))}; linear {@code peak · (1 − k / n)}. The first
 *       decay step runs at the peak and the last one just above 0; steps past {@code total} get
 *       the final value of the decay (0 for cosine and linear).
 * </ul>
 *
 * @param kind {@code constant}, {@code cosine} or {@code linear}
 * @param peak learning rate after warm-up
 * @param warmupSteps W
 * @param totalSteps the run's length in optimizer steps
 */
public record LrSchedule(String kind, double peak, int warmupSteps, long totalSteps)
    implements Serializable {

  private static final long serialVersionUID = 1L;

  public LrSchedule {
    kind = kind == null ? "" : kind.strip().toLowerCase(Locale.ROOT);
    if (!TrainConfig.LR_SCHEDULES.contains(kind)) {
      throw new IllegalArgumentException(
          "--lr-schedule must be one of " + String.join(", ", TrainConfig.LR_SCHEDULES)
              + " (got '" + kind + "')");
    }
    if (!(peak > 0 && Double.isFinite(peak))) {
      throw new IllegalArgumentException("--learning-rate must be > 0 (got " + peak + ")");
    }
    if (warmupSteps < 0) {
      throw new IllegalArgumentException("--warmup-steps must be ≥ 0 (got " + warmupSteps + ")");
    }
    if (totalSteps < 1) {
      throw new IllegalArgumentException(
          "the run has no steps (total " + totalSteps + "): give --max-steps or more data");
    }
    if (warmupSteps > totalSteps) {
      throw new IllegalArgumentException("--warmup-steps (" + warmupSteps
          + ") must not exceed the run's " + totalSteps + " steps");
    }
  }

  public static LrSchedule of(String kind, double peak, int warmupSteps, long totalSteps) {
    return new LrSchedule(kind, peak, warmupSteps, totalSteps);
  }

  /** The schedule a config asks for, over {@code totalSteps} optimizer steps. */
  public static LrSchedule of(TrainConfig config, long totalSteps) {
    return of(config.lrSchedule(), config.learningRate(), config.warmupSteps(), totalSteps);
  }

  /** Learning rate for the 1-based step {@code step}. */
  public double at(long step) {
    if (step < 1) {
      throw new IllegalArgumentException("steps are 1-based (got " + step + ")");
    }
    if (step <= warmupSteps) {
      return peak * step / warmupSteps;
    }
    long n = totalSteps - warmupSteps;
    double k = Math.min(step - warmupSteps - 1, n);
    return switch (kind) {
      case "cosine" -> peak * 0.5 * (1 + Math.cos(Math.PI * k / n));
      case "linear" -> peak * (1 - k / n);
      default -> peak;
    };
  }
}
