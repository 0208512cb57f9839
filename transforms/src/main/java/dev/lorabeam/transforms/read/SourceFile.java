package dev.lorabeam.transforms.read;

import java.io.Serializable;
import java.util.Objects;

/**
 * One input file as it was read: its path, bytes read and the SHA-256 of those bytes (computed
 * while the lines streamed past, never by holding the file), and how many lines it had. The shard
 * manifest lists these, so a shard directory says exactly what it was made from.
 */
public record SourceFile(String file, long bytes, String sha256, long lines)
    implements Serializable, Comparable<SourceFile> {

  public SourceFile {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(sha256, "sha256");
  }

  /** The file's name without its directory: what packing and fingerprints use. */
  public String name() {
    int slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
    return file.substring(slash + 1);
  }

  @Override
  public int compareTo(SourceFile o) {
    return file.compareTo(o.file);
  }
}
