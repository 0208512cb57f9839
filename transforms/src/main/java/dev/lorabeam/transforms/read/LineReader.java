package dev.lorabeam.transforms.read;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Byte-level line splitter over a stream (a file is never held whole): keeps at most {@code keep}
 * bytes of a line (so a 2 GB line cannot exhaust memory) but still reports its full length. A
 * final line without '\n' counts; the empty "line" after a trailing '\n' does not. One trailing
 * '\r' is dropped (Windows line ends), and one UTF-8 byte-order mark at the very start of the
 * stream is skipped, so a file saved by Notepad keeps its first row.
 */
public final class LineReader {
  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

  private final InputStream in;
  private final int keep;
  private byte[] buf = new byte[256];
  private int kept;
  private long length;
  private boolean first = true;

  public LineReader(InputStream in, int keep) {
    this.in = in;
    this.keep = keep;
  }

  public boolean next() throws IOException {
    kept = 0;
    length = 0;
    int b;
    while ((b = in.read()) != -1 && b != '\n') {
      if (length++ < keep) {
        if (kept == buf.length) {
          buf = Arrays.copyOf(buf, Math.min(Math.max(keep, 1), buf.length * 2));
        }
        buf[kept++] = (byte) b;
      }
    }
    if (b == -1 && length == 0) {
      return false;
    }
    if (first) {
      first = false;
      if (kept >= 3 && Arrays.equals(buf, 0, 3, BOM, 0, 3)) {
        System.arraycopy(buf, 3, buf, 0, kept - 3);
        kept -= 3;
        length -= 3;
      }
    }
    if (length > 0 && length == kept && buf[kept - 1] == '\r') {
      length--;
      kept--;
    }
    return true;
  }

  /** The kept bytes of the line, without '\n', the trailing '\r' or a leading BOM. */
  public byte[] bytes() {
    return Arrays.copyOf(buf, kept);
  }

  /** The line's real length in bytes (may exceed what was kept). */
  public long fullLength() {
    return length;
  }
}
