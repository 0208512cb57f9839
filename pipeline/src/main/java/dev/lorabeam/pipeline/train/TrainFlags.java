package dev.lorabeam.pipeline.train;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Every {@code train} flag, declared once: name, type, default and description live on these
 * picocli options and nowhere else. They serve the command line, the {@code -c} config file
 * (picocli default values), {@code --help} and, through {@link #toConfig}, the validated
 * {@link TrainConfig} that the manifest records; {@link TrainConfig#builder} starts from the same
 * defaults ({@link #defaults}). The data/packing flags are {@link PackingFlags}, shared with
 * {@code preprocess}.
 */
public final class TrainFlags {

  /** {@code --lora-scale} when neither it nor {@code --lora-alpha} is given (mlx-lm's). */
  static final double DEFAULT_LORA_SCALE = 20.0;

  @Option(names = "--model", required = true, paramLabel = "MODEL",
      description = "Alias (smollm2-135m, llama-8b, llama-8b-4bit, dolphin-8b, hermes-mistral-7b), "
          + "a Hugging Face model directory or a GGUF file.")
  String model;

  @Option(names = "--data", paramLabel = "PATH", defaultValue = "data",
      description = "Directory with train.jsonl and valid.jsonl (val.jsonl), a JSONL file, or a shard directory.")
  String data;

  @Option(names = "--max-memory", paramLabel = "GB",
      description = "MLX memory limit in GB. Default: clamp(0.8 x available, 16, 120), at most 0.9 x physical.")
  Double maxMemoryGb;

  @Option(names = "--reload-interval", paramLabel = "N", defaultValue = "0",
      description = "Reopen the engine from the latest checkpoint every N steps (0 = never).")
  int reloadInterval;

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "4",
      description = "Sequences per micro-batch.")
  int batchSize;

  @Option(names = "--lora-rank", paramLabel = "R", defaultValue = "8",
      description = "LoRA rank.")
  int loraRank;

  @Option(names = "--lora-scale", paramLabel = "S",
      description = "LoRA output scale, used as is like mlx-lm (default: " + DEFAULT_LORA_SCALE + ").")
  Double loraScale;

  @Option(names = "--lora-alpha", paramLabel = "A",
      description = "LoRA alpha: sets the scale to A / rank (instead of --lora-scale).")
  Double loraAlpha;

  @Option(names = "--lora-layers", paramLabel = "N", defaultValue = "16",
      description = "Adapt the last N transformer blocks (-1 = all).")
  int loraLayers;

  @Option(names = "--lora-dropout", paramLabel = "P", defaultValue = "0.0", description = "LoRA dropout.")
  double loraDropout;

  @Option(names = "--target-modules", paramLabel = "M", split = ",", defaultValue = "q,k,v,o,gate,up,down",
      description = "Linear layers to adapt: q,k,v,o,gate,up,down or mlx-lm keys (self_attn.q_proj).")
  List<String> targetModules;

  @Option(names = "--quantize", paramLabel = "BITS", defaultValue = "0",
      description = "Quantize the base weights to 4 or 8 bits (QLoRA); 0 keeps them as stored.")
  int quantize;

  @Option(names = "--max-steps", paramLabel = "N",
      description = "Optimizer steps to run (default: as many as --epochs passes over the data take).")
  Integer maxSteps;

  @Option(names = "--epochs", paramLabel = "N", defaultValue = "1", description = "Passes over the data when --max-steps is not given.")
  int epochs;

  @Option(names = "--learning-rate", paramLabel = "LR", defaultValue = "1e-5", description = "Peak learning rate (AdamW).")
  double learningRate;

  @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "0", description = "Linear warm-up steps.")
  int warmupSteps;

  @Option(names = "--lr-schedule", paramLabel = "KIND", defaultValue = "constant",
      description = "After warm-up: constant, cosine or linear (decay to 0).")
  String lrSchedule;

  @Option(names = "--weight-decay", paramLabel = "D", defaultValue = "0.01", description = "AdamW weight decay.")
  double weightDecay;

  @Option(names = "--max-grad-norm", paramLabel = "G", defaultValue = "1.0", description = "Clip the global gradient norm (0 = off).")
  double maxGradNorm;

  @Option(names = "--grad-accumulation", paramLabel = "N", defaultValue = "1", description = "Micro-batches per optimizer step.")
  int gradAccumulation;

  @Option(names = "--grad-checkpoint", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Recompute activations in the backward pass (less memory, slower steps).")
  boolean gradCheckpoint;

  @Option(names = "--steps-per-eval", paramLabel = "N", defaultValue = "200", description = "Validation loss every N steps (0 = only at the end).")
  int stepsPerEval;

  @Option(names = "--val-batches", paramLabel = "N", defaultValue = "25", description = "Validation batches per evaluation (-1 = all, 0 = none).")
  int valBatches;

  @Option(names = "--save-every", paramLabel = "N", defaultValue = "100", description = "Checkpoint every N steps (0 = only at the end).")
  int saveEvery;

  @Option(names = "--keep-checkpoints", paramLabel = "K", defaultValue = "3", description = "Complete checkpoints to keep.")
  int keepCheckpoints;

  @Option(names = "--adapter-path", paramLabel = "DIR", defaultValue = "adapters",
      description = "Where adapters (mlx-lm format), checkpoints, metrics and the loss chart go.")
  String adapterPath;

  @Option(names = "--resume", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Continue from the latest complete checkpoint in --adapter-path.")
  boolean resume;

  @Option(names = "--continue-schedule", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
     
      description = "With --resume on new data, continue the old learning-rate schedule instead of a fresh warm-up/decay over this run's steps.")
  boolean continueSchedule;

  @Option(names = "--metrics-file", paramLabel = "FILE", description = "JSONL step metrics (default: <adapter-path>/metrics.jsonl).")
  String metricsFile;

  @Option(names = "--lambda-weight", paramLabel = "L", defaultValue = "1.0", description = "Distrust lambda for --distrust additive.")
  double lambdaWeight;

  @Option(names = "--compute-dtype", paramLabel = "DTYPE", defaultValue = "float32", description = "float32, bfloat16 or float16.")
  String computeDtype;

  @Mixin PackingFlags packing = new PackingFlags();

  /** Every flag at its default; {@code --model} (required, no default) is a placeholder to replace. */
  static TrainConfig defaults() {
    TrainFlags flags = new TrainFlags();
    new CommandLine(flags).parseArgs("--model", "(replace)");
    return flags.toConfig();
  }

  /**
   * The one place the flags become a {@link TrainConfig}; a bad value throws
   * {@link IllegalArgumentException} naming its flag.
   */
  public TrainConfig toConfig() {
    if (loraScale != null && loraAlpha != null) {
      throw new IllegalArgumentException("--lora-scale and --lora-alpha are mutually exclusive: give one"
          + " (scale = alpha / rank; got scale " + loraScale + ", alpha " + loraAlpha + ")");
    }
    double scale = loraScale != null ? loraScale
        : loraAlpha != null ? loraAlpha / Math.max(loraRank, 1) : DEFAULT_LORA_SCALE;
    try {
      return new TrainConfig(model, data, maxMemoryGb, reloadInterval, batchSize, loraRank, scale,
          loraLayers, loraDropout, targetModules, quantize, packing.trainSeqLength, maxSteps, epochs,
          learningRate, warmupSteps, lrSchedule, weightDecay, maxGradNorm, gradAccumulation,
          gradCheckpoint, packing.maskPrompt, stepsPerEval, valBatches, saveEvery, adapterPath, resume,
          packing.seed, metricsFile, packing.distrust, packing.alpha, lambdaWeight, computeDtype,
          keepCheckpoints, packing.maxBadFraction, continueSchedule);
    } catch (IllegalArgumentException e) {
      if (loraAlpha != null && e.getMessage().startsWith("--lora-scale")) {
        throw new IllegalArgumentException("--lora-alpha must be > 0 (got " + loraAlpha + ")", e);
      }
      throw e;
    }
  }
}
