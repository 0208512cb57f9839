package dev.lorabeam.pipeline.train;

import dev.lorabeam.pipeline.cli.UserError;
import dev.lorabeam.pipeline.memory.MemorySetup;
import dev.lorabeam.transforms.BadRowReport;
import dev.lorabeam.transforms.DeadLetter;
import dev.lorabeam.transforms.Example;
import dev.lorabeam.transforms.PackSequences;
import dev.lorabeam.transforms.PackedBlock;
import dev.lorabeam.transforms.ReadExamples;
import dev.lorabeam.transforms.Tokenize;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.model.ModelLocator.ModelNotFoundException;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.shards.ShardReader;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Builds and runs the training pipeline on shards: the batch indices of the run
 * ({@code GenerateSequence}, {@link BatchPlan} computed from the manifest's block count) on one key
 * → {@link TrainLoraFn}, which reads each batch's rows from the shards. JSONL {@code --data} is
 * first turned into shards under the adapter path ({@link JsonlBlocks}), its dead letters written
 * next to the adapters.
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
    MemorySetup.apply(config.maxMemoryGb(), out);
    TextTokenizer tokenizer = model.tokenizer();
    double meanLemp = DistrustScan.meanEmpirical(config, data);
    String deadLetters = config.adapterDir().resolve("dead-letters.jsonl").toString();

    Path shards = data.shards();
    BadRowReport prepared = null;
    if (shards == null) {
      JsonlBlocks.Written written = JsonlBlocks.write(config, data, tokenizer, meanLemp, options(beamArgs), deadLetters);
      shards = written.dir();
      prepared = checkBadRows(written.badRows(), config, deadLetters, out);
    }
    Path valid = shards.resolve("valid");
    boolean validate = config.valBatches() != 0 && ShardManifest.exists(valid);
    long blocks;
    DataIdentity identity;
    try (ShardReader reader = ShardReader.open(shards, tokenizer.fingerprint(), config.trainSeqLength())) {
      blocks = reader.blocks();
      identity = new DataIdentity(reader.contentFingerprint(), config.seed(), config.effectiveBatchSize());
    } catch (ReadShards.ShardMismatchException e) {
      throw new UserError(e.getMessage(), e);
    }
    if (blocks == 0) {
      throw new UserError("--data " + config.data() + " produced no training blocks (" + shards
          + " is empty): check the data and " + deadLetters);
    }
    BatchPlan plan = BatchPlan.of(blocks, config);

    Pipeline pipeline = Pipeline.create(options(beamArgs));
    double distrustTerm = "additive".equals(config.distrust()) ? config.lambdaWeight() * meanLemp : 0;
    String runId = UUID.randomUUID().toString();
    pipeline
        .apply("BatchIndices", GenerateSequence.from(0).to(plan.totalSteps()))
        .apply("OneKey", WithKeys.of(0))
        .setCoder(KvCoder.of(VarIntCoder.of(), VarLongCoder.of()))
        .apply("TrainLora", ParDo.of(new TrainLoraFn(runId, config, model.path(), identity, distrustTerm, plan,
            shards, validate ? valid : null, tokenizer.fingerprint())));

    PipelineResult result;
    try {
      result = pipeline.run();
      result.waitUntilFinish();
    } catch (RuntimeException e) {
      throw unwrap(e);
    } finally {
      TrainLoraFn.closeRun(runId);
      EngineHolder.close();
    }
    BadRowReport report = prepared != null ? prepared : checkBadRows(BadRowReport.from(result), config, deadLetters, out);
    Path metrics = config.resolvedMetricsFile();
    if (Files.isRegularFile(metrics)) {
      Path chart = config.adapterDir().resolve("loss.png");
      LossChart.write(metrics, chart);
      out.printf("Adapters: %s (mlx-lm format); metrics: %s; loss curve: %s%n",
          config.adapterDir().resolve(CheckpointStore.ADAPTERS_FILE), metrics, chart);
    }
    return new Result(result, report, model);
  }

  private static PipelineOptions options(String[] beamArgs) {
    PipelineOptions options = PipelineOptionsFactory.fromArgs(beamArgs).withValidation().create();
    options.setJobName("lorabeam-train");
    return options;
  }

  private static BadRowReport checkBadRows(BadRowReport report, TrainConfig config, String deadLetters, PrintStream out) {
    out.println(report.summary() + (report.badTotal() > 0 ? " — rejected rows are in " + deadLetters : ""));
    try {
      return report.check(config.maxBadFraction(), deadLetters);
    } catch (BadRowReport.BadInputException e) {
      throw new UserError(e.getMessage(), e);
    }
  }

  record Prepared(PCollection<PackedBlock> blocks, PCollection<DeadLetter> deadLetters) {}

  static Prepared prepare(
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

  static void writeDeadLetters(PCollection<DeadLetter> dead, String path) {
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
