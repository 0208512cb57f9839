package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.pipeline.memory.MemorySetup;
import dev.lorabeam.transforms.shards.BlockSetReader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.beam.runners.core.InMemoryStateInternals;
import org.apache.beam.runners.core.StateNamespaces;
import org.apache.beam.runners.core.StateTags;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.state.MapState;
import org.apache.beam.sdk.state.ValueState;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Issue 10 item 2: the trainer restores from one point in time. A second {@link TrainLoraFn}
 * instance that inherits the committed Beam state of a first one (the runner moved the key, or
 * retried a failed bundle) resumes from the latest complete checkpoint, trains the steps after it
 * again, and ends with exactly the losses of an uninterrupted run. The state is Beam's own
 * in-memory state, as a runner keeps it; the engine, model and shards are real.
 */
public class TrainLoraFnRestartTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  private static Path model;
  private static Path shards;
  private static String tokenizer;

  @BeforeClass
  public static void makeModelAndShards() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    Path data = TMP.newFolder("data").toPath();
    Files.write(data.resolve("train.jsonl"), TrainJobTest.sampleRows(64));
    shards = TMP.newFolder("shards").toPath();
    assertEquals(0, dev.lorabeam.pipeline.cli.LorabeamCli.execute("preprocess", "--data", data.toString(),
        "--model", model.toString(), "--train-seq-length", "64", "--output", shards.toString()));
    tokenizer = TrainJob.resolveModel(model.toString()).tokenizer().fingerprint();
  }

  private static TrainConfig config(Path out) {
    return TrainConfig.builder(model.toString(), shards.toString())
        .adapterPath(out.toString()).maxMemoryGb(4.0).trainSeqLength(64).batchSize(2).loraRank(4)
        .loraLayers(-1).learningRate(5e-3).stepsPerEval(0).valBatches(0).saveEvery(4).maxGradNorm(0)
        .seed(11).maxSteps(10).build();
  }

  /** Beam state of the one key, shared by the instances as a runner's committed state would be. */
  private static final class State {
    final InMemoryStateInternals<Integer> internals = InMemoryStateInternals.forKey(0);
    final MapState<Long, Boolean> received = internals.state(StateNamespaces.global(),
        StateTags.map(TrainLoraFn.RECEIVED, VarLongCoder.of(), BooleanCoder.of()));
    final ValueState<String> checkpoint = internals.state(StateNamespaces.global(),
        StateTags.value(TrainLoraFn.CHECKPOINT, StringUtf8Coder.of()));
    final ValueState<Long> floor = internals.state(StateNamespaces.global(),
        StateTags.value(TrainLoraFn.FLOOR, VarLongCoder.of()));
  }

  private static TrainLoraFn instance(TrainConfig config, String runId) {
    try (BlockSetReader reader = BlockSetReader.open(shards.toString(), tokenizer, 64)) {
      DataIdentity identity = new DataIdentity(reader.manifest().blockSetFingerprint(), config.seed(),
          config.effectiveBatchSize());
      return new TrainLoraFn(runId, config, model, identity, 0, BatchPlan.of(reader.blocks(), config),
          shards.toString(), null, tokenizer);
    }
  }

  private static void feed(TrainLoraFn fn, State state, long from, long to, List<StepMetrics> out) {
    for (long i = from; i < to; i++) {
      fn.receive(i, state.received, state.checkpoint, state.floor, out::add);
    }
  }

  private static List<Long> steps(List<StepMetrics> m) {
    return m.stream().map(StepMetrics::step).collect(Collectors.toList());
  }

  @Test
  public void aNewInstanceRestartsFromTheLatestCheckpointAndEndsWithTheUninterruptedLosses() throws IOException {
    List<StepMetrics> straight = TrainJobTest.run(config(TMP.newFolder("straight").toPath()));
    TrainConfig config = config(TMP.newFolder("moved").toPath());
    String run = UUID.randomUUID().toString();
    State state = new State();
    List<StepMetrics> out = new ArrayList<>();

    TrainLoraFn first = instance(config, run);
    feed(first, state, 0, 6, out);  // steps 1–6; checkpoint at 4
    first.teardown();               // the runner drops the instance; its session goes with it
    TrainLoraFn second = instance(config, run);
    feed(second, state, 6, 10, out);
    TrainLoraFn.closeRun(run);

    assertEquals("5 and 6 are trained again after the checkpoint of step 4",
        List.of(1L, 2L, 3L, 4L, 5L, 6L, 5L, 6L, 7L, 8L, 9L, 10L), steps(out));
    List<StepMetrics> restarted = out.subList(6, 12);
    TrainJobTest.assertLossesEqual(TrainJobTest.losses(straight.subList(4, 10)), TrainJobTest.losses(restarted), 0);
    assertEquals("metrics.jsonl has each step once", steps(straight),
        steps(MetricsWriter.readAll(config.resolvedMetricsFile())));
  }

  @Test
  public void aStepThatThrowsIsRetriedFromTheCheckpointNotFromTheFailedSession() throws IOException {
    List<StepMetrics> straight = TrainJobTest.run(config(TMP.newFolder("straight2").toPath()));
    TrainConfig config = config(TMP.newFolder("retried").toPath());
    String run = UUID.randomUUID().toString();
    State state = new State();
    List<StepMetrics> out = new ArrayList<>();

    TrainLoraFn first = instance(config, run);
    feed(first, state, 0, 6, out);
    MemorySetup.apply(0.001, QUIET);  // step 7 goes over the limit and throws
    try {
      assertThrows(UserError.class, () -> feed(first, state, 6, 7, out));
    } finally {
      MemorySetup.apply(4.0, QUIET);
    }
    TrainLoraFn retry = instance(config, run);  // a runner retries the bundle on a new instance
    feed(retry, state, 6, 10, out);
    TrainLoraFn.closeRun(run);

    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 5L, 6L, 7L, 8L, 9L, 10L), steps(out));
    TrainJobTest.assertLossesEqual(TrainJobTest.losses(straight.subList(4, 10)),
        TrainJobTest.losses(out.subList(6, 12)), 0);
    assertEquals(10, CheckpointStore.of(config).latest().orElseThrow().step());
  }
}
