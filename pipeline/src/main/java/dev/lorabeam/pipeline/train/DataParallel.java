package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Distributed;
import dev.lorabeam.engine.Distributed.World;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.pack.TrainBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Data-parallel training: one trainer process per rank, started by {@code mlx.launch} (or with the
 * environment it sets). Every rank runs the same data stages and trains on its own contiguous rows
 * of every global batch; the engine all-sums the update, so all ranks hold the same adapters.
 */
public final class DataParallel {
  /** What the ranks must agree on before the first step, in the order the fingerprint lists them. */
  static final List<String> AGREED = List.of("model", "config", "data");

  private DataParallel() {}

  /**
   * The backend a launcher asked for: {@code LORABEAM_DISTRIBUTED} if set ("off" disables), else
   * ring when {@code MLX_HOSTFILE} is set (mlx.launch --backend ring), jaccl for
   * {@code MLX_JACCL_COORDINATOR}, mpi under mpirun; "off" for a plain single process.
   */
  static String backendFrom(Map<String, String> env) {
    String explicit = env.get("LORABEAM_DISTRIBUTED");
    if (explicit != null && !explicit.isBlank()) {
      return explicit.trim();
    }
    if (env.containsKey("MLX_HOSTFILE") && !env.get("MLX_HOSTFILE").isBlank()) {
      return "ring";
    }
    if (env.containsKey("MLX_JACCL_COORDINATOR") || env.containsKey("MLX_IBV_DEVICES")) {
      return "jaccl";
    }
    if (env.containsKey("OMPI_COMM_WORLD_SIZE") || env.containsKey("PMI_SIZE")) {
      return "mpi";
    }
    return "off";
  }

  /** Joins the launcher's group (a world of one without a launcher) and checks the batch divides. */
  public static World join(TrainConfig config, Map<String, String> env) {
    String backend = backendFrom(env);
    if ("off".equals(backend)) {
      return Distributed.world();
    }
    // Joining waits for every rank to connect; the watchdog bounds that wait like every later one.
    RankWatchdog.start(new World(backend, intOr(env.get("MLX_RANK"), -1), intOr(env.get("MLX_WORLD_SIZE"), -1)), env);
    RankWatchdog.arm("joining the " + backend + " group");
    World world;
    try {
      world = Distributed.join(backend);
    } finally {
      RankWatchdog.disarm();
    }
    RankWatchdog.joined(world);
    if (config.batchSize() % world.size() != 0) {
      throw new UserError(String.format(
          "--batch-size %d does not divide by the %d ranks of this run: each rank takes an equal share of the "
              + "global batch. Use a --batch-size that is a multiple of %d, or launch a world size that divides %d.",
          config.batchSize(), world.size(), world.size(), config.batchSize()));
    }
    return world;
  }

  /** This rank's rows of a global batch: rows [rank·B/size, (rank+1)·B/size). */
  public static TrainBatch rowsOfThisRank(TrainBatch global, World world) {
    if (world.size() == 1) {
      return global;
    }
    int share = global.size() / world.size();
    if (share * world.size() != global.size()) {
      throw new IllegalStateException(
          "a batch of " + global.size() + " rows does not split over " + world.size() + " ranks");
    }
    return new TrainBatch(new ArrayList<>(global.blocks().subList(world.rank() * share, (world.rank() + 1) * share)));
  }

  /**
   * Refuses to start unless every rank has the same model, config and data: each rank hashes its
   * own, the hashes are all-gathered, and a rank that differs from rank 0 is named with what differs.
   */
  public static void checkAgreement(World world, String model, String config, String data) {
    if (world.size() == 1) {
      return;
    }
    long[] mine = {hash(model), hash(config), hash(data)};
    long[][] all = allGather("the start-up agreement check", mine);
    List<String> problems = new ArrayList<>();
    for (int r = 1; r < all.length; r++) {
      for (int i = 0; i < mine.length; i++) {
        if (all[r][i] != all[0][i]) {
          problems.add(String.format("rank %d differs from rank 0 in its %s (fingerprint %016x vs %016x)",
              r, AGREED.get(i), all[r][i], all[0][i]));
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new UserError("the ranks of this run disagree, so none of them starts training: "
          + String.join("; ", problems) + (world.rank() == 0 ? "" : " (this is rank " + world.rank() + ")")
          + ". Launch every rank with the same flags, the same model file and the same data.");
    }
  }

  /** Every rank's {@code mine} ({@link Distributed#allGather}), the wait bounded by the watchdog as {@code what}. */
  static long[][] allGather(String what, long[] mine) {
    RankWatchdog.arm(what);
    try {
      return Distributed.allGather(mine);
    } finally {
      RankWatchdog.disarm();
    }
  }

  /**
   * A collective ({@code collective}: "the step's all-reduce", the stop check, …) failed (MLX's ring
   * backend reports a peer whose socket closed): the other ranks cannot go on without it. Names this
   * rank, its peers and the checkpoint to resume from.
   */
  static UserError peerLost(World world, long step, String collective, RuntimeException cause, @Nullable Path checkpoint) {
    StringBuilder peers = new StringBuilder();
    for (int r = 0; r < world.size(); r++) {
      if (r != world.rank()) {
        peers.append(peers.length() == 0 ? "rank " : ", rank ").append(r);
      }
    }
    return new UserError(String.format(
        "rank %d of %d stopped at step %d: %s failed, so a peer rank (%s) died or lost its "
            + "connection (%s). The last checkpoint is %s; restart all ranks with --resume.",
        world.rank(), world.size(), step, collective, peers, cause.getMessage(),
        checkpoint == null ? "none (no checkpoint was written yet)" : checkpoint), cause);
  }

  /** The model's identity across hosts: file names and sizes (paths and times differ between machines). */
  public static String modelFingerprint(Path model) {
    try {
      if (Files.isRegularFile(model)) {
        return model.getFileName() + ":" + Files.size(model);
      }
      try (Stream<Path> files = Files.list(model)) {
        return files.filter(Files::isRegularFile).sorted()
            .map(f -> f.getFileName() + ":" + f.toFile().length()).collect(Collectors.joining(","));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the model at " + model, e);
    }
  }

  private static int intOr(String value, int fallback) {
    try {
      return value == null ? fallback : Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  static long hash(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      long h = 0;
      for (int i = 0; i < 8; i++) {
        h = (h << 8) | (d[i] & 0xff);
      }
      return h;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
