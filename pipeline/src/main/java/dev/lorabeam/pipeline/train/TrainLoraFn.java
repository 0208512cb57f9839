package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.shards.BlockSetReader;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.state.MapState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The trainer: a stateful DoFn on one key that receives batch indices {@code 0 … steps−1} (in any
 * order, any bundles) and trains batch i once every batch before it has trained, reading its rows
 * from the shards ({@link TrainingSession}, {@link BatchPlan}). No block travels through the
 * pipeline, so the data stage holds a few bytes per batch and per block, whatever the corpus size.
 *
 * <p>Beam state is what a restart needs and nothing else: the indices received since the latest
 * checkpoint this run committed, and that checkpoint. The training state itself (step, tokens,
 * data position, adapters, moments) is only ever restored from a checkpoint ({@link
 * SessionRestore}), so a retried bundle or a new DoFn instance resumes from the latest complete
 * checkpoint and trains the steps after it again. A healthy session of this run that is still
 * live in the process (the runner merely moved the key to another DoFn instance) is adopted as it
 * is; a session whose step threw is closed and never adopted.
 */
final class TrainLoraFn extends DoFn<KV<Integer, Long>, StepMetrics> {
  static final String RECEIVED = "received";
  static final String CHECKPOINT = "committedCheckpoint";
  static final String FLOOR = "floor";

  /** Live sessions by run id: one per run and process, like the engine they hold. */
  private static final Map<String, TrainingSession> LIVE = new HashMap<>();

  /** Batch indices received and not yet covered by the committed checkpoint. */
  @StateId(RECEIVED)
  private final StateSpec<MapState<Long, Boolean>> receivedSpec =
      StateSpecs.map(VarLongCoder.of(), BooleanCoder.of());

  @StateId(CHECKPOINT)
  private final StateSpec<ValueState<String>> checkpointSpec = StateSpecs.value(StringUtf8Coder.of());

  /** Indices below the floor are covered by the committed checkpoint (or precede the run's start). */
  @StateId(FLOOR)
  private final StateSpec<ValueState<Long>> floorSpec = StateSpecs.value(VarLongCoder.of());

  private final String runId;
  private final TrainConfig config;
  private final String modelPath;
  private final DataIdentity identity;
  private final double distrustTerm;
  private final BatchPlan plan;
  private final String trainDir;
  private final @Nullable String validDir;
  private final String tokenizerFingerprint;

  private transient TrainingSession session;

  /**
   * @param runId distinguishes this run's live session from any other run's in the same process
   * @param trainDir the shard directory the plan indexes; {@code validDir} the validation shards or null
   */
  TrainLoraFn(String runId, TrainConfig config, Path modelPath, DataIdentity identity, double distrustTerm,
      BatchPlan plan, String trainDir, @Nullable String validDir, String tokenizerFingerprint) {
    this.runId = runId;
    this.config = config;
    this.modelPath = modelPath.toString();
    this.identity = identity;
    this.distrustTerm = distrustTerm;
    this.plan = plan;
    this.trainDir = trainDir;
    this.validDir = validDir;
    this.tokenizerFingerprint = tokenizerFingerprint;
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, Long> element,
      @StateId(RECEIVED) MapState<Long, Boolean> received,
      @StateId(CHECKPOINT) ValueState<String> checkpoint,
      @StateId(FLOOR) ValueState<Long> floorState,
      OutputReceiver<StepMetrics> out) {
    receive(element.getValue(), received, checkpoint, floorState, out::output);
  }

  /** Records batch {@code index} as received and trains every batch that is now due, in order. */
  void receive(long index, MapState<Long, Boolean> received, ValueState<String> checkpoint,
      ValueState<Long> floorState, Consumer<StepMetrics> out) {
    Long saved = floorState.read();
    if (saved != null && saved >= plan.totalSteps()) {
      return;  // the run is complete: a late index of a batch trained before the checkpoint
    }
    String committed = checkpoint.read();
    TrainingSession s = session(committed);
    long floor = saved != null ? saved : s.checkpointIndex();
    if (index >= floor) {
      received.put(index, true);
    }
    try {
      while (!s.finished() && Boolean.TRUE.equals(received.get(s.nextIndex()).read())) {
        stopIfRequested(s);
        out.accept(s.trainNext());
      }
      if (!s.finished() && s.stopsAlone()) {
        stopIfRequested(s);  // ranks of a data-parallel run decide together, before each step only
      }
    } catch (RuntimeException e) {
      discard(s);
      throw e;
    }
    String latest = s.latestCheckpoint().map(Path::toString).orElse(null);
    if (latest != null && !latest.equals(committed)) {
      checkpoint.write(latest);
      for (long i = floor; i < s.checkpointIndex(); i++) {
        received.remove(i);
      }
      floor = Math.max(floor, s.checkpointIndex());
    }
    if (saved == null || saved != floor) {
      floorState.write(floor);
    }
    if (s.finished()) {
      discard(s);
    }
  }

  /** Between steps: a pending Ctrl-C / SIGTERM checkpoints here and ends the run ({@link StopSignal}). */
  private static void stopIfRequested(TrainingSession s) {
    StopSignal.Kind kind = s.stopRequested();
    if (kind != null) {
      throw s.stop(kind);
    }
  }

  /** This instance's session: its own, a live one of this run, or a new one restored from a checkpoint. */
  private TrainingSession session(@Nullable String committed) {
    if (session != null && !session.isClosed()) {
      session.owner = this;
      return session;
    }
    synchronized (LIVE) {
      session = LIVE.get(runId);
      if (session == null) {
        session = newSession(committed);
        LIVE.put(runId, session);
      }
      session.owner = this;
    }
    return session;
  }

  private TrainingSession newSession(@Nullable String committed) {
    BlockSetReader train = BlockSetReader.open(trainDir, tokenizerFingerprint, config.trainSeqLength());
    BlockSetReader valid = null;
    try {
      valid = validDir == null ? null
          : BlockSetReader.open(validDir, tokenizerFingerprint, config.trainSeqLength());
      return new TrainingSession(config, Paths.get(modelPath), identity, distrustTerm, plan, train, valid,
          committed == null ? null : Paths.get(committed));
    } catch (RuntimeException e) {
      train.close();
      if (valid != null) {
        valid.close();
      }
      throw e;
    }
  }

  /** Closes {@code s} and forgets it: finished, or poisoned by an exception in its step. */
  private static void discard(TrainingSession s) {
    synchronized (LIVE) {
      LIVE.values().remove(s);
    }
    s.close();
  }

  /** Closes whatever session of {@code runId} is still live (the job calls it when the pipeline ends). */
  static void closeRun(String runId) {
    TrainingSession s;
    synchronized (LIVE) {
      s = LIVE.remove(runId);
    }
    if (s != null) {
      s.close();
    }
  }

  @Teardown
  public void teardown() {
    if (session != null && session.owner == this) {
      discard(session);
    }
  }
}
