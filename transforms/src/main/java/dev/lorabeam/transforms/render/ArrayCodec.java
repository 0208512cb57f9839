package dev.lorabeam.transforms.render;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.beam.sdk.util.VarInt;

/**
 * Length-prefixed primitive arrays for the explicit coders: a varint count, then 4 bytes per
 * element, little-endian (the same byte order as the shard files).
 */
public final class ArrayCodec {
  private ArrayCodec() {}

  public static void writeInts(int[] values, OutputStream out) throws IOException {
    VarInt.encode(values.length, out);
    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.asIntBuffer().put(values);
    out.write(buf.array());
  }

  public static void writeFloats(float[] values, OutputStream out) throws IOException {
    VarInt.encode(values.length, out);
    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    out.write(buf.array());
  }

  public static int[] readInts(InputStream in) throws IOException {
    ByteBuffer buf = readBlock(in);
    int[] values = new int[buf.remaining() / 4];
    buf.asIntBuffer().get(values);
    return values;
  }

  public static float[] readFloats(InputStream in) throws IOException {
    ByteBuffer buf = readBlock(in);
    float[] values = new float[buf.remaining() / 4];
    buf.asFloatBuffer().get(values);
    return values;
  }

  private static ByteBuffer readBlock(InputStream in) throws IOException {
    int n = VarInt.decodeInt(in);
    if (n < 0 || n > (Integer.MAX_VALUE / 4)) {
      throw new IOException("corrupt array length " + n);
    }
    byte[] bytes = new byte[4 * n];
    try {
      new DataInputStream(in).readFully(bytes);
    } catch (EOFException e) {
      throw new IOException("array of " + n + " elements cut short", e);
    }
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }
}
