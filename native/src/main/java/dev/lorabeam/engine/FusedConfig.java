package dev.lorabeam.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The fused model's config.json: the base's own config.json with its quantization replaced (so
 * keys this project does not read, like bos_token_id or rope_scaling, survive), or, for a GGUF
 * base, one built from the fuse report. A quantized output gets mlx-community's
 * {@code quantization: {group_size, bits}} (and the same under {@code quantization_config}).
 */
final class FusedConfig {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> SHAPE_KEYS = List.of("hidden_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size", "rms_norm_eps", "rope_theta");

  private FusedConfig() {}

  static ObjectNode build(Path model, JsonNode report) throws IOException {
    ObjectNode c;
    Path source = model.resolve("config.json");
    if (Files.isDirectory(model) && Files.isRegularFile(source)) {
      c = (ObjectNode) JSON.readTree(source.toFile());
      c.remove(List.of("quantization", "quantization_config"));
    } else {
      c = fromReport(report);
    }
    c.put("tie_word_embeddings", report.get("tie_word_embeddings").asBoolean());
    c.put("torch_dtype", report.get("dtype").asText());
    JsonNode q = report.get("quantization");
    if (q != null && !q.isNull()) {
      c.set("quantization", q.deepCopy());
      c.set("quantization_config", q.deepCopy());
    }
    return c;
  }

  /** GGUF bases: the hyper-parameters the loader read, under Hugging Face names. */
  private static ObjectNode fromReport(JsonNode report) {
    ObjectNode c = JSON.createObjectNode();
    String type = report.get("model_type").asText();
    c.putArray("architectures").add(type.equals("qwen2") ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
    c.put("model_type", type);
    for (String key : SHAPE_KEYS) {
      c.set(key, report.get(key));
    }
    c.put("hidden_act", "silu");
    c.put("attention_bias", report.get("attention_bias").asBoolean());
    c.put("mlp_bias", false);
    return c;
  }

  static void write(Path file, ObjectNode config) throws IOException {
    Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n");
  }
}
