package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.jobs.PreprocessJob;
import dev.lorabeam.transforms.read.BadRowReport;
import dev.lorabeam.transforms.read.DataSource;
import dev.lorabeam.transforms.read.SourceFile;
import dev.lorabeam.transforms.shards.BeamFiles;
import dev.lorabeam.transforms.shards.Digests;
import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.shards.ShardSettings;
import dev.lorabeam.transforms.shards.WriteShards;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.options.PipelineOptions;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Where a run's blocks come from, always as shards: {@code --data SHARDS} is used as it is (its
 * manifest decides mask-prompt and distrust; a flag that contradicts it is refused), and JSONL is
 * prepared by the same job as {@code preprocess} into {@code <adapter-path>/blocks/}, reused when
 * its manifest matches the options and every source file's size and SHA-256.
 *
 * @param config the run's config with mask-prompt/distrust/α as the blocks were made
 * @param badRows rows read and rejected (null when blocks were reused or given)
 */
record BlockSource(String trainDir, @Nullable String validDir, ShardManifest manifest,
    TrainConfig config, @Nullable BadRowReport badRows) {

  static final String BLOCKS_DIR = "blocks";

  static BlockSource resolve(TrainConfig config, TrainData data, TextTokenizer tokenizer,
      PipelineOptions options, PrintStream out) {
    return resolve(config, data, tokenizer, options, out, BLOCKS_DIR);
  }

  /**
   * @param blocksDir the directory under {@code --adapter-path} that JSONL is prepared into; data-parallel
   *     ranks other than 0 use their own, so ranks sharing an adapter path never write the same files
   */
  static BlockSource resolve(TrainConfig config, TrainData data, TextTokenizer tokenizer,
      PipelineOptions options, PrintStream out, String blocksDir) {
    if (data.shards() != null) {
      return fromShards(config, data.shards(), tokenizer);
    }
    return prepare(config, data, tokenizer, options, out, blocksDir);
  }

  private static BlockSource fromShards(TrainConfig config, Path dir, TextTokenizer tokenizer) {
    String d = dir.toAbsolutePath().toString();
    ShardManifest m = ReadShards.checkedManifest(d, tokenizer.fingerprint(), config.trainSeqLength());
    ShardSettings s = m.settings();
    if (config.maskPrompt() && !s.maskPrompt()) {
      throw contradiction("--mask-prompt", "on", "mask_prompt", "off", d,
          "drop --mask-prompt, or re-run preprocess with --mask-prompt");
    }
    if (!config.distrust().equals("off") && !config.distrust().equals(s.distrust())) {
      throw contradiction("--distrust", config.distrust(), "distrust", s.distrust(), d,
          "drop --distrust, or re-run preprocess with --distrust " + config.distrust());
    }
    boolean alphaGiven = !config.distrust().equals("off") || config.alpha() != BlockOptions.DEFAULT_ALPHA;
    if (alphaGiven && !s.distrust().equals("off") && config.alpha() != s.alpha()) {
      throw contradiction("--alpha", String.valueOf(config.alpha()), "alpha",
          String.valueOf(s.alpha()), d, "drop --alpha, or re-run preprocess with --alpha " + config.alpha());
    }
    TrainConfig effective = TrainConfigBuilder.from(config).maskPrompt(s.maskPrompt())
        .distrust(s.distrust()).alpha(s.alpha()).build();
    String valid = PreprocessJob.splitDir(d, DataSource.VALID);
    return new BlockSource(d, ShardManifest.exists(valid) ? valid : null, m, effective, null);
  }

  private static UserError contradiction(String flag, String value, String field, String made,
      String dir, String fix) {
    return new UserError(flag + " " + value + " contradicts the shards in " + dir + " (made with "
        + field + " " + made + "); " + fix + ".");
  }

  private static BlockSource prepare(TrainConfig config, TrainData data, TextTokenizer tokenizer,
      PipelineOptions options, PrintStream out, String blocksDir) {
    BlockOptions blocks = PreprocessJob.withDistrustMean(BlockOptions.of(tokenizer,
            config.trainSeqLength()).withMaskPrompt(config.maskPrompt()).withSeed(config.seed())
        .withDistrust(config.distrust(), config.alpha(), 0), data.train());
    String root = config.adapterDir().resolve(blocksDir).toAbsolutePath().toString();
    String validDir = data.valid() == null ? null : PreprocessJob.splitDir(root, DataSource.VALID);
    BadRowReport bad = null;
    if (reusable(root, blocks, data.train()) && (validDir == null
        || reusable(validDir, blocks, List.of(data.valid())))) {
      out.println("Reusing the blocks in " + root + " (same data and options)");
    } else {
      // Only the writer's own blocks publish their dead letters to --adapter-path.
      boolean publish = blocksDir.equals(BLOCKS_DIR);
      bad = prepareSplit(DataSource.TRAIN, data.train(), blocks, root, config, options, publish);
      if (validDir != null) {
        prepareSplit(DataSource.VALID, List.of(data.valid()), blocks, validDir, config, options, false);
      }
    }
    try {
      ShardManifest m = ShardManifest.read(root);
      return new BlockSource(root, validDir, m, config, bad);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static BadRowReport prepareSplit(String split, List<String> patterns,
      BlockOptions blocks, String dir, TrainConfig config, PipelineOptions options, boolean publish) {
    try {
      return PreprocessJob.runSplit(split, patterns, blocks, dir, WriteShards.DEFAULT_NUM_SHARDS,
          config.maxBadFraction(), options).rows();
    } catch (BadRowReport.BadInputException e) {
      throw new UserError(e.getMessage(), e);
    } finally {
      if (split.equals(DataSource.TRAIN) && publish) {
        publishDeadLetters(dir, config.adapterDir());
      }
    }
  }

  /** Dead letters also go where users of the previous layout look: {@code <adapter-path>/}. */
  private static void publishDeadLetters(String dir, Path adapterDir) {
    Path src = Path.of(dir, ShardManifest.DEAD_LETTERS_FILE);
    try {
      if (Files.isRegularFile(src)) {
        Files.copy(src, adapterDir.resolve(ShardManifest.DEAD_LETTERS_FILE),
            StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + src + " into " + adapterDir, e);
    }
  }

  /** Same settings (the pinned template date aside) and the same files, byte for byte. */
  static boolean reusable(String dir, BlockOptions blocks, List<String> patterns) {
    if (!ShardManifest.exists(dir)) {
      return false;
    }
    try {
      ShardManifest m = ShardManifest.read(dir);
      List<String> files = DataSource.matchedFiles(patterns, String.join(",", patterns));
      return m.settings().sameBlocksAs(ShardSettings.of(PreprocessJob.packBucketsFor(blocks, files)))
          && new HashSet<>(m.sources()).equals(currentSources(patterns, m.sources()));
    } catch (IOException | RuntimeException e) {
      return false; // another version, damaged: prepare again
    }
  }

  /** The files the patterns match now, hashed as they stream (only when sizes agree). */
  private static Set<SourceFile> currentSources(List<String> patterns, List<SourceFile> before)
      throws IOException {
    Set<SourceFile> now = new HashSet<>();
    List<String> files = DataSource.matchedFiles(patterns, String.join(",", patterns));
    Set<String> known = new HashSet<>();
    before.forEach(s -> known.add(s.file() + ":" + s.bytes()));
    for (String f : files) {
      long size = FileSystems.matchSingleFileSpec(f).sizeBytes();
      if (!known.contains(f + ":" + size)) {
        return Set.of(); // a new, removed or resized file: no need to hash anything
      }
      String[] hash;
      try (InputStream in = Channels.newInputStream(
          FileSystems.open(FileSystems.matchNewResource(f, false)))) {
        hash = Digests.hashStream(in);
      }
      long lines = before.stream().filter(s -> s.file().equals(f)).findFirst().orElseThrow().lines();
      now.add(new SourceFile(f, Long.parseLong(hash[1]), hash[0], lines));
    }
    return now;
  }
}
