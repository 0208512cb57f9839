package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Distributed;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.LossResult;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.engine.StepResult;
import dev.lorabeam.pipeline.memory.ProcessMemory;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.TrainBatch;
import dev.lorabeam.transforms.shards.BlockSetReader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training run inside one process: the engine, the schedule, checkpoints, reloads, validation,
 * metrics and progress. It reads each batch's rows from the shards as {@link BatchPlan} says;
 * {@link TrainLoraFn} says when batch i may run. It knows nothing of Beam, so it reads top to
 * bottom like a plain training loop.
 */
final class TrainingSession implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingSession.class);
  /** Test-only: milliseconds the checkpoint written on a stop signal waits before its commit. */
  static final String STOP_PAUSE_PROPERTY = "lorabeam.test.stopCheckpointPauseMs";

  /**
   * Where the run stands. {@code stepOffset} is the step the run resumed at when the data changed
   * (scheduled retraining on new data): the new data's batch i is then global step offset + i + 1.
   */
  record Position(long step, long tokensSeen, long nextIndex, long stepOffset) {
    Position advance(long trainedTokens) {
      return new Position(step + 1, tokensSeen + trainedTokens, nextIndex + 1, stepOffset);
    }
  }

  private final TrainConfig config;
  private final DataIdentity identity;
  private final double distrustTerm;
  private final CheckpointStore store;
  private final Distributed.World world = Distributed.world();  // rank 0 alone writes files and progress
  private final @Nullable MetricsWriter metrics;
  private final ProgressReporter progress;
  private final BatchPlan plan;
  private final BlockSetReader trainBlocks;
  private final @Nullable BlockSetReader validBlocks;
  private final long totalSteps;
  private final LrSchedule schedule;
  private final StepMemoryCheck memoryCheck;
  private final long startNanos = System.nanoTime();
  private final long startTokens;
  private Engine engine;
  Position position;
  private @Nullable Path latestCheckpoint;
  private long checkpointIndex;
  private double lossSum;
  private long lossCount;
  private boolean closed;
  private int permutationEpoch = -1;
  private int[] permutation;
  /** The {@link TrainLoraFn} instance that closes this session at teardown (the last to adopt it). */
  Object owner;

  /**
   * @param committed the latest checkpoint this run committed (from Beam state), or null; the
   *     session then restores as {@link SessionRestore} says, never from anything else
   */
  TrainingSession(
      TrainConfig config,
      Path model,
      DataIdentity identity,
      double distrustTerm,
      BatchPlan plan,
      BlockSetReader trainBlocks,
      @Nullable BlockSetReader validBlocks,
      @Nullable Path committed) {
    this.config = config;
    this.identity = identity;
    this.distrustTerm = distrustTerm;
    this.plan = plan;
    this.trainBlocks = trainBlocks;
    this.validBlocks = validBlocks;
    this.store = new CheckpointStore(Path.of(config.adapterPath()), config.keepCheckpoints());
    this.memoryCheck = new StepMemoryCheck(config, model, world.size());
    this.engine = EngineHolder.acquireFresh(config.toEngineConfig(model));
    SessionRestore.Restored restored = SessionRestore.restore(config, identity, store, committed, engine);
    this.position = restored.position();
    this.latestCheckpoint = restored.checkpoint();
    this.checkpointIndex = restored.checkpointIndex();
    this.startTokens = position.tokensSeen();
    this.totalSteps = position.stepOffset() + plan.totalSteps();
    this.schedule = config.continueSchedule()
        ? LrSchedule.of(config, totalSteps)        // one schedule over every run since the first
        : LrSchedule.of(config, plan.totalSteps()); // this data's own warm-up and decay
    this.metrics = world.writer() ? new MetricsWriter(config.resolvedMetricsFile(), position.step() > 0) : null;
    this.progress = world.writer() ? new ProgressReporter(totalSteps, position.step()) : ProgressReporter.NOOP;
  }

  boolean finished() {
    return position.step() >= totalSteps;
  }

  /** 0-based index of the next batch to train, in this data's {@link BatchPlan}. */
  long nextIndex() {
    return position.nextIndex();
  }

  Optional<Path> latestCheckpoint() {
    return Optional.ofNullable(latestCheckpoint);
  }

  /** Data position at the latest checkpoint: batches before it never need training again. */
  long checkpointIndex() {
    return checkpointIndex;
  }

  /** Learning rate of the 1-based global step: this data's own schedule unless --continue-schedule. */
  double learningRate(long step) {
    return config.continueSchedule() ? schedule.at(step) : schedule.at(step - position.stepOffset());
  }

  /** One optimizer step on batch {@link #nextIndex()}, then whatever falls due at the new step. */
  StepMetrics trainNext() {
    long index = position.nextIndex();
    int epoch = plan.epochOf(index);
    long step = position.step() + 1;
    double lr = learningRate(step);
    StepResult result = runStep(toEngineBatch(DataParallel.rowsOfThisRank(batchAt(index, epoch), world)), lr, step);
    position = position.advance(result.trainedTokens());
    Double valLoss = null;
    boolean last = finished();
    if (config.valBatches() != 0 && validBlocks != null && validBlocks.blocks() > 0
        && (last || (config.stepsPerEval() > 0 && step % config.stepsPerEval() == 0))) {
      valLoss = validate(validBlocks);
    }
    StepMetrics m = metricsFor(step, lr, result, valLoss);
    if (metrics != null) {
      metrics.write(m);
    }
    progress.update(m);
    if (last || (config.saveEvery() > 0 && step % config.saveEvery() == 0)) {
      saveCheckpoint(epoch);
    }
    if (!last && config.reloadInterval() > 0 && step % config.reloadInterval() == 0) {
      reload(epoch);
    }
    return m;
  }

  /** The rows of batch {@code index}, read from the shards (one epoch's permutation is cached). */
  private TrainBatch batchAt(long index, int epoch) {
    if (epoch != permutationEpoch) {
      permutation = plan.permutation(epoch);
      permutationEpoch = epoch;
    }
    long[] rows = plan.rows(index, permutation);
    List<PackedBlock> blocks = new ArrayList<>(rows.length);
    for (long row : rows) {
      blocks.add(trainBlocks.block(row));
    }
    return new TrainBatch(blocks);
  }

  private StepResult runStep(Batch batch, double lr, long step) {
    StepResult result;
    memoryCheck.beforeStep(latestCheckpoint);  // a step that cannot fit never starts
    long start = System.nanoTime();
    try {
      RankWatchdog.arm("step " + step);
      try {
        result = engine.step(batch, lr);
      } finally {
        RankWatchdog.disarm();
      }
      StepTiming.record(start, System.nanoTime());
    } catch (MlxException e) {
      if (e.isOutOfMemory()) {
        throw OutOfMemory.explain(e, config, latestCheckpoint);
      }
      throw world.size() > 1 ? DataParallel.peerLost(world, step, "the step's all-reduce", e, latestCheckpoint) : e;
    }
    memoryCheck.afterStep(result.peakMemoryBytes(), latestCheckpoint);  // the step's own peak
    if (!Double.isFinite(result.loss()) || !Double.isFinite(result.gradNorm())) {
      throw new UserError(String.format(
          "training stopped at step %d: the loss became %s (gradient norm %s). The last good checkpoint is %s. "
              + "Lower --learning-rate, set --max-grad-norm, or check the data.",
          step, result.loss(), result.gradNorm(),
          latestCheckpoint == null ? "none (no checkpoint was written yet)" : latestCheckpoint));
    }
    return result;
  }

  private StepMetrics metricsFor(long step, double lr, StepResult r, @Nullable Double valLoss) {
    double ce = r.loss();
    double total = ce + distrustTerm;
    lossSum += total;
    lossCount++;
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    double tokensPerSec = (position.tokensSeen() - startTokens) / Math.max(elapsed, 1e-9);
    StepMetrics m = new StepMetrics(
        step, total, lossSum / lossCount, lr, elapsed, r.peakMemoryBytes() / 1e9, residentGb(), Instant.now().toString(),
        tokensPerSec, r.trainedTokens(), valLoss, ce, distrustTerm, total);
    return m;
  }

  private static double residentGb() {
    long rss = ProcessMemory.residentBytes();
    return rss < 0 ? -1 : rss / 1e9;
  }

  /**
   * Plain CE over the trained targets of the first --val-batches validation batches (all with -1), in
   * the shards' order, so every evaluation of every run sees the same blocks; read a batch at a time.
   */
  private double validate(BlockSetReader blocks) {
    int rows = config.batchSize();
    long limit = config.valBatches() < 0 ? Long.MAX_VALUE : config.valBatches();
    double ceSum = 0;
    long targets = 0;
    for (long start = 0, n = 0; start < blocks.blocks() && n < limit; start += rows, n++) {
      List<PackedBlock> chunk = new ArrayList<>(rows);
      for (long i = start; i < Math.min(blocks.blocks(), start + rows); i++) {
        chunk.add(blocks.block(i));
      }
      LossResult loss = engine.evalLoss(toEngineBatch(new TrainBatch(chunk)));
      ceSum += loss.loss() * loss.trainedTokens();
      targets += loss.trainedTokens();
    }
    return targets == 0 ? Double.NaN : ceSum / targets;
  }

  /**
   * Ends the run between steps on a signal ({@link StopSignal}): checkpoints the step reached,
   * unless that step is already saved or none was trained, and says where the run stopped.
   */
  StopSignal.Stopped stop(StopSignal.Kind kind) {
    if (position.nextIndex() != checkpointIndex) {
      if (world.writer()) {
        ProgressReporter.printLine("Saving a checkpoint at step " + position.step() + " before stopping");
      }
      saveCheckpoint(plan.epochOf(position.nextIndex() - 1), Long.getLong(STOP_PAUSE_PROPERTY, 0));
    }
    // No rank leaves before rank 0's checkpoint is committed: mlx.launch terminates the other ranks
    // (SIGTERM, twice) as soon as one exits with a non-zero code, and that would be rank 0's second
    // signal, which exits at once and leaves the checkpoint unwritten.
    waitForEveryRank("the checkpoint at step " + position.step() + " on the way out");
    return new StopSignal.Stopped(kind, position.step(), latestCheckpoint);
  }

  /**
   * The stop request this step boundary acts on, or null to train the next step. In a data-parallel
   * run every rank asks before every step and the ranks agree (a one-value all-gather): a signal to
   * any rank stops all of them after the same step, so rank 0's checkpoint holds the step every rank
   * reached and no rank is left waiting in the next step's all-reduce for one that has gone.
   */
  StopSignal.@Nullable Kind stopRequested() {
    StopSignal.Kind mine = StopSignal.requested();
    if (world.size() == 1) {
      return mine;
    }
    long[][] all = gather("the stop check before step " + (position.step() + 1), mine == null ? 0 : mine.ordinal() + 1);
    for (long[] rank : all) {
      if (rank[0] > 0) {
        return StopSignal.Kind.values()[(int) rank[0] - 1];  // the lowest rank's signal names the stop
      }
    }
    return null;
  }

  /** Whether a stop can be decided between steps by this rank alone (a run of one process). */
  boolean stopsAlone() {
    return world.size() == 1;
  }

  private void waitForEveryRank(String what) {
    if (world.size() > 1) {
      gather(what, 0);
    }
  }

  private long[][] gather(String what, long value) {
    try {
      return DataParallel.allGather(what, new long[] {value});
    } catch (MlxException e) {
      throw DataParallel.peerLost(world, position.step(), what, e, latestCheckpoint);
    }
  }

  private void saveCheckpoint(int epoch) {
    saveCheckpoint(epoch, 0);
  }

  /**
   * @param pauseMillis a pause after the files are written and before they are committed, for the
   *     test that sends a second Ctrl-C in the middle of a checkpoint ({@link #STOP_PAUSE_PROPERTY})
   */
  private void saveCheckpoint(int epoch, long pauseMillis) {
    if (!world.writer()) {
      // Rank 0 writes this checkpoint from the same state; name it so messages point at it.
      latestCheckpoint = store.root().resolve(CheckpointStore.dirName(position.step()));
      return;
    }
    CheckpointStore.Manifest manifest = new CheckpointStore.Manifest(
        CheckpointStore.FORMAT_VERSION, position.step(), position.tokensSeen(), position.nextIndex(),
        position.stepOffset(), epoch, config.seed(), identity.toString(), config.toJson(), Instant.now().toString(),
        null);
    long bytes = CheckpointWriteFailure.bytesNeeded(engine.modelInfo().trainableParams());
    latestCheckpoint = store.save(manifest, bytes, tmp -> {
      engine.saveAdapters(tmp);
      engine.saveOptimizerState(tmp.resolve(CheckpointStore.OPTIMIZER_FILE));
      pause(pauseMillis);
    }).dir();
    checkpointIndex = position.nextIndex();
  }

  private static void pause(long millis) {
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Closes the engine (all native memory freed) and reopens it from base weights + checkpoint. */
  private void reload(int epoch) {
    if (latestCheckpoint == null || !latestCheckpoint.getFileName().toString().equals(CheckpointStore.dirName(position.step()))) {
      saveCheckpoint(epoch);
    }
    long before = Mlx.activeMemory();
    engine = world.writer() ? EngineHolder.reload(latestCheckpoint) : reloadFromOwnCopy();
    LOG.debug("reloaded at step {}: active memory {} MB -> {} MB", position.step(), before >> 20, Mlx.activeMemory() >> 20);
  }

  /**
   * Ranks other than 0 reload from their own copy of the state (identical to rank 0's checkpoint),
   * so a reload never waits on another host's disk or on rank 0 finishing its write.
   */
  private Engine reloadFromOwnCopy() {
    Path dir = Path.of(System.getProperty("java.io.tmpdir"), "lorabeam-rank" + world.rank() + "-" + ProcessHandle.current().pid());
    try {
      java.nio.file.Files.createDirectories(dir);
      engine.saveAdapters(dir);
      engine.saveOptimizerState(dir.resolve(CheckpointStore.OPTIMIZER_FILE));
      return EngineHolder.reload(dir);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("rank " + world.rank() + ": cannot write its reload copy to " + dir, e);
    }
  }

  static Batch toEngineBatch(TrainBatch batch) {
    return new Batch(batch.size(), batch.seqLength(), batch.tokens(), batch.segments(), batch.weights());
  }

  boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    progress.close();
    if (metrics != null) {
      metrics.close();
    }
    trainBlocks.close();
    if (validBlocks != null) {
      validBlocks.close();
    }
    EngineHolder.close();
  }
}
