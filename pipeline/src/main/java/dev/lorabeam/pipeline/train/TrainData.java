package dev.lorabeam.pipeline.train;

import dev.lorabeam.pipeline.cli.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * What {@code --data} names: a directory with {@code train.jsonl} (and optionally {@code
 * valid.jsonl}, or {@code val.jsonl} as the old tool called it), a directory of shards written by
 * {@code preprocess}, or JSONL files / a glob (training only, no validation). What identifies the
 * data for {@code --resume} is not these names but the blocks they become ({@link DataIdentity}).
 */
record TrainData(List<String> train, @Nullable String valid, @Nullable Path shards) {

  static TrainData resolve(String data) {
    Path path = Path.of(data);
    if (Files.isDirectory(path)) {
      if (Files.isRegularFile(path.resolve("manifest.json"))) {
        return new TrainData(List.of(), null, path);
      }
      Path train = path.resolve("train.jsonl");
      if (!Files.isRegularFile(train)) {
        throw new UserError("--data " + data + " is a directory without train.jsonl (nor a shard manifest.json): "
            + "put training rows in " + train + " or pass JSONL files");
      }
      Path valid = Files.isRegularFile(path.resolve("valid.jsonl")) ? path.resolve("valid.jsonl")
          : Files.isRegularFile(path.resolve("val.jsonl")) ? path.resolve("val.jsonl") : null;
      return new TrainData(List.of(train.toString()), valid == null ? null : valid.toString(), null);
    }
    boolean glob = data.contains("*") || data.contains("?");
    if (!glob && !Files.isRegularFile(path)) {
      throw new UserError("--data " + data + " does not exist: pass a directory with train.jsonl, JSONL files, or a shard directory");
    }
    return new TrainData(List.of(data.split(",")), null, null);
  }

  /** Every training file the patterns name (globs expanded in their directory). */
  Stream<Path> trainFiles() throws IOException {
    Stream<Path> files = Stream.empty();
    for (String pattern : train) {
      Path p = Path.of(pattern);
      if (Files.isRegularFile(p)) {
        files = Stream.concat(files, Stream.of(p));
      } else {
        Path dir = p.toAbsolutePath().getParent();
        var matcher = dir.getFileSystem().getPathMatcher("glob:" + p.getFileName());
        files = Stream.concat(files, Files.list(dir).filter(f -> matcher.matches(f.getFileName())).sorted());
      }
    }
    return files;
  }
}
