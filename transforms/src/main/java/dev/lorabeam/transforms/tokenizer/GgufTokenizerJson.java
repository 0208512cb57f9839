package dev.lorabeam.transforms.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Turns a GGUF file's {@code tokenizer.ggml.*} metadata into a Hugging Face {@code tokenizer.json}
 * (byte-level BPE), so the well-kept Rust library does the BPE itself and we only translate.
 *
 * <p>The pre-tokenizer follows {@code tokenizer.ggml.pre} the way llama.cpp's converter names
 * them: {@code smollm} (SmolLM/SmolLM2: digits split one by one, then the GPT-2 regex),
 * {@code gpt2}/{@code default} (GPT-2 regex), {@code llama-bpe} (Llama 3 regex).
 */
final class GgufTokenizerJson {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final int TYPE_CONTROL = 3;
  private static final int TYPE_USER_DEFINED = 4;
  static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
      + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private GgufTokenizerJson() {}

  static byte[] convert(GgufMetadata meta, String name) throws java.io.IOException {
    String model = meta.getString("tokenizer.ggml.model");
    if (!model.equals("gpt2")) {
      throw new IllegalArgumentException(name + " uses tokenizer model '" + model + "'; only "
          + "byte-level BPE ('gpt2') GGUF tokenizers are converted. Pass the model's "
          + "tokenizer.json with --tokenizer instead.");
    }
    List<String> tokens = meta.getList("tokenizer.ggml.tokens");
    List<Object> types = meta.has("tokenizer.ggml.token_type")
        ? meta.getList("tokenizer.ggml.token_type") : List.of();
    ObjectNode root = F.objectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    root.set("added_tokens", addedTokens(tokens, types));
    root.putNull("normalizer");
    root.set("pre_tokenizer", preTokenizer(meta.has("tokenizer.ggml.pre")
        ? meta.getString("tokenizer.ggml.pre") : "default", name));
    root.set("post_processor", postProcessor(meta, tokens));
    root.set("decoder", byteLevel(true));
    root.set("model", bpe(tokens, meta.getList("tokenizer.ggml.merges")));
    return new ObjectMapper().writeValueAsBytes(root);
  }

  private static ArrayNode addedTokens(List<String> tokens, List<Object> types) {
    ArrayNode added = F.arrayNode();
    for (int id = 0; id < types.size(); id++) {
      int type = ((Number) types.get(id)).intValue();
      if (type == TYPE_CONTROL || type == TYPE_USER_DEFINED) {
        ObjectNode t = added.addObject();
        t.put("id", id).put("content", tokens.get(id)).put("single_word", false)
            .put("lstrip", false).put("rstrip", false).put("normalized", false)
            .put("special", type == TYPE_CONTROL);
      }
    }
    return added;
  }

  private static ObjectNode preTokenizer(String pre, String name) {
    ObjectNode seq = F.objectNode().put("type", "Sequence");
    ArrayNode list = seq.putArray("pretokenizers");
    switch (pre) {
      case "smollm" -> {
        list.addObject().put("type", "Digits").put("individual_digits", true);
        list.add(byteLevel(false).put("use_regex", true));
      }
      case "gpt2", "default" -> list.add(byteLevel(false).put("use_regex", true));
      case "llama-bpe", "llama3" -> {
        ObjectNode split = list.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", LLAMA3_REGEX);
        split.put("behavior", "Isolated").put("invert", false);
        list.add(byteLevel(false).put("use_regex", false));
      }
      default -> throw new IllegalArgumentException(name + " has pre-tokenizer '" + pre
          + "', which this converter does not know (smollm, gpt2, default, llama-bpe). "
          + "Pass the model's tokenizer.json with --tokenizer instead.");
    }
    return seq;
  }

  private static ObjectNode byteLevel(boolean decoder) {
    ObjectNode b = F.objectNode().put("type", "ByteLevel");
    b.put("add_prefix_space", decoder).put("trim_offsets", true);
    if (decoder) {
      b.put("use_regex", true);
    }
    return b;
  }

  /** Adds BOS/EOS on encode(addSpecial=true) only where the GGUF asks for it. */
  private static ObjectNode postProcessor(GgufMetadata meta, List<String> tokens) {
    boolean addBos = meta.getBool("tokenizer.ggml.add_bos_token", false)
        && meta.has("tokenizer.ggml.bos_token_id");
    boolean addEos = meta.getBool("tokenizer.ggml.add_eos_token", false)
        && meta.has("tokenizer.ggml.eos_token_id");
    if (!addBos && !addEos) {
      return null;
    }
    ObjectNode tp = F.objectNode().put("type", "TemplateProcessing");
    ArrayNode single = tp.putArray("single");
    ArrayNode pair = tp.putArray("pair");
    ObjectNode specials = tp.putObject("special_tokens");
    int bos = (int) meta.getLong("tokenizer.ggml.bos_token_id", -1);
    int eos = (int) meta.getLong("tokenizer.ggml.eos_token_id", -1);
    if (addBos) {
      special(single, pair, specials, tokens.get(bos), bos);
    }
    single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
    if (addEos) {
      special(single, pair, specials, tokens.get(eos), eos);
    }
    return tp;
  }

  private static void special(
      ArrayNode single, ArrayNode pair, ObjectNode specials, String token, int id) {
    single.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
    pair.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
    ObjectNode s = specials.putObject(token).put("id", token);
    s.putArray("ids").add(id);
    s.putArray("tokens").add(token);
  }

  private static ObjectNode bpe(List<String> tokens, List<String> merges) {
    ObjectNode m = F.objectNode().put("type", "BPE");
    m.putNull("dropout");
    m.putNull("unk_token");
    m.putNull("continuing_subword_prefix");
    m.putNull("end_of_word_suffix");
    m.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
    ObjectNode vocab = m.putObject("vocab");
    for (int id = 0; id < tokens.size(); id++) {
      // A few GGUFs repeat a token string; the first id wins, as in llama.cpp.
      if (!vocab.has(tokens.get(id))) {
        vocab.put(tokens.get(id), id);
      }
    }
    ArrayNode mergeList = m.putArray("merges");
    merges.forEach(mergeList::add);
    return m;
  }
}
