package dev.lorabeam.pipeline.flink;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** When the CLI forks a JVM for the FlinkRunner, and with what command line. */
public class FlinkForkTest {

  @Test
  public void everyNameBeamAcceptsForTheFlinkRunnerIsRecognised() {
    for (String runner : List.of("FlinkRunner", "flinkrunner", "Flink",
        "org.apache.beam.runners.flink.FlinkRunner")) {
      assertTrue(runner, FlinkFork.asksForFlink(new String[] {"preprocess", "--runner=" + runner}));
    }
    assertFalse(FlinkFork.asksForFlink(new String[] {"preprocess", "--runner=DirectRunner"}));
    assertFalse(FlinkFork.asksForFlink(new String[] {"preprocess", "--data", "--runner=x/flink"}));
    assertFalse(FlinkFork.asksForFlink(new String[] {"preprocess", "--flinkMaster=[local]"}));
  }

  @Test
  public void onlyAnIsolatedClassLoaderForks() throws Exception {
    String[] flink = {"preprocess", "--runner=FlinkRunner"};
    assertFalse("the system class loader runs Flink itself",
        FlinkFork.needed(flink, ClassLoader.getSystemClassLoader()));
    try (URLClassLoader isolated = new URLClassLoader(new URL[0], null)) {
      assertTrue("exec:java's kind of loader forks", FlinkFork.needed(flink, isolated));
      assertFalse(FlinkFork.needed(new String[] {"preprocess"}, isolated));
    }
    try (URLClassLoader flinkRun = new org.apache.flink.util.ChildFirstClassLoader(new URL[0],
        ClassLoader.getSystemClassLoader(), new String[0], e -> { })) {
      assertFalse("under flink run the job stays in Flink's JVM", FlinkFork.needed(flink, flinkRun));
    }
  }

  @Test
  public void theChildGetsOurPropertiesTheClasspathAndTheArgumentsUnchanged() {
    List<String> cmd = FlinkFork.command("dev.Main", new String[] {"preprocess", "--x=a b"},
        "a.jar" + File.pathSeparator + "b.jar",
        Map.of("lorabeam.venv", "/v", "ai.djl.offline", "true", "user.home", "/h",
            FlinkFork.FORKED_PROPERTY, "false"));
    assertEquals(List.of(JvmClasspath.javaLauncher(), "-Dai.djl.offline=true",
        "-Dlorabeam.venv=/v", "-D" + FlinkFork.FORKED_PROPERTY + "=true", "-cp",
        "a.jar" + File.pathSeparator + "b.jar", "dev.Main", "preprocess", "--x=a b"), cmd);
  }

  @Test
  public void theClasspathOfAUrlClassLoaderIsItsUrls() throws Exception {
    Path a = Path.of("/tmp/a.jar");
    Path b = Path.of("/tmp/classes");
    try (URLClassLoader parent = new URLClassLoader(new URL[] {a.toUri().toURL()}, null);
        URLClassLoader child = new URLClassLoader(new URL[] {b.toUri().toURL()}, parent)) {
      assertEquals(List.of(a.toString(), b.toString()), JvmClasspath.of(child));
    }
  }
}
