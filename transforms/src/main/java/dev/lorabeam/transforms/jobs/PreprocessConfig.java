package dev.lorabeam.transforms.jobs;

import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.shards.WriteShards;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Everything {@link PreprocessJob} needs, validated once at the edge. Built by the CLI from
 * its flags; the messages name the flag to change. What decides the blocks' bytes is in {@link
 * #blocks}, the same record {@code train} builds.
 *
 * @param data --data: a JSONL file, a glob, or a directory with train.jsonl/valid.jsonl
 * @param output --output: training shards here, validation shards in output/valid (a local path
 *     or any URI a Beam filesystem module handles)
 */
public record PreprocessConfig(
    String data,
    BlockOptions blocks,
    String output,
    double maxBadFraction,
    int numShards) implements Serializable {

  public PreprocessConfig {
    require(blocks.seqLength() >= 16,
        "--train-seq-length must be between 16 and 1048576, got " + blocks.seqLength());
    require(maxBadFraction >= 0 && maxBadFraction <= 1,
        "--max-bad-fraction must be in [0, 1], got " + maxBadFraction);
    require(numShards >= 1, "--num-shards must be >= 1, got " + numShards);
  }

  /** Defaults: T=512, no prompt masking, seed 0, split long documents, 1% bad rows allowed. */
  public static PreprocessConfig of(String data, TextTokenizer tokenizer, Path output) {
    return new PreprocessConfig(data,
        BlockOptions.of(tokenizer, PackSequences.DEFAULT_SEQ_LENGTH),
        output.toAbsolutePath().toString(), BadRowReport.DEFAULT_MAX_BAD_FRACTION,
        WriteShards.DEFAULT_NUM_SHARDS);
  }

  public TextTokenizer tokenizer() {
    return blocks.tokenizer();
  }

  public int seqLength() {
    return blocks.seqLength();
  }

  public PreprocessConfig withBlocks(BlockOptions b) {
    return new PreprocessConfig(data, b, output, maxBadFraction, numShards);
  }

  public PreprocessConfig withSeqLength(int t) {
    return withBlocks(blocks.withSeqLength(t));
  }

  public PreprocessConfig withMaskPrompt(boolean mask) {
    return withBlocks(blocks.withMaskPrompt(mask));
  }

  public PreprocessConfig withSeed(long s) {
    return withBlocks(blocks.withSeed(s));
  }

  public PreprocessConfig withLongDocPolicy(LongDocPolicy p) {
    return withBlocks(blocks.withLongDocs(p));
  }

  /** Cut documents at block ends so blocks are full (see {@code BlockPacker}). */
  public PreprocessConfig withFillGaps(boolean fill) {
    return withBlocks(blocks.withFillGaps(fill));
  }

  public PreprocessConfig withMaxRowBytes(int n) {
    return withBlocks(blocks.withMaxRowBytes(n));
  }

  public PreprocessConfig withMaxBadFraction(double f) {
    return new PreprocessConfig(data, blocks, output, f, numShards);
  }

  public PreprocessConfig withNumShards(int n) {
    return new PreprocessConfig(data, blocks, output, maxBadFraction, n);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
