package dev.lorabeam.pipeline.train;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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
import java.util.stream.Stream;

/**
 * The file operations a crash-safe checkpoint is made of: hash, fsync, atomic rename, recursive
 * delete, write-then-rename. IO failures are {@link UncheckedIOException}s naming the path.
 */
final class DurableFiles {

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

  /** Writes {@code bytes} to {@code file} and forces them to disk. */
  static void writeSynced(Path file, byte[] bytes) {
    try {
      Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    fsync(file);
  }

  /**
   * Replaces {@code target} by a copy of {@code source} so that readers see the old or the new
   * file, never a part: copy to a temp file beside the target, fsync, rename.
   */
  static void publish(Path source, Path target) {
    Path tmp = target.resolveSibling(".tmp-" + target.getFileName() + "-" + UUID.randomUUID());
    try {
      Files.copy(source, tmp);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + source + " to " + tmp, e);
    }
    fsync(tmp);
    move(tmp, target);
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
