package dev.lorabeam.transforms.read;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.transforms.read.DeadLetter.Reason;
import dev.lorabeam.transforms.read.Example.Format;
import dev.lorabeam.transforms.read.Example.Message;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns one raw JSONL line into an {@link Example} or a {@link DeadLetter}. Pure and stateless so
 * every rule can be unit-tested without a pipeline; each row is judged on its own.
 */
public final class ExampleParser implements Serializable {

  public static final Set<String> KNOWN_ROLES =
      Set.of("system", "user", "assistant", "tool", "ipython");
  /** Fields we interpret; everything else is passed through untouched. */
  private static final Set<String> KNOWN_FIELDS = Set.of(
      "text", "messages", "tools", "prompt", "completion", "auth_weight", "prov_entropy");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final int maxRowBytes;

  /** @param maxRowBytes rows longer than this (in UTF-8 bytes) are rejected as not sane */
  public ExampleParser(int maxRowBytes) {
    if (maxRowBytes < 16) {
      throw new IllegalArgumentException("maxRowBytes must be >= 16, got " + maxRowBytes);
    }
    this.maxRowBytes = maxRowBytes;
  }

  /** Thrown inside parsing to carry a reason; caught in {@link #parse}. */
  private static final class Bad extends Exception {
    final Reason reason;

    Bad(Reason reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  /** Either field is set, never both. */
  public record Outcome(Example example, DeadLetter deadLetter) {}

  /**
   * @param raw the line's bytes without the terminator; may be cut short at maxRowBytes + 1
   * @param fullLength the line's real length in bytes
   */
  public Outcome parse(String file, long line, byte[] raw, long fullLength) {
    String text = new String(raw, StandardCharsets.UTF_8);
    try {
      return new Outcome(parseChecked(file, line, raw, fullLength), null);
    } catch (Bad bad) {
      return new Outcome(null, new DeadLetter(file, line, bad.reason, bad.getMessage(), text));
    }
  }

  private Example parseChecked(String file, long line, byte[] raw, long fullLength) throws Bad {
    if (fullLength > maxRowBytes) {
      throw new Bad(Reason.ROW_TOO_LONG, "row is " + fullLength + " bytes, more than the "
          + maxRowBytes + " allowed; split the document or raise --max-row-bytes");
    }
    String text = decodeStrict(raw);
    if (text.isBlank()) {
      throw new Bad(Reason.EMPTY_LINE, "empty line; remove it (JSONL has one JSON object per line)");
    }
    JsonNode node = readWholeLine(text);
    if (node == null || !node.isObject()) {
      throw new Bad(Reason.NOT_AN_OBJECT, "row must be a JSON object like {\"text\": ...}, got "
          + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()));
    }
    return toExample(file, line, (ObjectNode) node);
  }

  /**
   * The line must be exactly one JSON value: whitespace may surround it, anything else after it
   * (text, a second object) makes the row TRAILING_CONTENT with the 1-based column where the
   * extra text starts, so nothing is silently dropped.
   */
  private static JsonNode readWholeLine(String text) throws Bad {
    JsonNode node;
    int end;
    try (JsonParser parser = JSON.getFactory().createParser(text)) {
      node = JSON.readTree(parser);
      end = (int) parser.currentLocation().getCharOffset();
    } catch (JsonProcessingException e) {
      throw new Bad(Reason.INVALID_JSON, "not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new Bad(Reason.INVALID_JSON, "not valid JSON: " + e.getMessage());
    }
    for (int i = Math.max(0, end); i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        throw new Bad(Reason.TRAILING_CONTENT, "text after the JSON value starts at column "
            + (i + 1) + ": '" + abbreviate(text.substring(i)) + "'; a JSONL line holds exactly one "
            + "object, put a second object on its own line and remove anything else");
      }
    }
    return node;
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "…";
  }

