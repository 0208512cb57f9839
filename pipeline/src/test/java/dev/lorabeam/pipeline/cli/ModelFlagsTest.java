package dev.lorabeam.pipeline.cli;

import static dev.lorabeam.pipeline.cli.ConfigFileTest.execute;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.pipeline.cli.ConfigFileTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@link ModelFlags}: the model-loading flags are one declaration (same help, default and check) in
 * every command that has them; a bad value is refused before any model is looked for. Parsing and
 * validation only: no model is loaded.
 */
public class ModelFlagsTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void eachFlagHasOneDeclarationInEveryCommandThatHasIt() {
    CommandLine cli = LorabeamCli.newCommandLine();
    assertSame(cli, "--model", List.of("fuse", "evaluate", "generate", "benchmark"));
    assertSame(cli, "--adapter-path", List.of("fuse", "evaluate", "generate"));
    assertSame(cli, "--quantize", List.of("evaluate", "generate", "benchmark"));
    OptionSpec model = option(cli, "evaluate", "--model");
    assertTrue(model.required());
    assertEquals("0", option(cli, "generate", "--quantize").defaultValue());
    assertNotEquals("fuse --quantize quantizes the output: its own flag",
        List.of(option(cli, "fuse", "--quantize").description()),
        List.of(option(cli, "evaluate", "--quantize").description()));
  }

  @Test
  public void aBadQuantizeIsOneUserErrorInEveryCommand() {
    for (List<String> args : List.of(List.of("evaluate", "--model", "m"), List.of("generate", "--model", "m", "-p", "hi"),
        List.of("benchmark", "--model", "m"), List.of("fuse", "--model", "m", "--output", "o"))) {
      Run run = execute(concat(args, "--quantize", "3"));
      assertTrue(args + ": " + run.err(), run.code() == 2 && run.err().contains("--quantize must be 4 or 8 (got 3)"));
    }
  }

  @Test
  public void adaptersWithoutEitherFileAreRefusedByEveryCommand() throws IOException {
    Path noWeights = tmp.newFolder("no-weights").toPath();
    Files.writeString(noWeights.resolve("adapter_config.json"), "{}");
    Path noConfig = tmp.newFolder("no-config").toPath();
    Files.writeString(noConfig.resolve("adapters.safetensors"), "");
    for (List<String> args : List.of(List.of("evaluate", "--model", "m"), List.of("generate", "--model", "m", "-p", "hi"),
        List.of("fuse", "--model", "m", "--output", tmp.getRoot().toPath().resolve("out").toString()))) {
      Run run = execute(concat(args, "--adapter-path", noWeights.toString()));
      assertTrue(args + ": " + run.err(), run.code() == 2
          && run.err().contains("--adapter-path " + noWeights + " has no adapters.safetensors: point it at a directory"));
      run = execute(concat(args, "--adapter-path", noConfig.toString()));
      assertTrue(args + ": " + run.err(), run.code() == 2 && run.err().contains("has no adapter_config.json"));
    }
  }

  @Test
  public void aConfigFileSetsTheMixedInFlags() throws IOException {
    Path yaml = Files.writeString(tmp.getRoot().toPath().resolve("eval.yaml"), "model: m\nquantize: 3\n");
    Run run = execute("evaluate", "-c", yaml.toString());
    assertTrue(run.err(), run.code() == 2
        && run.err().contains("--quantize must be 4 or 8 (got 3); from " + yaml + " line 2"));
    EvaluateCommand evaluate = new EvaluateCommand();
    new CommandLine(evaluate).parseArgs("-c", Files.writeString(tmp.getRoot().toPath().resolve("ok.yaml"),
        "model: smollm2-135m\nadapter_path: runs/demo\nquantize: 4\n").toString());
    assertEquals("smollm2-135m", evaluate.model.name());
    assertEquals(Path.of("runs/demo"), evaluate.adapters.path());
    assertEquals(4, evaluate.quantize.bits());
  }

  private static void assertSame(CommandLine cli, String flag, List<String> commands) {
    OptionSpec first = option(cli, commands.get(0), flag);
    for (String command : commands) {
      OptionSpec o = option(cli, command, flag);
      assertEquals(command + " " + flag, List.of(first.description()), List.of(o.description()));
      assertEquals(command + " " + flag, first.defaultValue(), o.defaultValue());
      assertEquals(command + " " + flag, first.required(), o.required());
      assertEquals(command + " " + flag, first.type(), o.type());
    }
  }

  private static OptionSpec option(CommandLine cli, String command, String flag) {
    return cli.getSubcommands().get(command).getCommandSpec().findOption(flag);
  }

  private static String[] concat(List<String> args, String... more) {
    return Stream.concat(args.stream(), Arrays.stream(more)).toArray(String[]::new);
  }
}
