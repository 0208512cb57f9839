package dev.lorabeam.transforms.shards;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Copies every byte read into a sink (a hashing stream), so a file is verified as it is read. */
final class TeeInputStream extends FilterInputStream {
  private final OutputStream sink;

  TeeInputStream(InputStream in, OutputStream sink) {
    super(in);
    this.sink = sink;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      sink.write(b);
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = super.read(b, off, len);
    if (n > 0) {
      sink.write(b, off, n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    throw new IOException("skip would bypass the hash");
  }
}
