package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Distributed;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.LossResult;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.engine.StepResult;
import dev.lorabeam.pipeline.cli.UserError;
import dev.lorabeam.pipeline.memory.ProcessMemory;
import dev.lorabeam.transforms.PackedBlock;
import dev.lorabeam.transforms.TrainBatch;
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
 * metrics and progress. {@link TrainLoraFn} feeds it batches in index order; it knows nothing of
 * Beam, so it reads top to bottom like a plain training loop.
 */
final class TrainingSession implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingSession.class);

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
  private final String dataFingerprint;
  private final double distrustTerm;
  private final CheckpointStore store;
  private final Distributed.World world = Distributed.world();  // rank 0 alone writes files and progress
  private final @Nullable MetricsWriter metrics;
  private final ProgressReporter progress;
  private final long totalSteps;
  private final LrSchedule schedule;
  private final long startNanos = System.nanoTime();
  private final long startTokens;
  private Engine engine;
  Position position;
  private @Nullable Path latestCheckpoint;
  private double lossSum;
  private long lossCount;
  private boolean closed;
  private @Nullable List<PackedBlock> validationOrder;

  TrainingSession(
      TrainConfig config,
      Path model,
      String dataFingerprint,
      double distrustTerm,
      long runSteps,
      @Nullable Position fromState,
      @Nullable Path stateCheckpoint) {
    this.config = config;
    this.dataFingerprint = dataFingerprint;
    this.distrustTerm = distrustTerm;
    this.store = new CheckpointStore(Path.of(config.adapterPath()), config.keepCheckpoints());
    this.engine = EngineHolder.acquire(config.toEngineConfig(model));
    this.position = restore(fromState, stateCheckpoint);
    this.startTokens = position.tokensSeen();
    this.totalSteps = position.stepOffset() + runSteps;
    this.schedule = LrSchedule.of(config.lrSchedule(), config.learningRate(), config.warmupSteps(), totalSteps);
    this.metrics = world.writer() ? new MetricsWriter(config.resolvedMetricsFile(), position.step() > 0) : null;
    this.progress = world.writer() ? new ProgressReporter(totalSteps, position.step()) : ProgressReporter.NOOP;
  }

  /** Restores from Beam state (same process) or, with --resume, from the latest checkpoint. */
  private Position restore(@Nullable Position fromState, @Nullable Path stateCheckpoint) {
    if (fromState != null) {
      latestCheckpoint = stateCheckpoint;
      if (stateCheckpoint != null) {
        engine = EngineHolder.reload(stateCheckpoint);
      }
      return fromState;
    }
    if (!config.resume()) {
      return new Position(0, 0, 0, 0);
    }
    Optional<CheckpointStore.Checkpoint> latest = store.latest();
    if (latest.isEmpty()) {
      ProgressReporter.printLine("--resume: no complete checkpoint under " + config.adapterPath() + "; starting from step 0");
      return new Position(0, 0, 0, 0);
    }
    CheckpointStore.Checkpoint checkpoint = latest.get();
    CheckpointStore.Manifest manifest = checkpoint.manifest();
    try {
      config.checkResumableFrom(TrainConfig.fromJson(manifest.config()));
    } catch (IllegalArgumentException e) {
      throw new UserError("--resume: " + checkpoint.dir() + " cannot continue with these flags: " + e.getMessage(), e);
    }
    engine.loadAdapters(checkpoint.dir());
    engine.loadOptimizerState(checkpoint.dir().resolve(CheckpointStore.OPTIMIZER_FILE));
    latestCheckpoint = checkpoint.dir();
    boolean sameData = dataFingerprint.equals(manifest.dataFingerprint());
    Position resumed = sameData
        ? new Position(manifest.step(), manifest.tokensSeen(), manifest.nextIndex(), manifest.stepOffset())
        : new Position(manifest.step(), manifest.tokensSeen(), 0, manifest.step());
    ProgressReporter.printLine(String.format(
        "Resumed from %s at step %d (%s)", checkpoint.dir(), manifest.step(),
        sameData ? "same data: continuing where it stopped" : "new data: training on it from its first batch"));
    return resumed;
  }

  boolean finished() {
    return position.step() >= totalSteps;
  }

  Optional<Path> latestCheckpoint() {
    return Optional.ofNullable(latestCheckpoint);
  }

  /** One optimizer step on {@code batch}, then whatever falls due at the new step. */
  StepMetrics train(IndexedBatch indexed, List<PackedBlock> validation) {
    long step = position.step() + 1;
    double lr = schedule.at(step);
    StepResult result = runStep(toEngineBatch(DataParallel.rowsOfThisRank(indexed.batch(), world)), lr, step);
    position = position.advance(result.trainedTokens());
    Double valLoss = null;
    boolean last = finished();
    if (config.valBatches() != 0 && !validation.isEmpty()
        && (last || (config.stepsPerEval() > 0 && step % config.stepsPerEval() == 0))) {
      valLoss = validate(validation);
    }
    StepMetrics m = metricsFor(step, lr, result, valLoss);
    if (metrics != null) {
      metrics.write(m);
    }
    progress.update(m);
    if (last || (config.saveEvery() > 0 && step % config.saveEvery() == 0)) {
      saveCheckpoint(indexed.epoch());
    }
    if (!last && config.reloadInterval() > 0 && step % config.reloadInterval() == 0) {
      reload(indexed.epoch());
    }
    return m;
  }

  private StepResult runStep(Batch batch, double lr, long step) {
    StepResult result;
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
      if (OutOfMemory.isOutOfMemory(e)) {
        throw OutOfMemory.explain(e, config, latestCheckpoint);
      }
      throw world.size() > 1 ? DataParallel.peerLost(world, step, e, latestCheckpoint) : e;
    }
    long peak = result.peakMemoryBytes();  // the engine resets MLX's peak counter when the step starts
    if (peak > Mlx.memoryLimit()) {
      throw OutOfMemory.overLimit(peak, config, latestCheckpoint);
    }
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

  /** Plain CE over the trained targets of the first --val-batches validation batches (all with -1). */
  private double validate(List<PackedBlock> unordered) {
    if (validationOrder == null) {
      // The side input's order is the runner's; a canonical order makes --val-batches pick the same blocks every run.
      validationOrder = new ArrayList<>(unordered);
      validationOrder.sort(OrderBatchesFn.CANONICAL);
    }
    List<PackedBlock> blocks = validationOrder;
    int rows = config.batchSize();
    int limit = config.valBatches() < 0 ? Integer.MAX_VALUE : config.valBatches();
    double ceSum = 0;
    long targets = 0;
    for (int start = 0, n = 0; start < blocks.size() && n < limit; start += rows, n++) {
      List<PackedBlock> chunk = blocks.subList(start, Math.min(blocks.size(), start + rows));
      LossResult loss = engine.evalLoss(toEngineBatch(new TrainBatch(new ArrayList<>(chunk))));
      ceSum += loss.loss() * loss.trainedTokens();
      targets += loss.trainedTokens();
    }
    return targets == 0 ? Double.NaN : ceSum / targets;
  }

  private void saveCheckpoint(int epoch) {
    if (!world.writer()) {
      // Rank 0 writes this checkpoint from the same state; name it so messages point at it.
      latestCheckpoint = Path.of(config.adapterPath()).resolve(CheckpointStore.dirName(position.step()));
      return;
    }
    Path tmp = store.begin(position.step());
    engine.saveAdapters(tmp);
    engine.saveOptimizerState(tmp.resolve(CheckpointStore.OPTIMIZER_FILE));
    CheckpointStore.Manifest manifest = new CheckpointStore.Manifest(
        CheckpointStore.FORMAT_VERSION, position.step(), position.tokensSeen(), position.nextIndex(),
        position.stepOffset(), epoch, config.seed(), dataFingerprint, config.toJson(), Instant.now().toString(),
        null);
    latestCheckpoint = store.commit(tmp, manifest).dir();
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

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (metrics != null) {
      progress.close();
      metrics.close();
    }
    EngineHolder.close();
  }
}
