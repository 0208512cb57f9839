package dev.lorabeam.transforms.shards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.transforms.PackedBlock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Random access to the blocks of a shard directory by global index (manifest order: shard by
 * shard, row by row), so the trainer can read an epoch's permutation without holding the data set.
 * Each {@link #block} is three positional reads of one row; at most {@link #OPEN_FILES} shard files
 * are open at a time (least recently used closed first). Heap: one {@code long} per shard plus the
 * row being read, whatever the corpus size.
 *
 * <p>Every shard's header is checked against the manifest when it is first opened (dtypes, shapes,
 * T, tokenizer, file length), so a truncated or foreign shard is one message naming the file.
 */
public final class ShardReader implements AutoCloseable {
  static final int OPEN_FILES = 4;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final ShardManifest manifest;
  private final long[] firstBlock;  // (shards + 1): global index of each shard's first row
  private final Map<Integer, Shard> open = new LinkedHashMap<>(OPEN_FILES, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Integer, Shard> eldest) {
      boolean evict = size() > OPEN_FILES;
      if (evict) {
        eldest.getValue().close();
      }
      return evict;
    }
  };

  private ShardReader(Path dir, ShardManifest manifest) {
    this.dir = dir;
    this.manifest = manifest;
    List<ShardManifest.ShardInfo> shards = manifest.shards();
    firstBlock = new long[shards.size() + 1];
    for (int s = 0; s < shards.size(); s++) {
      firstBlock[s + 1] = firstBlock[s] + shards.get(s).blocks();
    }
  }

  /** Opens {@code dir}, refusing shards of another tokenizer or T (see {@link ReadShards#checkedManifest}). */
  public static ShardReader open(Path dir, String tokenizerFingerprint, int seqLength) {
    return new ShardReader(dir, ReadShards.checkedManifest(dir, tokenizerFingerprint, seqLength));
  }

  public ShardManifest manifest() {
    return manifest;
  }

  /** Blocks in the directory (the sum over its shards). */
  public long blocks() {
    return firstBlock[firstBlock.length - 1];
  }

  /** The block at global index {@code index} ∈ [0, {@link #blocks()}). */
  public synchronized PackedBlock block(long index) {
    if (index < 0 || index >= blocks()) {
      throw new IndexOutOfBoundsException("block " + index + " of " + blocks() + " in " + dir);
    }
    int s = shardOf(index);
    return shard(s).row(index - firstBlock[s]);
  }

  /**
   * SHA-256 (hex) of the block set: T and every shard's tensor bytes in manifest order, streamed.
   * Two directories with the same blocks in the same shards give the same value, whenever and
   * wherever they were written (the header's timestamps and paths are not hashed).
   */
  public synchronized String contentFingerprint() {
    MessageDigest sha = sha256();
    sha.update(ByteBuffer.allocate(8).putLong(manifest.seqLength()).flip());
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    for (int s = 0; s < manifest.shards().size(); s++) {
      Shard shard = shard(s);
      try {
        for (long pos = shard.dataStart; pos < shard.end; ) {
          buf.clear().limit((int) Math.min(buf.capacity(), shard.end - pos));
          int n = shard.channel.read(buf, pos);
          if (n < 0) {
            throw new IOException("unexpected end of file at byte " + pos);
          }
          sha.update(buf.flip());
          pos += n;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read shard " + shard.file + ": " + e.getMessage(), e);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private int shardOf(long index) {
    int lo = 0;
    int hi = firstBlock.length - 2;
    while (lo < hi) {  // the last shard whose first row is ≤ index
      int mid = (lo + hi + 1) >>> 1;
      if (firstBlock[mid] <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  private Shard shard(int s) {
    Shard shard = open.get(s);
    if (shard == null) {
      ShardManifest.ShardInfo info = manifest.shards().get(s);
      shard = Shard.open(dir.resolve(info.file()), info.blocks(), manifest);
      open.put(s, shard);
    }
    return shard;
  }

  @Override
  public synchronized void close() {
    open.values().forEach(Shard::close);
    open.clear();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One open shard file and where its three tensors start (bytes from the file's start). */
  private record Shard(Path file, FileChannel channel, int seqLength, long tokens, long segments,
      long weights, long dataStart, long end) {

    static Shard open(Path file, long rows, ShardManifest manifest) {
      FileChannel ch = null;
      try {
        ch = FileChannel.open(file, StandardOpenOption.READ);
        Shard shard = layout(file, ch, rows, manifest);
        ch = null;
        return shard;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read shard " + file + ": " + e.getMessage()
            + ". Re-run lorabeam preprocess into an empty --output directory.", e);
      } finally {
        if (ch != null) {
          try {
            ch.close();
          } catch (IOException ignored) {
            // already failing with the first error
          }
        }
      }
    }

    private static Shard layout(Path file, FileChannel ch, long rows, ShardManifest m) throws IOException {
      ByteBuffer len = read(ch, 0, 8);
      long headerLength = len.getLong();
      if (headerLength <= 0 || headerLength > 100L << 20) {
        throw new IOException("a safetensors header of " + headerLength + " bytes: not a shard, or corrupt");
      }
      ByteBuffer h = read(ch, 8, (int) headerLength);
      JsonNode header = JSON.readTree(h.array());
      JsonNode meta = header.path("__metadata__");
      int t = m.seqLength();
      if (!String.valueOf(t).equals(meta.path("seq_length").asText())
          || !m.tokenizerFingerprint().equals(meta.path("tokenizer_fingerprint").asText())) {
        throw new IOException("written for T=" + meta.path("seq_length").asText() + " and tokenizer "
            + meta.path("tokenizer_fingerprint").asText() + ", but its manifest says T=" + t
            + " and " + m.tokenizerFingerprint() + "; the directory mixes runs");
      }
      long dataStart = 8 + headerLength;
      long tokens = offset(header, "tokens", "I32", rows, t + 1, dataStart);
      long segments = offset(header, "segments", "I32", rows, t, dataStart);
      long weights = offset(header, "weights", "F32", rows, t, dataStart);
      long end = dataStart + rows * (3L * t + 1) * 4;
      if (ch.size() < end) {
        throw new IOException("the file has " + ch.size() + " bytes but its " + rows + " rows need "
            + end + ": it is truncated");
      }
      return new Shard(file, ch, t, tokens, segments, weights, dataStart, end);
    }

    private static long offset(JsonNode header, String name, String dtype, long rows, int cols,
        long dataStart) throws IOException {
      JsonNode spec = header.path(name);
      JsonNode shape = spec.path("shape");
      if (!dtype.equals(spec.path("dtype").asText()) || shape.size() != 2
          || shape.get(0).asLong() != rows || shape.get(1).asLong() != cols) {
        throw new IOException("tensor '" + name + "' is " + spec.path("dtype").asText() + " " + shape
            + ", the manifest expects " + dtype + " [" + rows + "," + cols + "]");
      }
      return dataStart + spec.path("data_offsets").path(0).asLong();
    }

    PackedBlock row(long r) {
      try {
        int[] tok = new int[seqLength + 1];
        int[] seg = new int[seqLength];
        float[] w = new float[seqLength];
        read(channel, tokens + r * (seqLength + 1) * 4L, tok.length * 4).asIntBuffer().get(tok);
        read(channel, segments + r * seqLength * 4L, seg.length * 4).asIntBuffer().get(seg);
        read(channel, weights + r * seqLength * 4L, w.length * 4).asFloatBuffer().get(w);
        return new PackedBlock(tok, seg, w);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read row " + r + " of shard " + file + ": " + e.getMessage(), e);
      }
    }

    private static ByteBuffer read(FileChannel ch, long position, int bytes) throws IOException {
      ByteBuffer buf = ByteBuffer.allocate(bytes);
      while (buf.hasRemaining()) {
        if (ch.read(buf, position + buf.position()) < 0) {
          throw new IOException("unexpected end of file at byte " + (position + buf.position()));
        }
      }
      return buf.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    void close() {
      try {
        channel.close();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot close shard " + file, e);
      }
    }
  }
}
