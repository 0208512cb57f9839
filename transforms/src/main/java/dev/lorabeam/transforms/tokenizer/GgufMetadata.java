package dev.lorabeam.transforms.tokenizer;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the key/value metadata of a GGUF file (v2/v3): header, then KV pairs including arrays.
 * Stops before the tensor infos and tensor data, so reading a multi-GB model costs a few MB.
 * Layout per https://github.com/ggml-org/ggml/blob/master/docs/gguf.md, all little-endian.
 */
public final class GgufMetadata {
  private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
  private static final long MAX_STRING = 64L << 20;

  private final Map<String, Object> values;
  private final int version;

  private GgufMetadata(int version, Map<String, Object> values) {
    this.version = version;
    this.values = values;
  }

  public static GgufMetadata read(Path file) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
      return read(new DataInputStream(in), file.toString());
    }
  }

  private static GgufMetadata read(DataInputStream in, String name) throws IOException {
    try {
      if (u32(in) != MAGIC) {
        throw new IOException(name + " is not a GGUF file (bad magic); pass a .gguf model file");
      }
      int version = (int) u32(in);
      if (version < 2 || version > 3) {
        throw new IOException(name + " is GGUF version " + version + "; only 2 and 3 are read");
      }
      u64(in); // tensor count: not needed for metadata
      long kvCount = u64(in);
      Map<String, Object> values = new LinkedHashMap<>();
      for (long i = 0; i < kvCount; i++) {
        String key = string(in);
        values.put(key, value(in, (int) u32(in)));
      }
      return new GgufMetadata(version, values);
    } catch (EOFException e) {
      throw new IOException(name + " ends inside its GGUF metadata; the file is truncated", e);
    }
  }

  /** Value types 0..12 of the GGUF spec; integers widen to Long, floats to Double. */
  private static Object value(DataInputStream in, int type) throws IOException {
    return switch (type) {
      case 0 -> (long) in.readUnsignedByte();
      case 1 -> (long) in.readByte();
      case 2 -> (long) Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
      case 3 -> (long) Short.reverseBytes(in.readShort());
      case 4 -> u32(in);
      case 5 -> (long) Integer.reverseBytes(in.readInt());
      case 6 -> (double) Float.intBitsToFloat(Integer.reverseBytes(in.readInt()));
      case 7 -> in.readUnsignedByte() != 0;
      case 8 -> string(in);
      case 9 -> array(in);
      case 10, 11 -> u64(in);
      case 12 -> Double.longBitsToDouble(Long.reverseBytes(in.readLong()));
      default -> throw new IOException("unknown GGUF value type " + type);
    };
  }

  private static List<Object> array(DataInputStream in) throws IOException {
    int type = (int) u32(in);
    long n = u64(in);
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new IOException("GGUF array of " + n + " elements is not plausible");
    }
    List<Object> out = new ArrayList<>((int) n);
    for (long i = 0; i < n; i++) {
      out.add(value(in, type));
    }
    return out;
  }

  private static String string(DataInputStream in) throws IOException {
    long len = u64(in);
    if (len < 0 || len > MAX_STRING) {
      throw new IOException("GGUF string of " + len + " bytes is not plausible");
    }
    return new String(in.readNBytes((int) len), StandardCharsets.UTF_8);
  }

  private static long u32(DataInputStream in) throws IOException {
    return Integer.toUnsignedLong(Integer.reverseBytes(in.readInt()));
  }

  private static long u64(DataInputStream in) throws IOException {
    return Long.reverseBytes(in.readLong());
  }

  public int version() {
    return version;
  }

  public boolean has(String key) {
    return values.containsKey(key);
  }

  public Object get(String key) {
    Object v = values.get(key);
    if (v == null) {
      throw new IllegalArgumentException("GGUF metadata has no '" + key + "'");
    }
    return v;
  }

  public String getString(String key) {
    return (String) get(key);
  }

  public long getLong(String key, long fallback) {
    return has(key) ? ((Number) get(key)).longValue() : fallback;
  }

  public boolean getBool(String key, boolean fallback) {
    return has(key) ? (Boolean) get(key) : fallback;
  }

  @SuppressWarnings("unchecked")
  public <T> List<T> getList(String key) {
    return (List<T>) get(key);
  }

  public Map<String, Object> asMap() {
    return java.util.Collections.unmodifiableMap(values);
  }
}
