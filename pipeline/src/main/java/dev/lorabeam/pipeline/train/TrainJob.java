package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Distributed;
import dev.lorabeam.pipeline.memory.MemorySetup;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.jobs.PreprocessJob;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.model.ModelLocator.ModelNotFoundException;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.shards.BlockSetReader;
import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;

/**
 * Builds and runs the training pipeline. JSONL is first prepared into shards by the same job as
 * {@code preprocess} ({@link BlockSource}); training then streams from the shards:
 * BatchIndices (0 … steps−1) → one key → TrainLora, which reads each batch's rows from the shards
 * in the seeded per-epoch permutation of {@link BatchPlan}. No step holds the data set in memory.
 */
public final class TrainJob {
  private TrainJob() {}

  /** What a finished run reports. */
  public record Result(PipelineResult pipeline, BadRowReport badRows, ResolvedModel model) {}

  public static Result run(TrainConfig config, String[] beamArgs) {
    return run(config, beamArgs, System.err);
  }

  public static Result run(TrainConfig requested, String[] beamArgs, PrintStream out) {
    ResolvedModel model = resolveModel(requested.model());
    TrainData data = TrainData.resolve(requested.data());
    // Data parallel (mlx.launch): join the ranks first; each prepares JSONL into its own blocks directory.
    Distributed.World world = DataParallel.join(requested, System.getenv());
    MemorySetup.apply(requested.maxMemoryGb(), out);
    TextTokenizer tokenizer = model.tokenizer();
    // JSONL becomes shards first, by the same job as `preprocess`; training always reads shards.
    BlockSource blocks = BlockSource.resolve(requested, data, tokenizer,
        PreprocessJob.defaultOptions(beamArgs), out,
        world.writer() ? BlockSource.BLOCKS_DIR : BlockSource.BLOCKS_DIR + "-rank" + world.rank());
    TrainConfig config = blocks.config();
    ShardManifest manifest = blocks.manifest();
    // Refuse to start unless every rank trains the same model, config and blocks.
    DataParallel.checkAgreement(world, DataParallel.modelFingerprint(model.path()), config.toJson(),
        manifest.blockSetFingerprint());
    if (blocks.badRows() != null && world.writer()) {
      BadRowReport report = blocks.badRows();
      out.println(report.summary() + (report.badTotal() > 0 ? " — rejected rows are in "
          + config.adapterDir().resolve(ShardManifest.DEAD_LETTERS_FILE) : ""));
    }
    long blockCount;
    try (BlockSetReader reader = BlockSetReader.open(blocks.trainDir(), tokenizer.fingerprint(),
        config.trainSeqLength())) {
      blockCount = reader.blocks();
    } catch (ReadShards.ShardMismatchException e) {
      throw new UserError(e.getMessage(), e);
    }
    if (blockCount == 0) {
      throw new UserError("--data " + config.data() + " produced no training blocks (" + blocks.trainDir()
          + " is empty): check the data and its dead letters");
    }
    // The preparation job's objects (its Beam graph, the tokenized documents) are garbage now. Collect
    // them before the engine allocates, so a heap that returns free memory (bin/lorabeam's serial
    // collector) shrinks before MLX's peak instead of adding to it.
    System.gc();
    BatchPlan plan = BatchPlan.of(blockCount, config);
    // The data's identity for --resume: the block set's content fingerprint plus the order parameters.
    DataIdentity identity = new DataIdentity(manifest.blockSetFingerprint(), config.seed(),
        config.effectiveBatchSize());
    String validDir = config.valBatches() == 0 ? null : blocks.validDir();

    PipelineOptions options = PipelineOptionsFactory.fromArgs(beamArgs).withValidation().create();
    options.setJobName("lorabeam-train");
    DirectChecks.relax(options, beamArgs);
    Pipeline pipeline = Pipeline.create(options);
    double meanLemp = manifest.settings().meanLemp();
    double distrustTerm = "additive".equals(config.distrust()) ? config.lambdaWeight() * meanLemp : 0;
    String runId = UUID.randomUUID().toString();
    pipeline
        .apply("BatchIndices", GenerateSequence.from(0).to(plan.totalSteps()))
        .apply("OneKey", WithKeys.of(0))
        .setCoder(KvCoder.of(VarIntCoder.of(), VarLongCoder.of()))
        .apply("TrainLora", ParDo.of(new TrainLoraFn(runId, config, model.path(), identity, distrustTerm, plan,
            blocks.trainDir(), validDir, tokenizer.fingerprint())));

    PipelineResult result;
    // Ctrl-C / SIGTERM from here on stop the run between steps, with a checkpoint (StopSignal).
    try (StopSignal.Handlers signals = StopSignal.install()) {
      result = pipeline.run();
      result.waitUntilFinish();
    } catch (RuntimeException e) {
      throw unwrap(e);
    } finally {
      TrainLoraFn.closeRun(runId);
      EngineHolder.close();
    }
    Path metrics = config.resolvedMetricsFile();
    if (world.writer() && Files.isRegularFile(metrics)) {
      Path chart = config.adapterDir().resolve("loss.png");
      LossChart.write(metrics, chart);
      out.printf("Adapters: %s (mlx-lm format); metrics: %s; loss curve: %s%n",
          config.adapterDir().resolve(CheckpointStore.ADAPTERS_FILE), metrics, chart);
    }
    BadRowReport report = blocks.badRows() != null ? blocks.badRows()
        : new BadRowReport(manifest.counts().rows() - manifest.counts().deadLetters(), Map.of());
    return new Result(result, report, model);
  }

  /** {@code --model} resolved without downloading; a missing model is a user error with the command to fix it. */
  public static ResolvedModel resolveModel(String model) {
    try {
      return ModelLocator.fromEnvironment().resolve(model);
    } catch (ModelNotFoundException e) {
      throw new UserError(e.getMessage(), e);
    }
  }

  /** Beam wraps what a DoFn throws; a user's mistake should reach the CLI as itself. */
  static RuntimeException unwrap(RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UserError u) {
        return u;
      }
      if (t instanceof StopSignal.Stopped stopped) {
        return stopped;
      }
      if (t instanceof BadRowReport.BadInputException b) {
        return new UserError(b.getMessage(), b);
      }
    }
    return e;
  }
}
