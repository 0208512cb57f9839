package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.pipeline.train.TrainConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.Test;
import picocli.CommandLine;

/** {@code train}'s flags: names users know, one-line errors with exit code 2, Beam options passed on. */
public class TrainCommandTest {

  private static final String[] REQUIRED = {"train", "--model", "smollm2-135m", "--data", "data/sample"};

  @Test
  public void invalidFlagsExitWithCode2AndOneLineNamingTheFlag() {
    assertUserError("--batch-size must be ≥ 1 (got 0)", "--batch-size", "0");
    assertUserError("--quantize must be 4 or 8 (got 3)", "--quantize", "3");
    assertUserError("--lr-schedule must be one of constant, cosine, linear (got 'step')", "--lr-schedule", "step");
    assertUserError("--distrust must be one of off, additive, weighted (got 'yes')", "--distrust", "yes");
    assertUserError("--lora-scale and --lora-alpha are mutually exclusive", "--lora-scale", "2", "--lora-alpha", "16");
    assertUserError("--lora-alpha must be > 0 (got -16.0)", "--lora-alpha", "-16");
    assertUserError("unknown option '--lora-rnk=4'", "--lora-rnk=4");
    assertUserError("unexpected argument 'DirectRunner'", "--runner", "DirectRunner");
  }

  @Test
  public void malformedNumbersAndMissingModelAreUsageErrors() {
    Run run = execute("train", "--model", "m", "--batch-size", "four");
    assertEquals(2, run.code);
    assertTrue(run.err, run.err.contains("'four' is not an int"));
    run = execute("train", "--batch-size", "4");
    assertEquals(2, run.code);
    assertTrue(run.err, run.err.contains("Missing required option: '--model=MODEL'"));
  }

  @Test
  public void flagsBuildTheConfigAndBeamOptionsArePassedThrough() {
    TrainCommand command = parse("--batch-size", "2", "--lora-rank", "16", "--lora-alpha", "32",
        "--quantize", "4", "--max-steps", "50", "--target-modules", "q,v", "--distrust", "weighted",
        "--runner=DirectRunner", "--targetParallelism=1", "--resume", "--max-memory", "24",
        "--continue-schedule");
    TrainConfig c = command.toConfig();
    assertEquals(2, c.batchSize());
    assertEquals(2.0, c.loraScale(), 0);
    assertEquals(4, c.quantize());
    assertEquals(Integer.valueOf(50), c.maxSteps());
    assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj"), c.targetModules());
    assertEquals("weighted", c.distrust());
    assertEquals(24.0, c.maxMemoryGb(), 0);
    assertTrue(c.resume());
    assertTrue(c.continueSchedule());
    assertArrayEquals(new String[] {"--runner=DirectRunner", "--targetParallelism=1"}, command.beamArgs());
  }

  @Test
  public void defaultsMatchTrainConfigDefaults() {
    TrainConfig fromCli = parse().toConfig();
    assertEquals(TrainConfig.builder("smollm2-135m", "data/sample").build(), fromCli);
  }

  @Test
  public void helpShowsEveryFlagWithDefaultsAndExamples() {
    StringWriter out = new StringWriter();
    CommandLine cli = LorabeamCli.newCommandLine();
    cli.setOut(new PrintWriter(out));
    assertEquals(0, cli.execute("train", "--help"));
    String help = out.toString();
    for (String flag : List.of("--model", "--data", "--max-memory", "--reload-interval", "--batch-size",
        "--lora-rank", "--lora-scale", "--lora-alpha", "--lora-layers", "--lora-dropout", "--target-modules",
        "--quantize", "--train-seq-length", "--max-steps", "--epochs", "--learning-rate", "--warmup-steps",
        "--lr-schedule", "--weight-decay", "--max-grad-norm", "--grad-accumulation", "--grad-checkpoint",
        "--mask-prompt", "--steps-per-eval", "--val-batches", "--save-every", "--adapter-path", "--resume", "--continue-schedule",
        "--seed", "--metrics-file", "--distrust", "--alpha", "--lambda-weight")) {
      // booleans are negatable (a config file's true can be turned off): picocli shows --[no-]flag
      assertTrue("help lacks " + flag + ":\n" + help, help.contains(flag) || help.contains("--[no-]" + flag.substring(2)));
    }
    assertTrue(help, help.contains("Default: 512"));
    assertTrue(help, help.contains("Examples:"));
    assertTrue(help, help.contains("--model smollm2-135m --data data/sample"));
  }

  private static void assertUserError(String expected, String... flags) {
    String[] args = new String[REQUIRED.length + flags.length];
    System.arraycopy(REQUIRED, 0, args, 0, REQUIRED.length);
    System.arraycopy(flags, 0, args, REQUIRED.length, flags.length);
    Run run = execute(args);
    assertEquals("exit code for " + String.join(" ", flags) + ": " + run.err, 2, run.code);
    assertTrue("expected '" + expected + "' in: " + run.err, run.err.contains(expected));
    assertEquals("one line, no stack trace: " + run.err, 1, run.err.strip().lines().count());
  }

  private static TrainCommand parse(String... flags) {
    TrainCommand command = new TrainCommand();
    String[] args = new String[REQUIRED.length - 1 + flags.length];
    System.arraycopy(REQUIRED, 1, args, 0, REQUIRED.length - 1);
    System.arraycopy(flags, 0, args, REQUIRED.length - 1, flags.length);
    new CommandLine(command).parseArgs(args);
    return command;
  }

  private record Run(int code, String err) {}

  private static Run execute(String... args) {
    CommandLine cli = LorabeamCli.newCommandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    cli.getSubcommands().get("train").setErr(new PrintWriter(err));
    cli.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
    int code = cli.execute(args);
    return new Run(code, err.toString());
  }
}
