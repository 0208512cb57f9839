package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.BadRowReport;
import picocli.CommandLine.Option;

/**
 * The flags that decide how JSONL becomes blocks, declared once for {@code preprocess} and
 * {@code train} (which prepares its blocks with the same job, so the same values give
 * byte-identical shards). A picocli mixin: name, type, default and description live here only.
 * Booleans take {@code --flag}, {@code --no-flag} and {@code --flag=false}, so the command line
 * can turn off what a config file turned on.
 */
public final class PackingFlags {

  @Option(names = "--train-seq-length", paramLabel = "T", defaultValue = "" + PackSequences.DEFAULT_SEQ_LENGTH,
      description = "Tokens per training row; blocks hold T+1 tokens.")
  int trainSeqLength;

  @Option(names = "--mask-prompt", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Train only on completions / the final assistant turn, not prompts.")
  boolean maskPrompt;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
      description = "Seed for the packing and data order (train: also LoRA init and dropout).")
  long seed;

  @Option(names = "--max-bad-fraction", paramLabel = "F", defaultValue = "" + BadRowReport.DEFAULT_MAX_BAD_FRACTION,
      description = "Fail when more than this share of rows is rejected (they go to dead-letters.jsonl).")
  double maxBadFraction;

  @Option(names = "--distrust", paramLabel = "MODE", defaultValue = "off",
      description = "Empirical distrust: off; additive (old tool: adds lambda x mean L_emp to the reported loss only); "
          + "weighted (weights each example's tokens by L_emp / mean L_emp).")
  String distrust;

  @Option(names = "--alpha", paramLabel = "A", defaultValue = "" + BlockOptions.DEFAULT_ALPHA,
      description = "Distrust alpha (2.3-3.0 typical).")
  double alpha;

  public int trainSeqLength() {
    return trainSeqLength;
  }

  public boolean maskPrompt() {
    return maskPrompt;
  }

  public long seed() {
    return seed;
  }

  public double maxBadFraction() {
    return maxBadFraction;
  }

  public String distrust() {
    return distrust;
  }

  public double alpha() {
    return alpha;
  }
}
