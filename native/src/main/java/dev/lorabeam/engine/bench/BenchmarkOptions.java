package dev.lorabeam.engine.bench;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * EngineBenchmark's flags, parsed once. Both sides get the same model, rows, T, B, rank, layers and
 * AdamW settings from here.
 */
public record BenchmarkOptions(
    Path model,
    String shape,
    int seqLen,
    int batchSize,
    int rank,
    double scale,
    int layers,
    int warmup,
    int steps,
    double lr,
    double weightDecay,
    boolean biasCorrection,
    boolean gradCheckpoint,
    String dtype,
    int gemmN,
    long seed,
    boolean runEngine,
    boolean runPeer,
    boolean peerSameBlas,
    Path out) {

  public static final String USAGE = String.join("\n",
      "EngineBenchmark: lorabeam's engine vs mlx_lm.lora on the same model and rows, one after the other.",
      "  --model DIR          Hugging Face model dir (default: target/bench/<shape>-random, written if missing)",
      "  --shape NAME         shape of the generated random model: smollm2-135m (default), tiny or tiny-49k",
      "  --seq-len T          tokens per row trained (default 512)",
      "  --batch-size B       rows per step (default 4)",
      "  --rank R --scale S   LoRA rank and scale (default 8, 20)",
      "  --layers N           LoRA on the last N blocks (default 16; clamped to the model's)",
      "  --warmup N --steps M warm-up steps, then measured steps per side (default 1, 2)",
      "  --lr X --weight-decay X --bias-correction   AdamW (default 1e-5, 0.01, off)",
      "  --grad-checkpoint    checkpoint every block on both sides",
      "  --dtype float32|bfloat16|float16   engine compute dtype (mlx-lm runs the model's dtype)",
      "  --gemm-n N           size of the float32 GEMM peak measurement (default 1024)",
      "  --seed N             rows and initial adapters (default 0)",
      "  --engine-only | --peer-only",
      "  --peer-blas same|wheel   mlx-lm resolves BLAS from the library the engine loaded (default, via",
      "                       LD_PRELOAD on Linux) or keeps the wheel's reference BLAS",
      "  --out FILE           also write the results as JSON");

  public static BenchmarkOptions parse(String[] args) {
    Path model = null;
    String shape = "smollm2-135m";
    int seqLen = 512, batch = 4, rank = 8, layers = 16, warmup = 1, steps = 2, gemmN = 1024;
    double scale = 20, lr = 1e-5, wd = 0.01;
    boolean bc = false, ckpt = false, engine = true, peer = true, sameBlas = true;
    String dtype = "float32";
    long seed = 0;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      switch (flag) {
        case "--bias-correction" -> bc = true;
        case "--grad-checkpoint" -> ckpt = true;
        case "--engine-only" -> peer = false;
        case "--peer-only" -> engine = false;
        case "-h", "--help" -> throw new IllegalArgumentException(USAGE);
        default -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value (or is unknown)\n" + USAGE);
          }
          String v = args[++i];
          switch (flag) {
            case "--model" -> model = Paths.get(v);
            case "--shape" -> shape = v;
            case "--seq-len" -> seqLen = positive(flag, v);
            case "--batch-size" -> batch = positive(flag, v);
            case "--rank" -> rank = positive(flag, v);
            case "--scale" -> scale = Double.parseDouble(v);
            case "--layers" -> layers = positive(flag, v);
            case "--warmup" -> warmup = Integer.parseInt(v);
            case "--steps" -> steps = positive(flag, v);
            case "--lr" -> lr = Double.parseDouble(v);
            case "--weight-decay" -> wd = Double.parseDouble(v);
            case "--dtype" -> dtype = v;
            case "--gemm-n" -> gemmN = positive(flag, v);
            case "--seed" -> seed = Long.parseLong(v);
            case "--out" -> out = Paths.get(v);
            case "--peer-blas" -> sameBlas = switch (v) {
              case "same" -> true;
              case "wheel" -> false;
              default -> throw new IllegalArgumentException("--peer-blas is same or wheel, got " + v);
            };
            default -> throw new IllegalArgumentException("unknown flag " + flag + "\n" + USAGE);
          }
        }
      }
    }
    return new BenchmarkOptions(model, shape, seqLen, batch, rank, scale, layers, warmup, steps, lr, wd, bc, ckpt,
        dtype, gemmN, seed, engine, peer, sameBlas, out);
  }

  private static int positive(String flag, String value) {
    int n = Integer.parseInt(value);
    if (n <= 0) {
      throw new IllegalArgumentException(flag + " must be positive, got " + value);
    }
    return n;
  }

  /** Rows in the data set: one batch per step, so neither side sees a batch twice in a row. */
  public int rows() {
    return batchSize * Math.max(1, warmup + steps);
  }
}
