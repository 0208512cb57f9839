package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Distributed.World;
import java.util.Map;

/**
 * Bounds every collective wait of a data-parallel run. MLX's ring backend blocks in recv when a
 * peer dies or hangs; a daemon thread watches the armed section and, past the bound, prints which
 * rank gave up on which peers and halts the JVM with {@link #EXIT_CODE} (checkpoints are written
 * atomically, so the last one stays intact and {@code --resume} continues from it).
 */
final class RankWatchdog {
  static final int EXIT_CODE = 75;
  static final long DEFAULT_TIMEOUT_SECONDS = 60;

  private static volatile String armedFor;
  private static volatile long armedAtNanos;
  private static long timeoutNanos = DEFAULT_TIMEOUT_SECONDS * 1_000_000_000L;
  private static volatile World world;
  private static Thread thread;

  private RankWatchdog() {}

  /** Starts the watchdog for a world of more than one rank ({@code LORABEAM_RANK_TIMEOUT_S} overrides 60 s). */
  static synchronized void start(World w, Map<String, String> env) {
    world = w;
    if (w.size() == 1 || thread != null) {
      return;
    }
    String t = env.get("LORABEAM_RANK_TIMEOUT_S");
    if (t != null && !t.isBlank()) {
      timeoutNanos = (long) (Double.parseDouble(t.trim()) * 1e9);
    }
    thread = new Thread(RankWatchdog::watch, "lorabeam-rank-watchdog");
    thread.setDaemon(true);
    thread.start();
  }

  /** The world once joined, for the message. */
  static void joined(World w) {
    world = w;
  }

  /** Marks the start of a section that waits on the other ranks; {@link #disarm()} ends it. */
  static void arm(String what) {
    armedAtNanos = System.nanoTime();
    armedFor = what;
  }

  static void disarm() {
    armedFor = null;
  }

  private static void watch() {
    while (true) {
      String what = armedFor;
      if (what != null && System.nanoTime() - armedAtNanos > timeoutNanos) {
        System.err.printf("lorabeam: rank %s of %s stopped: %s did not complete within %.0f s, so a peer rank "
                + "(%s) died or hangs. The last checkpoint is intact; fix or restart that rank and run the same "
                + "command with --resume.%n",
            world.rank() < 0 ? "?" : world.rank(), world.size() < 0 ? "?" : world.size(), what, timeoutNanos / 1e9, peers());
        System.err.flush();
        Runtime.getRuntime().halt(EXIT_CODE);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static String peers() {
    StringBuilder out = new StringBuilder();
    if (world.rank() < 0) {
      return "another rank";
    }
    for (int r = 0; r < world.size(); r++) {
      if (r != world.rank()) {
        out.append(out.length() == 0 ? "rank " : ", rank ").append(r);
      }
    }
    return out.toString();
  }
}
