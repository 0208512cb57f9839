package dev.lorabeam.pipeline.train;

import dev.lorabeam.pipeline.memory.MemorySetup;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.jobs.PreprocessJob;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.model.ModelLocator.ModelNotFoundException;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Builds and runs the training pipeline. JSONL is first prepared into shards by the same job as
 * {@code preprocess} ({@link BlockSource}); training then reads shards:
 * ReadShards → (all blocks, one key) → OrderBatches → TrainLora, with validation blocks as a side
 * input.
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
    MemorySetup.apply(requested.maxMemoryGb(), out);
    TextTokenizer tokenizer = model.tokenizer();
    // JSONL becomes shards first, by the same job as `preprocess`; training always reads shards.
    BlockSource blocks = BlockSource.resolve(requested, data, tokenizer,
        PreprocessJob.defaultOptions(beamArgs), out);
    TrainConfig config = blocks.config();
    ShardManifest manifest = blocks.manifest();
    if (blocks.badRows() != null) {
      BadRowReport report = blocks.badRows();
      out.println(report.summary() + (report.badTotal() > 0 ? " — rejected rows are in "
          + config.adapterDir().resolve(ShardManifest.DEAD_LETTERS_FILE) : ""));
    }
    PipelineOptions options = PipelineOptionsFactory.fromArgs(beamArgs).withValidation().create();
    options.setJobName("lorabeam-train");
    DirectChecks.relax(options, beamArgs);
    Pipeline pipeline = Pipeline.create(options);
    PCollection<PackedBlock> trainBlocks = readShards(pipeline, "Train", blocks.trainDir(), tokenizer, config);
    PCollection<PackedBlock> validBlocks = blocks.validDir() == null ? null
        : readShards(pipeline, "Valid", blocks.validDir(), tokenizer, config);
    PCollectionView<List<PackedBlock>> validation = validBlocks == null || config.valBatches() == 0
        ? null
        : validBlocks.apply("ValidationView", View.asList());

    double meanLemp = manifest.settings().meanLemp();
    double distrustTerm = "additive".equals(config.distrust()) ? config.lambdaWeight() * meanLemp : 0;
    // The data's identity for --resume: the content fingerprint of the block set.
    String dataId = manifest.blockSetFingerprint().substring(0, 16);
    TrainLoraFn trainer = new TrainLoraFn(config, model.path(), dataId, distrustTerm, validation);
    var batches = trainBlocks
        .apply("OneKey", WithKeys.of(0))
        .setCoder(KvCoder.of(VarIntCoder.of(), PackedBlockCoder.of()))
        .apply("AllBlocks", GroupByKey.create())
        .apply("OrderBatches", ParDo.of(new OrderBatchesFn(
            config.effectiveBatchSize(), config.epochs(), config.maxSteps(), config.seed())))
        .setCoder(KvCoder.of(VarIntCoder.of(), IndexedBatch.IndexedBatchCoder.of()));
    var trainLora = ParDo.of(trainer);
    batches.apply("TrainLora", validation == null ? trainLora : trainLora.withSideInputs(validation));

    PipelineResult result;
    try {
      result = pipeline.run();
      result.waitUntilFinish();
    } catch (RuntimeException e) {
      throw unwrap(e);
    } finally {
      EngineHolder.close();
    }
    Path metrics = config.resolvedMetricsFile();
    if (Files.isRegularFile(metrics)) {
      Path chart = config.adapterDir().resolve("loss.png");
      LossChart.write(metrics, chart);
      out.printf("Adapters: %s (mlx-lm format); metrics: %s; loss curve: %s%n",
          config.adapterDir().resolve(CheckpointStore.ADAPTERS_FILE), metrics, chart);
    }
    BadRowReport report = blocks.badRows() != null ? blocks.badRows()
        : new BadRowReport(manifest.counts().rows() - manifest.counts().deadLetters(), Map.of());
    return new Result(result, report, model);
  }

  private static PCollection<PackedBlock> readShards(
      Pipeline pipeline, String name, String dir, TextTokenizer tokenizer, TrainConfig config) {
    return pipeline.apply(name + "ReadShards",
        ReadShards.from(Path.of(dir), tokenizer.fingerprint(), config.trainSeqLength()));
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
      if (t instanceof BadRowReport.BadInputException b) {
        return new UserError(b.getMessage(), b);
      }
    }
    return e;
  }
}
