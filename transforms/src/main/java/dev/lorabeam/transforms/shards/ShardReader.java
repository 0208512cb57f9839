package dev.lorabeam.transforms.shards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.transforms.pack.PackedBlock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import org.apache.beam.sdk.io.FileSystems;

/**
 * Random access to block i of one shard without reading the rest: the safetensors header is read
 * once, then each block is three positioned reads (tokens (T+1), segments (T), weights (T), 4 bytes
 * each). Needs a seekable channel, which local files and most Beam filesystems give. Use with
 * {@link ShardManifest#locate} to read block i of a whole block set; not thread-safe.
 */
public final class ShardReader implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SeekableByteChannel channel;
  private final String name;
  private final int seqLength;
  private final long blocks;
  private final long tokensAt;
  private final long segmentsAt;
  private final long weightsAt;

  /** @param dir the shard directory (path or URI); {@code shard} a file listed in its manifest */
  public static ShardReader open(String dir, String shard, int seqLength) throws IOException {
    ReadableByteChannel ch = FileSystems.open(BeamFiles.file(dir, shard));
    if (!(ch instanceof SeekableByteChannel seekable)) {
      ch.close();
      throw new IOException(shard + " in " + dir + " is on a filesystem without random access; "
          + "read it whole with ReadShards.readVerified");
    }
    return new ShardReader(seekable, BeamFiles.file(dir, shard).toString(), seqLength);
  }

  private ShardReader(SeekableByteChannel channel, String name, int seqLength) throws IOException {
    this.channel = channel;
    this.name = name;
    this.seqLength = seqLength;
    long headerLength = read(0, 8).getLong();
    if (headerLength <= 0 || headerLength > 100L << 20) {
      throw new IOException(name + " is not a safetensors file (header of " + headerLength + " bytes)");
    }
    JsonNode header = JSON.readTree(read(8, (int) headerLength).array());
    long data = 8 + headerLength;
    this.tokensAt = data + start(header, "tokens");
    this.segmentsAt = data + start(header, "segments");
    this.weightsAt = data + start(header, "weights");
    this.blocks = header.path("segments").path("shape").path(0).asLong();
    long t = header.path("segments").path("shape").path(1).asLong();
    if (t != seqLength) {
      throw new IOException(name + " holds blocks of T=" + t + ", not " + seqLength);
    }
  }

  private long start(JsonNode header, String tensor) throws IOException {
    JsonNode offsets = header.path(tensor).path("data_offsets");
    if (offsets.size() != 2) {
      throw new IOException(name + " has no tensor '" + tensor + "'; it is not a lorabeam shard");
    }
    return offsets.get(0).asLong();
  }

  public long blocks() {
    return blocks;
  }

  /** Block {@code i} (0-based) of this shard. */
  public PackedBlock block(long i) throws IOException {
    if (i < 0 || i >= blocks) {
      throw new IndexOutOfBoundsException("block " + i + " of " + blocks + " in " + name);
    }
    int[] tokens = new int[seqLength + 1];
    int[] segments = new int[seqLength];
    float[] weights = new float[seqLength];
    read(tokensAt + 4L * i * (seqLength + 1), 4 * (seqLength + 1)).asIntBuffer().get(tokens);
    read(segmentsAt + 4L * i * seqLength, 4 * seqLength).asIntBuffer().get(segments);
    read(weightsAt + 4L * i * seqLength, 4 * seqLength).asFloatBuffer().get(weights);
    return new PackedBlock(tokens, segments, weights);
  }

  private ByteBuffer read(long position, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    channel.position(position);
    while (buf.hasRemaining()) {
      if (channel.read(buf) < 0) {
        throw new IOException(name + " ends before byte " + (position + length)
            + " (truncated). Re-run lorabeam preprocess into an empty --output directory.");
      }
    }
    return buf.flip();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
