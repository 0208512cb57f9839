package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.pack.BlockPacker;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import dev.lorabeam.transforms.shards.ShardManifest.ShardInfo;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Writes blocks as {@code shard-NNNNN-of-MMMMM.safetensors} files (see {@link ShardFiles}) into
 * a directory on a file system every worker can reach, then {@code manifest.json} once all
 * shards are in place. Blocks within a shard are sorted, so a rerun writes identical files.
 * Outputs the manifest it wrote.
 */
public final class WriteShards extends PTransform<PCollection<PackedBlock>, PCollection<ShardManifest>> {

  public static final int DEFAULT_NUM_SHARDS = 4;

  private final String dir;
  private final int seqLength;
  private final String fingerprint;
  private final String tokenizer;
  private final List<String> sourceFiles;
  private final int numShards;

  private WriteShards(String dir, int seqLength, String fingerprint, String tokenizer,
      List<String> sourceFiles, int numShards) {
    this.dir = dir;
    this.seqLength = seqLength;
    this.fingerprint = fingerprint;
    this.tokenizer = tokenizer;
    this.sourceFiles = List.copyOf(sourceFiles);
    this.numShards = numShards;
  }

  /** @param tokenizer human description of the tokenizer, e.g. its path */
  public static WriteShards to(Path dir, int seqLength, String fingerprint, String tokenizer) {
    return new WriteShards(dir.toAbsolutePath().toString(), seqLength, fingerprint, tokenizer,
        List.of(), DEFAULT_NUM_SHARDS);
  }

  /** Recorded in the manifest so a shard directory says what it was made from. */
  public WriteShards withSourceFiles(List<String> files) {
    return new WriteShards(dir, seqLength, fingerprint, tokenizer, files, numShards);
  }

  public WriteShards withNumShards(int n) {
    return new WriteShards(dir, seqLength, fingerprint, tokenizer, sourceFiles, n);
  }

  @Override
  public PCollection<ShardManifest> expand(PCollection<PackedBlock> blocks) {
    if (numShards < 1) {
      throw new IllegalArgumentException("shard count must be >= 1, got " + numShards);
    }
    return blocks
        .apply("AssignShard", ParDo.of(new ShardKeyFn(numShards)))
        .setCoder(KvCoder.of(VarIntCoder.of(), PackedBlockCoder.of()))
        .apply("GroupShard", GroupByKey.create())
        .apply("WriteShard", ParDo.of(new WriteShardFn(dir, seqLength, fingerprint, numShards)))
        .setCoder(SerializableCoder.of(ShardInfo.class))
        .apply("CollectShards", Combine.globally(new ToListFn()))
        .setCoder(ListCoder.of(SerializableCoder.of(ShardInfo.class)))
        .apply("WriteManifest", ParDo.of(new WriteManifestFn(this)))
        .setCoder(SerializableCoder.of(ShardManifest.class));
  }

  static final class ShardKeyFn extends DoFn<PackedBlock, KV<Integer, PackedBlock>> {
    private final int numShards;

    ShardKeyFn(int numShards) {
      this.numShards = numShards;
    }

    @ProcessElement
    public void process(@Element PackedBlock b, OutputReceiver<KV<Integer, PackedBlock>> out) {
      long h = BlockPacker.mix(Arrays.hashCode(b.tokens()), Arrays.hashCode(b.segments()));
      out.output(KV.of((int) Math.floorMod(h, (long) numShards), b));
    }
  }

  static final class WriteShardFn extends DoFn<KV<Integer, Iterable<PackedBlock>>, ShardInfo> {
    private final String dir;
    private final int seqLength;
    private final String fingerprint;
    private final int numShards;

    WriteShardFn(String dir, int seqLength, String fingerprint, int numShards) {
      this.dir = dir;
      this.seqLength = seqLength;
      this.fingerprint = fingerprint;
      this.numShards = numShards;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<PackedBlock>> shard,
        OutputReceiver<ShardInfo> out) throws IOException {
      List<PackedBlock> blocks = new ArrayList<>();
      shard.getValue().forEach(blocks::add);
      // GroupByKey order is arbitrary; sorting makes the file a function of its blocks only.
      blocks.sort((a, b) -> {
        int c = Arrays.compare(a.tokens(), b.tokens());
        return c != 0 ? c : Arrays.compare(a.segments(), b.segments());
      });
      String name = String.format("shard-%05d-of-%05d.safetensors", shard.getKey(), numShards);
      Path target = Path.of(dir, name);
      Files.createDirectories(target.getParent());
      Path tmp = Path.of(dir, "." + name + ".tmp");
      try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
        ShardFiles.write(os, blocks, seqLength, fingerprint);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      long trained = blocks.stream().mapToLong(PackedBlock::trainedTargets).sum();
      out.output(new ShardInfo(name, blocks.size(), trained));
    }
  }

  static final class ToListFn extends Combine.CombineFn<ShardInfo, List<ShardInfo>, List<ShardInfo>> {
    @Override
    public List<ShardInfo> createAccumulator() {
      return new ArrayList<>();
    }

    @Override
    public List<ShardInfo> addInput(List<ShardInfo> acc, ShardInfo input) {
      acc.add(input);
      return acc;
    }

    @Override
    public List<ShardInfo> mergeAccumulators(Iterable<List<ShardInfo>> accs) {
      List<ShardInfo> all = new ArrayList<>();
      accs.forEach(all::addAll);
      return all;
    }

    @Override
    public List<ShardInfo> extractOutput(List<ShardInfo> acc) {
      List<ShardInfo> sorted = new ArrayList<>(acc);
      sorted.sort(Comparator.comparing(ShardInfo::file));
      return sorted;
    }
  }

  static final class WriteManifestFn extends DoFn<List<ShardInfo>, ShardManifest> {
    private final WriteShards spec;

    WriteManifestFn(WriteShards spec) {
      this.spec = spec;
    }

    @ProcessElement
    public void process(@Element List<ShardInfo> shards, OutputReceiver<ShardManifest> out)
        throws IOException {
      ShardManifest m = new ShardManifest(ShardManifest.FORMAT_VERSION, spec.seqLength,
          spec.fingerprint, spec.tokenizer,
          shards.stream().mapToLong(ShardInfo::blocks).sum(),
          shards.stream().mapToLong(ShardInfo::trainedTargets).sum(),
          shards, spec.sourceFiles, ShardManifest.DEAD_LETTERS_FILE, Instant.now().toString());
      Path dir = Path.of(spec.dir);
      Files.createDirectories(dir);
      m.write(dir);
      out.output(m);
    }
  }
}
