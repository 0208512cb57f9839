package dev.lorabeam.pipeline.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM while {@code train} runs. The first signal only raises a flag: the
 * step MLX is computing finishes (a native step is never interrupted), the trainer polls the flag
 * between steps, writes a checkpoint at the step it reached and throws {@link Stopped}, which the CLI
 * turns into one line and exit code 130 (INT) or 143 (TERM). A second signal ends the process at
 * once with the same code ({@link Runtime#halt}: no checkpoint, no shutdown hooks, so nothing can
 * wait on Beam's runner threads); a checkpoint being written is then left as a {@code .tmp-*}
 * directory that is never picked, and the previous complete checkpoint stays the latest.
 *
 * <p>Java has no public signal API: shutdown hooks run after the JVM has decided to exit, too late
 * to let a step finish. {@code sun.misc.Signal} (module jdk.unsupported, no flags needed) replaces
 * the JVM's own INT/TERM handlers for as long as training runs; {@link Handlers#close} puts them back.
 */
public final class StopSignal {
  private static final Logger LOG = LoggerFactory.getLogger(StopSignal.class);

  /** The signals a run stops on, with the shell's exit code for each (128 + signal number). */
  public enum Kind {
    INT(130), TERM(143);

    public final int exitCode;

    Kind(int exitCode) {
      this.exitCode = exitCode;
    }
  }

  /** The signal that asked the run to stop, or null while none has. */
  private static final AtomicReference<Kind> REQUESTED = new AtomicReference<>();

  private StopSignal() {}

  /**
   * The run stopped on a signal after a complete step.
   *
   * @param step the last step trained (global, 1-based; 0 when none was)
   * @param checkpoint the checkpoint at that step (written on the way out, or already there), or
   *     the latest earlier one, or null when the run has none
   */
  public static final class Stopped extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Kind kind;
    private final long step;
    private final @Nullable String checkpoint;

    Stopped(Kind kind, long step, @Nullable Path checkpoint) {
      super("stopped by SIG" + kind + " after step " + step);
      this.kind = kind;
      this.step = step;
      this.checkpoint = checkpoint == null ? null : checkpoint.toString();
    }

    public Kind kind() {
      return kind;
    }

    public long step() {
      return step;
    }

    public @Nullable String checkpoint() {
      return checkpoint;
    }
  }

  /** The pending request, or null: the trainer asks between steps. */
  static @Nullable Kind requested() {
    return REQUESTED.get();
  }

  /** Installs the INT and TERM handlers until {@link Handlers#close}; the flag starts lowered. */
  public static Handlers install() {
    REQUESTED.set(null);
    List<Signal> signals = new ArrayList<>();
    List<SignalHandler> previous = new ArrayList<>();
    for (Kind kind : Kind.values()) {
      Signal signal = new Signal(kind.name());
      try {
        previous.add(Signal.handle(signal, s -> onSignal(kind)));
        signals.add(signal);
      } catch (IllegalArgumentException e) {
        // The JVM runs with -Xrs or the OS reserves the signal: keep its default behaviour.
        LOG.debug("cannot handle SIG{}: {}", kind, e.getMessage());
      }
    }
    return new Handlers(signals, previous);
  }

  /** Runs on the JVM's signal thread: the first signal asks, the second ends the process. */
  private static void onSignal(Kind kind) {
    if (REQUESTED.compareAndSet(null, kind)) {
      ProgressReporter.printLine("SIG" + kind + ": stopping after the current step and saving a checkpoint"
          + (kind == Kind.INT ? " (Ctrl-C again to exit at once, without one)" : ""));
      return;
    }
    System.err.println("SIG" + kind + " again: exiting now without a checkpoint; the latest complete one is kept");
    System.err.flush();
    Runtime.getRuntime().halt(kind.exitCode);
  }

  /** The installed handlers; closing restores the JVM's previous ones and lowers the flag. */
  public static final class Handlers implements AutoCloseable {
    private final List<Signal> signals;
    private final List<SignalHandler> previous;

    private Handlers(List<Signal> signals, List<SignalHandler> previous) {
      this.signals = signals;
      this.previous = previous;
    }

    @Override
    public void close() {
      for (int i = 0; i < signals.size(); i++) {
        Signal.handle(signals.get(i), previous.get(i));
      }
      REQUESTED.set(null);
    }
  }
}
