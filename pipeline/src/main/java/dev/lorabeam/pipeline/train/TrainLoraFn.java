package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.pack.PackedBlock;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.state.MapState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollectionView;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The trainer: a stateful DoFn that owns the process's engine (through {@link EngineHolder}),
 * takes numbered batches in order, runs one engine step per batch, and writes checkpoints,
 * reloads, validation and metrics on their intervals. Beam state holds the step, the tokens seen,
 * the next batch index and the latest checkpoint; batches that arrive early wait in a map state.
 */
final class TrainLoraFn extends DoFn<KV<Integer, IndexedBatch>, StepMetrics> {
  static final String STEP = "step";
  static final String TOKENS = "tokensSeen";
  static final String NEXT_INDEX = "nextIndex";
  static final String CHECKPOINT = "latestCheckpoint";
  static final String PENDING = "pending";

  @StateId(STEP)
  private final StateSpec<ValueState<Long>> stepSpec = StateSpecs.value(VarLongCoder.of());

  @StateId(TOKENS)
  private final StateSpec<ValueState<Long>> tokensSpec = StateSpecs.value(VarLongCoder.of());

  @StateId(NEXT_INDEX)
  private final StateSpec<ValueState<Long>> nextSpec = StateSpecs.value(VarLongCoder.of());

  @StateId(CHECKPOINT)
  private final StateSpec<ValueState<String>> checkpointSpec = StateSpecs.value(StringUtf8Coder.of());

  @StateId(PENDING)
  private final StateSpec<MapState<Long, IndexedBatch>> pendingSpec =
      StateSpecs.map(VarLongCoder.of(), IndexedBatch.IndexedBatchCoder.of());

  private final TrainConfig config;
  private final String modelPath;
  private final String dataFingerprint;
  private final double distrustTerm;
  private final @Nullable PCollectionView<List<PackedBlock>> validation;

  private transient TrainingSession session;

  TrainLoraFn(
      TrainConfig config,
      Path modelPath,
      String dataFingerprint,
      double distrustTerm,
      @Nullable PCollectionView<List<PackedBlock>> validation) {
    this.config = config;
    this.modelPath = modelPath.toString();
    this.dataFingerprint = dataFingerprint;
    this.distrustTerm = distrustTerm;
    this.validation = validation;
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, IndexedBatch> element,
      @StateId(STEP) ValueState<Long> step,
      @StateId(TOKENS) ValueState<Long> tokens,
      @StateId(NEXT_INDEX) ValueState<Long> next,
      @StateId(CHECKPOINT) ValueState<String> checkpoint,
      @StateId(PENDING) MapState<Long, IndexedBatch> pending,
      ProcessContext context) {
    IndexedBatch batch = element.getValue();
    TrainingSession s = session(batch.totalSteps(), step, tokens, next, checkpoint);
    if (batch.index() < s.position.nextIndex()) {
      return;  // trained before the checkpoint we resumed from
    }
    pending.put(batch.index(), batch);
    long wanted = s.position.nextIndex();
    IndexedBatch ready;
    while ((ready = pending.get(wanted).read()) != null && !s.finished()) {
      pending.remove(wanted);
      List<PackedBlock> val = validation == null ? List.of() : context.sideInput(validation);
      context.output(s.train(ready, val));
      wanted = s.position.nextIndex();
      step.write(s.position.step());
      tokens.write(s.position.tokensSeen());
      next.write(wanted);
      s.latestCheckpoint().ifPresent(dir -> checkpoint.write(dir.toString()));
    }
    if (s.finished()) {
      s.close();
    }
  }

  private TrainingSession session(
      long totalSteps,
      ValueState<Long> step,
      ValueState<Long> tokens,
      ValueState<Long> next,
      ValueState<String> checkpoint) {
    if (session == null) {
      Long savedStep = step.read();
      TrainingSession.Position fromState =
          savedStep == null ? null : new TrainingSession.Position(savedStep, tokens.read(), next.read(), 0);
      String savedCheckpoint = checkpoint.read();
      session = new TrainingSession(
          config, Paths.get(modelPath), dataFingerprint, distrustTerm, totalSteps, fromState,
          savedCheckpoint == null ? null : Paths.get(savedCheckpoint));
    }
    return session;
  }

  @Teardown
  public void teardown() {
    if (session != null) {
      session.close();
    }
  }
}
