package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.read.SourceFile;
import dev.lorabeam.transforms.shards.ShardManifest.Counts;
import dev.lorabeam.transforms.shards.ShardManifest.ShardInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * The single manifest writer: runs once, on the list of every written shard, so the manifest
 * only ever describes shards that exist. Adds the source files and the dead-letter count from
 * side inputs and the block-set fingerprint.
 */
final class WriteManifestFn extends DoFn<List<ShardInfo>, ShardManifest> {
  private final String dir;
  private final ShardSettings settings;
  private final PCollectionView<List<SourceFile>> sources;
  private final PCollectionView<Long> deadLetters;

  WriteManifestFn(String dir, ShardSettings settings, PCollectionView<List<SourceFile>> sources,
      PCollectionView<Long> deadLetters) {
    this.dir = dir;
    this.settings = settings;
    this.sources = sources;
    this.deadLetters = deadLetters;
  }

  @ProcessElement
  public void process(ProcessContext c) throws IOException {
    List<ShardInfo> shards = c.element();
    List<SourceFile> files = new ArrayList<>(c.sideInput(sources));
    files.sort(null);
    long rows = files.stream().mapToLong(SourceFile::lines).sum();
    long blocks = shards.stream().mapToLong(ShardInfo::blocks).sum();
    long trained = shards.stream().mapToLong(ShardInfo::trainedTargets).sum();
    long tokens = shards.stream().mapToLong(ShardInfo::tokens).sum();
    ShardManifest m = new ShardManifest(ShardManifest.FORMAT_VERSION, settings,
        new Counts(rows, c.sideInput(deadLetters), blocks, tokens, trained), shards, files,
        fingerprint(shards), ShardManifest.DEAD_LETTERS_FILE, Instant.now().toString());
    m.write(dir);
    c.output(m);
  }

  /** SHA-256 over "name:sha256\n" of every shard in file order: one id for the block set. */
  static String fingerprint(List<ShardInfo> shards) {
    MessageDigest sha = Digests.sha256();
    for (ShardInfo s : shards) {
      sha.update((s.file() + ":" + s.sha256() + "\n").getBytes(StandardCharsets.UTF_8));
    }
    return java.util.HexFormat.of().formatHex(sha.digest());
  }
}
