package dev.lorabeam.pipeline.train;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The file operations a crash-safe checkpoint is made of: hash, fsync, atomic rename, recursive
 * delete, write-then-rename. IO failures are {@link UncheckedIOException}s naming the path.
 */
final class DurableFiles {
  /** Writes left before the injected failure ({@link #failNthWrite}); 0 = none injected. */
  private static final AtomicInteger WRITES_UNTIL_FAILURE = new AtomicInteger();

  private DurableFiles() {}

  /** SHA-256 of a file's bytes, lower-case hex. */
  static String sha256(Path file) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * Test seam: the nth write from now on (1 = the next) of {@link #writeSynced} or {@link #publish}
   * throws the {@link IOException} {@code FileChannel.write} throws on a full disk; 0 = off.
   */
  static void failNthWrite(int nth) {
    WRITES_UNTIL_FAILURE.set(Math.max(nth, 0));
  }

  /** Writes {@code bytes} to {@code file} and forces them to disk; a failed write removes the file. */
  static void writeSynced(Path file, byte[] bytes) {
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        write(out, buffer);
      }
      out.force(true);
    } catch (IOException e) {
      deleteQuietly(file);
      throw new UncheckedIOException("cannot write " + file + " (" + bytes.length + " bytes)", e);
    }
  }

  /**
   * Replaces {@code target} by a copy of {@code source} so that readers see the old or the new
   * file, never a part: copy to a temp file beside the target, fsync, rename. A failed copy
   * removes the temp file and leaves {@code target} as it was.
   */
  static void publish(Path source, Path target) {
    Path tmp = target.resolveSibling(".tmp-" + target.getFileName() + "-" + UUID.randomUUID());
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
        FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
      while (in.read(buffer) > 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          write(out, buffer);
        }
        buffer.clear();
      }
      out.force(true);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException("cannot copy " + source + " to " + tmp + " (" + size(source) + " bytes)", e);
    }
    move(tmp, target);
  }

  private static void write(FileChannel out, ByteBuffer buffer) throws IOException {
    if (WRITES_UNTIL_FAILURE.get() > 0 && WRITES_UNTIL_FAILURE.decrementAndGet() == 0) {
      throw new IOException("No space left on device");  // what FileChannel.write says on ENOSPC
    }
    out.write(buffer);
  }

  /** Bytes of a file, or -1 when it cannot be read. */
  static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return -1;
    }
  }

  /** Bytes the current user may still write on the file system of {@code path}, or -1 if unknown. */
  static long usableSpace(Path path) {
    try {
      return Files.getFileStore(path).getUsableSpace();
    } catch (IOException e) {
      return -1;
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // The write already failed; that failure is the one to report.
    }
  }

  /** Forces a file's or directory's contents to disk (directories: best effort, not on Windows). */
  static void fsync(Path path) {
    boolean dir = Files.isDirectory(path);
    try (FileChannel channel =
        FileChannel.open(path, dir ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      channel.force(true);
    } catch (IOException e) {
      if (!dir) {
        throw new UncheckedIOException("cannot fsync " + path, e);
      }
    }
  }

  /** Atomic rename, replacing {@code to} if it exists. */
  static void move(Path from, Path to) {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new UncheckedIOException("the file system of " + to.getParent()
          + " cannot rename atomically; put --adapter-path on a local disk", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot rename " + from + " to " + to, e);
    }
  }

  /** Deletes a directory and everything under it; a missing one is fine. */
  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(p);
        } catch (NoSuchFileException gone) {
          // Deleted concurrently: the goal is reached.
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }
}
