package dev.lorabeam.pipeline.cli;

import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.pipeline.train.AdapterSettings;
import dev.lorabeam.pipeline.train.TrainJob;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The flags that say which model a command loads, declared once for {@code fuse}, {@code evaluate},
 * {@code generate} and {@code benchmark}: {@code --model} here, and the two mixins a command takes
 * when it has the flag, {@link Adapters} ({@code --adapter-path}: trained adapters to load) and
 * {@link QuantizeOnLoad} ({@code --quantize}: the base quantized as it is loaded). A picocli mixin:
 * name, type, default and description live here only, for the command line, {@code -c FILE} and
 * {@code --help}. {@code train} keeps its own (in {@code TrainFlags}: its {@code --adapter-path} is
 * where it writes), and {@code fuse --quantize} quantizes the output, so it is fuse's own flag.
 */
public final class ModelFlags {

  @Option(names = "--model", required = true,
      description = "Alias (smollm2-135m, llama-8b, …), Hugging Face directory or GGUF file.")
  String model;

  /** The model as typed. */
  public String name() {
    return model;
  }

  /** The model on disk; one that is not there is a {@link UserError} with the command that downloads it. */
  public ResolvedModel resolve() {
    return TrainJob.resolveModel(model);
  }

  /** {@code --adapter-path}: adapters (mlx-lm's format) to load onto the model; none = the base alone. */
  public static final class Adapters {

    @Option(names = "--adapter-path", description = "Directory with adapters.safetensors and adapter_config.json "
        + "(mlx-lm format, written by train or mlx_lm.lora); none = the base model alone.")
    Path adapterPath;

    /** The directory, or null when none was given. */
    public Path path() {
      return adapterPath;
    }

    /** Both files of the adapters are there (or none were given); else a {@link UserError} naming the missing one. */
    public void check() {
      if (adapterPath == null) {
        return;
      }
      for (String file : new String[] {"adapters.safetensors", "adapter_config.json"}) {
        if (!Files.isRegularFile(adapterPath.resolve(file))) {
          throw new UserError("--adapter-path " + adapterPath + " has no " + file + ": point it at a directory "
              + "written by train or mlx_lm.lora");
        }
      }
    }

    /** {@code config} with the adapters' LoRA shape (rank, scale, layers, keys) to load them onto; as is without. */
    public EngineConfig applyTo(EngineConfig config) {
      return adapterPath == null ? config : AdapterSettings.read(adapterPath).applyTo(config);
    }

    /** Loads the adapters into an engine opened with {@link #applyTo}; nothing without adapters. */
    public void loadInto(Engine engine) {
      if (adapterPath != null) {
        engine.loadAdapters(adapterPath);
      }
    }
  }

  /** {@code --quantize} of the commands that load a base to run it: quantize on load, as {@code train --quantize}. */
  public static final class QuantizeOnLoad {

    @Option(names = "--quantize", defaultValue = "0",
        description = "Quantize the base on load: 4 or 8 bits, as train --quantize does for QLoRA (default: none).")
    int quantize;

    /** 0 (as stored), 4 or 8; {@link #check} has said it is one of those. */
    public int bits() {
      return quantize;
    }

    /** A value other than 0, 4 or 8 is a {@link UserError}. */
    public void check() {
      checkQuantize(quantize);
    }
  }

  /**
   * The bit widths the engine quantizes to, on load or ({@code fuse --quantize}) on output: 0 = none,
   * 4 or 8; any other {@code --quantize} is a {@link UserError}.
   */
  static void checkQuantize(int bits) {
    if (bits != 0 && bits != 4 && bits != 8) {
      throw new UserError("--quantize must be 4 or 8 (got " + bits + ")");
    }
  }
}
