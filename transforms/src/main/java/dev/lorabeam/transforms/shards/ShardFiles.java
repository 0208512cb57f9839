package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.shards.Safetensors.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One shard = one safetensors file with three tensors, N blocks of length T:
 * {@code tokens} I32 (N, T+1), {@code segments} I32 (N, T), {@code weights} F32 (N, T), and
 * metadata {format, format_version, seq_length, tokenizer_fingerprint}.
 */
public final class ShardFiles {
  private ShardFiles() {}

  public static void write(OutputStream out, List<PackedBlock> blocks, int seqLength,
      String tokenizerFingerprint) throws IOException {
    int n = blocks.size();
    ByteBuffer tokens = buffer((long) n * (seqLength + 1));
    ByteBuffer segments = buffer((long) n * seqLength);
    ByteBuffer weights = buffer((long) n * seqLength);
    for (PackedBlock b : blocks) {
      if (b.length() != seqLength) {
        throw new IllegalArgumentException("block of T=" + b.length() + " in shards of T="
            + seqLength);
      }
      tokens.asIntBuffer().put(b.tokens());
      tokens.position(tokens.position() + 4 * b.tokens().length);
      segments.asIntBuffer().put(b.segments());
      segments.position(segments.position() + 4 * seqLength);
      weights.asFloatBuffer().put(b.weights());
      weights.position(weights.position() + 4 * seqLength);
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    tensors.put("tokens", new Tensor("I32", new long[] {n, seqLength + 1}, tokens.flip()));
    tensors.put("segments", new Tensor("I32", new long[] {n, seqLength}, segments.flip()));
    tensors.put("weights", new Tensor("F32", new long[] {n, seqLength}, weights.flip()));
    Safetensors.write(out, tensors, Map.of(
        "format", "lorabeam-blocks",
        "format_version", String.valueOf(ShardManifest.FORMAT_VERSION),
        "seq_length", String.valueOf(seqLength),
        "tokenizer_fingerprint", tokenizerFingerprint));
  }

  /** Reads all blocks; checks T and the tokenizer against what the caller expects. */
  public static List<PackedBlock> read(InputStream in, String name, int seqLength,
      String tokenizerFingerprint) throws IOException {
    Safetensors.Contents c = Safetensors.read(in, name);
    String fp = c.metadata().get("tokenizer_fingerprint");
    String t = c.metadata().get("seq_length");
    if (!String.valueOf(seqLength).equals(t) || !tokenizerFingerprint.equals(fp)) {
      throw new IOException(name + " was written for T=" + t + " and tokenizer " + fp
          + ", not T=" + seqLength + " and " + tokenizerFingerprint + "; the shard directory "
          + "mixes runs. Re-run lorabeam preprocess into an empty --output directory.");
    }
    int[] tokens = c.tensors().get("tokens").ints();
    int[] segments = c.tensors().get("segments").ints();
    float[] weights = c.tensors().get("weights").floats();
    int n = segments.length / seqLength;
    List<PackedBlock> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(new PackedBlock(
          java.util.Arrays.copyOfRange(tokens, i * (seqLength + 1), (i + 1) * (seqLength + 1)),
          java.util.Arrays.copyOfRange(segments, i * seqLength, (i + 1) * seqLength),
          java.util.Arrays.copyOfRange(weights, i * seqLength, (i + 1) * seqLength)));
    }
    return out;
  }

  private static ByteBuffer buffer(long elements) {
    if (elements * 4 > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("shard of " + elements + " values is over 2 GB; "
          + "use more shards");
    }
    return ByteBuffer.allocate((int) (elements * 4)).order(ByteOrder.LITTLE_ENDIAN);
  }
}
