package dev.lorabeam.transforms.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Cache keys for tokenizer files: name plus size and modification time of each file. */
final class SourceKeys {
  private SourceKeys() {}

  static String of(String name, Path... files) {
    StringBuilder key = new StringBuilder(name);
    for (Path f : files) {
      try {
        key.append('|').append(Files.size(f)).append('@').append(Files.getLastModifiedTime(f));
      } catch (IOException e) {
        key.append("|absent");
      }
    }
    return key.toString();
  }
}
