package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real {@code lorabeam train} JVMs for the crash and signal tests: a tiny random Llama
 * ({@link TinyLlama}) and its data prepared once into shards, children started with the test
 * classpath and the native library like {@code java -cp … LorabeamCli train}, each with its own log.
 * Every wait is bounded; {@link #close()} SIGKILLs whatever is still running.
 */
final class TrainProcesses implements AutoCloseable {
  /** One started child. */
  record Child(Process process, Path log) {
    String output() throws IOException {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    /** Sends a signal by name (INT, TERM, KILL) with {@code kill}, as a shell or a supervisor would. */
    void signal(String name) throws IOException, InterruptedException {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
      assertEquals("kill -" + name + " " + process.pid(), 0, kill.waitFor());
    }

    /** The exit code within {@code seconds}, or an assertion error with the child's output. */
    int await(long seconds) throws IOException, InterruptedException {
      if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("train still running after " + seconds + " s:\n" + output());
      }
      return process.exitValue();
    }
  }

  private final Path dir;
  private final Path model;
  private final Path shards;
  private final List<Process> started = new ArrayList<>();
  private int count;

  private TrainProcesses(Path dir, Path model, Path shards) {
    this.dir = dir;
    this.model = model;
    this.shards = shards;
  }

  /** Writes the tiny model and 64 sample rows under {@code dir} and prepares them into T = 32 shards. */
  static TrainProcesses prepare(Path dir) throws IOException {
    Path model = TinyLlama.write(dir.resolve("tiny-llama"), 3);
    Path data = Files.createDirectories(dir.resolve("data"));
    Files.write(data.resolve("train.jsonl"), TrainJobTest.sampleRows(64));
    Path shards = dir.resolve("shards");
    assertEquals(0, dev.lorabeam.pipeline.cli.LorabeamCli.execute("preprocess", "--data", data.toString(),
        "--model", model.toString(), "--train-seq-length", "32", "--output", shards.toString()));
    return new TrainProcesses(dir, model, shards);
  }

  /**
   * The flags of every run here: batch 2, T 32, rank 4, no validation, a checkpoint every step
   * unless {@code extra} gives {@code --save-every}.
   */
  List<String> args(Path out, int steps, String... extra) {
    List<String> a = new ArrayList<>(List.of("--model", model.toString(), "--data", shards.toString(),
        "--adapter-path", out.toString(), "--max-memory", "4", "--train-seq-length", "32",
        "--batch-size", "2", "--lora-rank", "4", "--lora-layers", "-1", "--learning-rate", "5e-3",
        "--steps-per-eval", "0", "--val-batches", "0", "--max-grad-norm", "0",
        "--seed", "11", "--max-steps", Integer.toString(steps)));
    a.addAll(List.of(extra));
    if (!a.contains("--save-every")) {
      a.addAll(List.of("--save-every", "1"));
    }
    return a;
  }

  /** Starts {@code lorabeam train ARGS}; {@code jvmOptions} go before the class (e.g. {@code -Dkey=value}). */
  Child start(List<String> args, String... jvmOptions) throws IOException {
    List<String> cmd = new ArrayList<>(sigintIgnored() ? resetSigint() : List.of());
    cmd.addAll(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        // Startup dominates a child here (its steps take milliseconds): C1 only, one GC thread.
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
        "-Dlorabeam.venv=" + System.getProperty("lorabeam.venv", ""),
        "-Dlorabeam.root=" + System.getProperty("lorabeam.root", "..")));
    cmd.addAll(List.of(jvmOptions));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.lorabeam.pipeline.cli.LorabeamCli", "train"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Path log = dir.resolve("train-" + (++count) + ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().remove("MLX_HOSTFILE");
    pb.environment().remove("MLX_RANK");
    Process p = pb.start();
    started.add(p);
    return new Child(p, log);
  }

  /**
   * True when this JVM was started with SIGINT ignored (Maven run as a background job of a
   * non-interactive shell): children inherit that, and a JVM never handles an ignored SIGINT.
   */
  private static boolean sigintIgnored() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("SigIgn:")) {
          return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 0x2) != 0;  // bit 1 = signal 2
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: nothing to read, start the child as it is.
    }
    return false;
  }

  /** Starts the child through the venv's Python, which sets SIGINT back to its default and execs the JVM. */
  private static List<String> resetSigint() {
    return List.of(Path.of(System.getProperty("lorabeam.venv", ".venv"), "bin", "python").toString(), "-c",
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])");
  }

  /** Runs {@code train ARGS} to its end within {@code seconds} and expects exit code 0. */
  void runToEnd(List<String> args, long seconds) throws IOException, InterruptedException {
    Child c = start(args);
    assertEquals(c.output(), 0, c.await(seconds));
  }

  /**
   * Waits until the metrics file has a whole line, written at {@code since} or later, for a step ≥
   * {@code step} (lines an earlier attempt left are not this child's); false when the child exits
   * first. Polls every 2 ms so that a kill lands close to the step it aims at.
   */
  static boolean awaitStep(Child c, Path metrics, long step, Instant since, long seconds)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (lastStep(metrics, since) < step) {
      if (!c.process().isAlive()) {
        return false;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no step " + step + " within " + seconds + " s:\n" + c.output());
      }
      Thread.sleep(2);
    }
    return true;
  }

  /** The highest step with a whole line in the metrics file (0 when none). */
  static long lastStep(Path metrics) throws IOException {
    return lastStep(metrics, Instant.EPOCH);
  }

  /** The highest step with a whole line written at {@code since} or later (0 when none). */
  static long lastStep(Path metrics, Instant since) throws IOException {
    if (!Files.exists(metrics)) {
      return 0;
    }
    long last = 0;
    for (StepMetrics m : MetricsWriter.readAll(metrics)) {
      if (!Instant.parse(m.timestamp()).isBefore(since)) {
        last = Math.max(last, m.step());
      }
    }
    return last;
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
