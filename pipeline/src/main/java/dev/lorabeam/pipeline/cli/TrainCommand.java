package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import dev.lorabeam.pipeline.train.StopSignal;
import dev.lorabeam.pipeline.train.TrainConfig;
import dev.lorabeam.pipeline.train.TrainConfigBuilder;
import dev.lorabeam.pipeline.train.TrainJob;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code train}: every flag users know from the tool this project replaces, validated into one
 * {@link TrainConfig}; anything of the form {@code --name=value} that is not a train flag goes to
 * Beam as a pipeline option ({@code --runner=DirectRunner}, {@code --targetParallelism=2}).
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    sortOptions = false,
    description = {
      "Fine-tune a Llama-family model with LoRA (QLoRA with --quantize) as an Apache Beam pipeline.",
      "Other --name=value arguments are passed to Beam as pipeline options (e.g. --runner=DirectRunner)."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  Demo: the bundled SmolLM2-135M (4-bit GGUF) on the sample data:",
      "    lorabeam train --model smollm2-135m --data data/sample --max-steps 200 \\",
      "      --batch-size 4 --train-seq-length 256 --learning-rate 2e-4 \\",
      "      --adapter-path out/demo",
      "  Llama 3.1 8B on a 32 GB Mac, QLoRA, memory limit auto-detected:",
      "    lorabeam train --model llama-8b --data data --quantize 4 \\",
      "      --grad-checkpoint --max-steps 5000",
      "  Weight primary sources higher (empirical distrust):",
      "    lorabeam train --model dolphin-8b --data data --distrust weighted",
      "  Continue from the latest checkpoint (e.g. nightly from cron, new data):",
      "    lorabeam train --model llama-8b --data data/new --resume",
      "  Run on another Beam runner (options pass through):",
      "    lorabeam train --model smollm2-135m --max-steps 50 --runner=DirectRunner"
    })
public final class TrainCommand implements Callable<Integer> {

