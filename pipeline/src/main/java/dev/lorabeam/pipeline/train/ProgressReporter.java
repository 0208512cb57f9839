package dev.lorabeam.pipeline.train;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressState;

/**
 * Training progress on stderr, in the shape users know from the tool this project replaces:
 *
 * <pre>[00:10:00] =>---- 45/5000 ETA:8h loss: 1.2948 (avg: 1.32) ↓ | lr: 5.00e-05 | 0.7 steps/s | 412 tok/s | mem: 3.4 GB</pre>
 *
 * <p>On a terminal this is a progress bar (me.tongfei progressbar) redrawn in place; the arrow
 * compares the loss with the previous step's (↓ lower, ↑ higher, ~ within 0.1%). When stderr is
 * not a terminal ({@code System.console() == null}: CI, nohup, a pipe) the same facts go to SLF4J
 * as plain lines: the first and last step, steps with a validation loss, and otherwise every
 * {@value #LOG_EVERY_STEPS} steps or {@value #LOG_EVERY_SECONDS} s, whichever comes first.
 */
public final class ProgressReporter implements AutoCloseable {
  static final int LOG_EVERY_STEPS = 50;
  static final int LOG_EVERY_SECONDS = 10;
  private static final int BAR_WIDTH = 20;
  private static final int MIN_BAR_WIDTH = 6;

  /** Ignores updates and logs messages: for code that reports before a reporter exists. */
  public static final ProgressReporter NOOP = new ProgressReporter(1, 0, false, null, ProgressReporter::printLine, false);

  private final long startStep;
  private final boolean interactive;
  private final PrintStream err;
  private final Consumer<String> log;
  private final boolean enabled;
  private final long startNanos = System.nanoTime();
  private long totalSteps;
  private ProgressBar bar;
  private volatile double elapsedSecs;
  private double previousLoss = Double.NaN;
  private long lastLoggedStep;
  private long lastLogNanos;

  /** A bar when stderr is a terminal, log lines otherwise; {@code startStep} steps are already done. */
  public ProgressReporter(long totalSteps, long startStep) {
    this(totalSteps, startStep, System.console() != null, System.err, ProgressReporter::printLine, true);
  }

  ProgressReporter(long totalSteps, long startStep, boolean interactive, PrintStream err,
      Consumer<String> log, boolean enabled) {
    this.totalSteps = totalSteps;
    this.startStep = startStep;
    this.interactive = interactive;
    this.err = err;
    this.log = log;
    this.enabled = enabled;
    this.lastLoggedStep = startStep;
  }

  /**
   * Plain progress lines go straight to stderr with a time stamp, not through SLF4J: under
   * {@code mvn -q exec:java} the logging binding is Maven's own, which {@code -q} silences.
   */
  static void printLine(String line) {
    System.err.println(java.time.LocalTime.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + " " + line);
  }

  /** Reports a finished step. */
  public synchronized void update(StepMetrics m) {
    update(m, totalSteps);
  }

  /** Reports a finished step of a run now expected to last {@code totalSteps} steps. */
  public synchronized void update(StepMetrics m, long totalSteps) {
    if (!enabled) {
      return;
    }
    this.totalSteps = totalSteps;
    this.elapsedSecs = m.elapsedSecs();
    double runSecs = (System.nanoTime() - startNanos) / 1e9;
    double stepsPerSec = (m.step() - startStep) / Math.max(runSecs, 1e-9);
    String facts = facts(m, arrow(previousLoss, m.loss()), stepsPerSec);
    previousLoss = m.loss();
    if (interactive) {
      bar().maxHint(totalSteps);
      bar.setExtraMessage(facts);
      bar.stepTo(m.step());
    } else if (dueForLog(m)) {
      double eta = stepsPerSec > 0 ? (totalSteps - m.step()) / stepsPerSec : Double.NaN;
      log.accept(String.format(Locale.ROOT, "[%s] step %d/%d ETA:%s %s",
          clock(m.elapsedSecs()), m.step(), totalSteps, eta(eta), facts));
      lastLoggedStep = m.step();
      lastLogNanos = System.nanoTime();
    }
  }

  /** A line between progress updates (a checkpoint was written, resumed from …). */
  public synchronized void message(String text) {
    if (interactive && bar != null) {
      err.print("\r\033[K" + text + System.lineSeparator());
      bar.refresh();
    } else {
      log.accept(text);
    }
  }

