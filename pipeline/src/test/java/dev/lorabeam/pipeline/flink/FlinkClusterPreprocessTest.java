package dev.lorabeam.pipeline.flink;

import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorabeam.pipeline.cli.LorabeamCli;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * {@code preprocess} on a real standalone Flink 1.19 cluster (a JobManager and two TaskManagers,
 * each its own JVM, on loopback) with {@code --flinkMaster=127.0.0.1:PORT --parallelism=2}: both
 * jobs (train and valid) run there and write the DirectRunner's shards.
 */
public class FlinkClusterPreprocessTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  @ClassRule public static final Timeout LIMIT = Timeout.seconds(330);

  private static StandaloneFlinkCluster cluster;

  @BeforeClass
  public static void startCluster() throws Exception {
    cluster = StandaloneFlinkCluster.start(TMP.newFolder("cluster").toPath(), 2,
        Duration.ofSeconds(170));
  }

  @AfterClass
  public static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  public void bothJobsRunOnTwoTaskManagersAndWriteTheDirectRunnersShards() throws Exception {
    Path data = PreprocessRuns.sampleData(TMP.getRoot().toPath().resolve("data"));
    Path direct = PreprocessRuns.direct(data, TMP.getRoot().toPath().resolve("direct"));
    Path flink = TMP.getRoot().toPath().resolve("flink");
    assertEquals(2, cluster.registeredTaskManagers());

    int code = LorabeamCli.execute(PreprocessRuns.args(data, flink, "--runner=FlinkRunner",
        "--flinkMaster=" + cluster.master(), "--parallelism=2",
        "--filesToStage=" + cluster.emptyJar()));

    assertEquals("exit code on the cluster\n" + cluster.logTails(30), 0, code);
    JsonNode jobs = cluster.rest("/jobs/overview").path("jobs");
    assertEquals("jobs on the cluster: " + jobs, 2, jobs.size());
    for (JsonNode job : jobs) {
      assertEquals(job.toString(), "FINISHED", job.path("state").asText());
      assertEquals("widest operator of " + job.path("jid").asText(), 2, maxParallelism(job));
    }
    ShardAssert.assertSameShards(direct, flink);
  }

  private static int maxParallelism(JsonNode job) throws Exception {
    int max = 0;
    for (JsonNode v : cluster.rest("/jobs/" + job.path("jid").asText()).path("vertices")) {
      max = Math.max(max, v.path("parallelism").asInt());
    }
    return max;
  }
}
