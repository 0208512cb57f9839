package dev.lorabeam.transforms;

import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.read.DeadLetter;
import dev.lorabeam.transforms.read.ReadExamples;
import dev.lorabeam.transforms.read.SourceFile;
import dev.lorabeam.transforms.render.DistrustWeights;
import dev.lorabeam.transforms.render.Tokenize;
import java.util.List;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * The one way JSONL becomes blocks: read (line by line, file:line kept) → render with the chat
 * template → tokenize → pack, all decided by one {@link BlockOptions}. {@code preprocess} writes
 * its {@link #BLOCKS} as shards; {@code train} on JSONL runs this same composite into its blocks
 * directory and trains from those shards, so the two can never pack the same data differently.
 *
 * <p>Outputs: {@link #BLOCKS} ({@link PackedBlock}, T+1 tokens each), {@link #DEAD_LETTERS}
 * (bad rows from reading and from the template) and {@link #SOURCES} (each file with its size and
 * streamed SHA-256, for the manifest).
 */
public final class PrepareBlocks extends PTransform<PBegin, PCollectionTuple> {

  public static final TupleTag<PackedBlock> BLOCKS = new TupleTag<>() {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<>() {};
  public static final TupleTag<SourceFile> SOURCES = new TupleTag<>() {};

  private final List<String> patterns;
  private final BlockOptions options;

  private PrepareBlocks(List<String> patterns, BlockOptions options) {
    this.patterns = List.copyOf(patterns);
    this.options = options;
  }

  /** @param patterns JSONL files or globs of one split */
  public static PrepareBlocks from(List<String> patterns, BlockOptions options) {
    return new PrepareBlocks(patterns, options);
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    if (patterns.isEmpty()) {
      throw new IllegalArgumentException("PrepareBlocks needs at least one JSONL file or glob");
    }
    PCollectionTuple read = input.apply("ReadExamples",
        ReadExamples.from(patterns).withMaxRowBytes(options.maxRowBytes()));
    Tokenize tokenize = Tokenize.with(options.tokenizer()).withMaskPrompt(options.maskPrompt())
        .withTemplateDate(options.templateDate());
    if (options.weighted()) {
      tokenize = tokenize.withExampleWeight(
          new DistrustWeights.ExampleWeight(options.alpha(), options.meanLemp()));
    }
    PCollectionTuple tokenized = read.get(ReadExamples.EXAMPLES).apply("Tokenize", tokenize);
    PCollection<PackedBlock> blocks = tokenized.get(Tokenize.DOCS)
        .apply("Pack", PackSequences.of(options.seqLength()).withSeed(options.seed())
            .withPolicy(options.longDocs()).withBuckets(options.packBuckets())
            .withFillGaps(options.fillGaps()).withPadId(options.padId()));
    PCollection<DeadLetter> dead = PCollectionList.of(read.get(ReadExamples.DEAD_LETTERS))
        .and(tokenized.get(Tokenize.DEAD_LETTERS))
        .apply("AllDeadLetters", Flatten.pCollections());
    return PCollectionTuple.of(BLOCKS, blocks).and(DEAD_LETTERS, dead)
        .and(SOURCES, read.get(ReadExamples.SOURCES));
  }
}
