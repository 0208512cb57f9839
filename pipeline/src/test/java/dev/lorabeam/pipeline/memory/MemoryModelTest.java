package dev.lorabeam.pipeline.memory;

import static org.junit.Assert.assertTrue;

import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.pipeline.memory.MemoryModel.Plan;
import dev.lorabeam.transforms.model.ModelLocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The memory model against MLX's measured peak of real engine steps (peak reset before each
 * step), over a grid of batch size, sequence length, LoRA rank/layers, quantization and gradient
 * checkpointing, on a random float32 Llama and on the bundled SmolLM2-135M GGUF.
 */
public class MemoryModelTest {
  static final double TOLERANCE = 0.20;

  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void predictsMeasuredPeaksOfASizedLlamaWithin20Percent() throws Exception {
    Path dir = SizedLlama.write(tmp.getRoot().toPath().resolve("sized"));
    List<String> misses = new ArrayList<>();
    int[][] sizes = {{1, 128}, {4, 64}, {2, 256}};
    measure(dir, SizedLlama.SHAPE, Plan.of(0, 1, 1, 8, -1, false), sizes, misses);
    measure(dir, SizedLlama.SHAPE, Plan.of(0, 1, 1, 16, 2, true), sizes, misses);
    measure(dir, SizedLlama.SHAPE, Plan.of(4, 1, 1, 8, -1, false), sizes, misses);
    assertTrue("predictions off by more than 20%:\n" + String.join("\n", misses), misses.isEmpty());
  }

  @Test
  public void predictsMeasuredPeaksOfTheBundledSmolLm2Within20Percent() throws Exception {
    Path gguf = ModelLocator.fromEnvironment().demoGguf();
    ModelShape shape = ModelShape.read(gguf);
    List<String> misses = new ArrayList<>();
    measure(gguf, shape, Plan.of(0, 1, 1, 8, 16, false), new int[][] {{1, 64}, {2, 128}}, misses);
    measure(gguf, shape, Plan.of(0, 1, 1, 4, -1, true), new int[][] {{2, 64}}, misses);
    assertTrue("predictions off by more than 20%:\n" + String.join("\n", misses), misses.isEmpty());
  }

  /** Opens one engine for {@code plan}'s rank/layers/checkpointing and steps once at each (B, T). */
  private static void measure(Path model, ModelShape shape, Plan plan, int[][] sizes, List<String> misses) {
    EngineConfig config = EngineConfig.defaults(model).withQuantizeBits(plan.quantizeBits())
        .withLora(plan.loraRank(), 20.0, 0.0, plan.loraLayers(), EngineConfig.ALL_MODULES)
        .withGradCheckpoint(plan.gradCheckpoint());
    Random random = new Random(1);
    try (Engine engine = Engine.open(config)) {
      for (int[] bt : sizes) {
        Plan p = new Plan(plan.quantizeBits(), bt[0], bt[1], plan.loraRank(), plan.loraLayers(),
            plan.gradCheckpoint(), 4);
        int[] tokens = random.ints((long) bt[0] * (bt[1] + 1), 0, shape.vocab()).toArray();
        Mlx.resetPeakMemory();
        long start = System.nanoTime();
        engine.step(Batch.ofRows(bt[0], bt[1], tokens), 1e-4);
        long measured = Mlx.peakMemory();
        MemoryModel.Estimate e = MemoryModel.estimate(shape, p);
        double error = (double) e.total() / measured - 1;
        String line = String.format("%s %s: predicted %.1f MB (weights %.1f, lora %.1f, act %.1f, logits %.1f,"
                + " overhead %.1f), measured %.1f MB, %+.1f%% (%.1f s)", shape.name(), p, e.total() / 1e6, e.weights() / 1e6,
            e.lora() / 1e6, e.activations() / 1e6, e.logits() / 1e6, e.overhead() / 1e6, measured / 1e6, 100 * error,
            (System.nanoTime() - start) / 1e9);
        System.out.println(line);
        if (Math.abs(error) > TOLERANCE) {
          misses.add(line);
        }
      }
    }
  }
}
