package dev.lorabeam.pipeline.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A real standalone Flink 1.19 session cluster on loopback, started from the Maven classpath
 * alone (flink-dist is not needed): one JobManager JVM
 * ({@code StandaloneSessionClusterEntrypoint}) and N TaskManager JVMs ({@code TaskManagerRunner}),
 * each with small fixed heaps. {@link #close()} kills every JVM; a shutdown hook does the same if
 * the caller never gets there.
 *
 * <p>Try it: {@code mvn -q -pl pipeline exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lorabeam.pipeline.flink.StandaloneFlinkCluster -Dexec.args="2"}, then
 * {@code preprocess ... --runner=FlinkRunner --flinkMaster=127.0.0.1:PORT --parallelism=2}.
 */
public final class StandaloneFlinkCluster implements AutoCloseable {
  static final String JOB_MANAGER = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  static final String TASK_MANAGER = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

  private final Path dir;
  private final int restPort;
  private final List<Process> processes = new ArrayList<>();
  private final List<Path> logs = new ArrayList<>();
  private final Thread killOnExit = new Thread(this::kill, "kill-flink-cluster");

  private StandaloneFlinkCluster(Path dir, int restPort) {
    this.dir = dir;
    this.restPort = restPort;
  }

  /**
   * Starts the JobManager and {@code taskManagers} TaskManagers (one slot and one core each) in
   * {@code dir} and waits until all TaskManagers have registered, at most {@code timeout}.
   */
  public static StandaloneFlinkCluster start(Path dir, int taskManagers, Duration timeout)
      throws IOException, InterruptedException {
    int restPort = freePort();
    Path conf = FlinkClusterConfig.write(dir.resolve("conf"), restPort, freePort(),
        dir.resolve("tmp"));
    StandaloneFlinkCluster cluster = new StandaloneFlinkCluster(dir, restPort);
    Runtime.getRuntime().addShutdownHook(cluster.killOnExit);
    try {
      cluster.spawn("jobmanager", FlinkClusterConfig.JOB_MANAGER_JVM, JOB_MANAGER,
          "--configDir", conf.toString());
      for (int i = 1; i <= taskManagers; i++) {
        cluster.spawn("taskmanager-" + i, FlinkClusterConfig.TASK_MANAGER_JVM, TASK_MANAGER,
            "--configDir", conf.toString(), "-Dtaskmanager.resource-id=tm" + i);
      }
      cluster.awaitTaskManagers(taskManagers, timeout);
      return cluster;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  /** {@code 127.0.0.1:PORT}: the JobManager's REST address, what {@code --flinkMaster} takes. */
  public String master() {
    return "127.0.0.1:" + restPort;
  }

  /**
   * An empty jar for {@code --filesToStage}. The cluster's JVMs were started from this very
   * classpath, so staging it again (the FlinkRunner's default: ~195 MB of jars per job, uploaded
   * to the JobManager and fetched by every TaskManager) only loads the same classes a second
   * time, child-first; it made a preprocess run 3.3x slower here. A user's own cluster does not
   * have our classes: there the default staging, or a self-contained jar, is what is needed.
   */
  public Path emptyJar() throws IOException {
    Path jar = dir.resolve("empty.jar");
    if (!Files.exists(jar)) {
      java.util.jar.Manifest manifest = new java.util.jar.Manifest();
      manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
      try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), manifest)) {
        out.flush();
      }
    }
    return jar;
  }

  /** TaskManagers registered with the JobManager now (REST {@code /taskmanagers}). */
  public int registeredTaskManagers() throws IOException, InterruptedException {
    return rest("/taskmanagers").path("taskmanagers").size();
  }

  /** GET a REST path of the JobManager, e.g. {@code /jobs/overview}. */
  public JsonNode rest(String path) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest get = HttpRequest.newBuilder(URI.create("http://" + master() + path))
        .timeout(Duration.ofSeconds(5)).GET().build();
    HttpResponse<String> response = http.send(get, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET " + path + " -> HTTP " + response.statusCode() + ": "
          + response.body());
    }
    return new ObjectMapper().readTree(response.body());
  }

  /** The last {@code lines} lines of every JVM's log, for a failure message. */
  public String logTails(int lines) {
    StringBuilder out = new StringBuilder();
    for (Path log : logs) {
      out.append("---- ").append(log).append('\n');
      try {
        List<String> all = Files.readAllLines(log);
        all.subList(Math.max(0, all.size() - lines), all.size())
            .forEach(l -> out.append(l).append('\n'));
      } catch (IOException e) {
        out.append("(unreadable: ").append(e.getMessage()).append(")\n");
      }
    }
    return out.toString();
  }

  /** Kills every JVM of the cluster and waits for them to be gone. */
  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running and does the same
    }
  }

  private void kill() {
    processes.forEach(Process::destroy);
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * What flink-dist's config passes every Flink JVM on Java 17 ({@code env.java.opts.all}): Flink and
   * Kryo reach into these packages by reflection (serializers, and the error-message enrichment that
   * otherwise hides a task's real failure behind an InaccessibleObjectException).
   */
  private static final List<String> JAVA17_OPENS = List.of(
      "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
      "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
      "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED",
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens=java.base/java.text=ALL-UNNAMED",
      "--add-opens=java.base/java.time=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  private void spawn(String name, List<String> jvmArgs, String mainClass, String... args)
      throws IOException {
    Path log = dir.resolve("log").resolve(name + ".log");
    Files.createDirectories(log.getParent());
    List<String> cmd = new ArrayList<>();
    cmd.add(JvmClasspath.javaLauncher());
    cmd.addAll(JAVA17_OPENS);
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(JvmClasspath.joined(StandaloneFlinkCluster.class.getClassLoader()));
    cmd.add(mainClass);
    cmd.addAll(List.of(args));
    processes.add(new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start());
    logs.add(log);
  }

  private void awaitTaskManagers(int expected, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int seen = 0;
    while (System.nanoTime() < deadline) {
      for (int i = 0; i < processes.size(); i++) {
        if (!processes.get(i).isAlive()) {
          throw new IllegalStateException(logs.get(i).getFileName() + " exited with code "
              + processes.get(i).exitValue() + " before the cluster was up\n" + logTails(40));
        }
      }
      try {
        seen = registeredTaskManagers();
        if (seen >= expected) {
          return;
        }
      } catch (IOException notYet) {
        // REST endpoint not listening yet
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException(seen + " of " + expected + " TaskManagers registered within "
        + timeout.toSeconds() + " s\n" + logTails(40));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Starts a cluster of N (default 2) TaskManagers and keeps it up until Ctrl-C. */
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    Path dir = Files.createTempDirectory("lorabeam-flink-");
    StandaloneFlinkCluster cluster = start(dir, n, Duration.ofMinutes(2));
    System.out.println("Flink cluster up: " + n + " TaskManagers, REST http://" + cluster.master()
        + ", logs in " + dir.resolve("log") + "\nRun: preprocess ... --runner=FlinkRunner "
        + "--flinkMaster=" + cluster.master() + " --parallelism=" + n + "\nCtrl-C stops it.");
    Thread.currentThread().join();
  }
}
