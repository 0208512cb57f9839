package dev.lorabeam.transforms.read;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/** Counts and hashes every byte that passes, so a file is hashed in the same pass that parses it. */
final class CountingDigestStream extends FilterInputStream {
  private final MessageDigest digest;
  private long count;

  CountingDigestStream(InputStream in, MessageDigest digest) {
    super(in);
    this.digest = digest;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      digest.update((byte) b);
      count++;
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = super.read(b, off, len);
    if (n > 0) {
      digest.update(b, off, n);
      count += n;
    }
    return n;
  }

  long count() {
    return count;
  }
}
