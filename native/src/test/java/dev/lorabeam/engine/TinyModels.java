package dev.lorabeam.engine;

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
 * Writes tiny random Llama-family models as Hugging Face directories (config.json +
 * model.safetensors, float32) straight from Java, and builds test batches for them.
 */
final class TinyModels {
  static final int VOCAB = 256;
  static final int HIDDEN = 64;
  static final int LAYERS = 2;
  static final int HEADS = 4;
  static final int KV_HEADS = 2;
  static final int FFN = 128;

  private TinyModels() {}

  /** A 2-layer llama (hidden 64, GQA 4/2, vocab 256) with N(0, 0.05²) weights from {@code seed}. */
  static Path llama(Path dir, long seed) throws IOException {
    return write(dir, "llama", seed, FFN);
  }

  /** Same shapes; {@code modelType} goes into config.json as is. */
  static Path write(Path dir, String modelType, long seed, int ffnInWeights) throws IOException {
    return write(dir, modelType, seed, ffnInWeights, false, false, "");
  }

  /**
   * Variants: {@code tied} drops lm_head and sets tie_word_embeddings; {@code qkvBias} adds q/k/v
   * biases (qwen2); {@code extraConfig} is appended to config.json (e.g. a rope_scaling entry).
   */
  static Path write(Path dir, String modelType, long seed, int ffnInWeights, boolean tied, boolean qkvBias,
      String extraConfig) throws IOException {
    Files.createDirectories(dir);
    Map<String, int[]> shapes = new LinkedHashMap<>();
    Map<String, float[]> data = tensors(seed, ffnInWeights, tied, qkvBias, shapes);
    writeSafetensors(dir.resolve("model.safetensors"), data, shapes);
    Files.writeString(dir.resolve("config.json"), config(modelType, tied, extraConfig));
    return dir;
  }

  /** config.json text for the tiny shapes. */
  static String config(String modelType, boolean tied, String extraConfig) {
    return "{\"model_type\": \"" + modelType + "\", \"hidden_size\": " + HIDDEN
        + ", \"num_hidden_layers\": " + LAYERS + ", \"num_attention_heads\": " + HEADS
        + ", \"num_key_value_heads\": " + KV_HEADS + ", \"intermediate_size\": " + FFN
        + ", \"vocab_size\": " + VOCAB + ", \"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0,"
        + " \"tie_word_embeddings\": " + tied + extraConfig + "}";
  }

  /** Hugging Face-named float32 weights, N(0, 0.05²), norms 1; fills {@code shapes}. */
  static Map<String, float[]> tensors(long seed, int ffnInWeights, boolean tied, boolean qkvBias,
      Map<String, int[]> shapes) {
    Random random = new Random(seed);
    int headDim = HIDDEN / HEADS;
    Map<String, float[]> data = new LinkedHashMap<>();
    add(data, shapes, "model.embed_tokens.weight", random, VOCAB, HIDDEN);
    if (!tied) {
      add(data, shapes, "lm_head.weight", random, VOCAB, HIDDEN);
    }
    ones(data, shapes, "model.norm.weight", HIDDEN);
    for (int l = 0; l < LAYERS; l++) {
      String p = "model.layers." + l + ".";
      add(data, shapes, p + "self_attn.q_proj.weight", random, HEADS * headDim, HIDDEN);
      add(data, shapes, p + "self_attn.k_proj.weight", random, KV_HEADS * headDim, HIDDEN);
      add(data, shapes, p + "self_attn.v_proj.weight", random, KV_HEADS * headDim, HIDDEN);
      add(data, shapes, p + "self_attn.o_proj.weight", random, HIDDEN, HEADS * headDim);
      if (qkvBias) {
        add(data, shapes, p + "self_attn.q_proj.bias", random, HEADS * headDim);
        add(data, shapes, p + "self_attn.k_proj.bias", random, KV_HEADS * headDim);
        add(data, shapes, p + "self_attn.v_proj.bias", random, KV_HEADS * headDim);
      }
      add(data, shapes, p + "mlp.gate_proj.weight", random, ffnInWeights, HIDDEN);
      add(data, shapes, p + "mlp.up_proj.weight", random, ffnInWeights, HIDDEN);
      add(data, shapes, p + "mlp.down_proj.weight", random, HIDDEN, ffnInWeights);
      ones(data, shapes, p + "input_layernorm.weight", HIDDEN);
      ones(data, shapes, p + "post_attention_layernorm.weight", HIDDEN);
    }
    return data;
  }

