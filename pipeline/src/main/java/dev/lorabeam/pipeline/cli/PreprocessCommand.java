package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import dev.lorabeam.transforms.pack.PackSequences;
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
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code preprocess}: JSONL → tokens → packed blocks → safetensors shards + manifest, once, so
 * {@code train --data OUTPUT} can start from them. Flag names are shared with {@code train}.
 */
@Command(
    name = "preprocess",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = "Tokenize and pack JSONL data into reusable shards (training shards in OUTPUT, "
        + "validation shards in OUTPUT/valid, dead letters next to each).",
    footer = {"", "Example:",
        "  lorabeam preprocess --data data/sample --model smollm2-135m --output runs/shards",
        "  lorabeam train --model smollm2-135m --data runs/shards"})
public final class PreprocessCommand implements Callable<Integer> {

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

  @Option(names = "--train-seq-length", paramLabel = "T", defaultValue = "" + PackSequences.DEFAULT_SEQ_LENGTH,
      description = "Tokens per training row; blocks hold T+1 tokens. Default: ${DEFAULT-VALUE}.")
  int trainSeqLength;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the shards go.")
  Path output;

  @Option(names = "--mask-prompt", description = "Train only on completions / the final assistant turn.")
  boolean maskPrompt;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed for packing order.")
  long seed;

  @Option(names = "--long-docs", paramLabel = "POLICY", defaultValue = "split",
      description = "Documents longer than T+1 tokens: split, truncate or drop. Default: ${DEFAULT-VALUE}.")
  String longDocs;

  @Option(names = "--fill-gaps",
      description = "Cut documents at block ends so blocks are full (default: keep documents whole, "
          + "pad where nothing fits).")
  boolean fillGaps;

  @Option(names = "--max-bad-fraction", paramLabel = "F",
      defaultValue = "" + BadRowReport.DEFAULT_MAX_BAD_FRACTION,
      description = "Fail when more than this fraction of rows is bad. Default: ${DEFAULT-VALUE}.")
  double maxBadFraction;

  @Option(names = "--max-row-bytes", paramLabel = "N", defaultValue = "" + ReadExamples.DEFAULT_MAX_ROW_BYTES,
      description = "Longer rows are dead-lettered as ROW_TOO_LONG. Default: ${DEFAULT-VALUE}.")
  int maxRowBytes;

  @Option(names = "--num-shards", paramLabel = "N", defaultValue = "" + WriteShards.DEFAULT_NUM_SHARDS,
      description = "Shard files per split. Default: ${DEFAULT-VALUE}.")
  int numShards;

  @Option(names = "--distrust", paramLabel = "MODE", defaultValue = "off",
      description = "Empirical distrust recorded in the shards: off, additive or weighted "
          + "(token weights × L_emp / mean L_emp). Default: ${DEFAULT-VALUE}.")
  String distrust;

  @Option(names = "--alpha", paramLabel = "A", defaultValue = "" + BlockOptions.DEFAULT_ALPHA,
      description = "Distrust α. Default: ${DEFAULT-VALUE}.")
  double alpha;

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
        .withSeqLength(trainSeqLength).withMaskPrompt(maskPrompt).withSeed(seed)
        .withLongDocPolicy(policy()).withMaxBadFraction(maxBadFraction)
        .withMaxRowBytes(maxRowBytes).withNumShards(numShards).withFillGaps(fillGaps);
    config = config.withBlocks(config.blocks().withDistrust(distrust, alpha, 0)
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
