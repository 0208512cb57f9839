package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns the exceptions that describe a user's mistake (bad value, missing file, out of memory)
 * into one clear line and a non-zero exit code; anything else keeps its stack trace.
 */
final class UserErrorHandler implements IExecutionExceptionHandler {

  /** Exit code for a user error (bad input or configuration). */
  static final int USER_ERROR = 2;

  @Override
  public int handleExecutionException(Exception e, CommandLine cli, ParseResult parsed) {
    if (e instanceof UserError || e instanceof IllegalArgumentException) {
      String message = ConfigDefaults.withOrigin(e.getMessage(), cli);  // a value from -c FILE: its line
      cli.getErr().println(cli.getColorScheme().errorText("error: " + message));
      return USER_ERROR;
    }
    cli.getErr().println(cli.getColorScheme().errorText("error: " + e));
    e.printStackTrace(cli.getErr());
    return 1;
  }
}
