package dev.lorabeam.pipeline.cli;

import dev.lorabeam.pipeline.train.StepMetrics;
import java.util.List;
import java.util.Objects;

/** The demo's closing lines: how the loss moved, how fast it trained, how much memory it took. */
final class DemoSummary {
  private DemoSummary() {}

  static String describe(List<StepMetrics> metrics) {
    if (metrics.isEmpty()) {
      return "No steps were trained.";
    }
    int window = Math.max(1, Math.min(5, metrics.size() / 4));
    double firstTrain = mean(metrics.subList(0, window));
    double lastTrain = mean(metrics.subList(metrics.size() - window, metrics.size()));
    List<Double> val = metrics.stream().map(StepMetrics::valLoss).filter(Objects::nonNull).toList();
    StepMetrics last = metrics.get(metrics.size() - 1);
    StringBuilder s = new StringBuilder();
    // Validation scores the same blocks each time, so it is the trend to read; single-block train
    // losses vary more from document to document than they fall in a few dozen steps.
    if (val.size() >= 2) {
      s.append(String.format("Validation loss %s over %d steps; ", String.join(" → ",
          val.stream().map(v -> String.format("%.4f", v)).toList()), last.step()));
    }
    s.append(String.format("train loss (mean of %d steps) %.4f → %.4f", window, firstTrain, lastTrain));
    s.append(String.format("%n%.0f s, %.1f trained tokens/s, peak MLX memory %.2f GB",
        last.elapsedSecs(), last.tokensPerSec(), metrics.stream().mapToDouble(StepMetrics::memoryGb).max().orElse(0)));
    return s.toString();
  }

  private static double mean(List<StepMetrics> steps) {
    return steps.stream().mapToDouble(StepMetrics::loss).average().orElse(Double.NaN);
  }
}
