package dev.lorabeam.engine;

import dev.lorabeam.engine.bridge.DistributedNative;
import java.util.List;

/**
 * This process's place in a data-parallel run (MLX distributed). {@link #join} once, before the
 * engine opens: every engine opened afterwards all-sums its update over the group, so each rank
 * trains on its own rows of the global batch and all ranks hold identical adapters.
 */
public final class Distributed {
  /** Backends an MLX build may have; "any" picks the first that starts. */
  public static final List<String> BACKENDS = List.of("ring", "mpi", "jaccl", "nccl");

  static {
    Mlx.ensureLoaded();
    DistributedNative.load();
  }

  /** A rank in a world of {@code size} processes. */
  public record World(String backend, int rank, int size) {
    public boolean writer() {
      return rank == 0;
    }
  }

  private static volatile World world = new World("off", 0, 1);

  private Distributed() {}

  /** Whether this MLX build has {@code backend}. */
  public static boolean isAvailable(String backend) {
    int r = DistributedNative.lb_distributed_is_available(backend);
    if (r < 0) {
      throw failure("distributed is_available(" + backend + ")");
    }
    return r == 1;
  }

  /** Joins {@code backend}'s group (strict: a backend that cannot start is an error naming why). */
  public static synchronized World join(String backend) {
    int[] out = new int[2];
    if (DistributedNative.lb_distributed_init(backend, out) != 0) {
      throw failure("joining the \"" + backend + "\" distributed group");
    }
    world = new World(backend, out[0], out[1]);
    return world;
  }

  /** The world joined so far; a single process ("off", rank 0 of 1) until {@link #join}. */
  public static World world() {
    return world;
  }

  /** Every rank's {@code mine} (the same length on all ranks): row r is rank r's. */
  public static long[][] allGather(long[] mine) {
    World w = world;
    if (w.size() == 1) {
      return new long[][] {mine.clone()};
    }
    long[] flat = new long[mine.length * w.size()];
    if (DistributedNative.lb_distributed_all_gather(mine, mine.length, flat) != 0) {
      throw failure("distributed all-gather");
    }
    long[][] rows = new long[w.size()][mine.length];
    for (int r = 0; r < w.size(); r++) {
      System.arraycopy(flat, r * mine.length, rows[r], 0, mine.length);
    }
    return rows;
  }

  private static MlxException failure(String what) {
    String message = DistributedNative.lb_last_error();
    return new MlxException(what + " failed: " + (message == null || message.isEmpty() ? "unknown error" : message));
  }
}
