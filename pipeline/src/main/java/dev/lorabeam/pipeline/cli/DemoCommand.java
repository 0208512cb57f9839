package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import dev.lorabeam.pipeline.train.MetricsWriter;
import dev.lorabeam.pipeline.train.StepMetrics;
import dev.lorabeam.pipeline.train.TrainConfig;
import dev.lorabeam.pipeline.train.TrainJob;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: the README's main job. QLoRA fine-tuning of the bundled SmolLM2-135M-Instruct
 * (its Q4_1 GGUF weights stay 4-bit; only the float32 adapters train) on {@code data/sample} for a
 * few minutes, then a loss-curve picture and a generation with the new adapters.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Fine-tune the bundled SmolLM2-135M-Instruct on data/sample, plot the loss, and generate with the adapters.")
public final class DemoCommand implements Callable<Integer> {
  static final String PROMPT = "What did the President say about the economy?";

  @Spec CommandSpec spec;

  @Option(names = "--output", defaultValue = "runs/demo", description = "Output directory (default: ${DEFAULT-VALUE}).")
  Path output;

  @Option(names = "--max-steps", defaultValue = "24", description = "Training steps (default: ${DEFAULT-VALUE}).")
  int maxSteps;

  @Option(names = "--train-seq-length", defaultValue = "512", description = "Tokens per block (default: ${DEFAULT-VALUE}).")
  int seqLength;

  @Option(names = "--batch-size", defaultValue = "1", description = "Blocks per step (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--learning-rate", defaultValue = "5e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  double learningRate;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path data = repoRoot().resolve("data/sample");
    TrainConfig config = TrainConfig.builder("smollm2-135m", data.toString())
        .adapterPath(output.toString())
        .maxSteps(maxSteps)
        .batchSize(batchSize)
        .trainSeqLength(seqLength)
        .learningRate(learningRate)
        .warmupSteps(Math.max(1, maxSteps / 10))
        .lrSchedule("cosine")
        .loraLayers(16)
        .stepsPerEval(Math.max(1, maxSteps / 4))
        .valBatches(2)
        .saveEvery(Math.max(1, maxSteps / 3))
        .build();
    out.printf("Demo: QLoRA on SmolLM2-135M-Instruct (Q4_1 GGUF), %d steps of %d×%d tokens, output in %s%n",
        maxSteps, batchSize, seqLength, output);
    out.flush();
    TrainJob.run(config, new String[0]);

    List<StepMetrics> metrics = MetricsWriter.readAll(config.resolvedMetricsFile());
    out.println(DemoSummary.describe(metrics));
    out.printf("%nPrompt: %s%n", PROMPT);
    out.flush();
    return LorabeamCli.newCommandLine().execute(
        "generate", "--model", "smollm2-135m", "--adapter-path", output.toString(),
        "--prompt", PROMPT, "--max-tokens", "60", "--temp", "0.7", "--top-p", "0.9", "--seed", "1");
  }

  /** The repository root: -Dlorabeam.root (set by exec:java), else the working directory. */
  static Path repoRoot() {
    String root = System.getProperty("lorabeam.root");
    Path path = root == null || root.isBlank() ? Paths.get("").toAbsolutePath() : Paths.get(root);
    if (!Files.isDirectory(path.resolve("data/sample"))) {
      throw new UserError("cannot find data/sample under " + path + ": run the demo from the repository root");
    }
    return path;
  }
}