  /** safetensors: u64 header length, JSON header (space-padded to 8 bytes), little-endian data. */
  static void writeSafetensors(Path file, Map<String, ?> data, Map<String, int[]> shapes)
      throws IOException {
    StringBuilder header = new StringBuilder("{");
    long offset = 0;
    for (Map.Entry<String, ?> e : data.entrySet()) {
      boolean ints = e.getValue() instanceof int[];
      int n = ints ? ((int[]) e.getValue()).length : ((float[]) e.getValue()).length;
      long end = offset + 4L * n;
      header.append(header.length() > 1 ? "," : "").append('"').append(e.getKey())
          .append("\":{\"dtype\":\"").append(ints ? "U32" : "F32").append("\",\"shape\":").append(java.util.Arrays.toString(shapes.get(e.getKey())))
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
    for (Object values : data.values()) {
      if (values instanceof int[] ints) {
        for (int v : ints) {
          buf.putInt(v);
        }
      } else {
        for (float v : (float[]) values) {
          buf.putFloat(v);
        }
      }
    }
    Files.write(file, buf.array());
  }

  private static void add(Map<String, float[]> data, Map<String, int[]> shapes, String name, Random r,
      int rows, int cols) {
    float[] v = new float[rows * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextGaussian() * 0.05);
    }
    data.put(name, v);
    shapes.put(name, new int[] {rows, cols});
  }

  private static void add(Map<String, float[]> data, Map<String, int[]> shapes, String name, Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * 0.05);
    }
    data.put(name, v);
    shapes.put(name, new int[] {n});
  }

  private static void ones(Map<String, float[]> data, Map<String, int[]> shapes, String name, int n) {
    float[] v = new float[n];
    java.util.Arrays.fill(v, 1f);
    data.put(name, v);
    shapes.put(name, new int[] {n});
  }

  /** Float32 config over all layers, rank 4, no weight decay, fixed seed. */
  static EngineConfig config(Path model) {
    return EngineConfig.defaults(model).withLora(4, 20.0, 0.0, -1, null).withAdam(0.9, 0.999, 1e-8, 0.0, false)
        .withSeed(7);
  }

  /** Random tokens, one document per row, all targets trained. */
  static Batch randomBatch(Random random, int rows, int seqLen) {
    int[] tokens = new int[rows * (seqLen + 1)];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = random.nextInt(VOCAB);
    }
    return Batch.ofRows(rows, seqLen, tokens);
  }

  /** A learnable batch: each row counts up from a random start (mod vocab). */
  static Batch countingBatch(Random random, int rows, int seqLen) {
    int[] tokens = new int[rows * (seqLen + 1)];
    for (int r = 0; r < rows; r++) {
      int start = random.nextInt(VOCAB);
      for (int i = 0; i <= seqLen; i++) {
        tokens[r * (seqLen + 1) + i] = (start + i) % VOCAB;
      }
    }
    return Batch.ofRows(rows, seqLen, tokens);
  }

  /** Gives the adapters random non-zero values (B = 0 would hide every gradient of A). */
  static void randomizeLora(Engine engine, long seed, double scale) {
    Random random = new Random(seed);
    float[] values = engine.loraValues();
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * scale);
    }
    engine.setLoraValues(values);
  }

  static float maxAbsDiff(float[] a, float[] b) {
    float max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }
}
