package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lorabeam.engine.EngineConfig;
import java.io.Serializable;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;

/**
 * Every {@code train} flag, validated once. Built from the flags' one declaration
 * ({@link TrainFlags#toConfig}, which {@link #builder} starts from too), read by the
 * pipeline, the trainer and the engine, and written as JSON beside every checkpoint so a run can be
 * explained and resumed from its files alone. Each component is named after its flag
 * ({@code batchSize} ↔ {@code --batch-size}); a bad value fails the compact constructor with one
 * line naming the flag and what it accepts.
 *
 * @param model alias, Hugging Face model directory or GGUF file (resolved later)
 * @param data directory with train/valid JSONL, a JSONL file, or a shard directory
 * @param maxMemoryGb MLX memory limit in GB; null = auto-detect
 * @param reloadInterval reopen the engine from the latest checkpoint every N steps; 0 = never
 * @param loraScale LoRA output scale (mlx-lm semantics: used directly, not alpha/rank)
 * @param loraLayers how many final transformer blocks get adapters; -1 = all
 * @param targetModules mlx-lm keys such as {@code self_attn.q_proj}
 * @param quantize 0 = base weights as stored, 4 or 8 = quantize them (QLoRA)
 * @param maxSteps optimizer steps; null = as many as {@code epochs} passes over the data take
 * @param maxGradNorm global gradient-norm clip; 0 = off
 * @param stepsPerEval validation every N steps; 0 = only at the end
 * @param valBatches validation batches per evaluation; -1 = all, 0 = no validation
 * @param saveEvery checkpoint every N steps; 0 = only the final save
 * @param metricsFile JSONL step metrics; null = {@code <adapterPath>/metrics.jsonl}
 * @param distrust {@code off}, {@code additive} (old tool: reported loss only) or {@code weighted}
 * @param alpha distrust α
 * @param lambdaWeight distrust λ for {@code additive}
 * @param maxBadFraction the share of rejected rows above which the run fails
 * @param continueSchedule on {@code --resume} with new data, keep one learning-rate schedule over
 *     all runs' steps instead of a fresh warm-up and decay over the new run's steps
 */
