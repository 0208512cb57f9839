package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.pipeline.memory.MemoryModel;
import dev.lorabeam.pipeline.memory.MemoryModel.Plan;
import dev.lorabeam.pipeline.memory.MemorySetup;
import dev.lorabeam.pipeline.memory.ModelShape;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import java.io.PrintWriter;
import java.util.Random;
import java.util.concurrent.Callable;
import org.checkerframework.checker.nullness.qual.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code benchmark}: real training steps (random tokens, every target trained) at batch sizes 1, 2,
 * 4, … on one model, each size's tokens/s and MLX peak against the memory limit, until a size does
 * not fit; then the largest that fits. A model that is not on disk fails before anything runs,
 * with the command that downloads it.
 */
@Command(
    name = "benchmark",
    mixinStandardHelpOptions = true,
    description = "Train a few steps at growing batch sizes and report the largest that fits under the memory limit.")
public final class BenchmarkCommand implements Callable<Integer> {
  /** Sizes whose prediction exceeds the limit by this factor are not tried (they would only swap). */
  static final double SKIP_ABOVE = 1.5;

  @Spec CommandSpec spec;

  @Mixin ModelFlags model;

  @Option(names = "--max-memory", paramLabel = "GB", description = "Memory limit in GB (default: the auto limit, as train).")
  Double maxMemoryGb;

  @Option(names = "--train-seq-length", defaultValue = "512", description = "Tokens per row (default: ${DEFAULT-VALUE}).")
  int seqLength;

  @Option(names = "--max-batch-size", defaultValue = "64", description = "Largest batch size to try (default: ${DEFAULT-VALUE}).")
  int maxBatch;

  @Option(names = "--steps", defaultValue = "2", description = "Timed steps per size, after one warm-up step (default: ${DEFAULT-VALUE}).")
  int steps;

  @Mixin ModelFlags.QuantizeOnLoad quantize;

  @Option(names = "--lora-rank", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
  int rank;

  @Option(names = "--lora-layers", defaultValue = "16", description = "Adapted blocks, -1 = all (default: ${DEFAULT-VALUE}).")
  int layers;

  @Option(names = "--grad-checkpoint", description = "Recompute each block's activations in the backward pass.")
  boolean gradCheckpoint;

  /** One measured size. */
  record Size(int batch, double tokensPerSec, long peak, boolean fits) {}

  @Override
  public Integer call() {
    validate();
    PrintWriter out = spec.commandLine().getOut();
    ResolvedModel resolved = model.resolve();  // not found → the download command, exit 2
    long limit = MemorySetup.apply(maxMemoryGb, System.out);
    @Nullable ModelShape shape = shapeOrNull(resolved);
    EngineConfig config = EngineConfig.defaults(resolved.path()).withQuantizeBits(quantize.bits())
        .withLora(rank, 20.0, 0.0, layers, EngineConfig.ALL_MODULES).withGradCheckpoint(gradCheckpoint);
    out.printf("benchmark %s: T = %d, %d timed step(s) per size, limit %.3f GB%n", model.name(), seqLength, steps, limit / 1e9);
    out.printf("%6s %12s %12s %12s  %s%n", "batch", "tokens/s", "peak GB", "predicted", "");
    Size best = null;
    try (Engine engine = Engine.open(config)) {
      int vocab = engine.modelInfo().vocabSize();
      for (int b = 1; b <= maxBatch; b *= 2) {
        long predicted = shape == null ? -1 : MemoryModel.estimate(shape, plan(b)).total();
        if (predicted > SKIP_ABOVE * limit) {
          out.printf("%6d %12s %12s %12.3f  not tried: predicted over %.1f× the limit%n", b, "-", "-",
              predicted / 1e9, SKIP_ABOVE);
          break;
        }
        Size s = run(engine, b, vocab, limit);
        out.printf("%6d %12s %12s %12s  %s%n", b, s.tokensPerSec() > 0 ? String.format("%.1f", s.tokensPerSec()) : "-",
            s.peak() > 0 ? String.format("%.3f", s.peak() / 1e9) : "-",
            predicted < 0 ? "-" : String.format("%.3f", predicted / 1e9), s.fits() ? "fits" : "does not fit");
        out.flush();
        if (!s.fits()) {
          break;
        }
        best = s;
      }
    }
    return report(out, best, limit);
  }

  /** One warm-up step (compiles the step for this shape), then {@code steps} timed ones. */
  private Size run(Engine engine, int batch, int vocab, long limit) {
    Random random = new Random(batch);
    long peak = 0;
    long nanos = 0;
    try {
      for (int i = 0; i <= steps; i++) {
        int[] tokens = random.ints((long) batch * (seqLength + 1), 0, vocab).toArray();
        Batch rows = Batch.ofRows(batch, seqLength, tokens);
        Mlx.resetPeakMemory();
        long start = System.nanoTime();
        engine.step(rows, 1e-5);
        nanos += i == 0 ? 0 : System.nanoTime() - start;
        peak = Math.max(peak, Mlx.peakMemory());
        if (peak > limit) {
          return new Size(batch, 0, peak, false);
        }
      }
    } catch (MlxException e) {
      if (e.isOutOfMemory()) {
        return new Size(batch, 0, Math.max(peak, Mlx.peakMemory()), false);
      }
      throw e;
    }
    double tokensPerSec = steps == 0 ? 0 : (double) batch * seqLength * steps / (nanos / 1e9);
    return new Size(batch, tokensPerSec, peak, true);
  }

  private int report(PrintWriter out, @Nullable Size best, long limit) {
    if (best == null) {
      throw new UserError(String.format("not even one row of %d tokens fits under %.3f GB: try a shorter "
          + "--train-seq-length, --grad-checkpoint, --quantize 4, or a larger --max-memory", seqLength, limit / 1e9));
    }
    out.printf("Largest that fits under %.3f GB: --batch-size %d --train-seq-length %d (peak %.3f GB, %.1f tokens/s)%n",
        limit / 1e9, best.batch(), seqLength, best.peak() / 1e9, best.tokensPerSec());
    out.flush();
    return 0;
  }

  private Plan plan(int batch) {
    return Plan.of(quantize.bits(), batch, seqLength, rank, layers, gradCheckpoint);
  }

  private static @Nullable ModelShape shapeOrNull(ResolvedModel resolved) {
    try {
      return ModelShape.read(resolved.path());
    } catch (RuntimeException e) {
      return null;  // no prediction column; the measurement does not need it
    }
  }

  private void validate() {
    if (seqLength < 1 || maxBatch < 1 || steps < 1 || rank < 1) {
      throw new UserError("--train-seq-length, --max-batch-size, --steps and --lora-rank must be ≥ 1 (got "
          + seqLength + ", " + maxBatch + ", " + steps + ", " + rank + ")");
    }
    quantize.check();
    if (maxMemoryGb != null && !(maxMemoryGb > 0)) {
      throw new UserError("--max-memory must be a positive number of GB (got " + maxMemoryGb + ")");
    }
  }
}
