package dev.lorabeam.transforms.shards;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: files are hashed while they stream, never held whole. */
public final class Digests {
  private Digests() {}

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  /** Hex SHA-256 and length of everything left in the stream, read 64 KiB at a time. */
  public static String[] hashStream(InputStream in) throws IOException {
    MessageDigest sha = sha256();
    byte[] buf = new byte[1 << 16];
    long n = 0;
    for (int r; (r = in.read(buf)) > 0; ) {
      sha.update(buf, 0, r);
      n += r;
    }
    return new String[] {HexFormat.of().formatHex(sha.digest()), Long.toString(n)};
  }

  /** Counts and hashes the bytes written through it. */
  public static final class Counting extends FilterOutputStream {
    private final MessageDigest sha = sha256();
    private long count;

    public Counting(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      sha.update((byte) b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      sha.update(b, off, len);
      count += len;
    }

    public long count() {
      return count;
    }

    public String hex() {
      return HexFormat.of().formatHex(sha.digest());
    }
  }
}