public record TrainConfig(
    String model,
    String data,
    Double maxMemoryGb,
    int reloadInterval,
    int batchSize,
    int loraRank,
    double loraScale,
    int loraLayers,
    double loraDropout,
    List<String> targetModules,
    int quantize,
    int trainSeqLength,
    Integer maxSteps,
    int epochs,
    double learningRate,
    int warmupSteps,
    String lrSchedule,
    double weightDecay,
    double maxGradNorm,
    int gradAccumulation,
    boolean gradCheckpoint,
    boolean maskPrompt,
    int stepsPerEval,
    int valBatches,
    int saveEvery,
    String adapterPath,
    boolean resume,
    long seed,
    String metricsFile,
    String distrust,
    double alpha,
    double lambdaWeight,
    String computeDtype,
    int keepCheckpoints,
    double maxBadFraction,
    boolean continueSchedule)
    implements Serializable {

  private static final long serialVersionUID = 1L;

  public static final List<String> LR_SCHEDULES = List.of("constant", "cosine", "linear");
  public static final List<String> DISTRUST_MODES = List.of("off", "additive", "weighted");
  public static final List<String> COMPUTE_DTYPES = List.of("float32", "float16", "bfloat16");

  static final double ADAM_BETA1 = 0.9;
  static final double ADAM_BETA2 = 0.999;
  static final double ADAM_EPS = 1e-8;

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public TrainConfig {
    model = required("--model", model, "an alias such as smollm2-135m, a model directory or a GGUF file");
    data = required("--data", data, "a directory with train.jsonl/valid.jsonl, a JSONL file or a shard directory");
    if (maxMemoryGb != null && !(maxMemoryGb > 0 && Double.isFinite(maxMemoryGb))) {
      throw bad("--max-memory must be a positive number of GB, or left out to auto-detect", maxMemoryGb);
    }
    atLeast("--reload-interval", reloadInterval, 0, " (0 = never reload)");
    atLeast("--batch-size", batchSize, 1, "");
    atLeast("--lora-rank", loraRank, 1, "");
    if (!(loraScale > 0 && Double.isFinite(loraScale))) {
      throw bad("--lora-scale must be > 0 (--lora-alpha A gives scale A / rank)", loraScale);
    }
    if (loraLayers != -1 && loraLayers < 1) {
      throw bad("--lora-layers must be ≥ 1, or -1 for all layers", loraLayers);
    }
    if (!(loraDropout >= 0 && loraDropout < 1)) {
      throw bad("--lora-dropout must be in [0, 1)", loraDropout);
    }
    targetModules = TargetModules.normalise(targetModules);
    if (quantize != 0 && quantize != 4 && quantize != 8) {
      throw bad("--quantize must be 4 or 8", quantize);
    }
    atLeast("--train-seq-length", trainSeqLength, 2, "");
    if (maxSteps != null) {
      atLeast("--max-steps", maxSteps, 1, " (leave it out to train for --epochs)");
    }
    atLeast("--epochs", epochs, 1, "");
    if (!(learningRate > 0 && learningRate < 1)) {
      throw bad("--learning-rate must be in (0, 1), e.g. 1e-5", learningRate);
    }
    atLeast("--warmup-steps", warmupSteps, 0, "");
    if (maxSteps != null && warmupSteps > maxSteps) {
      throw new IllegalArgumentException(
          "--warmup-steps must not exceed --max-steps (got " + warmupSteps + " > " + maxSteps + ")");
    }
    lrSchedule = oneOf("--lr-schedule", lrSchedule, LR_SCHEDULES);
    if (!(weightDecay >= 0 && weightDecay < 1)) {
      throw bad("--weight-decay must be in [0, 1)", weightDecay);
    }
    if (!(maxGradNorm >= 0 && Double.isFinite(maxGradNorm))) {
      throw bad("--max-grad-norm must be ≥ 0 (0 = no clipping)", maxGradNorm);
    }
    atLeast("--grad-accumulation", gradAccumulation, 1, "");
    atLeast("--steps-per-eval", stepsPerEval, 0, " (0 = only at the end)");
    if (valBatches < -1) {
      throw bad("--val-batches must be ≥ 0, or -1 for the whole validation set", valBatches);
    }
    atLeast("--save-every", saveEvery, 0, " (0 = only the final save)");
    adapterPath = required("--adapter-path", adapterPath, "a directory for adapters and checkpoints");
    if (metricsFile != null && metricsFile.isBlank()) {
      metricsFile = null;
    }
    distrust = oneOf("--distrust", distrust, DISTRUST_MODES);
    if (!(alpha > 0 && Double.isFinite(alpha))) {
      throw bad("--alpha must be > 0 (the old tool used 2.3–3.0)", alpha);
    }
    if (!(lambdaWeight >= 0 && Double.isFinite(lambdaWeight))) {
      throw bad("--lambda-weight must be ≥ 0", lambdaWeight);
    }
    computeDtype = oneOf("--compute-dtype", computeDtype, COMPUTE_DTYPES);
    atLeast("--keep-checkpoints", keepCheckpoints, 1, "");
    if (!(maxBadFraction >= 0 && maxBadFraction <= 1)) {
      throw bad("--max-bad-fraction must be in [0, 1]", maxBadFraction);
    }
  }

  /** A builder holding every default, for the CLI and tests. */
  public static TrainConfigBuilder builder(String model, String data) {
    return new TrainConfigBuilder(model, data);
  }

  /** A builder starting from this config (e.g. to override a flag on resume). */
  public TrainConfigBuilder toBuilder() {
    return TrainConfigBuilder.from(this);
  }

  /** The adapter directory; adapters, checkpoints and (by default) metrics live under it. */
  public Path adapterDir() {
    return Paths.get(adapterPath);
  }

  /** {@code --metrics-file}, or {@code <adapterPath>/metrics.jsonl}. */
  public Path resolvedMetricsFile() {
    return metricsFile == null ? adapterDir().resolve("metrics.jsonl") : Paths.get(metricsFile);
  }

  /** {@code <adapterPath>/checkpoints}. */
  public Path checkpointDir() {
    return adapterDir().resolve(CheckpointStore.CHECKPOINTS);
  }

  /**
   * The engine's configuration for the model at {@code resolvedModel} (an alias already resolved
   * to a directory or GGUF file). AdamW keeps mlx-lm's constants: betas (0.9, 0.999), eps 1e-8,
   * no bias correction.
   */
  public EngineConfig toEngineConfig(Path resolvedModel) {
    return new EngineConfig(resolvedModel, computeDtype, quantize, loraRank, loraScale, loraDropout,
        loraLayers, targetModules, ADAM_BETA1, ADAM_BETA2, ADAM_EPS, weightDecay, false,
        maxGradNorm, gradAccumulation, gradCheckpoint, seed);
  }

  /**
   * Checks that {@code --resume} can continue the checkpoint written with {@code saved}: the
   * adapters' shape (rank, layers, target modules) must be the same. Other flags (learning rate,
   * data, steps) may change between runs.
   *
   * @throws IllegalArgumentException one line naming the flag, both values and the fix
   */
  public void checkResumableFrom(TrainConfig saved) {
    mustMatch("--lora-rank", loraRank, saved.loraRank);
    mustMatch("--lora-layers", loraLayers, saved.loraLayers);
    mustMatch("--target-modules", targetModules, saved.targetModules);
  }

  private void mustMatch(String flag, Object now, Object saved) {
    if (!now.equals(saved)) {
      throw new IllegalArgumentException("--resume: " + flag + " is " + now + " but the checkpoint in "
          + adapterPath + " was trained with " + saved + "; use the same value or a new --adapter-path");
    }
  }

  /** Sequences consumed per optimizer step. */
  public int effectiveBatchSize() {
    return batchSize * gradAccumulation;
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the train config as JSON", e);
    }
  }

  /** Parses (and so re-validates) a config written by {@link #toJson}. */
  public static TrainConfig fromJson(String json) {
    try {
      return JSON.readValue(json, TrainConfig.class);
    } catch (JsonProcessingException e) {
      Throwable cause = e.getCause() instanceof IllegalArgumentException ? e.getCause() : e;
      throw new IllegalArgumentException("invalid train config JSON: " + cause.getMessage(), e);
    }
  }

  private static String required(String flag, String value, String what) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(flag + " is required: " + what);
    }
    return value.strip();
  }

  private static void atLeast(String flag, long value, long min, String note) {
    if (value < min) {
      throw bad(flag + " must be ≥ " + min + note, value);
    }
  }

  private static String oneOf(String flag, String value, List<String> allowed) {
    String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    if (!allowed.contains(v)) {
      throw new IllegalArgumentException(
          flag + " must be one of " + String.join(", ", allowed) + " (got '" + value + "')");
    }
    return v;
  }

  private static IllegalArgumentException bad(String rule, Object got) {
    return new IllegalArgumentException(rule + " (got " + got + ")");
  }
}
