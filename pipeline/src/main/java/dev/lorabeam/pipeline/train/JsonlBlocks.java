package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.BadRowReport;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.shards.WriteShards;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Stopgap until {@code train} on JSONL runs the preprocess composite itself: turns {@code --data}
 * JSONL into shards under {@code <adapter-path>/blocks/} (validation in {@code blocks/valid/}) with
 * the same steps {@code train} has always used ({@link TrainJob#prepare}), in a pipeline of its own
 * that finishes before training starts, so the trainer has one input: shards.
 */
final class JsonlBlocks {
  static final String DIR = "blocks";

  private JsonlBlocks() {}

  /** What the preparation left: the shard directory and the rows it rejected. */
  record Written(Path dir, BadRowReport badRows) {}

  static Written write(TrainConfig config, TrainData data, TextTokenizer tokenizer, double meanLemp,
      PipelineOptions options, String deadLetters) {
    Path dir = config.adapterDir().resolve(DIR);
    clean(dir);
    clean(dir.resolve("valid"));
    Pipeline p = Pipeline.create(options);
    TrainJob.Prepared train = TrainJob.prepare(p, "Train", data.train(), tokenizer, config, meanLemp);
    TrainJob.writeDeadLetters(train.deadLetters(), deadLetters);
    train.blocks().apply("TrainWriteShards", shards(dir, config, tokenizer, files(data)));
    if (data.valid() != null) {
      TrainJob.prepare(p, "Valid", List.of(data.valid()), tokenizer, config, meanLemp).blocks()
          .apply("ValidWriteShards", shards(dir.resolve("valid"), config, tokenizer, List.of(data.valid())));
    }
    PipelineResult result = p.run();
    result.waitUntilFinish();
    return new Written(dir, BadRowReport.from(result));
  }

  private static WriteShards shards(Path dir, TrainConfig config, TextTokenizer tokenizer, List<String> sources) {
    return WriteShards.to(dir, config.trainSeqLength(), tokenizer.fingerprint(), tokenizer.describe())
        .withSourceFiles(sources);
  }

  private static List<String> files(TrainData data) {
    try (Stream<Path> files = data.trainFiles()) {
      return files.map(Path::toString).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the --data files " + data.train(), e);
    }
  }

  /** The manifest first, so a preparation killed half-way never leaves a directory that looks finished. */
  private static void clean(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, "{shard-*.safetensors,.shard-*.tmp}")) {
      Files.deleteIfExists(dir.resolve(ShardManifest.FILE_NAME));
      for (Path f : old) {
        Files.delete(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear the old blocks in " + dir, e);
    }
  }
}
