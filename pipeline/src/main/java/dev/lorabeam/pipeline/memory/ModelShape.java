package dev.lorabeam.pipeline.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.transforms.tokenizer.GgufMetadata;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shapes of a Llama-family model that decide its training memory, and how its weights are
 * stored: {@code storedBits} for the blocks' Linear layers and {@code embedBits} for the embedding
 * and output head (0 = dense in the compute dtype; 4 or 8 = affine-quantized with {@code groupSize},
 * scales and biases in the compute dtype, as the engine holds them).
 */
public record ModelShape(String name, int vocab, int hidden, int layers, int heads, int kvHeads, int headDim,
    int intermediate, boolean tiedEmbeddings, int storedBits, int embedBits, int groupSize) {

  public ModelShape {
    if (vocab < 1 || hidden < 1 || layers < 1 || heads < 1 || kvHeads < 1 || headDim < 1 || intermediate < 1) {
      throw new IllegalArgumentException("model " + name + ": every dimension must be positive (vocab " + vocab
          + ", hidden " + hidden + ", layers " + layers + ", heads " + heads + "/" + kvHeads + ", head_dim "
          + headDim + ", intermediate " + intermediate + ")");
    }
  }

  /** The aliases users pass to {@code --model}, with the shapes from their config.json. */
  public static final Map<String, ModelShape> KNOWN = known();

  private static Map<String, ModelShape> known() {
    Map<String, ModelShape> m = new LinkedHashMap<>();
    m.put("llama-8b", new ModelShape("llama-8b", 128256, 4096, 32, 32, 8, 128, 14336, false, 0, 0, 0));
    m.put("llama-8b-4bit", new ModelShape("llama-8b-4bit", 128256, 4096, 32, 32, 8, 128, 14336, false, 4, 4, 64));
    m.put("dolphin-8b", new ModelShape("dolphin-8b", 128258, 4096, 32, 32, 8, 128, 14336, false, 0, 0, 0));
    m.put("hermes-mistral-7b", new ModelShape("hermes-mistral-7b", 32032, 4096, 32, 32, 8, 128, 14336, false, 0, 0, 0));
    // SmolLM2-135M-Instruct as the bundled GGUF holds it: blocks Q4_1, tied embedding Q8_0; MLX
    // loads both as affine group 32.
    m.put("smollm2-135m", new ModelShape("smollm2-135m", 49152, 576, 30, 9, 3, 64, 1536, true, 4, 8, 32));
    return Map.copyOf(m);
  }

  /** Base parameters (unquantized count) of the blocks' seven Linear layers. */
  public long blockLinearParams() {
    long q = (long) heads * headDim;
    long kv = (long) kvHeads * headDim;
    return (long) layers * (hidden * q + 2 * hidden * kv + q * hidden + 3L * hidden * intermediate);
  }

  /** Token embedding plus a separate output head unless tied. */
  public long embeddingParams() {
    return (long) vocab * hidden * (tiedEmbeddings ? 1 : 2);
  }

  /** LoRA parameters of one block with rank r on all seven Linear layers: r·(in + out) each. */
  public long loraParamsPerLayer(int rank) {
    long q = (long) heads * headDim;
    long kv = (long) kvHeads * headDim;
    long inPlusOut = (hidden + q) + 2 * (hidden + kv) + (q + hidden) + 2L * (hidden + intermediate)
        + (intermediate + hidden);
    return rank * inPlusOut;
  }

  /** Reads a Hugging Face directory's config.json or a GGUF file's llama.* metadata. */
  public static ModelShape read(Path model) {
    try {
      return model.toString().endsWith(".gguf") ? fromGguf(model) : fromConfig(model.resolve("config.json"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the model shapes from " + model + ": " + e.getMessage(), e);
    }
  }

  static ModelShape fromConfig(Path configJson) throws IOException {
    JsonNode c = new ObjectMapper().readTree(Files.readString(configJson));
    int hidden = need(c, "hidden_size", configJson);
    int heads = need(c, "num_attention_heads", configJson);
    JsonNode q = c.path("quantization");
    // mlx-lm defaults tie_word_embeddings to true when absent, and so does the engine.
    return new ModelShape(configJson.getParent().getFileName().toString(), need(c, "vocab_size", configJson), hidden,
        need(c, "num_hidden_layers", configJson), heads, c.path("num_key_value_heads").asInt(heads),
        c.path("head_dim").asInt(hidden / heads), need(c, "intermediate_size", configJson),
        c.path("tie_word_embeddings").asBoolean(true), q.path("bits").asInt(0), q.path("bits").asInt(0),
        q.path("group_size").asInt(0));
  }

  static ModelShape fromGguf(Path file) throws IOException {
    GgufMetadata g = GgufMetadata.read(file);
    String arch = g.has("general.architecture") ? g.getString("general.architecture") : "llama";
    int hidden = (int) g.getLong(arch + ".embedding_length", 0);
    int heads = (int) g.getLong(arch + ".attention.head_count", 0);
    List<Object> tokens = g.getList("tokenizer.ggml.tokens");
    int vocab = (int) g.getLong(arch + ".vocab_size", tokens == null ? 0 : tokens.size());
    // Q4 files: blocks 4-bit, embedding Q8_0, both group 32 in MLX; small GGUF models tie the head.
    return new ModelShape(file.getFileName().toString(), vocab, hidden, (int) g.getLong(arch + ".block_count", 0),
        heads, (int) g.getLong(arch + ".attention.head_count_kv", heads), heads == 0 ? 0 : hidden / heads,
        (int) g.getLong(arch + ".feed_forward_length", 0), true, 4, 8, 32);
  }

  private static int need(JsonNode c, String key, Path file) {
    if (!c.path(key).canConvertToInt()) {
      throw new IllegalArgumentException(file + ": \"" + key + "\" is missing or not an integer");
    }
    return c.path(key).asInt();
  }
}
