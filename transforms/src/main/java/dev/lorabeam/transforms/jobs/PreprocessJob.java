package dev.lorabeam.transforms.jobs;

import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.PrepareBlocks;
import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.read.DataSource;
import dev.lorabeam.transforms.read.DeadLetter;
import dev.lorabeam.transforms.read.DeadLetterSink;
import dev.lorabeam.transforms.read.SourceFile;
import dev.lorabeam.transforms.render.DistrustWeights;
import dev.lorabeam.transforms.render.Tokenize;
import dev.lorabeam.transforms.shards.BeamFiles;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.shards.ShardSettings;
import dev.lorabeam.transforms.shards.WriteShards;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code preprocess} job: for each split of {@code --data}, one Beam pipeline
 * {@link PrepareBlocks} → WriteShards, with dead letters written next to the shards: training
 * split in {@code OUTPUT/}, validation in {@code OUTPUT/valid/}. {@code train} on JSONL runs
 * {@link #runSplit} too, into its blocks directory. A split with too many bad rows fails the run
 * and its manifest is removed, so training cannot start from it by mistake.
 */
public final class PreprocessJob {
  private static final Logger LOG = LoggerFactory.getLogger(PreprocessJob.class);

  /**
   * JSONL bytes per pack bucket. Each bucket packs alone, so each leaves one partly filled block
   * or more: 8 buckets over 24 short rows gave 55% padding (issue 8). One bucket per 8 MB keeps
   * that waste under one block in ~4,000 (~4 bytes per token, T = 512) and a bucket's documents
   * at tens of MB of heap; a corpus of 64 MB or more gets the options' full count.
   */
  public static final long BYTES_PER_PACK_BUCKET = 8L << 20;

  private PreprocessJob() {}

  public static PreprocessSummary run(PreprocessConfig config) {
    return run(config, defaultOptions());
  }

  /**
   * Beam options for real runs rather than tests. On the DirectRunner the immutability and
   * encodability checks re-encode every element and cost more than the tokenizing itself, so
   * they are off unless asked for. The runner is recognised by name: this library never imports
   * a runner, whichever one is on the class path.
   */
  public static PipelineOptions defaultOptions(String... args) {
    PipelineOptions options = PipelineOptionsFactory.fromArgs(args).withValidation().create();
    if (!options.getRunner().getSimpleName().equals("DirectRunner")) {
      return options;
    }
    List<String> given = new ArrayList<>(List.of(args));
    for (String check : new String[] {"--enforceImmutability", "--enforceEncodability"}) {
      if (given.stream().noneMatch(a -> a.startsWith(check))) {
        given.add(check + "=false");
      }
    }
    return PipelineOptionsFactory.fromArgs(given.toArray(String[]::new)).withValidation().create();
  }

  /** @param options Beam options (runner etc.); the DirectRunner when left at defaults */
  public static PreprocessSummary run(PreprocessConfig config, PipelineOptions options) {
    Map<String, List<String>> splits = DataSource.splits(config.data());
    config.tokenizer().open();
    BlockOptions blocks = withDistrustMean(config.blocks(), splits.get(DataSource.TRAIN));
    List<PreprocessSummary.Split> done = new ArrayList<>();
    for (Map.Entry<String, List<String>> split : splits.entrySet()) {
      done.add(runSplit(split.getKey(), split.getValue(), blocks,
          splitDir(config.output(), split.getKey()), config.numShards(),
          config.maxBadFraction(), options));
    }
    return new PreprocessSummary(config.output(), config.tokenizer().describe(),
        config.seqLength(), done);
  }

  /**
   * The mean L_emp over the training files' valid annotated rows (streamed), which weighted
   * distrust divides by and additive distrust reports; validation splits use the same mean.
   */
  public static BlockOptions withDistrustMean(BlockOptions blocks, List<String> trainPatterns) {
    if (blocks.distrust().equals("off")) {
      return blocks.withDistrust("off", blocks.alpha(), 0);
    }
    try {
      double mean = DistrustWeights.meanEmpirical(trainPatterns, blocks.alpha(),
          blocks.maxRowBytes());
      return blocks.withDistrust(blocks.distrust(), blocks.alpha(), mean);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + trainPatterns + " for distrust", e);
    }
  }

  /**
   * Prepares one split into {@code dir}: earlier shards there are removed, then PrepareBlocks →
   * shards + manifest + dead letters. Fails (and removes the manifest) when too many rows are bad.
   */
  public static PreprocessSummary.Split runSplit(String split, List<String> patterns,
      BlockOptions blocks, String dir, int numShards, double maxBadFraction,
      PipelineOptions options) {
    List<String> files = DataSource.matchedFiles(patterns, String.join(",", patterns));
    BlockOptions sized = packBucketsFor(blocks, files);
    clean(dir);
    LOG.info("preprocess {}: {} file(s) -> {}", split, files.size(), dir);
    long start = System.nanoTime();
    Pipeline p = Pipeline.create(options);
    build(p, patterns, sized, dir, numShards);
    long built = System.nanoTime();
    PipelineResult result = p.run();
    result.waitUntilFinish();
    double seconds = (System.nanoTime() - built) / 1e9;
    LOG.info("preprocess {}: pipeline built in {} s, ran in {} s", split,
        String.format("%.1f", (built - start) / 1e9), String.format("%.1f", seconds));
    BadRowReport bad = BadRowReport.from(result);
    try {
      bad.check(maxBadFraction, DeadLetterSink.file(dir));
    } catch (BadRowReport.BadInputException e) {
      deleteQuietly(dir, ShardManifest.FILE_NAME);
      throw e;
    }
    PackSequences.Stats pack = PackSequences.stats(result);
    long tokens = PackSequences.counter(result, Tokenize.METRICS_NAMESPACE, "tokens");
    return new PreprocessSummary.Split(split, dir, files, DataSource.totalBytes(files), bad,
        tokens, pack, seconds);
  }

  /**
   * The options with the pack bucket count this split's files get: one per {@link
   * #BYTES_PER_PACK_BUCKET} of JSONL (at least 1), at most {@code blocks.packBuckets()}. A pure
   * function of the files' sizes, so every runner and every rerun packs the same data the same way,
   * and the manifest records the count that was used.
   */
  public static BlockOptions packBucketsFor(BlockOptions blocks, List<String> files) {
    long bytes = 0;
    for (String f : files) {
      try {
        bytes += FileSystems.matchSingleFileSpec(f).sizeBytes();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the size of " + f, e);
      }
    }
    long wanted = Math.max(1, (bytes + BYTES_PER_PACK_BUCKET - 1) / BYTES_PER_PACK_BUCKET);
    return blocks.withPackBuckets((int) Math.min(blocks.packBuckets(), wanted));
  }

  /**
   * Training shards go straight into OUTPUT (so {@code train --data OUTPUT} finds manifest.json
   * there); other splits into OUTPUT/&lt;split&gt;, e.g. OUTPUT/valid.
   */
  public static String splitDir(String output, String split) {
    return split.equals(DataSource.TRAIN) ? output
        : BeamFiles.dir(output).resolve(split + "/",
            org.apache.beam.sdk.io.fs.ResolveOptions.StandardResolveOptions.RESOLVE_DIRECTORY)
            .toString();
  }

  /** The pipeline of one split; public so the benchmark and tests run exactly this. */
  public static void build(Pipeline p, List<String> patterns, BlockOptions blocks, String dir,
      int numShards) {
    PCollectionTuple prepared = p.apply("PrepareBlocks", PrepareBlocks.from(patterns, blocks));
    PCollection<DeadLetter> dead = prepared.get(PrepareBlocks.DEAD_LETTERS);
    PCollectionView<Long> deadCount =
        dead.apply("CountDeadLetters", Count.globally()).apply("DeadCount", View.asSingleton());
    PCollectionView<List<SourceFile>> sources =
        prepared.get(PrepareBlocks.SOURCES).apply("SourceList", View.asList());
    prepared.get(PrepareBlocks.BLOCKS).apply("WriteShards",
        WriteShards.to(dir, ShardSettings.of(blocks), numShards, sources, deadCount));
    dead.apply("WriteDeadLetters", DeadLetterSink.to(dir));
  }

  /** Removes what an earlier run left, so the directory only holds this run's shards. */
  private static void clean(String dir) {
    try {
      BeamFiles.deleteMatching(dir, "shard-*.safetensors", ".shard-*.tmp",
          ShardManifest.FILE_NAME, ShardManifest.DEAD_LETTERS_FILE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear old shards in " + dir, e);
    }
  }

  private static void deleteQuietly(String dir, String name) {
    try {
      BeamFiles.deleteMatching(dir, name);
    } catch (IOException e) {
      LOG.warn("could not remove {} in {}: {}", name, dir, e.toString());
    }
  }
}
