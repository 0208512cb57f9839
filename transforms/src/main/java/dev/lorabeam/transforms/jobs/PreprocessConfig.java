package dev.lorabeam.transforms.jobs;

import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.read.ReadExamples;

import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import dev.lorabeam.transforms.shards.WriteShards;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Everything {@link PreprocessJob} needs, validated once at the edge. Built by the CLI from
 * its flags; the messages name the flag to change.
 *
 * @param data --data: a JSONL file, a glob, or a directory with train.jsonl/valid.jsonl
 * @param seqLength --train-seq-length T; blocks hold T+1 tokens
 * @param output --output: training shards here, validation shards in output/valid
 */
public record PreprocessConfig(
    String data,
    TextTokenizer tokenizer,
    int seqLength,
    Path output,
    boolean maskPrompt,
    long seed,
    LongDocPolicy longDocPolicy,
    double maxBadFraction,
    int maxRowBytes,
    int numShards,
    int packBuckets,
    boolean fillGaps) implements Serializable {

  public PreprocessConfig {
    require(seqLength >= 16 && seqLength <= 1 << 20,
        "--train-seq-length must be between 16 and 1048576, got " + seqLength);
    require(maxBadFraction >= 0 && maxBadFraction <= 1,
        "--max-bad-fraction must be in [0, 1], got " + maxBadFraction);
    require(maxRowBytes >= 16, "--max-row-bytes must be >= 16, got " + maxRowBytes);
    require(numShards >= 1, "--num-shards must be >= 1, got " + numShards);
    require(packBuckets >= 1, "pack buckets must be >= 1, got " + packBuckets);
  }

  /** Defaults: T=512, no prompt masking, seed 0, split long documents, 1% bad rows allowed. */
  public static PreprocessConfig of(String data, TextTokenizer tokenizer, Path output) {
    return new PreprocessConfig(data, tokenizer, PackSequences.DEFAULT_SEQ_LENGTH, output,
        false, 0, LongDocPolicy.SPLIT, BadRowReport.DEFAULT_MAX_BAD_FRACTION,
        ReadExamples.DEFAULT_MAX_ROW_BYTES, WriteShards.DEFAULT_NUM_SHARDS,
        PackSequences.DEFAULT_BUCKETS, false);
  }

  public PreprocessConfig withSeqLength(int t) {
    return new PreprocessConfig(data, tokenizer, t, output, maskPrompt, seed, longDocPolicy,
        maxBadFraction, maxRowBytes, numShards, packBuckets, fillGaps);
  }

  public PreprocessConfig withMaskPrompt(boolean mask) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, mask, seed, longDocPolicy,
        maxBadFraction, maxRowBytes, numShards, packBuckets, fillGaps);
  }

  public PreprocessConfig withSeed(long s) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, maskPrompt, s, longDocPolicy,
        maxBadFraction, maxRowBytes, numShards, packBuckets, fillGaps);
  }

  public PreprocessConfig withLongDocPolicy(LongDocPolicy p) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, maskPrompt, seed, p,
        maxBadFraction, maxRowBytes, numShards, packBuckets, fillGaps);
  }

  public PreprocessConfig withMaxBadFraction(double f) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, maskPrompt, seed,
        longDocPolicy, f, maxRowBytes, numShards, packBuckets, fillGaps);
  }

  public PreprocessConfig withMaxRowBytes(int n) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, maskPrompt, seed,
        longDocPolicy, maxBadFraction, n, numShards, packBuckets, fillGaps);
  }

  public PreprocessConfig withNumShards(int n) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, maskPrompt, seed,
        longDocPolicy, maxBadFraction, maxRowBytes, n, packBuckets, fillGaps);
  }

  /** Cut documents at block ends so blocks are full (see {@link BlockPacker}). */
  public PreprocessConfig withFillGaps(boolean fill) {
    return new PreprocessConfig(data, tokenizer, seqLength, output, maskPrompt, seed,
        longDocPolicy, maxBadFraction, maxRowBytes, numShards, packBuckets, fill);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
