package dev.lorabeam.pipeline.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.tokenizer.GgufMetadata;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer (and context length) keys of an exported GGUF, in the typed JSON form
 * {@code {"key": {"type": "str" | "str[]" | "u32" | "i32[]" | "f32[]" | "bool" | ..., "value": ...}}}
 * that the native fuse writes. A GGUF base gives its own {@code tokenizer.*} keys back unchanged; a
 * Hugging Face base's byte-level BPE {@code tokenizer.json} becomes llama.cpp's "gpt2" tokenizer
 * (tokens by id, token types, merges, BOS/EOS ids, chat template), as convert_hf_to_gguf.py writes it.
 */
public final class GgufTokenizerKeys {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int NORMAL = 1;
  private static final int CONTROL = 3;
  private static final int USER_DEFINED = 4;

  private GgufTokenizerKeys() {}

  /** Every {@code tokenizer.*} key of the base GGUF plus its context length. */
  public static String fromGguf(Path gguf) throws IOException {
    ObjectNode out = JSON.createObjectNode();
    for (Map.Entry<String, Object> e : GgufMetadata.read(gguf).asMap().entrySet()) {
      String key = e.getKey();
      if (key.startsWith("tokenizer.") || key.equals("llama.context_length")) {
        typed(out, key, e.getValue());
      }
    }
    return JSON.writeValueAsString(out);
  }

  /** llama.cpp's "gpt2" tokenizer keys from a byte-level BPE tokenizer.json. */
  public static String fromHfDir(Path dir, TextTokenizer tokenizer, long contextLength, int modelVocab)
      throws IOException {
    JsonNode tj = JSON.readTree(dir.resolve("tokenizer.json").toFile());
    JsonNode model = tj.path("model");
    if (!"BPE".equals(model.path("type").asText()) || model.path("byte_fallback").asBoolean(false)) {
      throw new UserError(dir.resolve("tokenizer.json") + ": --export-gguf writes byte-level BPE tokenizers "
          + "(Llama 3, SmolLM2, Qwen2); this one is " + model.path("type").asText("?")
          + (model.path("byte_fallback").asBoolean(false) ? " with byte fallback (SentencePiece-style)" : ""));
    }
    int size = Math.max(tokenizer.vocabSize(), modelVocab);  // GGUF: one token per embedding row
    String[] tokens = new String[size];
    int[] types = new int[size];
    model.path("vocab").fields().forEachRemaining(e -> put(tokens, types, e.getValue().asInt(), e.getKey(), NORMAL));
    for (JsonNode t : tj.path("added_tokens")) {
      put(tokens, types, t.path("id").asInt(), t.path("content").asText(),
          t.path("special").asBoolean() ? CONTROL : USER_DEFINED);
    }
    for (int i = 0; i < size; i++) {
      if (tokens[i] == null) {
        put(tokens, types, i, "[PAD" + i + "]", USER_DEFINED);  // ids the tokenizer never produces
      }
    }
    ObjectNode out = JSON.createObjectNode();
    put(out, "tokenizer.ggml.model", "str", JSON.valueToTree("gpt2"));
    put(out, "tokenizer.ggml.pre", "str", JSON.valueToTree("default"));
    put(out, "tokenizer.ggml.tokens", "str[]", JSON.valueToTree(tokens));
    put(out, "tokenizer.ggml.token_type", "i32[]", JSON.valueToTree(types));
    put(out, "tokenizer.ggml.merges", "str[]", merges(model.path("merges")));
    if (tokenizer.bosToken() != null) {
      put(out, "tokenizer.ggml.bos_token_id", "u32", JSON.valueToTree(tokenizer.bosId()));
    }
    put(out, "tokenizer.ggml.eos_token_id", "u32", JSON.valueToTree(tokenizer.eosId()));
    if (tokenizer.chatTemplate() != null) {
      put(out, "tokenizer.chat_template", "str", JSON.valueToTree(tokenizer.chatTemplate()));
    }
    if (contextLength > 0) {
      put(out, "llama.context_length", "u32", JSON.valueToTree(contextLength));
    }
    return JSON.writeValueAsString(out);
  }

  /** Merges as "a b" strings, whether tokenizer.json stores strings or [a, b] pairs. */
  private static ArrayNode merges(JsonNode merges) {
    ArrayNode out = JSON.createArrayNode();
    for (JsonNode m : merges) {
      out.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
    }
    return out;
  }

  private static void put(String[] tokens, int[] types, int id, String token, int type) {
    if (id >= 0 && id < tokens.length) {
      tokens[id] = token;
      types[id] = type;
    }
  }

  private static void put(ObjectNode out, String key, String type, JsonNode value) {
    out.putObject(key).put("type", type).set("value", value);
  }

  /** GgufMetadata widens integers to Long and floats to Double; GGUF's own key types are restored by name. */
  private static void typed(ObjectNode out, String key, Object v) {
    if (v instanceof String s) {
      put(out, key, "str", JSON.valueToTree(s));
    } else if (v instanceof Boolean b) {
      put(out, key, "bool", JSON.valueToTree(b));
    } else if (v instanceof Long l) {
      put(out, key, "u32", JSON.valueToTree(l));
    } else if (v instanceof Double d) {
      put(out, key, "f32", JSON.valueToTree(d));
    } else if (v instanceof List<?> list && !list.isEmpty()) {
      Object first = list.get(0);
      String type = first instanceof String ? "str[]" : first instanceof Double ? "f32[]" : "i32[]";
      put(out, key, type, JSON.valueToTree(list));
    }
  }

  /** {@code key} of a Hugging Face config.json as a number (max_position_embeddings, vocab_size), or 0. */
  public static long configNumber(Path dir, String key) throws IOException {
    Path config = dir.resolve("config.json");
    return Files.isRegularFile(config) ? JSON.readTree(config.toFile()).path(key).asLong(0) : 0;
  }
}
