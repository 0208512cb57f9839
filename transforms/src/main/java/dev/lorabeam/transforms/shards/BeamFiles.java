package dev.lorabeam.transforms.shards;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions.StandardMoveOptions;
import org.apache.beam.sdk.io.fs.ResolveOptions.StandardResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.util.MimeTypes;

/**
 * Shard and manifest files go through Beam's {@link FileSystems}, so a local path works today and
 * any scheme a Beam filesystem module registers (gs://, s3://, hdfs://) works without code
 * changes. Files are written under a temporary name and renamed into place: a reader never sees
 * half a file.
 */
public final class BeamFiles {
  private BeamFiles() {}

  /** Writes one file's bytes. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  public static ResourceId dir(String dir) {
    return FileSystems.matchNewResource(dir, true);
  }

  public static ResourceId file(String dir, String name) {
    return dir(dir).resolve(name, StandardResolveOptions.RESOLVE_FILE);
  }

  /** Writes {@code dir/name} as {@code dir/.name.UUID.tmp}, then renames it into place. */
  public static void writeAtomically(String dir, String name, Writer writer) throws IOException {
    ResourceId target = file(dir, name);
    ResourceId tmp = file(dir, "." + name + "." + UUID.randomUUID() + ".tmp");
    try (OutputStream out = Channels.newOutputStream(FileSystems.create(tmp, MimeTypes.BINARY))) {
      writer.write(out);
    } catch (IOException | RuntimeException e) {
      FileSystems.delete(List.of(tmp), StandardMoveOptions.IGNORE_MISSING_FILES);
      throw e;
    }
    FileSystems.rename(List.of(tmp), List.of(target));
  }

  public static InputStream open(String dir, String name) throws IOException {
    return Channels.newInputStream(FileSystems.open(file(dir, name)));
  }

  public static String readString(String dir, String name) throws IOException {
    try (InputStream in = open(dir, name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  public static boolean exists(String dir, String name) {
    return !matching(dir, name).isEmpty();
  }

  /** Size in bytes, or -1 when the file does not exist. */
  public static long size(String dir, String name) {
    List<MatchResult.Metadata> m = matching(dir, name);
    return m.isEmpty() ? -1 : m.get(0).sizeBytes();
  }

  /** Files in {@code dir} matching a glob such as {@code shard-*.safetensors}. */
  public static List<MatchResult.Metadata> matching(String dir, String glob) {
    try {
      MatchResult r = FileSystems.match(file(dir, glob).toString(), EmptyMatchTreatment.ALLOW);
      return r.status() == MatchResult.Status.OK ? r.metadata() : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** Deletes whatever in {@code dir} matches the globs; missing files are fine. */
  public static void deleteMatching(String dir, String... globs) throws IOException {
    List<ResourceId> ids = new ArrayList<>();
    for (String g : globs) {
      matching(dir, g).forEach(m -> ids.add(m.resourceId()));
    }
    FileSystems.delete(ids, StandardMoveOptions.IGNORE_MISSING_FILES);
  }
}
