package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.UserError;
import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The whole train pipeline, end to end on the real engine with a tiny random Llama. */
public class TrainJobTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  private static Path model;
  private static Path data;
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @BeforeClass
  public static void makeModelAndData() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    data = sampleSplit(TMP.newFolder("data").toPath(), 64, 16);
  }

  /** {@code dir} with train.jsonl and valid.jsonl: the first train + valid {@link #sampleRows}, in that order. */
  static Path sampleSplit(Path dir, int train, int valid) throws IOException {
    List<String> rows = sampleRows(train + valid);
    Files.write(dir.resolve("train.jsonl"), rows.subList(0, train));
    Files.write(dir.resolve("valid.jsonl"), rows.subList(train, train + valid));
    return dir;
  }

  /** The first n rows of data/sample/train.jsonl, cut to 240 characters (short tiny-model runs). */
  static List<String> sampleRows(int n) throws IOException {
    Path sample = Path.of(System.getProperty("lorabeam.root", "..")).resolve("data/sample/train.jsonl");
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    try (Stream<String> lines = Files.lines(sample)) {
      return lines.limit(n).map(line -> {
        try {
          String text = json.readTree(line).get("text").asText();
          return json.writeValueAsString(java.util.Map.of("text", text.substring(0, Math.min(240, text.length()))));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).collect(Collectors.toList());
    }
  }

  static TrainConfigBuilder tiny(Path adapters) {
    return TrainConfig.builder(model.toString(), data.toString())
        .adapterPath(adapters.toString())
        .maxMemoryGb(4.0)
        .trainSeqLength(64)
        .batchSize(2)
        .loraRank(4)
        .loraLayers(-1)
        .learningRate(5e-3)
        .stepsPerEval(0)
        .valBatches(2)
        .saveEvery(4)
        .maxGradNorm(0)
        .seed(11);
  }

  static List<StepMetrics> run(TrainConfig config) {
    TrainJob.run(config, new String[0], QUIET);
    return MetricsWriter.readAll(config.resolvedMetricsFile());
  }

  static double[] losses(List<StepMetrics> metrics) {
    return metrics.stream().mapToDouble(StepMetrics::loss).toArray();
  }

  @Test
  public void lossFallsCheckpointsFollowTheCadenceAndAdaptersArePublished() throws IOException {
    Path out = TMP.newFolder("cadence").toPath();
    List<StepMetrics> m = run(tiny(out).maxSteps(12).keepCheckpoints(2).build());
    assertEquals(12, m.size());
    double first = (m.get(0).loss() + m.get(1).loss()) / 2;
    double last = (m.get(10).loss() + m.get(11).loss()) / 2;
    assertTrue("loss should fall: " + first + " -> " + last, last < first - 0.1);
    assertTrue("validation loss at the end", m.get(11).valLoss() != null);
    for (StepMetrics step : m) {  // read back from metrics.jsonl: memory_gb = the step's MLX peak, rss_gb the process
      assertTrue("step " + step.step() + " memory_gb " + step.memoryGb(), step.memoryGb() > 0);
      assertTrue("step " + step.step() + " rss_gb " + step.rssGb() + " holds the JVM and MLX's peak " + step.memoryGb(),
          step.rssGb() > step.memoryGb());
    }
    try (Stream<Path> dirs = Files.list(out.resolve("checkpoints"))) {
      List<String> names = dirs.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
      assertEquals("keeps the last 2 of steps 4, 8, 12", List.of("step-000008", "step-000012"), names);
    }
    assertTrue(Files.size(out.resolve("adapters.safetensors")) > 0);
    assertTrue(Files.readString(out.resolve("adapter_config.json")).contains("\"lora_parameters\""));
  }

  @Test
  public void reloadingEveryThreeStepsGivesTheSameLossesAsNeverReloading() throws IOException {
    List<StepMetrics> plain = run(tiny(TMP.newFolder("plain").toPath()).maxSteps(9).build());
    int opensBefore = EngineHolder.opens();
    List<StepMetrics> reloaded =
        run(tiny(TMP.newFolder("reload").toPath()).maxSteps(9).reloadInterval(3).build());
    assertEquals("one open plus a reopen at steps 3 and 6", 3, EngineHolder.opens() - opensBefore);
    assertLossesEqual(losses(plain), losses(reloaded), 0);
  }

  @Test
  public void resumeAfterACrashInsideACheckpointWriteContinuesExactly() throws IOException {
    List<StepMetrics> straight = run(tiny(TMP.newFolder("straight").toPath()).maxSteps(12).build());

    Path out = TMP.newFolder("crashed").toPath();
    run(tiny(out).maxSteps(8).build());
    // A kill -9 while step 12's checkpoint was being written leaves a temp dir with a torn file.
    Path torn = Files.createDirectories(out.resolve("checkpoints/.tmp-step-000012-deadbeef"));
    Files.write(torn.resolve("adapters.safetensors"), new byte[] {1, 2, 3});
    List<StepMetrics> resumed = run(tiny(out).maxSteps(12).resume(true).build());

    List<Long> steps = resumed.stream().map(StepMetrics::step).collect(Collectors.toList());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L), steps);
    assertLossesEqual(losses(straight), losses(resumed), 0);
    assertFalse("the torn temp dir is cleaned up", Files.exists(torn));
  }

  @Test
  public void badRowsAreCountedAndKeptAndTooManyFailTheRun() throws IOException {
    Path dir = TMP.newFolder("bad-data").toPath();
    List<String> rows = new ArrayList<>(sampleRows(64));
    rows.set(10, "{\"text\": 42}");
    Files.write(dir.resolve("train.jsonl"), rows);
    Path out = TMP.newFolder("bad-out").toPath();
    TrainConfig ok = tiny(out).data(dir.toString()).maxSteps(2).build();
    // 1 bad row in 64 is over the default 1% threshold: the run fails with a summary…
    UserError e = assertThrows(UserError.class, () -> TrainJob.run(ok, new String[0], QUIET));
    assertTrue(e.getMessage(), e.getMessage().contains("1"));
    // …and the row is kept with its file, line and reason.
    String dead = Files.readString(out.resolve("dead-letters.jsonl"), StandardCharsets.UTF_8);
    assertTrue(dead, dead.contains("\"line\":11") && dead.contains("train.jsonl"));

    // --max-bad-fraction raises the bar.
    List<StepMetrics> tolerant = run(tiny(TMP.newFolder("bad-tolerant").toPath()).data(dir.toString())
        .maxSteps(1).maxBadFraction(0.05).build());
    assertEquals(1, tolerant.size());

    rows.addAll(sampleRows(80).subList(0, 80));
    rows.addAll(sampleRows(80));
    Files.write(dir.resolve("train.jsonl"), rows);
    List<StepMetrics> m = run(tiny(TMP.newFolder("bad-ok").toPath()).data(dir.toString()).maxSteps(2).build());
    assertEquals("1 bad row in 224 is under 1%: training runs", 2, m.size());
  }

  @Test
  public void additiveDistrustChangesOnlyTheReportedLossWeightedChangesTraining() throws IOException {
    Path dir = TMP.newFolder("distrust-data").toPath();
    List<String> rows = sampleRows(64);
    List<String> annotated = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      String body = rows.get(i).substring(0, rows.get(i).length() - 1);
      annotated.add(body + String.format(",\"auth_weight\":%.2f,\"prov_entropy\":%.1f}", (i % 10) / 10.0, (i % 7) * 1.0));
    }
    Files.write(dir.resolve("train.jsonl"), annotated);
    List<StepMetrics> off = run(tiny(TMP.newFolder("d-off").toPath()).data(dir.toString()).maxSteps(5).build());
    List<StepMetrics> add = run(tiny(TMP.newFolder("d-add").toPath()).data(dir.toString()).maxSteps(5)
        .distrust("additive").lambdaWeight(0.8).build());
    List<StepMetrics> weighted = run(tiny(TMP.newFolder("d-w").toPath()).data(dir.toString()).maxSteps(5)
        .distrust("weighted").build());
    double[] ceOff = off.stream().mapToDouble(StepMetrics::ce).toArray();
    double[] ceAdd = add.stream().mapToDouble(StepMetrics::ce).toArray();
    assertLossesEqual(ceOff, ceAdd, 0);  // additive: same training, gradient untouched
    assertTrue(add.get(0).distrust() > 0);
    assertEquals(add.get(0).ce() + add.get(0).distrust(), add.get(0).loss(), 1e-9);
    double[] ceWeighted = weighted.stream().mapToDouble(StepMetrics::ce).toArray();
    assertNotEquals("weighted changes the loss weights", ceOff[0], ceWeighted[0], 1e-6);
  }

  @Test
  public void trainsFromPreprocessedShardsAndRefusesShardsOfAnotherLength() throws IOException {
    Path shards = TMP.newFolder("shards").toPath();
    int code = dev.lorabeam.pipeline.cli.LorabeamCli.execute(
        "preprocess", "--data", data.toString(), "--model", model.toString(),
        "--train-seq-length", "64", "--output", shards.toString());
    assertEquals(0, code);
    List<StepMetrics> m = run(tiny(TMP.newFolder("from-shards").toPath()).data(shards.toString()).maxSteps(3).build());
    assertEquals(3, m.size());
    assertTrue("validation shards are used", m.get(2).valLoss() != null);
    TrainConfig wrongLength = tiny(TMP.newFolder("wrong-t").toPath()).data(shards.toString()).trainSeqLength(32).maxSteps(1).build();
    RuntimeException e = assertThrows(RuntimeException.class, () -> TrainJob.run(wrongLength, new String[0], QUIET));
    assertTrue(e.getMessage(), e.getMessage().contains("64") && e.getMessage().contains("32"));
  }

  @Test
  public void aStepOverTheMemoryLimitStopsWithTheFixAndKeepsTheLastCheckpoint() throws IOException {
    Path out = TMP.newFolder("oom").toPath();
    run(tiny(out).maxSteps(4).build());
    // Resume with a limit far below what one step needs: one clear message, the checkpoint intact.
    TrainConfig tight = tiny(out).maxSteps(8).resume(true).maxMemoryGb(0.001).build();
    UserError e = assertThrows(UserError.class, () -> TrainJob.run(tight, new String[0], QUIET));
    assertTrue(e.getMessage(), e.getMessage().startsWith("out of memory at the MLX memory limit of 0.00 GB"));
    assertTrue(e.getMessage(), e.getMessage().contains("--quantize 4") && e.getMessage().contains("--grad-checkpoint"));
    assertTrue(e.getMessage(), e.getMessage().contains("step-000004 (intact)"));
    assertEquals(4, CheckpointStore.of(tight).latest().orElseThrow().manifest().step());
  }

  @Test
  public void aNonFiniteLossStopsTrainingAndNamesTheLastGoodCheckpoint() throws IOException {
    Path out = TMP.newFolder("nan").toPath();
    run(tiny(out).maxSteps(4).build());
    // A huge learning rate in float16 overflows the activations within a few steps.
    TrainConfig wild = tiny(out).maxSteps(40).resume(true).learningRate(0.9).computeDtype("float16").build();
    UserError e = assertThrows(UserError.class, () -> TrainJob.run(wild, new String[0], QUIET));
    assertTrue(e.getMessage(), e.getMessage().startsWith("training stopped at step "));
    assertTrue(e.getMessage(), e.getMessage().contains("step-000004"));
    assertEquals(4, CheckpointStore.of(wild).latest().orElseThrow().manifest().step());
  }

  static void assertLossesEqual(double[] expected, double[] actual, double tolerance) {
    assertEquals(expected.length, actual.length);
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    }
    System.out.println("max |Δloss| = " + worst);
    assertTrue("max |Δloss| " + worst + " > " + tolerance, worst <= tolerance);
  }
}
