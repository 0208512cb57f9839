package dev.lorabeam.engine;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything the engine needs to open a model and train LoRA adapters on it. Defaults follow
 * mlx-lm ({@code mlx_lm.lora}): rank 8, scale 20, dropout 0, last 16 blocks, every Linear of a
 * block, AdamW (0.9, 0.999, 1e-8, weight decay 0.01) without bias correction.
 *
 * @param model a Hugging Face directory, an mlx-community quantized directory or a .gguf file
 * @param computeDtype "float32", "bfloat16" or "float16"
 * @param quantizeBits 0 (none), 4 or 8: quantize every Linear of the blocks on load (QLoRA)
 * @param loraLayers the last N blocks get adapters; -1 = all
 * @param targetModules mlx-lm keys ("self_attn.q_proj") or short names (q, k, v, o, gate, up, down)
 * @param maxGradNorm global-norm clipping threshold; 0 = no clipping
 * @param gradAccumulation micro-batches per step; a batch holds microBatch × gradAccumulation rows
 */
public record EngineConfig(Path model, String computeDtype, int quantizeBits, int loraRank,
    double loraScale, double loraDropout, int loraLayers, List<String> targetModules,
    double adamBeta1, double adamBeta2, double adamEps, double weightDecay, boolean biasCorrection,
    double maxGradNorm, int gradAccumulation, boolean gradCheckpoint, long seed) {

  public static final List<String> ALL_MODULES =
      List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

  public EngineConfig {
    Objects.requireNonNull(model, "model");
    computeDtype = computeDtype == null ? "float32" : computeDtype;
    targetModules = targetModules == null || targetModules.isEmpty() ? ALL_MODULES : List.copyOf(targetModules);
    if (!List.of("float32", "bfloat16", "float16").contains(computeDtype)) {
      throw new IllegalArgumentException(
          "computeDtype must be float32, bfloat16 or float16, got " + computeDtype);
    }
    if (quantizeBits != 0 && quantizeBits != 4 && quantizeBits != 8) {
      throw new IllegalArgumentException("quantizeBits must be 0, 4 or 8, got " + quantizeBits);
    }
    if (loraRank < 1) {
      throw new IllegalArgumentException("loraRank must be at least 1, got " + loraRank);
    }
    if (loraDropout < 0 || loraDropout >= 1) {
      throw new IllegalArgumentException("loraDropout must be in [0, 1), got " + loraDropout);
    }
    if (loraLayers == 0 || loraLayers < -1) {
      throw new IllegalArgumentException("loraLayers must be -1 (all) or positive, got " + loraLayers);
    }
    if (gradAccumulation < 1) {
      throw new IllegalArgumentException("gradAccumulation must be at least 1, got " + gradAccumulation);
    }
    if (maxGradNorm < 0) {
      throw new IllegalArgumentException("maxGradNorm must be >= 0 (0 = off), got " + maxGradNorm);
    }
  }

  /** mlx-lm's defaults for the given model. */
  public static EngineConfig defaults(Path model) {
    return new EngineConfig(model, "float32", 0, 8, 20.0, 0.0, 16, ALL_MODULES, 0.9, 0.999, 1e-8, 0.01,
        false, 0.0, 1, false, 0L);
  }

  public EngineConfig withModel(Path m) {
    return new EngineConfig(m, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm,
        gradAccumulation, gradCheckpoint, seed);
  }

  public EngineConfig withComputeDtype(String dtype) {
    return new EngineConfig(model, dtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm,
        gradAccumulation, gradCheckpoint, seed);
  }

  public EngineConfig withQuantizeBits(int bits) {
    return new EngineConfig(model, computeDtype, bits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm,
        gradAccumulation, gradCheckpoint, seed);
  }

  public EngineConfig withLora(int rank, double scale, double dropout, int layers, List<String> modules) {
    return new EngineConfig(model, computeDtype, quantizeBits, rank, scale, dropout, layers, modules,
        adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm, gradAccumulation,
        gradCheckpoint, seed);
  }

  public EngineConfig withAdam(double beta1, double beta2, double eps, double decay, boolean correction) {
    return new EngineConfig(model, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, beta1, beta2, eps, decay, correction, maxGradNorm, gradAccumulation,
        gradCheckpoint, seed);
  }

  public EngineConfig withMaxGradNorm(double norm) {
    return new EngineConfig(model, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, norm, gradAccumulation,
        gradCheckpoint, seed);
  }

  public EngineConfig withGradAccumulation(int steps) {
    return new EngineConfig(model, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm, steps,
        gradCheckpoint, seed);
  }

  public EngineConfig withGradCheckpoint(boolean on) {
    return new EngineConfig(model, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm,
        gradAccumulation, on, seed);
  }

  public EngineConfig withSeed(long s) {
    return new EngineConfig(model, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers,
        targetModules, adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm,
        gradAccumulation, gradCheckpoint, s);
  }

  /**
   * The JSON object the native side parses (keys are this record's component names, plus
   * "distributed": the backend this process joined with {@link Distributed#join}, or "off").
   */
  String toJson() {
    StringBuilder modules = new StringBuilder("[");
    for (int i = 0; i < targetModules.size(); i++) {
      modules.append(i == 0 ? "" : ",").append(quote(targetModules.get(i)));
    }
    modules.append(']');
    return "{\"model\":" + quote(model.toString()) + ",\"computeDtype\":" + quote(computeDtype)
        + ",\"quantizeBits\":" + quantizeBits + ",\"loraRank\":" + loraRank + ",\"loraScale\":" + loraScale
        + ",\"loraDropout\":" + loraDropout + ",\"loraLayers\":" + loraLayers + ",\"targetModules\":" + modules
        + ",\"adamBeta1\":" + adamBeta1 + ",\"adamBeta2\":" + adamBeta2 + ",\"adamEps\":" + adamEps
        + ",\"weightDecay\":" + weightDecay + ",\"biasCorrection\":" + biasCorrection
        + ",\"maxGradNorm\":" + maxGradNorm + ",\"gradAccumulation\":" + gradAccumulation
        + ",\"gradCheckpoint\":" + gradCheckpoint + ",\"seed\":\"" + seed + "\""
        + ",\"distributed\":" + quote(Distributed.world().backend()) + "}";
  }

  private static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
