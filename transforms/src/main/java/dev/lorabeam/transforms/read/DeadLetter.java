package dev.lorabeam.transforms.read;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * A row we could not use: where it was, why, and the raw text (truncated to
 * {@link #MAX_RAW_CHARS} so one giant bad row cannot blow up the dead-letter file).
 *
 * @param detail one human sentence naming the field and the fix
 */
@DefaultCoder(DeadLetter.DeadLetterCoder.class)
public record DeadLetter(String file, long line, Reason reason, String detail, String raw)
    implements java.io.Serializable {

  public static final int MAX_RAW_CHARS = 2000;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Every kind of bad row; the name is also the metric suffix and the JSONL {@code reason}. */
  public enum Reason {
    EMPTY_LINE,
    INVALID_UTF8,
    INVALID_JSON,
    /** More text after the line's JSON object (a second object, or anything else). */
    TRAILING_CONTENT,
    NOT_AN_OBJECT,
    ROW_TOO_LONG,
    UNKNOWN_FORMAT,
    AMBIGUOUS_FORMAT,
    WRONG_TYPE,
    MISSING_CONTENT,
    UNKNOWN_ROLE,
    OUT_OF_RANGE,
    TEMPLATE_ERROR
  }

  public DeadLetter {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(reason, "reason");
    detail = detail == null ? "" : detail;
    raw = raw == null ? "" : raw;
    if (raw.length() > MAX_RAW_CHARS) {
      raw = raw.substring(0, MAX_RAW_CHARS) + "…[truncated]";
    }
  }

  /** One JSONL line: {"file","line","reason","detail","raw"}. */
  public String toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("file", file).put("line", line).put("reason", reason.name());
    node.put("detail", detail).put("raw", raw);
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot happen for a tree of strings", e);
    }
  }

  /** "file:line: REASON: detail", for logs and summaries. */
  @Override
  public String toString() {
    return file + ":" + line + ": " + reason + ": " + detail;
  }

  /** Explicit, compact coder: Beam never falls back to Java serialization for dead letters. */
  public static final class DeadLetterCoder extends AtomicCoder<DeadLetter> {
    private static final StringUtf8Coder STRING = StringUtf8Coder.of();
    private static final VarLongCoder LONG = VarLongCoder.of();

    public static DeadLetterCoder of() {
      return new DeadLetterCoder();
    }

    @Override
    public void encode(DeadLetter value, OutputStream out) throws IOException {
      STRING.encode(value.file(), out);
      LONG.encode(value.line(), out);
      STRING.encode(value.reason().name(), out);
      STRING.encode(value.detail(), out);
      STRING.encode(value.raw(), out);
    }

    @Override
    public DeadLetter decode(InputStream in) throws IOException {
      String file = STRING.decode(in);
      long line = LONG.decode(in);
      Reason reason = Reason.valueOf(STRING.decode(in));
      return new DeadLetter(file, line, reason, STRING.decode(in), STRING.decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
