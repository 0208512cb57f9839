package dev.lorabeam.transforms.read;

import dev.lorabeam.transforms.UserError;
import java.io.IOException;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * Detects a source file that changed while it was read (a nightly export still being written, a
 * file replaced under a glob): blocks made from half of one version and half of another would be
 * silently wrong, so the run stops with the file and the sizes instead.
 */
public final class SourceChange {
  private SourceChange() {}

  /** Thrown when a file's size or modification time moved during the read. */
  public static final class SourceChangedException extends UserError {
    private static final long serialVersionUID = 1L;

    public SourceChangedException(String message) {
      super(message);
    }
  }

  /**
   * @param before the file's metadata when it was matched, before reading
   * @param bytesRead bytes actually read from it
   */
  static void check(MatchResult.Metadata before, long bytesRead) throws IOException {
    String file = before.resourceId().toString();
    MatchResult.Metadata after = FileSystems.matchSingleFileSpec(file);
    boolean sizeMoved = bytesRead != before.sizeBytes() || after.sizeBytes() != before.sizeBytes();
    boolean timeMoved = before.lastModifiedMillis() != 0
        && after.lastModifiedMillis() != before.lastModifiedMillis();
    if (sizeMoved || timeMoved) {
      throw new SourceChangedException(file + " changed while it was being read ("
          + before.sizeBytes() + " bytes when listed, " + bytesRead + " read, "
          + after.sizeBytes() + " now" + (timeMoved ? ", modification time moved" : "")
          + "); no manifest was written. Re-run once the file is complete (write it under another "
          + "name and rename it into place).");
    }
  }
}
