package dev.lorabeam.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.engine.bridge.FuseNative;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Merges LoRA adapters into a model's weights in native code (one JNI crossing) and writes the
 * safetensors files, config.json and, when asked, the GGUF. Tokenizer files are the caller's.
 */
public final class Fuser {
  static {
    Mlx.ensureLoaded();
    FuseNative.load();
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private Fuser() {}

  /**
   * Runs the fuse. The report holds {@code model_type, hidden_size, …, tie_word_embeddings,
   * from_gguf, fused_linears, dtype, quantization ({group_size, bits} or null), bytes,
   * gguf_tensors, files}.
   */
  public static JsonNode fuse(FuseSpec spec) {
    String report = FuseNative.lb_fuse(toJson(spec));
    if (report == null) {
      String message = FuseNative.lb_last_error();
      throw new MlxException("fuse of " + spec.model() + " failed: "
          + (message == null || message.isEmpty() ? "unknown error" : message));
    }
    try {
      JsonNode parsed = JSON.readTree(report);
      FusedConfig.write(spec.output().resolve("config.json"), FusedConfig.build(spec.model(), parsed));
      return parsed;
    } catch (IOException e) {
      throw new UncheckedIOException("fuse could not write " + spec.output().resolve("config.json") + ": "
          + e.getMessage(), e);
    }
  }

  static String toJson(FuseSpec s) {
    ObjectNode n = JSON.createObjectNode();
    n.put("model", s.model().toString());
    n.put("adapters", s.adapters() == null ? "" : s.adapters().toString());
    n.put("output", s.output().toString());
    n.put("dtype", s.dtype());
    n.put("dequantize", s.dequantize());
    n.put("quantizeBits", s.quantizeBits());
    n.put("shardBytes", s.shardBytes());
    n.put("gguf", s.gguf() == null ? "" : s.gguf().toString());
    if (s.ggufMetadataJson() != null) {
      n.put("ggufMetadata", s.ggufMetadataJson());
    }
    try {
      return JSON.writeValueAsString(n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
