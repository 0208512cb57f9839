package dev.lorabeam.pipeline.flink;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code flink-conf.yaml} of the loopback test cluster, and its JVMs' options. Started
 * without flink-dist's scripts, a TaskManager needs what those scripts compute: CPU cores and
 * every memory pool sized explicitly. The JVM flags below match those pools
 * (heap = framework + task heap; direct = framework + task off-heap + network).
 */
final class FlinkClusterConfig {
  /** JobManager: REST, dispatcher, one job master per job; 256 MB is plenty for two small jobs. */
  static final List<String> JOB_MANAGER_JVM = List.of("-Xms64m", "-Xmx256m",
      "-XX:MaxMetaspaceSize=256m", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
      "-Dorg.slf4j.simpleLogger.log.org.apache.flink=info");

  /** TaskManager: heap 64 + 256 MB, direct 64 + 32 + 64 MB, see {@link #flinkConf}. */
  static final List<String> TASK_MANAGER_JVM = List.of("-Xms64m", "-Xmx320m",
      "-XX:MaxDirectMemorySize=288m", "-XX:MaxMetaspaceSize=256m", "-XX:+UseSerialGC",
      "-Dai.djl.offline=true", "-Dorg.slf4j.simpleLogger.log.org.apache.flink=info");

  private FlinkClusterConfig() {}

  /** Writes {@code DIR/flink-conf.yaml} and returns DIR. */
  static Path write(Path confDir, int restPort, int rpcPort, Path tmpDir) throws IOException {
    Files.createDirectories(confDir);
    Files.createDirectories(tmpDir);
    StringBuilder yaml = new StringBuilder("# written by lorabeam's StandaloneFlinkCluster\n");
    flinkConf(restPort, rpcPort, tmpDir)
        .forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
    Files.writeString(confDir.resolve("flink-conf.yaml"), yaml);
    return confDir;
  }

  static Map<String, String> flinkConf(int restPort, int rpcPort, Path tmpDir) {
    Map<String, String> c = new LinkedHashMap<>();
    // Everything on loopback, on ports nobody else on a shared build machine holds.
    c.put("jobmanager.rpc.address", "127.0.0.1");
    c.put("jobmanager.rpc.port", String.valueOf(rpcPort));
    c.put("jobmanager.bind-host", "127.0.0.1");
    c.put("rest.address", "127.0.0.1");
    c.put("rest.bind-address", "127.0.0.1");
    c.put("rest.port", String.valueOf(restPort));
    c.put("taskmanager.host", "127.0.0.1");
    c.put("taskmanager.bind-host", "127.0.0.1");
    c.put("io.tmp.dirs", tmpDir.toString());
    c.put("taskmanager.numberOfTaskSlots", "1");
    c.put("parallelism.default", "1");
    c.put("taskmanager.cpu.cores", "1");
    c.put("taskmanager.memory.framework.heap.size", "64m");
    c.put("taskmanager.memory.task.heap.size", "256m");
    // Flink's default (128m): its sort-merge batch shuffle reads through a 64m direct pool carved from it.
    c.put("taskmanager.memory.framework.off-heap.size", "128m");
    c.put("taskmanager.memory.task.off-heap.size", "32m");
    c.put("taskmanager.memory.managed.size", "64m");
    // preprocess's shuffles need more than 2048 buffers of 32 KiB at parallelism 2 (64m failed with "Insufficient number of network buffers").
    c.put("taskmanager.memory.network.min", "128m");
    c.put("taskmanager.memory.network.max", "128m");
    c.put("taskmanager.memory.jvm-metaspace.size", "256m");
    c.put("taskmanager.memory.jvm-overhead.min", "64m");
    c.put("taskmanager.memory.jvm-overhead.max", "64m");
    // The tokenizer's JNI library loads once per JVM: load DJL (and our engine) from the
    // TaskManager's own classpath, not from each job's child-first class loader, or the second
    // job fails with "libtokenizers.so already loaded in another classloader".
    c.put("classloader.parent-first-patterns.additional", "ai.djl;dev.lorabeam.engine");
    // Fail fast in a test rather than retrying a broken job.
    c.put("restart-strategy.type", "none");
    c.put("heartbeat.timeout", "60000");
    return c;
  }
}
