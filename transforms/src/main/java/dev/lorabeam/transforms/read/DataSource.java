package dev.lorabeam.transforms.read;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * Resolves a {@code --data} value to splits of JSONL files: a directory with
 * {@code train.jsonl} (+ {@code valid.jsonl}, or {@code val.jsonl} as the old tool named it),
 * a directory of other *.jsonl files (all training data), a single file, or a glob.
 */
public final class DataSource {
  public static final String TRAIN = "train";
  public static final String VALID = "valid";

  private DataSource() {}

  /** Split name ("train", "valid") to the file patterns of that split, train first. */
  public static Map<String, List<String>> splits(String data) {
    Map<String, List<String>> splits = new LinkedHashMap<>();
    Path path = Path.of(data);
    if (Files.isDirectory(path)) {
      Path train = path.resolve("train.jsonl");
      if (Files.isRegularFile(train)) {
        splits.put(TRAIN, List.of(train.toString()));
        for (String v : new String[] {"valid.jsonl", "val.jsonl"}) {
          if (Files.isRegularFile(path.resolve(v)) && !splits.containsKey(VALID)) {
            splits.put(VALID, List.of(path.resolve(v).toString()));
          }
        }
      } else {
        splits.put(TRAIN, List.of(path.resolve("*.jsonl").toString()));
      }
    } else if (Files.isRegularFile(path) || isGlob(data)) {
      splits.put(TRAIN, List.of(data));
    } else {
      throw new IllegalArgumentException("--data '" + data + "' does not exist; pass a JSONL "
          + "file, a glob like 'data/*.jsonl', or a directory with train.jsonl and valid.jsonl");
    }
    splits.values().forEach(p -> matchedFiles(p, data));
    return splits;
  }

  /** The files the patterns match now, sorted; fails with the pattern when one matches nothing. */
  public static List<String> matchedFiles(List<String> patterns, String flag) {
    List<String> files = new ArrayList<>();
    try {
      for (MatchResult r : FileSystems.match(patterns)) {
        if (r.status() != MatchResult.Status.OK || r.metadata().isEmpty()) {
          throw new IllegalArgumentException("--data '" + flag + "' matches no JSONL files");
        }
        r.metadata().forEach(m -> files.add(m.resourceId().toString()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list --data '" + flag + "'", e);
    }
    files.sort(null);
    return files;
  }

  /** Bytes of input, for throughput numbers. */
  public static long totalBytes(List<String> files) {
    return files.stream().mapToLong(f -> {
      try {
        return Files.size(Path.of(f));
      } catch (IOException e) {
        return 0;
      }
    }).sum();
  }

  private static boolean isGlob(String s) {
    return Stream.of("*", "?", "[", "{").anyMatch(s::contains);
  }
}
