package dev.lorabeam.pipeline.flink;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs a command line again in a plain JVM when it asks for the FlinkRunner and this JVM cannot
 * host it. Under {@code mvn exec:java} our classes live in Maven's isolated class loader and
 * Flink then fails with {@code ClassNotFoundException: org.apache.flink.api.common.ExecutionConfig};
 * in a {@code java -cp} JVM, where everything is on the system class loader, it works. The
 * child inherits stdin/stdout/stderr, and its exit code becomes ours.
 */
public final class FlinkFork {
  /** Set in the child, so a child never forks again whatever its class loader. */
  public static final String FORKED_PROPERTY = "lorabeam.flink.forked";

  /** System properties the child needs as well (venv, checkout root, DJL offline mode). */
  private static final List<String> FORWARDED_PREFIXES = List.of("lorabeam.", "ai.djl.");

  private FlinkFork() {}

  /**
   * True when {@code args} select the FlinkRunner and {@code loader} is neither the system class
   * loader nor one of Flink's own (under {@code flink run} the jar is loaded by Flink's user-code
   * class loader, and the job must stay in that JVM).
   */
  public static boolean needed(String[] args, ClassLoader loader) {
    return asksForFlink(args)
        && loader != ClassLoader.getSystemClassLoader()
        && !loadedByFlink(loader)
        && !Boolean.getBoolean(FORKED_PROPERTY);
  }

  private static boolean loadedByFlink(ClassLoader loader) {
    for (ClassLoader l = loader; l != null; l = l.getParent()) {
      if (l.getClass().getName().startsWith("org.apache.flink.")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a Beam {@code --runner=} option names the FlinkRunner. Beam accepts the simple name
   * in any case, with or without "Runner", or the full class name.
   */
  public static boolean asksForFlink(String[] args) {
    for (String a : args) {
      if (a.startsWith("--runner=")) {
        String name = a.substring("--runner=".length());
        name = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        if (name.equals("flinkrunner") || name.equals("flink")) {
          return true;
        }
      }
    }
    return false;
  }

  /** {@code java [-Dforwarded...] -cp CLASSPATH mainClass args...} */
  public static List<String> command(String mainClass, String[] args, String classpath,
      Map<String, String> systemProperties) {
    List<String> cmd = new ArrayList<>();
    cmd.add(JvmClasspath.javaLauncher());
    systemProperties.entrySet().stream()
        .filter(e -> FORWARDED_PREFIXES.stream().anyMatch(e.getKey()::startsWith))
        .filter(e -> !e.getKey().equals(FORKED_PROPERTY))
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> cmd.add("-D" + e.getKey() + "=" + e.getValue()));
    cmd.add("-D" + FORKED_PROPERTY + "=true");
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add(mainClass);
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Runs {@code mainClass args} in a child JVM with the classpath of {@code loader}, waits for
   * it and returns its exit code. Stopping this JVM (Ctrl-C) stops the child too.
   */
  public static int run(String mainClass, String[] args, ClassLoader loader)
      throws IOException, InterruptedException {
    Map<String, String> props = new java.util.TreeMap<>();
    System.getProperties().forEach((k, v) -> props.put(k.toString(), v.toString()));
    List<String> cmd = command(mainClass, args, JvmClasspath.joined(loader), props);
    Process child = new ProcessBuilder(cmd).inheritIO().start();
    Thread stopChild = new Thread(child::destroy, "stop-flink-fork");
    Runtime.getRuntime().addShutdownHook(stopChild);
    try {
      return child.waitFor();
    } finally {
      if (child.isAlive()) {
        child.destroyForcibly();
      }
      try {
        Runtime.getRuntime().removeShutdownHook(stopChild);
      } catch (IllegalStateException shuttingDown) {
        // the hook is already running and stops the child
      }
    }
  }
}
