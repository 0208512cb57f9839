package dev.lorabeam.pipeline.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes a random float32 Llama of chosen shapes as a Hugging Face directory (config.json,
 * model.safetensors, and a tokenizer.json the locator asks for; memory tests never tokenize), big
 * enough that its step memory is measurable and small enough to train on 2 CPU cores.
 */
final class SizedLlama {
  static final ModelShape SHAPE = new ModelShape("sized-llama", 4096, 256, 4, 4, 2, 64, 512, false, 0, 0, 0);

  private SizedLlama() {}

  static Path write(Path dir) throws IOException {
    ModelShape s = SHAPE;
    Files.createDirectories(dir);
    Map<String, int[]> shapes = new LinkedHashMap<>();
    shapes.put("model.embed_tokens.weight", new int[] {s.vocab(), s.hidden()});
    shapes.put("lm_head.weight", new int[] {s.vocab(), s.hidden()});
    shapes.put("model.norm.weight", new int[] {s.hidden()});
    int q = s.heads() * s.headDim();
    int kv = s.kvHeads() * s.headDim();
    for (int l = 0; l < s.layers(); l++) {
      String p = "model.layers." + l + ".";
      shapes.put(p + "self_attn.q_proj.weight", new int[] {q, s.hidden()});
      shapes.put(p + "self_attn.k_proj.weight", new int[] {kv, s.hidden()});
      shapes.put(p + "self_attn.v_proj.weight", new int[] {kv, s.hidden()});
      shapes.put(p + "self_attn.o_proj.weight", new int[] {s.hidden(), q});
      shapes.put(p + "mlp.gate_proj.weight", new int[] {s.intermediate(), s.hidden()});
      shapes.put(p + "mlp.up_proj.weight", new int[] {s.intermediate(), s.hidden()});
      shapes.put(p + "mlp.down_proj.weight", new int[] {s.hidden(), s.intermediate()});
      shapes.put(p + "input_layernorm.weight", new int[] {s.hidden()});
      shapes.put(p + "post_attention_layernorm.weight", new int[] {s.hidden()});
    }
    writeSafetensors(dir.resolve("model.safetensors"), shapes, new Random(7));
    Files.writeString(dir.resolve("config.json"), String.format(
        "{\"model_type\":\"llama\",\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
            + "\"num_key_value_heads\":%d,\"intermediate_size\":%d,\"vocab_size\":%d,\"rms_norm_eps\":1e-5,"
            + "\"rope_theta\":10000.0,\"tie_word_embeddings\":false}",
        s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.intermediate(), s.vocab()));
    Files.writeString(dir.resolve("tokenizer.json"), "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}");
    return dir;
  }

  /** Norms are 1; every other tensor N(0, 0.02²). */
  private static void writeSafetensors(Path file, Map<String, int[]> shapes, Random random) throws IOException {
    StringBuilder header = new StringBuilder("{");
    long offset = 0;
    for (Map.Entry<String, int[]> e : shapes.entrySet()) {
      long n = count(e.getValue());
      header.append(header.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":")
          .append(java.util.Arrays.toString(e.getValue())).append(",\"data_offsets\":[").append(offset).append(',')
          .append(offset + 4 * n).append("]}");
      offset += 4 * n;
    }
    header.append('}');
    while (header.length() % 8 != 0) {
      header.append(' ');
    }
    byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip());
      ch.write(ByteBuffer.wrap(h));
      for (Map.Entry<String, int[]> e : shapes.entrySet()) {
        boolean norm = e.getKey().endsWith("norm.weight");
        ByteBuffer buf = ByteBuffer.allocate((int) (4 * count(e.getValue()))).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
          buf.putFloat(norm ? 1f : (float) (random.nextGaussian() * 0.02));
        }
        ch.write(buf.flip());
      }
    }
  }

  private static long count(int[] shape) {
    long n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }
}
