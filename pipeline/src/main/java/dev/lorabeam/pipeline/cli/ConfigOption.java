package dev.lorabeam.pipeline.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code -c FILE} / {@code --config FILE}, mixed into every command with many flags; its
 * command must name {@link ConfigDefaults} as its default value provider, which reads the file.
 */
public final class ConfigOption {
  static final String NAME = "--config";

  @Option(names = {"-c", NAME}, paramLabel = "FILE", order = -1,
      description = "YAML file of this command's flags, keys written with - or _ (batch_size: 4); "
          + "mlx-lm's keys where they mean the same (num_layers, lora_parameters: {rank: 8}); "
          + "flags on the command line override it.")
  Path file;
}
