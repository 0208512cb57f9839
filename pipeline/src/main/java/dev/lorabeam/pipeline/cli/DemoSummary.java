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

  /** "Validation loss 2.1234 → 0.4567 (−78.5%) after 24 steps": the base model's against the adapters'. */
  static String beforeAfter(double before, double after, long steps) {
    return String.format("Validation loss, base model → after %d steps with the adapters: %.4f → %.4f (%+.1f%%)",
        steps, before, after, 100 * (after / before - 1));
  }

  /** The same prompt's reply without and with the adapters, each indented under its heading. */
  static String replies(String prompt, String base, String adapted) {
    return String.format("%nPrompt: %s%n%nWithout adapters (base model):%n%s%n%nWith the adapters:%n%s",
        prompt, indent(base), indent(adapted));
  }

  private static String indent(String text) {
    return "    " + text.strip().replace("\n", "\n    ");
  }

  private static double mean(List<StepMetrics> steps) {
    return steps.stream().mapToDouble(StepMetrics::loss).average().orElse(Double.NaN);
  }
}
