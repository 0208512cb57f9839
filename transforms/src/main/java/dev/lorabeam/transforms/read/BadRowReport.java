package dev.lorabeam.transforms.read;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * Counts of good and bad rows read back from a finished pipeline's metrics, and the check that
 * fails a run when too many rows were bad (default: more than 1%).
 */
public record BadRowReport(long goodRows, Map<DeadLetter.Reason, Long> badRows) {

  public static final double DEFAULT_MAX_BAD_FRACTION = 0.01;

  public BadRowReport {
    badRows = Map.copyOf(badRows);
  }

  /** Reads the {@link ReadExamples} counters of a finished run (committed values when known). */
  public static BadRowReport from(PipelineResult result) {
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.inNamespace(ReadExamples.METRICS_NAMESPACE))
        .build());
    long good = 0;
    Map<DeadLetter.Reason, Long> bad = new EnumMap<>(DeadLetter.Reason.class);
    for (MetricResult<Long> counter : metrics.getCounters()) {
      String name = counter.getName().getName();
      long value = valueOf(counter);
      if (name.equals(ReadExamples.ROWS_OK)) {
        good += value;
      } else if (name.startsWith("bad.") && value > 0) {
        bad.merge(DeadLetter.Reason.valueOf(name.substring(4)), value, Long::sum);
      }
    }
    return new BadRowReport(good, bad);
  }

  private static long valueOf(MetricResult<Long> counter) {
    try {
      return counter.getCommitted();
    } catch (UnsupportedOperationException e) {
      return counter.getAttempted();
    }
  }

  public long badTotal() {
    return badRows.values().stream().mapToLong(Long::longValue).sum();
  }

  public long total() {
    return goodRows + badTotal();
  }

  public double badFraction() {
    return total() == 0 ? 0 : (double) badTotal() / total();
  }

  /** "3 of 1000 rows bad (0.30%): INVALID_JSON 2, EMPTY_LINE 1". */
  public String summary() {
    String reasons = badRows.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey() + " " + e.getValue())
        .collect(Collectors.joining(", "));
    return String.format("%d of %d rows bad (%.2f%%)%s", badTotal(), total(),
        100 * badFraction(), reasons.isEmpty() ? "" : ": " + reasons);
  }

  /**
   * Fails when more than {@code maxBadFraction} of the rows were bad, or when no row at all was
   * usable.
   *
   * @param deadLetterPath where the rejected rows were written, quoted in the message
   */
  public BadRowReport check(double maxBadFraction, String deadLetterPath) {
    if (total() > 0 && goodRows == 0) {
      throw new BadInputException("no usable rows: " + summary() + ". See " + deadLetterPath
          + " for each row's file, line and reason.");
    }
    if (badFraction() > maxBadFraction) {
      throw new BadInputException(String.format("too many bad rows: %s, more than the %.2f%% "
          + "allowed. See %s for each row's file, line and reason; fix them or raise "
          + "--max-bad-fraction.", summary(), 100 * maxBadFraction, deadLetterPath));
    }
    return this;
  }

  /** Convenience for {@code from(result).check(maxBadFraction, deadLetterPath)}. */
  public static BadRowReport checkBadRowThreshold(
      PipelineResult result, double maxBadFraction, String deadLetterPath) {
    return from(result).check(maxBadFraction, deadLetterPath);
  }

  /** The user's data, not our code, is at fault; the message says what to change. */
  public static final class BadInputException extends RuntimeException {
    public BadInputException(String message) {
      super(message);
    }
  }
}
