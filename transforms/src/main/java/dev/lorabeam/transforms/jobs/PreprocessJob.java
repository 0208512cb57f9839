package dev.lorabeam.transforms.jobs;

import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.read.DataSource;
import dev.lorabeam.transforms.read.DeadLetter;
import dev.lorabeam.transforms.read.DeadLetterSink;
import dev.lorabeam.transforms.read.ReadExamples;
import dev.lorabeam.transforms.render.Tokenize;

import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.shards.WriteShards;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code preprocess} job: for each split of {@code --data}, one Beam pipeline
 * ReadExamples → Tokenize → PackSequences → WriteShards, with dead letters written next to the
 * shards: training split in {@code OUTPUT/}, validation in {@code OUTPUT/valid/}. A split with too many bad rows fails the run and its
 * manifest is removed, so training cannot start from it by mistake.
 */
public final class PreprocessJob {
  private static final Logger LOG = LoggerFactory.getLogger(PreprocessJob.class);

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
    List<PreprocessSummary.Split> done = new ArrayList<>();
    for (Map.Entry<String, List<String>> split : splits.entrySet()) {
      done.add(runSplit(config, options, split.getKey(), split.getValue()));
    }
    return new PreprocessSummary(config.output(), config.tokenizer().describe(),
        config.seqLength(), done);
  }

  private static PreprocessSummary.Split runSplit(PreprocessConfig config,
      PipelineOptions options, String split, List<String> patterns) {
    Path dir = splitDir(config.output(), split);
    List<String> files = DataSource.matchedFiles(patterns, config.data());
    clean(dir);
    LOG.info("preprocess {}: {} file(s) -> {}", split, files.size(), dir);
    long start = System.nanoTime();
    Pipeline p = Pipeline.create(options);
    build(p, config, patterns, files, dir);
    long built = System.nanoTime();
    PipelineResult result = p.run();
    result.waitUntilFinish();
    double seconds = (System.nanoTime() - built) / 1e9;
    LOG.info("preprocess {}: pipeline built in {} s, ran in {} s", split,
        String.format("%.1f", (built - start) / 1e9), String.format("%.1f", seconds));
    BadRowReport bad = BadRowReport.from(result);
    try {
      bad.check(config.maxBadFraction(), DeadLetterSink.file(dir).toString());
    } catch (BadRowReport.BadInputException e) {
      deleteQuietly(dir.resolve(ShardManifest.FILE_NAME));
      throw e;
    }
    PackSequences.Stats pack = PackSequences.stats(result);
    long tokens = PackSequences.counter(result, Tokenize.METRICS_NAMESPACE, "tokens");
    return new PreprocessSummary.Split(split, dir, files, DataSource.totalBytes(files), bad,
        tokens, pack, seconds);
  }

  /**
   * Training shards go straight into OUTPUT (so {@code train --data OUTPUT} finds manifest.json
   * there); other splits into OUTPUT/&lt;split&gt;, e.g. OUTPUT/valid.
   */
  public static Path splitDir(Path output, String split) {
    return split.equals(DataSource.TRAIN) ? output : output.resolve(split);
  }

  /** The pipeline of one split; public so the benchmark and tests run exactly this. */
  public static void build(Pipeline p, PreprocessConfig config, List<String> patterns,
      List<String> sourceFiles, Path dir) {
    PCollectionTuple read = p.apply("ReadExamples",
        ReadExamples.from(patterns).withMaxRowBytes(config.maxRowBytes()));
    PCollectionTuple tokenized = read.get(ReadExamples.EXAMPLES)
        .apply("Tokenize", Tokenize.with(config.tokenizer()).withMaskPrompt(config.maskPrompt()));
    tokenized.get(Tokenize.DOCS)
        .apply("Pack", PackSequences.of(config.seqLength()).withSeed(config.seed())
            .withPolicy(config.longDocPolicy()).withBuckets(config.packBuckets())
            .withFillGaps(config.fillGaps())
            .withPadId(Math.max(0, config.tokenizer().eosId())))
        .apply("WriteShards", WriteShards.to(dir, config.seqLength(),
                config.tokenizer().fingerprint(), config.tokenizer().describe())
            .withSourceFiles(sourceFiles).withNumShards(config.numShards()));
    PCollection<DeadLetter> dead = PCollectionList.of(read.get(ReadExamples.DEAD_LETTERS))
        .and(tokenized.get(Tokenize.DEAD_LETTERS))
        .apply("AllDeadLetters", Flatten.pCollections());
    dead.apply("WriteDeadLetters", DeadLetterSink.to(dir));
  }

  /** Removes what an earlier run left, so the directory only holds this run's shards. */
  private static void clean(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> old = Files.newDirectoryStream(dir,
        "{shard-*.safetensors," + ShardManifest.FILE_NAME + "," + ShardManifest.DEAD_LETTERS_FILE
            + "}")) {
      for (Path f : old) {
        Files.delete(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear old shards in " + dir, e);
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("could not remove {}: {}", file, e.toString());
    }
  }
}
