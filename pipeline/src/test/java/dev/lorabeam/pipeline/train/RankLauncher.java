package dev.lorabeam.pipeline.train;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@code lorabeam train} as real JVM processes, one per rank, the way {@code mlx.launch -n N
 * --backend ring} does: MLX_RANK plus an MLX_HOSTFILE of 127.0.0.1 ports that were free a moment ago.
 * Each process's output goes to its own file; {@link #close()} kills whatever is still running.
 */
final class RankLauncher implements AutoCloseable {
  /** One started rank. */
  record Rank(int rank, Process process, Path log) {
    String output() throws IOException {
      return Files.readString(log);
    }
  }

  private final Path dir;
  private final List<Process> started = new ArrayList<>();

  RankLauncher(Path dir) {
    this.dir = dir;
  }

  /** A plain single process (no MLX distributed environment). */
  Rank single(String name, List<String> args) throws IOException {
    return start(name, -1, null, args, List.of(), List.of());
  }

  /** {@code argsOfRank.size()} ranks over loopback ring; {@code env} entries are "KEY=VALUE". */
  List<Rank> ring(String name, List<List<String>> argsOfRank, List<String> env) throws IOException {
    return ring(name, argsOfRank, env, List.of());
  }

  /** As {@link #ring(String, List, List)}, with {@code jvmArgs} ("-Dkey=value", …) for every rank's JVM. */
  List<Rank> ring(String name, List<List<String>> argsOfRank, List<String> env, List<String> jvmArgs) throws IOException {
    int n = argsOfRank.size();
    StringBuilder hosts = new StringBuilder("[");
    for (int r = 0; r < n; r++) {
      hosts.append(r == 0 ? "" : ",").append("[\"127.0.0.1:").append(freePort()).append("\"]");
    }
    Path hostfile = Files.writeString(dir.resolve(name + "-hosts.json"), hosts.append(']').toString());
    List<Rank> ranks = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      ranks.add(start(name, r, hostfile, argsOfRank.get(r), env, jvmArgs));
    }
    return ranks;
  }

  private Rank start(String name, int rank, Path hostfile, List<String> args, List<String> env, List<String> jvmArgs)
      throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g", "-Dai.djl.offline=true"));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of(
        "-Dlorabeam.venv=" + System.getProperty("lorabeam.venv", ""),
        "-Dlorabeam.root=" + System.getProperty("lorabeam.root", ".."),
        "-cp", System.getProperty("java.class.path"), "dev.lorabeam.pipeline.cli.LorabeamCli", "train"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Path log = dir.resolve(name + (rank < 0 ? "" : "-rank" + rank) + ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().remove("MLX_HOSTFILE");
    pb.environment().remove("MLX_RANK");
    if (rank >= 0) {
      pb.environment().put("MLX_RANK", Integer.toString(rank));
      pb.environment().put("MLX_HOSTFILE", hostfile.toString());
    }
    for (String kv : env) {
      pb.environment().put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    Process p = pb.start();
    started.add(p);
    return new Rank(rank, p, log);
  }

  /** Waits for the rank to exit within the bound; its exit code, or fails with its output. */
  static int await(Rank r, long seconds) throws IOException, InterruptedException {
    if (!r.process().waitFor(seconds, TimeUnit.SECONDS)) {
      r.process().destroyForcibly();
      throw new AssertionError("rank " + r.rank() + " still running after " + seconds + " s:\n" + r.output());
    }
    return r.process().exitValue();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
