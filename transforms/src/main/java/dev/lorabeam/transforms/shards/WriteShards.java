package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.pack.BlockPacker;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import dev.lorabeam.transforms.read.SourceFile;
import dev.lorabeam.transforms.shards.ShardManifest.ShardInfo;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
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
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Writes blocks as {@code shard-NNNNN-of-MMMMM.safetensors} files (see {@link ShardFiles})
 * through Beam's FileSystems, then {@code manifest.json} once, by one writer, after every shard
 * exists. A block's shard is a hash of its content and blocks within a shard are sorted, so the
 * files are a function of the block set alone: any runner, any parallelism, any input order gives
 * the same bytes. Outputs the manifest it wrote.
 */
public final class WriteShards
    extends PTransform<PCollection<PackedBlock>, PCollection<ShardManifest>> {

  public static final int DEFAULT_NUM_SHARDS = 4;

  private final String dir;
  private final ShardSettings settings;
  private final int numShards;
  private final PCollectionView<List<SourceFile>> sources;
  private final PCollectionView<Long> deadLetters;

  private WriteShards(String dir, ShardSettings settings, int numShards,
      PCollectionView<List<SourceFile>> sources, PCollectionView<Long> deadLetters) {
    this.dir = dir;
    this.settings = settings;
    this.numShards = numShards;
    this.sources = sources;
    this.deadLetters = deadLetters;
  }

  /**
   * @param dir a local path or any URI a registered Beam filesystem handles
   * @param sources the files the blocks came from (for the manifest)
   * @param deadLetters how many rows were rejected (for the manifest)
   */
  public static WriteShards to(String dir, ShardSettings settings, int numShards,
      PCollectionView<List<SourceFile>> sources, PCollectionView<Long> deadLetters) {
    return new WriteShards(dir, settings, numShards, sources, deadLetters);
  }

  public static String shardName(int shard, int numShards) {
    return String.format("shard-%05d-of-%05d.safetensors", shard, numShards);
  }

  @Override
  public PCollection<ShardManifest> expand(PCollection<PackedBlock> blocks) {
    if (numShards < 1) {
      throw new IllegalArgumentException("--num-shards must be >= 1, got " + numShards);
    }
    return blocks
        .apply("AssignShard", ParDo.of(new ShardKeyFn(numShards)))
        .setCoder(KvCoder.of(VarIntCoder.of(), PackedBlockCoder.of()))
        .apply("GroupShard", GroupByKey.create())
        .apply("WriteShard", ParDo.of(new WriteShardFn(dir, settings, numShards)))
        .setCoder(SerializableCoder.of(ShardInfo.class))
        .apply("CollectShards", Combine.globally(new ToListFn()))
        .setCoder(ListCoder.of(SerializableCoder.of(ShardInfo.class)))
        .apply("WriteManifest", ParDo.of(new WriteManifestFn(dir, settings, sources, deadLetters))
            .withSideInputs(sources, deadLetters))
        .setCoder(SerializableCoder.of(ShardManifest.class));
  }

  /** The shard of a block: a hash of its tokens, segments and weights, never of arrival order. */
  static final class ShardKeyFn extends DoFn<PackedBlock, KV<Integer, PackedBlock>> {
    private final int numShards;

    ShardKeyFn(int numShards) {
      this.numShards = numShards;
    }

    @ProcessElement
    public void process(@Element PackedBlock b, OutputReceiver<KV<Integer, PackedBlock>> out) {
      long h = BlockPacker.mix(BlockPacker.mix(Arrays.hashCode(b.tokens()),
          Arrays.hashCode(b.segments())), Arrays.hashCode(b.weights()));
      out.output(KV.of((int) Math.floorMod(h, (long) numShards), b));
    }
  }

  /** Total order on block content; GroupByKey order is arbitrary, the file must not be. */
  static final Comparator<PackedBlock> CONTENT_ORDER = (a, b) -> {
    int c = Arrays.compare(a.tokens(), b.tokens());
    c = c != 0 ? c : Arrays.compare(a.segments(), b.segments());
    return c != 0 ? c : Arrays.compare(a.weights(), b.weights());
  };

  static final class WriteShardFn extends DoFn<KV<Integer, Iterable<PackedBlock>>, ShardInfo> {
    private final String dir;
    private final ShardSettings settings;
    private final int numShards;

    WriteShardFn(String dir, ShardSettings settings, int numShards) {
      this.dir = dir;
      this.settings = settings;
      this.numShards = numShards;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<PackedBlock>> shard,
        OutputReceiver<ShardInfo> out) throws IOException {
      List<PackedBlock> blocks = new ArrayList<>();
      shard.getValue().forEach(blocks::add);
      blocks.sort(CONTENT_ORDER);
      String name = shardName(shard.getKey(), numShards);
      Digests.Counting[] written = new Digests.Counting[1];
      BeamFiles.writeAtomically(dir, name, raw -> {
        written[0] = new Digests.Counting(raw);
        try (OutputStream os = new BufferedOutputStream(written[0], 1 << 20)) {
          ShardFiles.write(os, blocks, settings.seqLength(), settings.tokenizerFingerprint());
        }
      });
      long trained = blocks.stream().mapToLong(PackedBlock::trainedTargets).sum();
      long tokens = 0;
      for (PackedBlock b : blocks) {
        for (int seg : b.segments()) {
          tokens += seg != 0 ? 1 : 0;
        }
      }
      out.output(new ShardInfo(name, blocks.size(), trained, tokens, written[0].count(),
          written[0].hex()));
    }
  }

  static final class ToListFn
      extends Combine.CombineFn<ShardInfo, List<ShardInfo>, List<ShardInfo>> {
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
}
