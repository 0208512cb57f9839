package dev.lorabeam.transforms.read;

import dev.lorabeam.transforms.shards.BeamFiles;
import dev.lorabeam.transforms.shards.ShardManifest;
import java.nio.file.Path;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Writes dead letters as one JSONL file ({@code dead-letters.jsonl}) in a directory, one
 * {@link DeadLetter#toJson()} object per line. The file is written even when empty, so its
 * absence never has to be interpreted.
 */
public final class DeadLetterSink extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String dir;

  private DeadLetterSink(String dir) {
    this.dir = dir;
  }

  public static DeadLetterSink to(Path dir) {
    return new DeadLetterSink(dir.toAbsolutePath().toString());
  }

  /** @param dir a local path or any URI a Beam filesystem module handles */
  public static DeadLetterSink to(String dir) {
    return new DeadLetterSink(dir);
  }

  /** Where the file lands. */
  public static Path file(Path dir) {
    return dir.resolve(ShardManifest.DEAD_LETTERS_FILE);
  }

  public static String file(String dir) {
    return BeamFiles.file(dir, ShardManifest.DEAD_LETTERS_FILE).toString();
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    String name = ShardManifest.DEAD_LETTERS_FILE;
    return deadLetters
        .apply("ToJson", MapElements.into(TypeDescriptors.strings()).via(DeadLetter::toJson))
        .apply("WriteJsonl", TextIO.write()
            .to(BeamFiles.file(dir, name.substring(0, name.length() - ".jsonl".length())).toString())
            .withSuffix(".jsonl")
            .withoutSharding());
  }
}
