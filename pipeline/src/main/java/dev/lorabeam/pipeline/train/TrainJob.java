package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Distributed;
import dev.lorabeam.pipeline.cli.UserError;
import dev.lorabeam.pipeline.memory.MemorySetup;
import dev.lorabeam.transforms.BadRowReport;
import dev.lorabeam.transforms.DeadLetter;
import dev.lorabeam.transforms.Example;
import dev.lorabeam.transforms.PackSequences;
import dev.lorabeam.transforms.PackedBlock;
import dev.lorabeam.transforms.PackedBlockCoder;
import dev.lorabeam.transforms.ReadExamples;
import dev.lorabeam.transforms.Tokenize;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.model.ModelLocator.ModelNotFoundException;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Builds and runs the training pipeline:
 * ReadExamples → Tokenize → PackSequences → (all blocks, one key) → OrderBatches → TrainLora,
 * with validation blocks as a side input and dead letters written next to the adapters.
 */
public final class TrainJob {
  private TrainJob() {}

  /** What a finished run reports. */
  public record Result(PipelineResult pipeline, BadRowReport badRows, ResolvedModel model) {}

  public static Result run(TrainConfig config, String[] beamArgs) {
    return run(config, beamArgs, System.err);
  }

  public static Result run(TrainConfig config, String[] beamArgs, PrintStream out) {
    ResolvedModel model = resolveModel(config.model());
    TrainData data = TrainData.resolve(config.data());
    // Data parallel (mlx.launch): join the ranks and refuse to start unless they all train the same thing.
    Distributed.World world = DataParallel.join(config, System.getenv());
    DataParallel.checkAgreement(world, DataParallel.modelFingerprint(model.path()), config.toJson(), data.fingerprint());
    MemorySetup.apply(config.maxMemoryGb(), out);
    PipelineOptions options = PipelineOptionsFactory.fromArgs(beamArgs).withValidation().create();
    options.setJobName("lorabeam-train");
    Pipeline pipeline = Pipeline.create(options);
    TextTokenizer tokenizer = model.tokenizer();
    double meanLemp = DistrustScan.meanEmpirical(config, data);
    String deadLetters = config.adapterDir().resolve("dead-letters.jsonl").toString();

    PCollection<PackedBlock> trainBlocks;
    PCollection<PackedBlock> validBlocks = null;
    if (data.shards() != null) {
      // Shards from `preprocess`: already tokenized and packed; refused if made with another tokenizer or T.
      trainBlocks = readShards(pipeline, "Train", data.shards(), tokenizer, config);
      Path valid = data.shards().resolve("valid");
      if (ShardManifest.exists(valid)) {
        validBlocks = readShards(pipeline, "Valid", valid, tokenizer, config);
      }
    } else {
      Prepared train = prepare(pipeline, "Train", data.train(), tokenizer, config, meanLemp);
      if (world.writer()) {
        writeDeadLetters(train.deadLetters(), deadLetters);
      }
      trainBlocks = train.blocks();
      if (data.valid() != null) {
        validBlocks = prepare(pipeline, "Valid", List.of(data.valid()), tokenizer, config, meanLemp).blocks();
      }
    }
    PCollectionView<List<PackedBlock>> validation = validBlocks == null || config.valBatches() == 0
        ? null
        : validBlocks.apply("ValidationView", View.asList());

    double distrustTerm = "additive".equals(config.distrust()) ? config.lambdaWeight() * meanLemp : 0;
    TrainLoraFn trainer = new TrainLoraFn(config, model.path(), data.fingerprint(), distrustTerm, validation);
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
    BadRowReport report = BadRowReport.from(result);
    out.println(report.summary() + (report.badTotal() > 0 ? " — rejected rows are in " + deadLetters : ""));
    try {
      report.check(config.maxBadFraction(), deadLetters);
    } catch (BadRowReport.BadInputException e) {
      throw new UserError(e.getMessage(), e);
    }
    Path metrics = config.resolvedMetricsFile();
    if (world.writer() && Files.isRegularFile(metrics)) {
      Path chart = config.adapterDir().resolve("loss.png");
      LossChart.write(metrics, chart);
      out.printf("Adapters: %s (mlx-lm format); metrics: %s; loss curve: %s%n",
          config.adapterDir().resolve(CheckpointStore.ADAPTERS_FILE), metrics, chart);
    }
    return new Result(result, report, model);
  }

  private static PCollection<PackedBlock> readShards(
      Pipeline pipeline, String name, Path dir, TextTokenizer tokenizer, TrainConfig config) {
    return pipeline.apply(name + "ReadShards", ReadShards.from(dir, tokenizer.fingerprint(), config.trainSeqLength()));
  }

  private record Prepared(PCollection<PackedBlock> blocks, PCollection<DeadLetter> deadLetters) {}

  private static Prepared prepare(
      Pipeline pipeline, String name, List<String> files, TextTokenizer tokenizer, TrainConfig config, double meanLemp) {
    PCollectionTuple read = pipeline.apply(name + "ReadExamples", ReadExamples.from(files));
    Tokenize tokenize = Tokenize.with(tokenizer).withMaskPrompt(config.maskPrompt());
    if ("weighted".equals(config.distrust())) {
      tokenize = tokenize.withExampleWeight(new DistrustWeight(config.alpha(), meanLemp));
    }
    PCollectionTuple tokens = read.get(ReadExamples.EXAMPLES).apply(name + "Tokenize", tokenize);
    PCollection<PackedBlock> blocks = tokens.get(Tokenize.DOCS)
        .apply(name + "Pack", PackSequences.of(config.trainSeqLength()).withSeed(config.seed()));
    PCollection<DeadLetter> dead = PCollectionList.of(read.get(ReadExamples.DEAD_LETTERS))
        .and(tokens.get(Tokenize.DEAD_LETTERS))
        .apply(name + "DeadLetters", Flatten.pCollections());
    return new Prepared(blocks, dead);
  }

  private static void writeDeadLetters(PCollection<DeadLetter> dead, String path) {
    dead.apply("DeadLetterJson", MapElements.into(TypeDescriptors.strings()).via(DeadLetter::toJson))
        .apply("WriteDeadLetters", TextIO.write().to(path).withoutSharding());
  }

  /** Weighted distrust: L_emp / mean L_emp for annotated rows, 1 for rows without annotations. */
  record DistrustWeight(double alpha, double meanLemp) implements SerializableFunction<Example, Double> {
    @Override
    public Double apply(Example example) {
      if (example.authWeight() == null || example.provEntropy() == null || meanLemp <= 0) {
        return 1.0;
      }
      return Distrust.empirical(example.authWeight(), example.provEntropy(), alpha) / meanLemp;
    }
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
