package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.pack.PackedBlock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Random access to the blocks of a shard directory by global index (manifest order: shard by
 * shard, row by row), so the trainer can read an epoch's permutation without holding the data set.
 * Each {@link #block} is one {@link ShardReader} positioned read; at most {@link #OPEN_FILES} shard
 * files are open at a time (least recently used closed first). Heap: the manifest plus the row being
 * read, whatever the corpus size.
 */
public final class BlockSetReader implements AutoCloseable {
  static final int OPEN_FILES = 4;

  private final String dir;
  private final ShardManifest manifest;
  private final Map<Integer, ShardReader> open = new LinkedHashMap<>(OPEN_FILES, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Integer, ShardReader> eldest) {
      boolean evict = size() > OPEN_FILES;
      if (evict) {
        closeQuietly(eldest.getValue());
      }
      return evict;
    }
  };

  private BlockSetReader(String dir, ShardManifest manifest) {
    this.dir = dir;
    this.manifest = manifest;
  }

  /** Opens {@code dir}, refusing shards of another tokenizer or T (see {@link ReadShards#checkedManifest}). */
  public static BlockSetReader open(String dir, String tokenizerFingerprint, int seqLength) {
    return new BlockSetReader(dir, ReadShards.checkedManifest(dir, tokenizerFingerprint, seqLength));
  }

  public ShardManifest manifest() {
    return manifest;
  }

  /** Blocks in the directory (the sum over its shards). */
  public long blocks() {
    return manifest.blocks();
  }

  /** The block at global index {@code index} ∈ [0, {@link #blocks()}). */
  public synchronized PackedBlock block(long index) {
    if (index < 0 || index >= blocks()) {
      throw new IndexOutOfBoundsException("block " + index + " of " + blocks() + " in " + dir);
    }
    ShardManifest.BlockAddress at = manifest.locate(index);
    String file = manifest.shards().get(at.shard()).file();
    try {
      ShardReader reader = open.get(at.shard());
      if (reader == null) {
        reader = ShardReader.open(dir, file, manifest.seqLength());
        open.put(at.shard(), reader);
      }
      return reader.block(at.block());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read block " + at.block() + " of shard " + file + " in " + dir
          + ": " + e.getMessage() + ". Re-run lorabeam preprocess into an empty --output directory.", e);
    }
  }

  @Override
  public synchronized void close() {
    open.values().forEach(BlockSetReader::closeQuietly);
    open.clear();
  }

  private static void closeQuietly(ShardReader reader) {
    try {
      reader.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
