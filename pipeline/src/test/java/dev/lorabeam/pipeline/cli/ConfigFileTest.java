package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.pipeline.train.TrainConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import picocli.CommandLine;

/**
 * {@code -c FILE}: keys with {@code -} or {@code _} and mlx-lm's names, command-line precedence,
 * and the messages for an unknown key or a bad value (file, line, key, value, the fix). Parsing
 * only; {@link ConfigFileRunTest} trains, fuses and evaluates from files.
 */
public class ConfigFileTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  /** An mlx-lm style file: underscores, a dash key, lora_parameters, mlx-lm's names and no-op keys. */
  private static final String MLX_LM_STYLE = String.join("\n",
      "model: smollm2-135m",
      "data: data/sample",
      "fine_tune_type: lora",
      "optimizer: adamw",
      "learning_rate: 2e-4",
      "batch-size: 2",
      "num_layers: 4",
      "grad_accumulation_steps: 3",
      "lora_parameters:",
      "  rank: 16",
      "  scale: 10.0",
      "  dropout: 0.05",
      "  keys: [self_attn.q_proj, v]",
      "mask_prompt: true",
      "max_memory: 3.5",
      "max_steps: 7",
      "lr_schedule: cosine",
      "");

  @Test
  public void dashAndUnderscoreKeysAndMlxLmNamesSetTheFlags() throws IOException {
    TrainConfig c = trainConfig("-c", write("run.yaml", MLX_LM_STYLE).toString());
    assertEquals("smollm2-135m", c.model());
    assertEquals("data/sample", c.data());
    assertEquals(2e-4, c.learningRate(), 0);
    assertEquals(2, c.batchSize());
    assertEquals(4, c.loraLayers());
    assertEquals(3, c.gradAccumulation());
    assertEquals(16, c.loraRank());
    assertEquals(10.0, c.loraScale(), 0);
    assertEquals(0.05, c.loraDropout(), 0);
    assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj"), c.targetModules());
    assertTrue(c.maskPrompt());
    assertEquals(3.5, c.maxMemoryGb(), 0);
    assertEquals(Integer.valueOf(7), c.maxSteps());
    assertEquals("cosine", c.lrSchedule());
    assertEquals("unset keys keep the flags' defaults", 0.01, c.weightDecay(), 0);
  }

  @Test
  public void nullOrEmptyValuesLeaveTheDeclaredDefault() throws IOException {
    TrainConfig c = trainConfig("-c", write("nulls.yaml", "model: m\nmax_memory: null\nbatch_size:\nmax_steps: 3\n").toString());
    assertEquals("max_memory: null keeps the auto limit", null, c.maxMemoryGb());
    assertEquals(4, c.batchSize());
    assertEquals(Integer.valueOf(3), c.maxSteps());
    assertEquals("an empty file sets nothing", "x",
        trainConfig("-c", write("empty.yaml", "").toString(), "--model", "x").model());
  }

  @Test
  public void theExampleConfigInTheReadmeIsValid() {
    Path example = Path.of(System.getProperty("lorabeam.root", "..")).resolve("examples/lora.yaml");
    TrainConfig c = trainConfig("-c", example.toString());
    assertEquals("smollm2-135m", c.model());
    assertEquals(Integer.valueOf(100), c.maxSteps());
    assertEquals(2, c.gradAccumulation());
    assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj"), c.targetModules());
    assertEquals("cosine", c.lrSchedule());
  }

  @Test
  public void commandLineFlagsOverrideTheFile() throws IOException {
    TrainConfig c = trainConfig("-c", write("run.yaml", MLX_LM_STYLE).toString(), "--learning-rate", "1e-3",
        "--batch-size", "8", "--no-mask-prompt", "--target-modules", "o", "--lora-rank", "4");
    assertEquals(1e-3, c.learningRate(), 0);
    assertEquals(8, c.batchSize());
    assertFalse("--no-mask-prompt turns off the file's mask_prompt: true", c.maskPrompt());
    assertEquals(List.of("self_attn.o_proj"), c.targetModules());
    assertEquals(4, c.loraRank());
    assertEquals("the rest still comes from the file", 10.0, c.loraScale(), 0);
    assertEquals(3, c.gradAccumulation());
    TrainConfig on = trainConfig("-c", write("off.yaml", "model: m\nmask_prompt: false\n").toString(), "--mask-prompt");
    assertTrue("--mask-prompt turns on the file's false", on.maskPrompt());
  }

  @Test
  public void unknownKeyIsAUsageErrorNamingKeyFileLineAndTheNearestFlag() throws IOException {
    Path out = tmp.getRoot().toPath().resolve("never-written");
    Path file = write("typo.yaml", "model: smollm2-135m\nadapter_path: " + out + "\nlearnin_rate: 1e-4\n");
    Run run = execute("train", "-c", file.toString());
    assertEquals(CommandLine.ExitCode.USAGE, run.code);
    assertTrue(run.err, run.err.contains(file + " line 3: unknown key 'learnin_rate' for lorabeam train;"
        + " did you mean learning_rate?"));
    assertEquals("one line, not the usage text: " + run.err, 1, run.err.strip().lines().count());
    assertFalse("nothing was trained", Files.exists(out));
    Path dashed = write("dash.yaml", "model: m\nbatch-sise: 4\n");
    assertTrue(execute("train", "-c", dashed.toString()).err.contains("did you mean batch-size?"));
  }

  @Test
  public void mlxLmKeysOfAnotherMeaningAreRefusedWithWhatToWrite() throws IOException {
    Run run = execute("train", "-c", write("iters.yaml", "model: m\niters: 600\n").toString());
    assertEquals(2, run.code);
    assertTrue(run.err, run.err.contains("line 2: unknown key 'iters' for lorabeam train: mlx-lm's iters counts"
        + " micro-batches") && run.err.contains("write max_steps: N"));
    run = execute("train", "-c", write("opt.yaml", "model: m\noptimizer: adam\n").toString());
    assertTrue(run.err, run.err.contains("line 2: unknown key 'optimizer'") && run.err.contains("weight_decay: 0"));
    run = execute("train", "-c", write("sched.yaml", "model: m\nlr_schedule:\n  name: cosine_decay\n").toString());
    assertTrue(run.err, run.err.contains("line 2: lr_schedule takes one value or a list, not a mapping")
        && run.err.contains("warmup_steps"));
  }

  @Test
  public void badValuesNameKeyFileLineValueAndWhatIsExpected() throws IOException {
    Path four = write("four.yaml", "model: m\nbatch_size: four\n");
    Run run = execute("train", "-c", four.toString());
    assertEquals(2, run.code);
    assertTrue(run.err, run.err.contains(four + " line 2: batch_size: 'four' is not a whole number;"
        + " --batch-size takes a whole number, e.g. batch_size: 4"));
    run = execute("train", "-c", write("bool.yaml", "model: m\nmask_prompt: maybe\n").toString());
    assertTrue(run.err, run.err.contains("line 2: mask_prompt: 'maybe' is not true or false"));
    // A value of the right type out of range: the trainer's rule, then where the value came from.
    Path negative = write("lr.yaml", "model: m\nmax_steps: 1\nlearning_rate: -1\n");
    run = execute("train", "-c", negative.toString());
    assertEquals(2, run.code);
    assertTrue(run.err, run.err.contains("--learning-rate must be in (0, 1), e.g. 1e-5 (got -1.0); from "
        + negative + " line 3 (learning_rate: -1)"));
    assertEquals("one line: " + run.err, 1, run.err.strip().lines().count());
    run = execute("train", "-c", negative.toString(), "--learning-rate", "-2");
    assertTrue("a flag given on the command line is not blamed on the file: " + run.err,
        run.err.contains("(got -2.0)") && !run.err.contains(negative.toString()));
  }

  @Test
  public void aKeyGivenTwiceOrAMissingFileOrBadYamlIsAUsageError() throws IOException {
    Run run = execute("train", "-c", write("twice.yaml", "model: m\nlearning_rate: 1e-4\nlearning-rate: 2e-4\n").toString());
    assertEquals(2, run.code);
    assertTrue(run.err, run.err.contains("line 3: learning-rate sets --learning-rate, which line 2 (learning_rate)"
        + " already sets"));
    run = execute("train", "-c", tmp.getRoot().toPath().resolve("missing.yaml").toString());
    assertTrue(run.err, run.code == 2 && run.err.contains("missing.yaml does not exist"));
    run = execute("train", "-c", write("bad.yaml", "model: [m\n").toString());
    assertTrue(run.err, run.code == 2 && run.err.contains("is not valid YAML"));
  }

  @Test
  public void helpShowsTheFileValuesAsDefaultsAndEveryFlag() throws IOException {
    StringWriter out = new StringWriter();
    CommandLine cli = LorabeamCli.newCommandLine();
    cli.setOut(new PrintWriter(out));
    assertEquals(0, cli.execute("train", "-c", write("run.yaml", MLX_LM_STYLE).toString(), "--help"));
    String help = out.toString();
    assertTrue(help, help.contains("-c, --config=FILE"));
    assertTrue(help, help.matches("(?s).*--learning-rate=LR\\s+Peak learning rate \\(AdamW\\)\\.\\s+Default: 2e-4.*"));
    assertTrue(help, help.matches("(?s).*--epochs=N.*Default: 1.*"));  // not in the file: the declared default
  }

  @Test
  public void preprocessFuseAndEvaluateReadTheirKeys() throws IOException {
    PreprocessCommand pre = new PreprocessCommand();
    new CommandLine(pre).parseArgs("-c", write("pre.yaml",
        "data: data/sample\noutput: runs/shards\ntrain_seq_length: 128\nfill_gaps: true\nnum_shards: 3\n").toString());
    assertEquals(128, pre.packing.trainSeqLength());
    assertTrue(pre.fillGaps);
    assertEquals(3, pre.numShards);
    assertEquals(Path.of("runs/shards"), pre.output);
    Run run = execute("evaluate", "-c", write("eval.yaml", "model: m\nsplit: train\n").toString());
    assertTrue(run.err, run.code == 2 && run.err.contains("--split must be test or valid (got train); from"));
    run = execute("evaluate", "-c", write("eval2.yaml", "model: m\ntest_batches: 10\n").toString());
    assertTrue(run.err, run.code == 2 && run.err.contains("unknown key 'test_batches' for lorabeam evaluate"));
    run = execute("fuse", "-c", write("fuse.yaml", "model: m\noutput: o\nquantize: 3\n").toString());
    assertTrue(run.err, run.code == 2 && run.err.contains("--quantize must be 4 or 8 (got 3); from"));
  }

  private TrainConfig trainConfig(String... args) {
    TrainCommand command = new TrainCommand();
    new CommandLine(command).parseArgs(args);
    return command.toConfig();
  }

  private Path write(String name, String yaml) throws IOException {
    return Files.writeString(tmp.getRoot().toPath().resolve(name), yaml);
  }

  record Run(int code, String err) {}

  static Run execute(String... args) {
    CommandLine cli = LorabeamCli.newCommandLine();
    StringWriter err = new StringWriter();
    cli.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
    cli.setErr(new PrintWriter(err));
    cli.getSubcommands().values().forEach(sub -> sub.setErr(new PrintWriter(err)));
    int code = cli.execute(args);
    return new Run(code, err.toString());
  }
}
