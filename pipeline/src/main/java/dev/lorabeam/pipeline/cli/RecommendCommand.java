package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.pipeline.memory.MemoryModel.Estimate;
import dev.lorabeam.pipeline.memory.MemoryPlanner;
import dev.lorabeam.pipeline.memory.MemoryPlanner.Choice;
import dev.lorabeam.pipeline.memory.MemoryRule;
import dev.lorabeam.pipeline.memory.ModelShape;
import dev.lorabeam.pipeline.memory.SystemMemory;
import dev.lorabeam.pipeline.train.TrainJob;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code recommend}: training flags for this machine (or a stated memory) from the memory model.
 * Needs no model on disk for the known aliases: their shapes are built in.
 */
@Command(
    name = "recommend",
    mixinStandardHelpOptions = true,
    description = "Recommend --model/--quantize/--batch-size/--lora-*/--grad-checkpoint/--train-seq-length "
        + "for this machine's memory (or --memory GB), from a model of the trainer's peak memory.")
public final class RecommendCommand implements Callable<Integer> {
  /** Without --model: the users' main model first, the demo model as the fallback that always fits. */
  static final List<String> DEFAULT_MODELS = List.of("llama-8b", "smollm2-135m");

  @Spec CommandSpec spec;

  @Option(names = "--memory", paramLabel = "GB",
      description = "Memory for training in GB (default: the auto limit, clamp(0.8 × available, 16, 120)).")
  Double memoryGb;

  @Option(names = "--model", description = "Alias (llama-8b, smollm2-135m, …), Hugging Face directory or GGUF file "
      + "(default: llama-8b if it fits, else smollm2-135m).")
  String model;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    long budget = budget(out);
    List<String> models = model == null ? DEFAULT_MODELS : List.of(model);
    for (String m : models) {
      ModelShape shape = shapeOf(m);
      Optional<Choice> choice = MemoryPlanner.recommend(shape, budget);
      if (choice.isPresent()) {
        print(out, m, choice.get(), budget);
        return 0;
      }
      out.printf("%s does not fit in %.1f GB with any batch size, sequence length or --quantize 4.%n", m, budget / 1e9);
    }
    throw new UserError(String.format("nothing fits in %.1f GB: give more memory (--memory GB), or a smaller --model",
        budget / 1e9));
  }

  private long budget(PrintWriter out) {
    if (memoryGb != null) {
      if (!(memoryGb > 0)) {
        throw new UserError("--memory must be a positive number of GB (got " + memoryGb + ")");
      }
      out.printf("Memory for training: %.1f GB (--memory)%n", memoryGb);
      return MemoryRule.gbToBytes(memoryGb);
    }
    SystemMemory system = SystemMemory.read();
    double limit = MemoryRule.autoLimitGb(system.availableGb(), system.totalGb());
    out.printf("Memory for training: %.1f GB (the auto limit for %.1f GB available, %.1f GB physical)%n",
        limit, system.availableGb(), system.totalGb());
    return MemoryRule.gbToBytes(limit);
  }

  /** Built-in shapes for the aliases; a directory's config.json or a GGUF's metadata otherwise. */
  static ModelShape shapeOf(String m) {
    ModelShape known = ModelShape.KNOWN.get(m);
    if (known != null) {
      return known;
    }
    try {
      return ModelShape.read(TrainJob.resolveModel(m).path());
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      throw new UserError("--model " + m + ": " + e.getMessage(), e);
    }
  }

  private static void print(PrintWriter out, String m, Choice c, long budget) {
    Estimate e = c.estimate();
    String flags = MemoryPlanner.flags(m, c.plan());
    out.printf("Recommended:%n  train %s%n", flags);
    out.printf("Predicted peak %.1f GB of %.1f GB (float32 compute): weights %.2f, LoRA + AdamW %.2f, "
            + "activations %.2f, logits %.2f, dequantized copies + MLX %.2f GB%n",
        e.total() / 1e9, budget / 1e9, e.weights() / 1e9, e.lora() / 1e9, e.activations() / 1e9,
        e.logits() / 1e9, e.overhead() / 1e9);
    out.printf("The model is checked to ±20%% against measured peaks; measure it here with:%n  benchmark %s%n",
        flags.replace(" --batch-size " + c.plan().batchSize(), ""));
    out.flush();
  }
}
