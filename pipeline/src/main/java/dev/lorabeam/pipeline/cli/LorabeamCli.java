package dev.lorabeam.pipeline.cli;

import dev.lorabeam.pipeline.flink.FlinkFork;
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
      FuseCommand.class,
      EvaluateCommand.class,
      RecommendCommand.class,
      BenchmarkCommand.class,
      CommandLine.HelpCommand.class,
    })
public final class LorabeamCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    int code = launch(args);
    // exec:java runs us inside Maven's JVM: exit only for real failures so Maven reports them.
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * Runs the command line here, or in a plain child JVM when it asks for the FlinkRunner and
   * this JVM is {@code mvn exec:java}'s (see {@link FlinkFork}); returns the exit code.
   */
  public static int launch(String... args) {
    ClassLoader loader = LorabeamCli.class.getClassLoader();
    if (!FlinkFork.needed(args, loader)) {
      return execute(args);
    }
    try {
      return FlinkFork.run(LorabeamCli.class.getName(), args, loader);
    } catch (java.io.IOException e) {
      System.err.println("cannot start a JVM for the FlinkRunner: " + e.getMessage()
          + "; run java -cp CLASSPATH " + LorabeamCli.class.getName() + " instead");
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    }
  }

  /** Runs the command line in this JVM and returns its exit code (for tests). */
  public static int execute(String... args) {
    return newCommandLine().execute(args);
  }

  static CommandLine newCommandLine() {
    CommandLine cli = new CommandLine(new LorabeamCli());
    cli.setExecutionExceptionHandler(new UserErrorHandler());
    cli.setParameterExceptionHandler(ConfigDefaults.oneLine(cli.getParameterExceptionHandler()));
    return cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }
}