  @Override
  public synchronized void close() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }

  /** {@code loss: 1.2948 (avg: 1.32) ↓ | lr: 5.00e-05 | 0.7 steps/s | 412 tok/s | mem: 3.4 GB}. */
  static String facts(StepMetrics m, char arrow, double stepsPerSec) {
    String line = String.format(Locale.ROOT,
        "loss: %.4f (avg: %.2f) %c | lr: %.2e | %s steps/s | %s tok/s | mem: %.1f GB",
        m.loss(), m.avgLoss(), arrow, m.lr(), rate(stepsPerSec, 1), rate(m.tokensPerSec(), 0), m.memoryGb());
    return m.valLoss() == null ? line : line + String.format(Locale.ROOT, " | val: %.4f", m.valLoss());
  }

  /**
   * A rate with {@code decimals} decimals, or more when it is small (a slow CPU run still shows
   * {@code 0.02 steps/s}, not {@code 0.0}).
   */
  static String rate(double value, int decimals) {
    double shown = Math.abs(value);
    while (decimals < 3 && shown > 0 && shown * Math.pow(10, decimals) < 1) {
      decimals++;
    }
    return String.format(Locale.ROOT, "%." + decimals + "f", value);
  }

  /** ↓ / ↑ when the loss moved by more than 0.1% of the previous one, ~ otherwise or at first. */
  static char arrow(double previous, double current) {
    if (!Double.isFinite(previous) || !Double.isFinite(current)) {
      return '~';
    }
    double tolerance = 1e-3 * Math.abs(previous);
    return current < previous - tolerance ? '↓' : current > previous + tolerance ? '↑' : '~';
  }

  /** {@code [00:10:00] =>---- 45/5000 ETA:8h <facts>}. */
  static String line(double elapsedSecs, long current, long max, double etaSecs, String facts) {
    return line(elapsedSecs, current, max, etaSecs, facts, BAR_WIDTH);
  }

  static String line(double elapsedSecs, long current, long max, double etaSecs, String facts, int barWidth) {
    return String.format(Locale.ROOT, "[%s] %s %d/%d ETA:%s %s", clock(elapsedSecs),
        bar(current, max, barWidth), current, max, eta(etaSecs), facts == null ? "" : facts);
  }

  /** {@code =====>--------------} of {@value #BAR_WIDTH} characters. */
  static String bar(long current, long max) {
    return bar(current, max, BAR_WIDTH);
  }

  static String bar(long current, long max, int width) {
    int filled = max <= 0 ? 0 : (int) Math.min(width, width * current / max);
    StringBuilder b = new StringBuilder(width);
    b.append("=".repeat(Math.max(0, filled - 1)));
    b.append(filled > 0 && filled < width ? ">" : filled == width ? "=" : "");
    return b.append("-".repeat(width - b.length())).toString();
  }

  /** {@code 01:02:03}; hours grow past 99. */
  static String clock(double secs) {
    long s = Double.isFinite(secs) ? Math.max(0, Math.round(secs)) : 0;
    return String.format(Locale.ROOT, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  }

  /** {@code 8h}, {@code 1h23m}, {@code 12m}, {@code 45s}; {@code ?} before a speed is known. */
  static String eta(double secs) {
    if (!Double.isFinite(secs) || secs < 0) {
      return "?";
    }
    long s = Math.round(secs);
    if (s >= 3600) {
      long m = s / 60 % 60;
      return s / 3600 + "h" + (m == 0 ? "" : m + "m");
    }
    return s >= 60 ? s / 60 + "m" : s + "s";
  }

  private boolean dueForLog(StepMetrics m) {
    return m.step() == startStep + 1
        || m.step() >= totalSteps
        || m.valLoss() != null
        || m.step() - lastLoggedStep >= LOG_EVERY_STEPS
        || System.nanoTime() - lastLogNanos >= Duration.ofSeconds(LOG_EVERY_SECONDS).toNanos();
  }

  private ProgressBar bar() {
    if (bar == null) {
      bar = new ProgressBarBuilder()
          .setInitialMax(totalSteps)
          .startsFrom(startStep, Duration.ZERO)
          .setUpdateIntervalMillis(500)
          .setConsumer(new ConsoleProgressBarConsumer(err))
          .setRenderer(this::render)
          .build();
    }
    return bar;
  }

  private String render(ProgressState state, int maxLength) {
    long done = state.getCurrent() - state.getStart();
    double secs = state.getElapsedAfterStart().toMillis() / 1e3;
    double eta = done > 0 ? secs / done * (state.getMax() - state.getCurrent()) : Double.NaN;
    String text = line(elapsedSecs, state.getCurrent(), state.getMax(), eta, state.getExtraMessage());
    if (maxLength <= 0 || text.length() <= maxLength) {
      return text;
    }
    // A narrow terminal: shrink the bar first (to the 6 characters users know), then cut the end.
    int barWidth = Math.max(MIN_BAR_WIDTH, BAR_WIDTH - (text.length() - maxLength));
    text = line(elapsedSecs, state.getCurrent(), state.getMax(), eta, state.getExtraMessage(), barWidth);
    return text.length() <= maxLength ? text : text.substring(0, maxLength);
  }
}