  private static String decodeStrict(byte[] raw) throws Bad {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(raw))
          .toString();
    } catch (CharacterCodingException e) {
      throw new Bad(Reason.INVALID_UTF8, "bytes are not valid UTF-8; re-encode the file as UTF-8");
    }
  }

  private Example toExample(String file, long line, ObjectNode row) throws Bad {
    Format format = detectFormat(row);
    Double auth = optionalNumber(row, "auth_weight");
    Double prov = optionalNumber(row, "prov_entropy");
    if (auth != null && !(auth >= 0 && auth <= 0.99)) {
      throw new Bad(Reason.OUT_OF_RANGE, "field 'auth_weight' is " + auth
          + " but must be in [0, 0.99]");
    }
    if (prov != null && !(prov >= 0)) {
      throw new Bad(Reason.OUT_OF_RANGE, "field 'prov_entropy' is " + prov + " but must be >= 0");
    }
    String passthrough = passthrough(row);
    return switch (format) {
      case TEXT -> new Example(file, line, format, requiredString(row, "text"), List.of(),
          null, null, null, auth, prov, passthrough);
      case CHAT -> new Example(file, line, format, null, messages(row), tools(row),
          null, null, auth, prov, passthrough);
      case COMPLETION -> new Example(file, line, format, null, List.of(), null,
          requiredString(row, "prompt"), requiredString(row, "completion"), auth, prov,
          passthrough);
    };
  }

  private static Format detectFormat(ObjectNode row) throws Bad {
    boolean text = row.has("text");
    boolean chat = row.has("messages");
    boolean completion = row.has("prompt") || row.has("completion");
    int shapes = (text ? 1 : 0) + (chat ? 1 : 0) + (completion ? 1 : 0);
    if (shapes == 0) {
      throw new Bad(Reason.UNKNOWN_FORMAT, "row has none of 'text', 'messages' or "
          + "'prompt'+'completion'; fields present: " + fieldNames(row));
    }
    if (shapes > 1) {
      throw new Bad(Reason.AMBIGUOUS_FORMAT, "row mixes formats (" + fieldNames(row)
          + "); keep exactly one of 'text', 'messages', 'prompt'+'completion'");
    }
    return text ? Format.TEXT : chat ? Format.CHAT : Format.COMPLETION;
  }

  private static String requiredString(JsonNode row, String field) throws Bad {
    JsonNode value = row.get(field);
    if (value == null || value.isNull()) {
      throw new Bad(Reason.MISSING_CONTENT, "field '" + field + "' is missing");
    }
    if (!value.isTextual()) {
      throw new Bad(Reason.WRONG_TYPE, "field '" + field + "' must be a string, got "
          + value.getNodeType().toString().toLowerCase());
    }
    if (value.asText().isBlank()) {
      throw new Bad(Reason.MISSING_CONTENT, "field '" + field + "' is empty");
    }
    return value.asText();
  }

  private static List<Message> messages(ObjectNode row) throws Bad {
    JsonNode array = row.get("messages");
    if (!array.isArray()) {
      throw new Bad(Reason.WRONG_TYPE, "field 'messages' must be an array of "
          + "{\"role\", \"content\"} objects");
    }
    if (array.isEmpty()) {
      throw new Bad(Reason.MISSING_CONTENT, "field 'messages' is an empty array");
    }
    List<Message> out = new ArrayList<>();
    boolean assistant = false;
    for (int i = 0; i < array.size(); i++) {
      Message m = message(array.get(i), i);
      assistant |= m.role().equals("assistant");
      out.add(m);
    }
    if (!assistant) {
      throw new Bad(Reason.MISSING_CONTENT, "field 'messages' has no 'assistant' turn, "
          + "so there is nothing to learn from this row");
    }
    return out;
  }

  private static Message message(JsonNode m, int index) throws Bad {
    String where = "messages[" + index + "]";
    if (!m.isObject()) {
      throw new Bad(Reason.WRONG_TYPE, where + " must be an object with 'role' and 'content'");
    }
    JsonNode role = m.get("role");
    JsonNode content = m.get("content");
    if (role == null || content == null || content.isNull()) {
      throw new Bad(Reason.MISSING_CONTENT, where + " needs both 'role' and 'content'");
    }
    if (!role.isTextual() || !content.isTextual()) {
      throw new Bad(Reason.WRONG_TYPE, where + ".role and .content must be strings");
    }
    if (!KNOWN_ROLES.contains(role.asText())) {
      throw new Bad(Reason.UNKNOWN_ROLE, where + ".role is '" + role.asText()
          + "'; allowed: " + new java.util.TreeSet<>(KNOWN_ROLES));
    }
    return new Message(role.asText(), content.asText());
  }

  private static String tools(ObjectNode row) throws Bad {
    JsonNode tools = row.get("tools");
    if (tools == null || tools.isNull()) {
      return null;
    }
    if (!tools.isArray()) {
      throw new Bad(Reason.WRONG_TYPE, "field 'tools' must be an array of tool schemas");
    }
    return tools.toString();
  }

  private static Double optionalNumber(ObjectNode row, String field) throws Bad {
    JsonNode value = row.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isNumber()) {
      throw new Bad(Reason.WRONG_TYPE, "field '" + field + "' must be a number, got "
          + value.getNodeType().toString().toLowerCase());
    }
    return value.asDouble();
  }

  private static String passthrough(ObjectNode row) {
    ObjectNode rest = JSON.createObjectNode();
    row.fields().forEachRemaining(e -> {
      if (!KNOWN_FIELDS.contains(e.getKey())) {
        rest.set(e.getKey(), e.getValue());
      }
    });
    return rest.toString();
  }

  private static String fieldNames(ObjectNode row) {
    List<String> names = new ArrayList<>();
    row.fieldNames().forEachRemaining(names::add);
    return names.toString();
  }
}
