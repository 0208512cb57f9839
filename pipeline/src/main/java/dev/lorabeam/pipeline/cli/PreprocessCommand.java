package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import dev.lorabeam.pipeline.train.PackingFlags;
import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import dev.lorabeam.transforms.jobs.PreprocessConfig;
import dev.lorabeam.transforms.jobs.PreprocessJob;
import dev.lorabeam.transforms.jobs.PreprocessSummary;
import dev.lorabeam.transforms.read.ReadExamples;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.shards.WriteShards;
import dev.lorabeam.transforms.tokenizer.HfTokenizer;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.beam.sdk.options.PipelineOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code preprocess}: JSONL → tokens → packed blocks → safetensors shards + manifest, once, so
 * {@code train --data OUTPUT} can start from them. The packing flags are {@link PackingFlags},
 * declared once for both commands; {@code -c FILE} reads any of these flags from YAML.
 */
@Command(
    name = "preprocess",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    showDefaultValues = true,
    defaultValueProvider = ConfigDefaults.class,
    description = "Tokenize and pack JSONL data into reusable shards (training shards in OUTPUT, "
        + "validation shards in OUTPUT/valid, dead letters next to each).",
    footer = {"", "Example:",
        "  lorabeam preprocess --data data/sample --model smollm2-135m --output runs/shards",
        "  lorabeam train --model smollm2-135m --data runs/shards"})
public final class PreprocessCommand implements Callable<Integer> {

  @Mixin ConfigOption configFile;

  @Option(names = "--data", required = true, paramLabel = "PATH",
      description = "A JSONL file, a glob, or a directory with train.jsonl and valid.jsonl (val.jsonl).")
  String data;

  @Option(names = "--model", paramLabel = "MODEL",
      description = "Whose tokenizer to use: alias (smollm2-135m, llama-8b, ...), a Hugging Face "
          + "model directory or a GGUF file.")
  String model;

  @Option(names = "--tokenizer", paramLabel = "FILE",
      description = "A tokenizer.json to use instead of --model (tokenizer_config.json beside it is read too).")
  Path tokenizer;

  @Mixin PackingFlags packing;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the shards go.")
  Path output;

  @Option(names = "--long-docs", paramLabel = "POLICY", defaultValue = "split",
      description = "Documents longer than T+1 tokens: split, truncate or drop.")
  String longDocs;

  @Option(names = "--fill-gaps", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Cut documents at block ends so blocks are full (default: keep documents whole, "
          + "pad where nothing fits).")
  boolean fillGaps;

  @Option(names = "--max-row-bytes", paramLabel = "N", defaultValue = "" + ReadExamples.DEFAULT_MAX_ROW_BYTES,
      description = "Longer rows are dead-lettered as ROW_TOO_LONG.")
  int maxRowBytes;

  @Option(names = "--num-shards", paramLabel = "N", defaultValue = "" + WriteShards.DEFAULT_NUM_SHARDS,
      description = "Shard files per split.")
  int numShards;

  @Option(names = "--template-date", paramLabel = "YYYY-MM-DD",
      description = "The date chat templates' strftime_now renders, pinned in the manifest "
          + "(default: today, UTC).")
  String templateDate;

  /** Beam options such as --runner=DirectRunner pass through. */
  @Unmatched List<String> beamArgs = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PreprocessConfig config = PreprocessConfig.of(data, tokenizer(), output)
        .withSeqLength(packing.trainSeqLength()).withMaskPrompt(packing.maskPrompt()).withSeed(packing.seed())
        .withLongDocPolicy(policy()).withMaxBadFraction(packing.maxBadFraction())
        .withMaxRowBytes(maxRowBytes).withNumShards(numShards).withFillGaps(fillGaps);
    config = config.withBlocks(config.blocks().withDistrust(packing.distrust(), packing.alpha(), 0)
        .withTemplateDate(templateDate == null ? BlockOptions.today() : templateDate));
    PipelineOptions options = PreprocessJob.defaultOptions(beamArgs.toArray(String[]::new));
    PreprocessSummary summary;
    try {
      summary = PreprocessJob.run(config, options);
    } catch (BadRowReport.BadInputException | ModelLocator.ModelNotFoundException e) {
      throw new UserError(e.getMessage(), e);
    }
    out.println(summary);
    out.flush();
    return 0;
  }

  private TextTokenizer tokenizer() {
    if ((model == null) == (tokenizer == null)) {
      throw new UserError("give exactly one of --model MODEL or --tokenizer FILE");
    }
    if (tokenizer != null) {
      if (!Files.isRegularFile(tokenizer)) {
        throw new UserError("--tokenizer " + tokenizer + " does not exist; pass a tokenizer.json");
      }
      return HfTokenizer.fromFiles(tokenizer);
    }
    try {
      return ModelLocator.fromEnvironment().resolve(model).tokenizer();
    } catch (ModelLocator.ModelNotFoundException e) {
      throw new UserError(e.getMessage(), e);
    }
  }

  private LongDocPolicy policy() {
    try {
      return LongDocPolicy.valueOf(longDocs.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new UserError("--long-docs must be split, truncate or drop, got '" + longDocs + "'");
    }
  }
}
