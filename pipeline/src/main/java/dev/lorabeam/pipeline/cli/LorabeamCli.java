package dev.lorabeam.pipeline.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lorabeam} command line. Runs as {@code mvn -q -pl pipeline exec:java
 * -Dexec.args="<command> ..."} or from the shaded jar.
 */
@Command(
    name = "lorabeam",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Fine-tune Llama-family models with LoRA/QLoRA on MLX, as an Apache Beam pipeline.",
    subcommands = {
      DoctorCommand.class,
      TrainCommand.class,
      PreprocessCommand.class,
      GenerateCommand.class,
      DemoCommand.class,
      RecommendCommand.class,
      BenchmarkCommand.class,
      CommandLine.HelpCommand.class,
    })
public final class LorabeamCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    int code = execute(args);
    // exec:java runs us inside Maven's JVM: exit only for real failures so Maven reports them.
    if (code != 0) {
      System.exit(code);
    }
  }

  /** Runs the command line and returns its exit code (for tests). */
  public static int execute(String... args) {
    return newCommandLine().execute(args);
  }

  static CommandLine newCommandLine() {
    CommandLine cli = new CommandLine(new LorabeamCli());
    cli.setExecutionExceptionHandler(new UserErrorHandler());
    return cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }
}
