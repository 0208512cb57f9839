package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A complete, tiny Hugging Face model directory for end-to-end tests: a 2-block random Llama
 * (hidden 32, vocab 320) with a real byte-level BPE {@code tokenizer.json} (the 256 byte symbols,
 * no merges, ChatML specials) and a {@code tokenizer_config.json} with a ChatML chat template.
 */
public final class TinyLlama {
  public static final int VOCAB = 320;
  static final int HIDDEN = 32;
  static final int LAYERS = 2;
  static final int HEADS = 4;
  static final int KV_HEADS = 2;
  static final int FFN = 64;
  static final String[] SPECIALS = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

  private TinyLlama() {}

  public static Path write(Path dir, long seed) throws IOException {
    Files.createDirectories(dir);
    writeWeights(dir.resolve("model.safetensors"), new Random(seed));
    Files.writeString(dir.resolve("config.json"), String.format(
        "{\"model_type\":\"llama\",\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":%d,"
            + "\"num_hidden_layers\":%d,\"num_attention_heads\":%d,\"num_key_value_heads\":%d,"
            + "\"intermediate_size\":%d,\"vocab_size\":%d,\"rms_norm_eps\":1e-5,\"rope_theta\":10000.0,"
            + "\"tie_word_embeddings\":false}",
        HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, VOCAB));
    Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
    Files.writeString(dir.resolve("tokenizer_config.json"),
        "{\"bos_token\":null,\"eos_token\":\"<|im_end|>\",\"chat_template\":\"{% for message in messages %}"
            + "{{'<|im_start|>' + message['role'] + '\\\\n' + message['content'] + '<|im_end|>' + '\\\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\\\n' }}{% endif %}\"}");
    return dir;
  }

  /** GPT-2's byte ↔ unicode table: printable bytes stand for themselves, the rest map past 255. */
  static String byteSymbol(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
      return String.valueOf((char) b);
    }
    int n = 0;
    for (int x = 0; x < b; x++) {
      if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) {
        n++;
      }
    }
    return String.valueOf((char) (256 + n));
  }

  static String tokenizerJson() throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (int i = 0; i < SPECIALS.length; i++) {
      added.addObject().put("id", 256 + i).put("content", SPECIALS[i]).put("single_word", false)
          .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
    }
    root.putNull("normalizer");
    root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
        .put("trim_offsets", true).put("use_regex", true);
    root.putNull("post_processor");
    root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
        .put("trim_offsets", true).put("use_regex", true);
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE").putNull("dropout");
    model.putNull("unk_token");
    model.put("fuse_unk", false).put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int b = 0; b < 256; b++) {
      vocab.put(byteSymbol(b), b);
    }
    for (int i = 0; i < SPECIALS.length; i++) {
      vocab.put(SPECIALS[i], 256 + i);
    }
    model.putArray("merges");
    return json.writerWithDefaultPrettyPrinter().writeValueAsString(root);
  }

  private static void writeWeights(Path file, Random random) throws IOException {
    Map<String, int[]> shapes = new LinkedHashMap<>();
    shapes.put("model.embed_tokens.weight", new int[] {VOCAB, HIDDEN});
    shapes.put("lm_head.weight", new int[] {VOCAB, HIDDEN});
    shapes.put("model.norm.weight", new int[] {HIDDEN});
    int headDim = HIDDEN / HEADS;
    for (int l = 0; l < LAYERS; l++) {
      String p = "model.layers." + l + ".";
      shapes.put(p + "self_attn.q_proj.weight", new int[] {HEADS * headDim, HIDDEN});
      shapes.put(p + "self_attn.k_proj.weight", new int[] {KV_HEADS * headDim, HIDDEN});
      shapes.put(p + "self_attn.v_proj.weight", new int[] {KV_HEADS * headDim, HIDDEN});
      shapes.put(p + "self_attn.o_proj.weight", new int[] {HIDDEN, HEADS * headDim});
      shapes.put(p + "mlp.gate_proj.weight", new int[] {FFN, HIDDEN});
      shapes.put(p + "mlp.up_proj.weight", new int[] {FFN, HIDDEN});
      shapes.put(p + "mlp.down_proj.weight", new int[] {HIDDEN, FFN});
      shapes.put(p + "input_layernorm.weight", new int[] {HIDDEN});
      shapes.put(p + "post_attention_layernorm.weight", new int[] {HIDDEN});
    }
    StringBuilder header = new StringBuilder("{");
    long offset = 0;
    for (Map.Entry<String, int[]> e : shapes.entrySet()) {
      long end = offset + 4L * count(e.getValue());
      header.append(header.length() > 1 ? "," : "").append('"').append(e.getKey())
          .append("\":{\"dtype\":\"F32\",\"shape\":").append(java.util.Arrays.toString(e.getValue()))
          .append(",\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
      offset = end;
    }
    header.append('}');
    while (header.length() % 8 != 0) {
      header.append(' ');
    }
    byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + h.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(h.length).put(h);
    for (Map.Entry<String, int[]> e : shapes.entrySet()) {
      boolean norm = e.getKey().endsWith("norm.weight");
      for (int i = 0; i < count(e.getValue()); i++) {
        buf.putFloat(norm ? 1f : (float) (random.nextGaussian() * 0.08));
      }
    }
    Files.write(file, buf.array());
  }

  private static int count(int[] shape) {
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }
}