  /** What Beam accepts: {@code --camelCaseName} or {@code --camelCaseName=value}. */
  private static final Pattern BEAM_OPTION = Pattern.compile("--[A-Za-z][A-Za-z0-9]*(=.*)?");

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

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "" + TrainConfigBuilder.DEFAULT_BATCH_SIZE,
      description = "Sequences per micro-batch.")
  int batchSize;

  @Option(names = "--lora-rank", paramLabel = "R", defaultValue = "" + TrainConfigBuilder.DEFAULT_LORA_RANK,
      description = "LoRA rank.")
  int loraRank;

  @Option(names = "--lora-scale", paramLabel = "S",
      description = "LoRA output scale, used as is like mlx-lm (default: 20.0).")
  Double loraScale;

  @Option(names = "--lora-alpha", paramLabel = "A",
      description = "LoRA alpha: sets the scale to A / rank (instead of --lora-scale).")
  Double loraAlpha;

  @Option(names = "--lora-layers", paramLabel = "N", defaultValue = "" + TrainConfigBuilder.DEFAULT_LORA_LAYERS,
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

  @Option(names = "--train-seq-length", paramLabel = "T",
      defaultValue = "" + TrainConfigBuilder.DEFAULT_TRAIN_SEQ_LENGTH, description = "Tokens per training row.")
  int trainSeqLength;

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

  @Option(names = "--grad-checkpoint", description = "Recompute activations in the backward pass (less memory, slower steps).")
  boolean gradCheckpoint;

  @Option(names = "--mask-prompt", description = "Train only on completions / assistant turns, not prompts.")
  boolean maskPrompt;

  @Option(names = "--steps-per-eval", paramLabel = "N", defaultValue = "200", description = "Validation loss every N steps (0 = only at the end).")
  int stepsPerEval;

  @Option(names = "--val-batches", paramLabel = "N", defaultValue = "25", description = "Validation batches per evaluation (-1 = all, 0 = none).")
  int valBatches;

  @Option(names = "--save-every", paramLabel = "N", defaultValue = "100", description = "Checkpoint every N steps (0 = only at the end).")
  int saveEvery;

  @Option(names = "--keep-checkpoints", paramLabel = "K", defaultValue = "3", description = "Complete checkpoints to keep.")
  int keepCheckpoints;

  @Option(names = "--max-bad-fraction", paramLabel = "F", defaultValue = "0.01",
      description = "Fail the run when more than this share of rows is rejected (they go to dead-letters.jsonl).")
  double maxBadFraction;

  @Option(names = "--adapter-path", paramLabel = "DIR", defaultValue = "adapters",
      description = "Where adapters (mlx-lm format), checkpoints, metrics and the loss chart go.")
  String adapterPath;

  @Option(names = "--resume", description = "Continue from the latest complete checkpoint in --adapter-path.")
  boolean resume;

  @Option(names = "--continue-schedule",
      description = "With --resume on new data, continue the old learning-rate schedule instead of a fresh warm-up/decay over this run's steps.")
  boolean continueSchedule;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed for data order, LoRA init and dropout.")
  long seed;

  @Option(names = "--metrics-file", paramLabel = "FILE", description = "JSONL step metrics (default: <adapter-path>/metrics.jsonl).")
  String metricsFile;

  @Option(names = "--distrust", paramLabel = "MODE", defaultValue = "off",
      description = "Empirical distrust: off; additive (old tool: adds lambda x mean L_emp to the reported loss only); "
          + "weighted (weights each example's tokens by L_emp / mean).")
  String distrust;

  @Option(names = "--alpha", paramLabel = "A", defaultValue = "2.7", description = "Distrust alpha (2.3-3.0 typical).")
  double alpha;

  @Option(names = "--lambda-weight", paramLabel = "L", defaultValue = "1.0", description = "Distrust lambda for --distrust additive.")
  double lambdaWeight;

  @Option(names = "--compute-dtype", paramLabel = "DTYPE", defaultValue = "float32", description = "float32, bfloat16 or float16.")
  String computeDtype;

  @Unmatched List<String> unmatched = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    TrainConfig config = toConfig();
    try {
      TrainJob.run(config, beamArgs());
    } catch (StopSignal.Stopped stopped) {
      System.err.println(stoppedLine(stopped, config.adapterPath(), originalArgs()));
      return stopped.kind().exitCode;
    }
    return 0;
  }

  /** The one line a run stopped by Ctrl-C / SIGTERM ends with: where it stopped and how to go on. */
  static String stoppedLine(StopSignal.Stopped s, String adapterPath, List<String> args) {
    List<String> resume = new ArrayList<>(List.of("lorabeam"));
    for (String a : args) {
      resume.add(a.isEmpty() || a.matches(".*[\\s'\"$`\\\\].*") ? "'" + a.replace("'", "'\\''") + "'" : a);
    }
    if (!args.contains("--resume")) {
      resume.add("--resume");
    }
    String where = s.checkpoint() == null
        ? "no checkpoint was written yet, --resume starts at step 0"
        : "checkpoint " + s.checkpoint();
    return String.format("Stopped by SIG%s after step %d (%s). To resume from --adapter-path %s: %s",
        s.kind(), s.step(), where, adapterPath, String.join(" ", resume));
  }

  /** The command line as typed after {@code lorabeam} (picocli keeps it), or just {@code train}. */
  private List<String> originalArgs() {
    if (spec == null || spec.commandLine().getParseResult() == null) {
      return List.of("train");
    }
    List<String> all = spec.commandLine().getParseResult().originalArgs();
    return all.isEmpty() ? List.of("train") : all;
  }

  /** The validated config; a bad flag becomes a one-line {@link UserError}. */
  TrainConfig toConfig() {
    if (loraScale != null && loraAlpha != null) {
      throw new UserError("--lora-scale and --lora-alpha are mutually exclusive: give one"
          + " (scale = alpha / rank; got scale " + loraScale + ", alpha " + loraAlpha + ")");
    }
    double scale = loraScale != null ? loraScale
        : loraAlpha != null ? loraAlpha / Math.max(loraRank, 1) : TrainConfigBuilder.DEFAULT_LORA_SCALE;
    try {
      return new TrainConfig(model, data, maxMemoryGb, reloadInterval, batchSize, loraRank, scale,
          loraLayers, loraDropout, targetModules, quantize, trainSeqLength, maxSteps, epochs,
          learningRate, warmupSteps, lrSchedule, weightDecay, maxGradNorm, gradAccumulation,
          gradCheckpoint, maskPrompt, stepsPerEval, valBatches, saveEvery, adapterPath, resume,
          seed, metricsFile, distrust, alpha, lambdaWeight, computeDtype, keepCheckpoints,
          maxBadFraction, continueSchedule);
    } catch (IllegalArgumentException e) {
      String message = loraAlpha != null && e.getMessage().startsWith("--lora-scale")
          ? "--lora-alpha must be > 0 (got " + loraAlpha + ")" : e.getMessage();
      throw new UserError(message, e);
    }
  }

  /** The arguments Beam gets; anything that cannot be a Beam option is a user error. */
  String[] beamArgs() {
    for (String arg : unmatched) {
      if (!BEAM_OPTION.matcher(arg).matches()) {
        throw new UserError(arg.startsWith("-")
            ? "unknown option '" + arg + "': see `lorabeam train --help`"
                + " (Beam options are written --name=value, e.g. --runner=DirectRunner)"
            : "unexpected argument '" + arg + "': Beam options are written --name=value"
                + " (e.g. --runner=DirectRunner), train flags as --flag value");
      }
    }
    return unmatched.toArray(new String[0]);
  }
}
