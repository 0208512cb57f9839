package dev.lorabeam.transforms.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.Iterator;
import java.util.Map;

/**
 * The {@code tojson} filter as Hugging Face templates see it: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent)}, i.e. ", " and ": " separators on one
 * line, or newlines and {@code indent} spaces with "," and ": ". Jinjava's own filter writes compact
 * JSON, which changes the tokens of every tool-calling prompt (Llama 3.1 uses
 * {@code tojson(indent=4)}).
 */
final class PythonJson implements Filter {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public String getName() {
    return "tojson";
  }

  @Override
  public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
    return dumps(var, -1);
  }

  @Override
  public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args,
      Map<String, Object> kwargs) {
    Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
    return dumps(var, indent == null ? -1 : Integer.parseInt(String.valueOf(indent)));
  }

  /** @param indent -1 for one line */
  static String dumps(Object value, int indent) {
    StringBuilder out = new StringBuilder();
    write(value, indent, 0, out);
    return out.toString();
  }

  private static void write(Object v, int indent, int depth, StringBuilder out) {
    if (v instanceof Map<?, ?> map) {
      writeItems("{", "}", map.entrySet().iterator(), map.isEmpty(), indent, depth, out);
    } else if (v instanceof Iterable<?> list) {
      writeItems("[", "]", list.iterator(), !list.iterator().hasNext(), indent, depth, out);
    } else if (v instanceof String || v instanceof Character) {
      out.append(quote(v.toString()));
    } else if (v == null) {
      out.append("null");
    } else if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite()) {
      out.append(String.format("%.1f", d)); // Python writes 1.0, not 1
    } else {
      out.append(v);
    }
  }

  private static void writeItems(String open, String close, Iterator<?> items, boolean empty,
      int indent, int depth, StringBuilder out) {
    out.append(open);
    if (empty) {
      out.append(close);
      return;
    }
    boolean first = true;
    while (items.hasNext()) {
      out.append(first ? "" : indent < 0 ? ", " : ",");
      first = false;
      newline(indent, depth + 1, out);
      Object item = items.next();
      if (item instanceof Map.Entry<?, ?> e) {
        out.append(quote(String.valueOf(e.getKey()))).append(": ");
        write(e.getValue(), indent, depth + 1, out);
      } else {
        write(item, indent, depth + 1, out);
      }
    }
    newline(indent, depth, out);
    out.append(close);
  }

  private static void newline(int indent, int depth, StringBuilder out) {
    if (indent >= 0) {
      out.append('\n').append(" ".repeat(indent * depth));
    }
  }

  private static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a string always serializes", e);
    }
  }
}
