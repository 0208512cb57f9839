package dev.lorabeam.pipeline.cli;

import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.pipeline.train.MetricsWriter;
import dev.lorabeam.pipeline.train.StepMetrics;
import dev.lorabeam.pipeline.train.TrainConfig;
import dev.lorabeam.pipeline.train.TrainJob;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: the README's main job. QLoRA fine-tuning of the bundled SmolLM2-135M-Instruct
 * (its Q4_1 GGUF weights stay 4-bit; only the float32 adapters train) on {@code data/persona} — a
 * reply format the base model does not have — for a few minutes. It shows what training changed:
 * the validation loss of the base model before step 1 and of the adapters after the last step,
 * and the same prompt answered without and with the adapters.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Fine-tune the bundled SmolLM2-135M-Instruct on data/persona and show the validation loss and a reply before and after.")
public final class DemoCommand implements Callable<Integer> {
  /** A question of a kind the data has, about a country it never names: the format must generalise. */
  static final String PROMPT = "What is the capital of Switzerland?";
  static final String DATA = "data/persona";

  @Spec CommandSpec spec;

  @Option(names = "--output", defaultValue = "runs/demo", description = "Output directory (default: ${DEFAULT-VALUE}).")
  Path output;

  static final int MAX_REPLY_TOKENS = 40;

  @Option(names = "--max-steps", defaultValue = "24", description = "Training steps (default: ${DEFAULT-VALUE}).")
  int maxSteps;

  @Option(names = "--train-seq-length", defaultValue = "256", description = "Tokens per block (default: ${DEFAULT-VALUE}).")
  int seqLength;

  @Option(names = "--batch-size", defaultValue = "1", description = "Blocks per step (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--learning-rate", defaultValue = "5e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  double learningRate;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path data = repoRoot().resolve(DATA);
    TrainConfig config = TrainConfig.builder(ModelLocator.DEMO_ALIAS, data.toString())
        .adapterPath(output.toString())
        .maxSteps(maxSteps)
        .batchSize(batchSize)
        .trainSeqLength(seqLength)
        .learningRate(learningRate)
        .warmupSteps(Math.max(1, maxSteps / 10))
        .lrSchedule("cosine")
        .loraLayers(16)
        .maskPrompt(true)
        .stepsPerEval(Math.max(1, maxSteps / 4))
        .valBatches(2)
        .saveEvery(Math.max(1, maxSteps / 3))
        .build();
    out.printf("Demo: QLoRA on SmolLM2-135M-Instruct (Q4_1 GGUF) with %s, %d steps of %d×%d tokens, output in %s%n",
        DATA, maxSteps, batchSize, seqLength, output);
    ResolvedModel model = TrainJob.resolveModel(ModelLocator.DEMO_ALIAS);
    EngineConfig engine = config.toEngineConfig(model.path());
    DemoEvaluation eval = new DemoEvaluation(model.path(), model.tokenizer(), data.resolve("valid.jsonl"), true);
    double before = eval.loss(engine, null);
    out.printf("Base model, before step 1: validation loss %.4f (%d held-out conversations, replies only)%n",
        before, eval.documents());
    out.flush();
    String baseReply = eval.generate(engine, null, PROMPT, MAX_REPLY_TOKENS);
    out.flush();

    TrainJob.run(config, new String[0]);
    List<StepMetrics> metrics = MetricsWriter.readAll(config.resolvedMetricsFile());
    double after = eval.loss(engine, output);
    String adaptedReply = eval.generate(engine, output, PROMPT, MAX_REPLY_TOKENS);
    out.println(DemoSummary.describe(metrics));
    out.println(DemoSummary.beforeAfter(before, after, metrics.isEmpty() ? 0 : metrics.get(metrics.size() - 1).step()));
    out.println(DemoSummary.replies(PROMPT, baseReply, adaptedReply));
    out.flush();
    return fuseAndEvaluate(out, data) ? 0 : 1;
  }

  /**
   * The rest of the life cycle: the adapters fused into the base (a Hugging Face directory that
   * mlx-lm loads), then that fused model evaluated on the held-out conversations, as a user would.
   */
  private boolean fuseAndEvaluate(PrintWriter out, Path data) throws IOException {
    Path fused = output.resolve("fused");
    deleteTree(fused);  // the demo's own output from an earlier run; fuse refuses a non-empty --output
    String[] fuse = {"fuse", "--model", ModelLocator.DEMO_ALIAS, "--adapter-path", output.toString(),
        "--output", fused.toString(), "--dequantize"};
    String[] evaluate = {"evaluate", "--model", fused.toString(), "--data", data.toString(), "--split", "valid",
        "--mask-prompt", "--no-mlx-lm-pad-target"};
    for (String[] command : List.of(fuse, evaluate)) {
      out.println();
      out.println("$ lorabeam " + String.join(" ", command));
      out.flush();
      if (LorabeamCli.newCommandLine().setOut(out).execute(command) != 0) {
        return false;
      }
    }
    out.println("(the fused model scores what base + adapters scored above: the adapters are in its weights now)");
    return true;
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** The repository root: -Dlorabeam.root (set by exec:java), else the working directory. */
  static Path repoRoot() {
    String root = System.getProperty("lorabeam.root");
    Path path = root == null || root.isBlank() ? Paths.get("").toAbsolutePath() : Paths.get(root);
    if (!Files.isDirectory(path.resolve(DATA))) {
      throw new UserError("cannot find " + DATA + " under " + path + ": run the demo from the repository root");
    }
    return path;
  }
}
