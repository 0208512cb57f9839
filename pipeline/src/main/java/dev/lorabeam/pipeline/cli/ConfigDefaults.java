package dev.lorabeam.pipeline.cli;

import dev.lorabeam.pipeline.cli.ConfigFile.ConfigError;
import dev.lorabeam.pipeline.cli.ConfigFile.Entry;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * The values of the command's {@code -c FILE} as picocli default values: picocli asks for them
 * after the command line is parsed (so {@code --config} is known) and only for options the command
 * line left out, so flags override the file, {@code --help} shows the file's values as defaults,
 * and the option declarations stay the one place each flag is described. The file is checked
 * whole on first use: an unknown key or a value of the wrong type is a usage error naming file,
 * line, key and value, before the command runs.
 */
public final class ConfigDefaults implements IDefaultValueProvider {

  private static final Pattern LEADING_FLAG = Pattern.compile("^(--[a-z0-9][a-z0-9-]*)");

  private Path loadedFrom;
  private ConfigFile loaded;

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option) || option.longestName().equals(ConfigOption.NAME)) {
      return null;
    }
    ConfigFile file = file(option.command());
    Entry entry = file == null ? null : file.entries().get(flag(option));
    return entry == null ? null : entry.value();
  }

  /**
   * {@code message} (a validation error that starts with its flag) with the file line the flag's
   * value came from, when it came from the file.
   */
  static String withOrigin(String message, CommandLine cli) {
    if (message == null || !(cli.getCommandSpec().defaultValueProvider() instanceof ConfigDefaults d)
        || d.loaded == null) {
      return message;
    }
    Matcher m = LEADING_FLAG.matcher(message);
    if (!m.find() || (cli.getParseResult() != null && cli.getParseResult().hasMatchedOption(m.group(1)))) {
      return message;
    }
    Entry entry = d.loaded.entries().get(m.group(1).substring(2));
    return entry == null ? message : message + "; from " + entry.where(d.loaded.file());
  }

  private ConfigFile file(CommandSpec spec) {
    OptionSpec option = spec.findOption(ConfigOption.NAME);
    Path path = option == null ? null : option.getValue();
    if (path == null) {
      return null;
    }
    if (!path.equals(loadedFrom)) {
      try {
        ConfigFile read = ConfigFile.read(path);
        read.entries().values().forEach(e -> check(e, read.file(), spec));
        loaded = read;
        loadedFrom = path;
      } catch (ConfigError e) {
        throw new FileError(spec.commandLine(), e.getMessage());
      }
    }
    return loaded;
  }

  private static void check(Entry e, Path file, CommandSpec spec) {
    OptionSpec option = spec.findOption("--" + e.flag());
    if (option == null || !settable(option)) {
      String why = MlxLmKeys.different(e.key()).map(w -> ": " + w).orElse("; did you mean "
          + nearest(e, spec) + "?");
      throw new ConfigError(file + " line " + e.line() + ": unknown key '" + e.key() + "' for "
          + spec.qualifiedName() + why + " (see " + spec.qualifiedName() + " --help)");
    }
    if (e.value() != null) {
      String expected = problem(option.type(), e.value());
      if (expected != null) {
        String example = option.defaultValue() == null ? "" : ", e.g. " + e.key() + ": " + option.defaultValue();
        throw new ConfigError(file + " line " + e.line() + ": " + e.key() + ": '" + e.value() + "' is not "
            + expected + "; " + option.longestName() + " takes " + expected + example);
      }
    }
  }

  /** What {@code value} should have been for {@code type}, or null when it converts. */
  private static String problem(Class<?> type, String value) {
    String v = value.strip();
    try {
      if (type == int.class || type == Integer.class) {
        Integer.parseInt(v);
      } else if (type == long.class || type == Long.class) {
        Long.parseLong(v);
      } else if (type == double.class || type == Double.class) {
        if (!Double.isFinite(Double.parseDouble(v))) {
          return "a finite number";
        }
      } else if (type == boolean.class || type == Boolean.class) {
        String b = v.toLowerCase(Locale.ROOT);
        return b.equals("true") || b.equals("false") ? null : "true or false";
      }
      return null;
    } catch (NumberFormatException ex) {
      return type == double.class || type == Double.class ? "a number" : "a whole number";
    }
  }

  /** The command's flag closest to the key, spelled the way the key is (dashes or underscores). */
  private static String nearest(Entry e, CommandSpec spec) {
    String wanted = e.key().replace('_', '-');
    List<String> names = spec.options().stream()
        .filter(ConfigDefaults::settable)
        .map(o -> o.longestName().substring(2)).toList();
    String best = names.stream().min(Comparator.comparingInt(n -> distance(wanted, n))).orElse("");
    return e.key().contains("_") ? best.replace('-', '_') : best;
  }

  /** Whether a file may set the option: not --config itself, --help or --version. */
  private static boolean settable(OptionSpec o) {
    return !o.usageHelp() && !o.versionHelp() && !o.longestName().equals(ConfigOption.NAME);
  }

  private static String flag(OptionSpec option) {
    return option.longestName().substring(2);
  }

  /**
   * Prints a config file mistake as one line (the file's line says what to change; the usage
   * text would bury it) and returns the usage-error exit code; other parse errors go to
   * {@code fallback}.
   */
  static IParameterExceptionHandler oneLine(IParameterExceptionHandler fallback) {
    return (ex, args) -> {
      if (!(ex instanceof FileError)) {
        return fallback.handleParseException(ex, args);
      }
      CommandLine cli = ex.getCommandLine();
      cli.getErr().println(cli.getColorScheme().errorText("error: " + ex.getMessage()));
      return CommandLine.ExitCode.USAGE;
    };
  }

  /** A mistake in the {@code -c} file, found while parsing. */
  static final class FileError extends ParameterException {
    private static final long serialVersionUID = 1L;

    FileError(CommandLine cli, String message) {
      super(cli, message);
    }
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
    int[] row = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      row[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      int diagonal = row[0];
      row[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int above = row[j];
        int substitute = diagonal + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        row[j] = Math.min(Math.min(row[j] + 1, row[j - 1] + 1), substitute);
        diagonal = above;
      }
    }
    return row[b.length()];
  }
}
