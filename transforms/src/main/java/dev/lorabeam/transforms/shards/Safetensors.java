package dev.lorabeam.transforms.shards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Minimal safetensors reader/writer (https://github.com/huggingface/safetensors): 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
 * padded with spaces to 8 bytes, then the raw little-endian tensor bytes. Only I32 and F32.
 */
public final class Safetensors {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_HEADER = 100L << 20;

  private Safetensors() {}

  /** One tensor: dtype "I32" or "F32", shape, and exactly prod(shape) * 4 bytes, little-endian. */
  public record Tensor(String dtype, long[] shape, ByteBuffer data) {
    public Tensor {
      long n = 4;
      for (long d : shape) {
        n *= d;
      }
      if (!dtype.equals("I32") && !dtype.equals("F32")) {
        throw new IllegalArgumentException("only I32 and F32 tensors are supported, got " + dtype);
      }
      if (data.remaining() != n) {
        throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(shape)
            + " needs " + n + " bytes, got " + data.remaining());
      }
    }

    public int[] ints() {
      int[] out = new int[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
      return out;
    }

    public float[] floats() {
      float[] out = new float[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      return out;
    }
  }

  /** A file's tensors (in header order) and its string metadata. */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

  public static void write(OutputStream out, Map<String, Tensor> tensors,
      Map<String, String> metadata) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    ObjectNode meta = header.putObject("__metadata__");
    // Sorted: Map.of iterates in a per-JVM order, and shard files must be byte-identical across runs and runners.
    new TreeMap<>(metadata).forEach(meta::put);
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", e.getValue().dtype());
      for (long d : e.getValue().shape()) {
        t.withArray("shape").add(d);
      }
      long end = offset + e.getValue().data().remaining();
      t.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
    out.write(len.array());
    out.write(json);
    out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
    for (Tensor t : tensors.values()) {
      ByteBuffer d = t.data().duplicate();
      byte[] bytes = new byte[d.remaining()];
      d.get(bytes);
      out.write(bytes);
    }
  }

  public static Contents read(InputStream in, String name) throws IOException {
    byte[] lenBytes = in.readNBytes(8);
    if (lenBytes.length < 8) {
      throw new IOException(name + " is too short to be a safetensors file");
    }
    long headerLength = ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (headerLength <= 0 || headerLength > MAX_HEADER) {
      throw new IOException(name + " has a safetensors header of " + headerLength
          + " bytes; the file is not safetensors or is corrupt");
    }
    JsonNode header = JSON.readTree(in.readNBytes((int) headerLength));
    byte[] data = in.readAllBytes();
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) header::fields) {
      if (e.getKey().equals("__metadata__")) {
        e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      tensors.put(e.getKey(), tensor(e.getValue(), data, name + ":" + e.getKey()));
    }
    return new Contents(tensors, metadata);
  }

  private static Tensor tensor(JsonNode spec, byte[] data, String what) throws IOException {
    JsonNode shapeNode = spec.path("shape");
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asLong();
    }
    long start = spec.path("data_offsets").path(0).asLong(-1);
    long end = spec.path("data_offsets").path(1).asLong(-1);
    if (start < 0 || end < start || end > data.length) {
      throw new IOException(what + ": data offsets [" + start + ", " + end
          + ") fall outside the " + data.length + " data bytes; the file is truncated");
    }
    ByteBuffer slice = ByteBuffer.wrap(data, (int) start, (int) (end - start)).slice();
    return new Tensor(spec.path("dtype").asText(), shape, slice.order(ByteOrder.LITTLE_ENDIAN));
  }
}
