package dev.lorabeam.transforms.read;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * One training row as read from a JSONL file, already validated by {@link ExampleParser}.
 *
 * <p>Exactly one of the three shapes is filled in, as told by {@link #format()}: {@code text};
 * {@code messages} (+ optional {@code tools} as raw JSON); or {@code prompt} + {@code completion}.
 * Fields the row carried that we do not interpret travel in {@code passthroughJson} (a JSON object)
 * so a later step (or the dead-letter file) can still see them.
 *
 * @param sourceFile the file the row came from, as matched
 * @param line 1-based line number in that file
 * @param authWeight distrust "authority weight" in [0, 0.99], or null when the row has none
 * @param provEntropy distrust "provenance entropy" in bits, >= 0, or null when the row has none
 */
@DefaultCoder(SerializableCoder.class)
public record Example(
    String sourceFile,
    long line,
    Format format,
    @Nullable String text,
    List<Message> messages,
    @Nullable String toolsJson,
    @Nullable String prompt,
    @Nullable String completion,
    @Nullable Double authWeight,
    @Nullable Double provEntropy,
    String passthroughJson)
    implements Serializable {

  /** Row shape, recognised per row (unlike mlx-lm, which looks at the first row only). */
  public enum Format {
    TEXT,
    CHAT,
    COMPLETION
  }

  /** One chat turn; roles are checked by the parser against {@link ExampleParser#KNOWN_ROLES}. */
  public record Message(String role, String content) implements Serializable {
    public Message {
      Objects.requireNonNull(role, "role");
      Objects.requireNonNull(content, "content");
    }
  }

  public Example {
    Objects.requireNonNull(sourceFile, "sourceFile");
    Objects.requireNonNull(format, "format");
    messages = messages == null ? List.of() : List.copyOf(messages);
    passthroughJson = passthroughJson == null ? "{}" : passthroughJson;
    if (line < 1) {
      throw new IllegalArgumentException("line must be 1-based, got " + line);
    }
    if (authWeight != null && !(authWeight >= 0 && authWeight <= 0.99)) {
      throw new IllegalArgumentException("auth_weight must be in [0, 0.99], got " + authWeight);
    }
    if (provEntropy != null && !(provEntropy >= 0)) {
      throw new IllegalArgumentException("prov_entropy must be >= 0, got " + provEntropy);
    }
  }

  /** A plain-text row, for tests and callers that build examples in code. */
  public static Example text(String file, long line, String text) {
    return new Example(file, line, Format.TEXT, text, List.of(), null, null, null, null, null, "{}");
  }

  /** A chat row, for tests and callers that build examples in code. */
  public static Example chat(String file, long line, List<Message> messages) {
    return new Example(
        file, line, Format.CHAT, null, messages, null, null, null, null, null, "{}");
  }

  /** A prompt/completion row, for tests and callers that build examples in code. */
  public static Example completion(String file, long line, String prompt, String completion) {
    return new Example(
        file, line, Format.COMPLETION, null, List.of(), null, prompt, completion, null, null, "{}");
  }

  /** Same row with distrust annotations attached. */
  public Example withDistrust(@Nullable Double authWeight, @Nullable Double provEntropy) {
    return new Example(sourceFile, line, format, text, messages, toolsJson, prompt, completion,
        authWeight, provEntropy, passthroughJson);
  }

  /** "file:line", the way every message in this project points at a row. */
  public String where() {
    return sourceFile + ":" + line;
  }
}
