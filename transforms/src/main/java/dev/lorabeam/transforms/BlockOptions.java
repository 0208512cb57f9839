package dev.lorabeam.transforms;

import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.ReadExamples;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.Serializable;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;

/**
 * Everything that decides the bytes of the blocks {@link PrepareBlocks} makes, in one record that
 * both {@code preprocess} and {@code train} build, and that the shard manifest records. Same
 * options + same data = the same shards, whichever command made them.
 *
 * @param seqLength T; blocks hold T+1 tokens
 * @param seed packing seed (buckets and the order of blocks)
 * @param distrust off, additive or weighted; only weighted changes the blocks (token weights ×
 *     L_emp / mean L_emp), additive is recorded so training from shards reports the same loss
 * @param meanLemp mean L_emp over the annotated training rows (0 when distrust is off)
 * @param templateDate what {@code strftime_now} renders in chat templates, ISO yyyy-MM-dd
 */
public record BlockOptions(
    TextTokenizer tokenizer,
    int seqLength,
    boolean maskPrompt,
    long seed,
    LongDocPolicy longDocs,
    int packBuckets,
    boolean fillGaps,
    int maxRowBytes,
    String distrust,
    double alpha,
    double meanLemp,
    String templateDate) implements Serializable {

  public static final List<String> DISTRUST_MODES = List.of("off", "additive", "weighted");
  public static final double DEFAULT_ALPHA = 2.7;

  public BlockOptions {
    require(seqLength >= 2 && seqLength <= 1 << 20,
        "--train-seq-length must be between 2 and 1048576, got " + seqLength);
    require(packBuckets >= 1, "pack buckets must be >= 1, got " + packBuckets);
    require(maxRowBytes >= 16, "--max-row-bytes must be >= 16, got " + maxRowBytes);
    require(DISTRUST_MODES.contains(distrust),
        "--distrust must be off, additive or weighted, got '" + distrust + "'");
    require(alpha > 0 && Double.isFinite(alpha), "--alpha must be > 0, got " + alpha);
    require(meanLemp >= 0 && Double.isFinite(meanLemp), "mean L_emp must be >= 0, got " + meanLemp);
    try {
      LocalDate.parse(templateDate);
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException("--template-date must be YYYY-MM-DD, got '"
          + templateDate + "'");
    }
  }

  /** Defaults shared by both commands: split long documents, 8 buckets, no masking, today. */
  public static BlockOptions of(TextTokenizer tokenizer, int seqLength) {
    return new BlockOptions(tokenizer, seqLength, false, 0, LongDocPolicy.SPLIT,
        PackSequences.DEFAULT_BUCKETS, false, ReadExamples.DEFAULT_MAX_ROW_BYTES, "off",
        DEFAULT_ALPHA, 0, today());
  }

  public static String today() {
    return LocalDate.now(ZoneOffset.UTC).toString();
  }

  /** Padding id: EOS (never trained on: segment 0, weight 0), 0 for a tokenizer without one. */
  public int padId() {
    return Math.max(0, tokenizer.eosId());
  }

  public boolean weighted() {
    return distrust.equals("weighted");
  }

  public BlockOptions withSeqLength(int v) {
    return new BlockOptions(tokenizer, v, maskPrompt, seed, longDocs, packBuckets, fillGaps,
        maxRowBytes, distrust, alpha, meanLemp, templateDate);
  }

  public BlockOptions withMaskPrompt(boolean v) {
    return new BlockOptions(tokenizer, seqLength, v, seed, longDocs, packBuckets, fillGaps,
        maxRowBytes, distrust, alpha, meanLemp, templateDate);
  }

  public BlockOptions withSeed(long v) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, v, longDocs, packBuckets, fillGaps,
        maxRowBytes, distrust, alpha, meanLemp, templateDate);
  }

  public BlockOptions withLongDocs(LongDocPolicy v) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, seed, v, packBuckets, fillGaps,
        maxRowBytes, distrust, alpha, meanLemp, templateDate);
  }

  public BlockOptions withFillGaps(boolean v) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, seed, longDocs, packBuckets, v,
        maxRowBytes, distrust, alpha, meanLemp, templateDate);
  }

  public BlockOptions withPackBuckets(int v) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, seed, longDocs, v, fillGaps,
        maxRowBytes, distrust, alpha, meanLemp, templateDate);
  }

  public BlockOptions withMaxRowBytes(int v) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, seed, longDocs, packBuckets,
        fillGaps, v, distrust, alpha, meanLemp, templateDate);
  }

  /** @param mode off, additive or weighted (any case) */
  public BlockOptions withDistrust(String mode, double a, double mean) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, seed, longDocs, packBuckets,
        fillGaps, maxRowBytes, mode.toLowerCase(Locale.ROOT), a, mean, templateDate);
  }

  public BlockOptions withTemplateDate(String isoDate) {
    return new BlockOptions(tokenizer, seqLength, maskPrompt, seed, longDocs, packBuckets,
        fillGaps, maxRowBytes, distrust, alpha, meanLemp, isoDate);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
