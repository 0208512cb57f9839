package dev.lorabeam.pipeline.train;

/**
 * Process-wide totals of time spent inside {@code Engine.step} and of the span from the first
 * step's start to the last step's end, so a benchmark can compare the trainer's wall time per step
 * with the engine's alone (the Beam/JVM overhead).
 */
public final class StepTiming {
  private static long engineNanos;
  private static long firstStart = -1;
  private static long lastEnd;
  private static long steps;

  private StepTiming() {}

  static synchronized void record(long startNanos, long endNanos) {
    engineNanos += endNanos - startNanos;
    if (firstStart < 0) {
      firstStart = startNanos;
    }
    lastEnd = endNanos;
    steps++;
  }

  /** Totals since the last reset: steps, seconds inside the engine, seconds first start → last end. */
  public record Totals(long steps, double engineSecs, double spanSecs) {}

  public static synchronized Totals snapshot() {
    return new Totals(steps, engineNanos / 1e9, firstStart < 0 ? 0 : (lastEnd - firstStart) / 1e9);
  }

  public static synchronized void reset() {
    engineNanos = 0;
    firstStart = -1;
    lastEnd = 0;
    steps = 0;
  }
}
