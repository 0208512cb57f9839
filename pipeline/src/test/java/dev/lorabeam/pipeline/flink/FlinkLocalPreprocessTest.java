package dev.lorabeam.pipeline.flink;

import static org.junit.Assert.assertEquals;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.List;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * {@code preprocess --runner=FlinkRunner --flinkMaster=[local] --parallelism=2} as users run it
 * with {@code mvn exec:java}: the CLI is loaded by an isolated class loader, as exec:java does,
 * so it must fork a plain JVM; the shards must equal the DirectRunner's.
 */
public class FlinkLocalPreprocessTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  @ClassRule public static final Timeout LIMIT = Timeout.seconds(240);

  @Test
  public void embeddedFlinkWithTwoWorkersWritesTheDirectRunnersShards() throws Exception {
    Path data = PreprocessRuns.sampleData(TMP.getRoot().toPath().resolve("data"));
    Path direct = PreprocessRuns.direct(data, TMP.getRoot().toPath().resolve("direct"));
    Path flink = TMP.getRoot().toPath().resolve("flink");

    int code = launchIsolated(PreprocessRuns.args(data, flink, "--runner=FlinkRunner",
        "--flinkMaster=[local]", "--parallelism=2"));

    assertEquals("exit code of preprocess on Flink [local]", 0, code);
    ShardAssert.assertSameShards(direct, flink);
  }

  /** LorabeamCli.launch(args) in a class loader of our classpath whose parent is not the system one. */
  private static int launchIsolated(String[] args) throws Exception {
    List<String> cp = JvmClasspath.of(ClassLoader.getSystemClassLoader());
    URL[] urls = new URL[cp.size()];
    for (int i = 0; i < urls.length; i++) {
      urls[i] = Path.of(cp.get(i)).toUri().toURL();
    }
    try (URLClassLoader isolated = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
      Class<?> cli = Class.forName("dev.lorabeam.pipeline.cli.LorabeamCli", true, isolated);
      Method launch = cli.getMethod("launch", String[].class);
      return (Integer) launch.invoke(null, (Object) args);
    }
  }
}
