package dev.lorabeam.pipeline.train;

import java.io.Serializable;
import java.time.Instant;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;

/**
 * What one optimizer step reports: one element of the trainer's metrics output, one JSONL line of
 * the metrics file ({@link MetricsWriter}), one update of the progress bar.
 *
 * @param step 1-based optimizer step just run
 * @param loss the reported loss of this step ({@code total})
 * @param avgLoss running mean of {@code loss} over this run's steps
 * @param lr learning rate the step ran with
 * @param elapsedSecs seconds since the run started (including earlier runs when resumed)
 * @param memoryGb MLX peak memory of this step, GB (MLX's peak counter is reset when the step starts)
 * @param rssGb the process's resident set size after the step, GB (JVM + MLX + the rest; -1 unknown)
 * @param timestamp ISO-8601 instant the step finished
 * @param tokensPerSec trained tokens per second over the recent steps
 * @param trainedTokens loss-counted target tokens seen so far (mlx-lm's "Trained Tokens")
 * @param valLoss validation loss when this step ran an evaluation, else null
 * @param ce weighted cross-entropy the optimizer minimised
 * @param distrust distrust term added to the report ({@code additive}), else 0
 * @param total {@code ce + distrust}
 */
@DefaultCoder(SerializableCoder.class)
public record StepMetrics(
    long step,
    double loss,
    double avgLoss,
    double lr,
    double elapsedSecs,
    double memoryGb,
    double rssGb,
    String timestamp,
    double tokensPerSec,
    long trainedTokens,
    Double valLoss,
    double ce,
    double distrust,
    double total)
    implements Serializable {

  private static final long serialVersionUID = 2L;

  public StepMetrics {
    if (step < 1) {
      throw new IllegalArgumentException("step metrics need a 1-based step (got " + step + ")");
    }
    if (timestamp == null || timestamp.isBlank()) {
      timestamp = Instant.now().toString();
    }
  }

  /** Metrics of a step with no distrust term: loss = ce = total, timestamped now. */
  public static StepMetrics of(long step, double ce, double avgLoss, double lr, double elapsedSecs,
      double memoryGb, double rssGb, double tokensPerSec, long trainedTokens, Double valLoss) {
    return new StepMetrics(step, ce, avgLoss, lr, elapsedSecs, memoryGb, rssGb, Instant.now().toString(),
        tokensPerSec, trainedTokens, valLoss, ce, 0, ce);
  }

  /** This step with a validation loss attached. */
  public StepMetrics withValLoss(Double value) {
    return new StepMetrics(step, loss, avgLoss, lr, elapsedSecs, memoryGb, rssGb, timestamp, tokensPerSec,
        trainedTokens, value, ce, distrust, total);
  }
}
