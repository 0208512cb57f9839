package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Data-parallel training with real processes: `lorabeam train` JVMs joined over MLX's ring backend
 * on 127.0.0.1 (as mlx.launch -n 2 --backend ring starts them), a tiny random Llama, real data.
 */
public class DataParallelTrainTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final double REL = 1e-5;
  private static final long BOUND_S = 240;  // per process, generous for 2 shared cores

  private static final Pattern STOPPED = Pattern.compile("Stopped by SIGTERM after step (\\d+) \\(checkpoint (\\S+)\\)");

  private static Path model;
  private static Path data;

  @BeforeClass
  public static void makeModelAndData() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    data = TrainJobTest.sampleSplit(TMP.newFolder("data").toPath(), 64, 16);
  }

  static List<String> args(Path out, int steps, String... extra) {
    List<String> a = new ArrayList<>(List.of("--model", model.toString(), "--data", data.toString(),
        "--adapter-path", out.toString(), "--max-memory", "4", "--train-seq-length", "64",
        "--lora-rank", "4", "--lora-layers", "-1", "--learning-rate", "5e-3", "--steps-per-eval", "0",
        "--val-batches", "1", "--max-grad-norm", "0", "--seed", "11",
        "--max-steps", Integer.toString(steps)));
    a.addAll(List.of(extra));
    if (!a.contains("--save-every")) {
      a.addAll(List.of("--save-every", "5"));
    }
    if (!a.contains("--batch-size")) {
      a.addAll(List.of("--batch-size", "4"));  // the global batch; each of 2 ranks trains on 2 of its rows
    }
    return a;
  }

  @Test
  public void twoRanksTrainLikeOneProcessAndResumeContinuesIdentically() throws Exception {
    Path single = TMP.newFolder("single").toPath();
    Path two = TMP.newFolder("two").toPath();
    Path resumed = TMP.newFolder("resumed").toPath();
    try (RankLauncher launcher = new RankLauncher(TMP.getRoot().toPath())) {
      // The reference: one process, global batch 4 as two micro-batches of 2 rows, i.e. the same
      // additions in the same order as rank 0's 2 rows + rank 1's 2 rows all-summed.
      RankLauncher.Rank one = launcher.single("single", args(single, 10, "--batch-size", "2", "--grad-accumulation", "2"));
      RankLauncher.Rank plain = launcher.single("plain", args(TMP.newFolder("plain").toPath(), 1));
      assertEquals(one.output(), 0, RankLauncher.await(one, BOUND_S));
      assertEquals(plain.output(), 0, RankLauncher.await(plain, BOUND_S));
      expectSuccess(launcher.ring("two", List.of(args(two, 10), args(two, 10)), List.of()));
      // A 2-rank run that stops at its step-5 checkpoint, then a 2-rank --resume to step 10.
      expectSuccess(launcher.ring("first", List.of(args(resumed, 5), args(resumed, 5)), List.of()));
      expectSuccess(launcher.ring("resume",
          List.of(args(resumed, 10, "--resume"), args(resumed, 10, "--resume")), List.of()));
    }
    double[] reference = losses(single);
    assertEquals(10, reference.length);
    assertClose("2 ranks vs 1 process", reference, losses(two));
    assertClose("2 ranks stopped at 5 and resumed vs 1 process", reference, losses(resumed));
    // Step 1's loss (before any update) is the global batch's: equal to one forward pass over all 4 rows.
    assertClose("step 1 vs 1 process, 4 rows in one micro-batch",
        losses(TMP.getRoot().toPath().resolve("plain")), new double[] {losses(two)[0]});
    Map<String, float[]> a = adapters(single), b = adapters(two), c = adapters(resumed);
    for (String name : a.keySet()) {
      assertRelative("adapter " + name + " (2 ranks)", a.get(name), b.get(name));
      assertRelative("adapter " + name + " (resumed)", a.get(name), c.get(name));
    }
  }

  @Test
  public void aRankWithAnotherConfigIsRefusedBeforeTraining() throws Exception {
    Path out = TMP.newFolder("mismatch").toPath();
    try (RankLauncher launcher = new RankLauncher(TMP.getRoot().toPath())) {
      List<RankLauncher.Rank> ranks = launcher.ring("mismatch",
          List.of(args(out, 4), args(out, 4, "--weight-decay", "0.02")), List.of());
      for (RankLauncher.Rank r : ranks) {
        int code = RankLauncher.await(r, BOUND_S);
        String log = r.output();
        assertTrue("rank " + r.rank() + " must fail:\n" + log, code != 0);
        assertTrue(log, log.contains("rank 1 differs from rank 0 in its config"));
      }
    }
    assertFalse("no step was trained", Files.exists(out.resolve("metrics.jsonl")));
  }

  @Test
  public void whenOneRankIsKilledTheOtherStopsWithinTheBoundNamingIt() throws Exception {
    String log = stopRankOneMidRun("killed", false);
    assertTrue(log, log.contains("rank 0 of 2 stopped") && log.contains("rank 1"));
  }

  @Test
  public void whenOneRankHangsTheWatchdogStopsTheOtherWithinTheBound() throws Exception {
    String log = stopRankOneMidRun("hung", true);
    assertTrue(log, log.contains("rank 0 of 2 stopped") && log.contains("did not complete within 20 s")
        && log.contains("(rank 1) died or hangs"));
  }

  @Test
  public void sigtermToOneRankStopsEveryRankAfterTheSameStepWithRankZerosCheckpointWrittenFirst() throws Exception {
    Path out = TMP.newFolder("signal").toPath();
    try (RankLauncher launcher = new RankLauncher(TMP.getRoot().toPath())) {
      List<String> a = args(out, 3000, "--save-every", "1000");
      // Rank 0's stop checkpoint pauses 5 s between its files and its commit: a rank 1 that did not
      // wait for it would exit inside that pause.
      List<RankLauncher.Rank> ranks = launcher.ring("signal", List.of(a, a), List.of(),
          List.of("-D" + TrainingSession.STOP_PAUSE_PROPERTY + "=5000"));
      Path metrics = out.resolve("metrics.jsonl");
      long deadline = System.nanoTime() + BOUND_S * 1_000_000_000L;
      while (TrainProcesses.lastStep(metrics) < 3) {
        assertTrue("rank 0 trained no 3 steps:\n" + ranks.get(0).output(), System.nanoTime() < deadline);
        assertTrue(ranks.get(1).output(), ranks.get(1).process().isAlive());
        Thread.sleep(50);
      }
      // Only rank 1 is signalled (a scheduler stopping one host); rank 0 learns it at the next step boundary.
      new ProcessBuilder("kill", "-TERM", Long.toString(ranks.get(1).process().pid())).start().waitFor();
      assertEquals(ranks.get(1).output(), 143, RankLauncher.await(ranks.get(1), BOUND_S));
      // Rank 1 left only after rank 0 committed: mlx.launch would SIGTERM rank 0 the moment rank 1 exits.
      Optional<CheckpointStore.Checkpoint> atExit = new CheckpointStore(out, 3).latest();
      assertEquals(ranks.get(0).output(), 143, RankLauncher.await(ranks.get(0), BOUND_S));
      Matcher zero = STOPPED.matcher(ranks.get(0).output()), one = STOPPED.matcher(ranks.get(1).output());
      assertTrue(ranks.get(0).output(), zero.find());
      assertTrue(ranks.get(1).output(), one.find());
      long step = Long.parseLong(zero.group(1));
      System.out.printf("SIGTERM to rank 1 after step 3: both ranks stopped after step %d, exit 143%n", step);
      assertEquals("both ranks stop after the same step", step, Long.parseLong(one.group(1)));
      assertTrue("stopped after " + step, step >= 3 && step < 3000);
      assertEquals("the step the ranks stopped at is the last in the metrics", step, TrainProcesses.lastStep(metrics));
      assertTrue("rank 0's checkpoint was there when rank 1 exited", atExit.isPresent());
      assertEquals("a checkpoint at the stopped step, complete when rank 1 exited", step, atExit.get().step());
      assertEquals("both ranks name it", zero.group(2), one.group(2));
      assertEquals(atExit.get().dir().toString(), zero.group(2));
      CheckpointStore.verify(atExit.get().dir());
    }
  }

  /** Trains 2 ranks until rank 0 has a checkpoint, then kills (or SIGSTOPs) rank 1; rank 0's output. */
  private static String stopRankOneMidRun(String name, boolean hang) throws Exception {
    Path out = TMP.newFolder(name).toPath();
    try (RankLauncher launcher = new RankLauncher(TMP.getRoot().toPath())) {
      List<String> a = args(out, 3000, "--keep-checkpoints", "2");
      List<RankLauncher.Rank> ranks = launcher.ring(name, List.of(a, a), List.of("LORABEAM_RANK_TIMEOUT_S=20"));
      Path metrics = out.resolve("metrics.jsonl");
      long deadline = System.nanoTime() + BOUND_S * 1_000_000_000L;
      while (!(Files.exists(out.resolve("checkpoints")) && Files.exists(metrics) && Files.size(metrics) > 0)) {
        assertTrue("rank 0 trained no step:\n" + ranks.get(0).output(), System.nanoTime() < deadline);
        assertTrue(ranks.get(0).output(), ranks.get(0).process().isAlive());
        Thread.sleep(200);
      }
      if (hang) {
        new ProcessBuilder("kill", "-STOP", Long.toString(ranks.get(1).process().pid())).start().waitFor();
      } else {
        ranks.get(1).process().destroyForcibly();
      }
      long stopped = System.nanoTime();
      int code = RankLauncher.await(ranks.get(0), 60);
      double seconds = (System.nanoTime() - stopped) / 1e9;
      String log = ranks.get(0).output();
      System.out.printf("%s: rank 0 exited %d, %.1f s after rank 1 stopped%n", name, code, seconds);
      assertTrue("exit code " + code + ":\n" + log, code != 0);
      assertTrue("stopped after " + seconds + " s", seconds <= 60);
      assertTrue("the last checkpoint is intact", new CheckpointStore(out, 3).latest().isPresent());
      return log;
    }  // close() kills rank 1 (SIGKILL ends a stopped process too)
  }

  private static void expectSuccess(List<RankLauncher.Rank> ranks) throws Exception {
    for (RankLauncher.Rank r : ranks) {
      assertEquals("rank " + r.rank() + ":\n" + r.output(), 0, RankLauncher.await(r, BOUND_S));
    }
  }

  private static double[] losses(Path out) {
    return TrainJobTest.losses(MetricsWriter.readAll(out.resolve("metrics.jsonl")));
  }

  private static void assertClose(String what, double[] expected, double[] actual) {
    assertEquals(what + ": steps", expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      double rel = Math.abs(expected[i] - actual[i]) / Math.abs(expected[i]);
      assertTrue(what + ": step " + (i + 1) + " loss " + expected[i] + " vs " + actual[i], rel <= REL);
    }
  }

  private static void assertRelative(String what, float[] expected, float[] actual) {
    double diff = 0, norm = 0;
    for (int i = 0; i < expected.length; i++) {
      diff += Math.pow(expected[i] - actual[i], 2);
      norm += Math.pow(expected[i], 2);
    }
    assertTrue(what + ": relative difference " + Math.sqrt(diff / norm), Math.sqrt(diff) <= REL * Math.sqrt(norm));
  }

  /** The float32 tensors of adapters.safetensors (8-byte header length, JSON header, data). */
  static Map<String, float[]> adapters(Path out) throws IOException {
    byte[] bytes = Files.readAllBytes(out.resolve(CheckpointStore.ADAPTERS_FILE));
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int headerLength = (int) buf.getLong();
    JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, headerLength, java.nio.charset.StandardCharsets.UTF_8));
    Map<String, float[]> tensors = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      assertEquals(e.getKey(), "F32", e.getValue().get("dtype").asText());
      long from = e.getValue().get("data_offsets").get(0).asLong(), to = e.getValue().get("data_offsets").get(1).asLong();
      float[] v = new float[(int) ((to - from) / 4)];
      ByteBuffer.wrap(bytes, (int) (8 + headerLength + from), (int) (to - from)).order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer().get(v);
      tensors.put(e.getKey(), v);
    }
    assertFalse("no tensors in " + out, tensors.isEmpty());
    return tensors;
  }
}
