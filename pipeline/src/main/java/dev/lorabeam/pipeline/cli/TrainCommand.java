package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import dev.lorabeam.pipeline.train.StopSignal;
import dev.lorabeam.pipeline.train.TrainConfig;
import dev.lorabeam.pipeline.train.TrainFlags;
import dev.lorabeam.pipeline.train.TrainJob;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code train}: every flag users know from the tool this project replaces (declared once, in
 * {@link TrainFlags}; also read from {@code -c run.yaml}), validated into one {@link TrainConfig};
 * anything of the form {@code --name=value} that is not a train flag goes to Beam as a pipeline
 * option ({@code --runner=DirectRunner}, {@code --targetParallelism=2}).
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    sortOptions = false,
    defaultValueProvider = ConfigDefaults.class,
    description = {
      "Fine-tune a Llama-family model with LoRA (QLoRA with --quantize) as an Apache Beam pipeline.",
      "Other --name=value arguments are passed to Beam as pipeline options (e.g. --runner=DirectRunner)."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  Demo: the bundled SmolLM2-135M (4-bit GGUF) on the sample data:",
      "    lorabeam train --model smollm2-135m --data data/sample --max-steps 200 \\",
      "      --batch-size 4 --train-seq-length 256 --learning-rate 2e-4 \\",
      "      --adapter-path out/demo",
      "  Llama 3.1 8B on a 32 GB Mac, QLoRA, memory limit auto-detected:",
      "    lorabeam train --model llama-8b --data data --quantize 4 \\",
      "      --grad-checkpoint --max-steps 5000",
      "  Weight primary sources higher (empirical distrust):",
      "    lorabeam train --model dolphin-8b --data data --distrust weighted",
      "  Continue from the latest checkpoint (e.g. nightly from cron, new data):",
      "    lorabeam train --model llama-8b --data data/new --resume",
      "  Run on another Beam runner (options pass through):",
      "    lorabeam train --model smollm2-135m --max-steps 50 --runner=DirectRunner",
      "  Flags from a YAML file (mlx-lm's keys where they mean the same), one overridden:",
      "    lorabeam train -c run.yaml --learning-rate 2e-4"
    })
public final class TrainCommand implements Callable<Integer> {

  /** What Beam accepts: {@code --camelCaseName} or {@code --camelCaseName=value}. */
  private static final Pattern BEAM_OPTION = Pattern.compile("--[A-Za-z][A-Za-z0-9]*(=.*)?");

  @Mixin ConfigOption configFile;

  @Mixin TrainFlags flags;

  @Unmatched List<String> unmatched = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    TrainConfig config = toConfig();
    try {
      TrainJob.run(config, beamArgs());
    } catch (StopSignal.Stopped stopped) {
      System.err.println(stoppedLine(stopped, config.adapterPath(), originalArgs()));
      return stopped.kind().exitCode;
    }
    return 0;
  }

  /** The one line a run stopped by Ctrl-C / SIGTERM ends with: where it stopped and how to go on. */
  static String stoppedLine(StopSignal.Stopped s, String adapterPath, List<String> args) {
    List<String> resume = new ArrayList<>(List.of("lorabeam"));
    for (String a : args) {
      resume.add(a.isEmpty() || a.matches(".*[\\s'\"$`\\\\].*") ? "'" + a.replace("'", "'\\''") + "'" : a);
    }
    if (!args.contains("--resume")) {
      resume.add("--resume");
    }
    String where = s.checkpoint() == null
        ? "no checkpoint was written yet, --resume starts at step 0"
        : "checkpoint " + s.checkpoint();
    return String.format("Stopped by SIG%s after step %d (%s). To resume from --adapter-path %s: %s",
        s.kind(), s.step(), where, adapterPath, String.join(" ", resume));
  }

  /** The command line as typed after {@code lorabeam} (picocli keeps it), or just {@code train}. */
  private List<String> originalArgs() {
    if (spec == null || spec.commandLine().getParseResult() == null) {
      return List.of("train");
    }
    List<String> all = spec.commandLine().getParseResult().originalArgs();
    return all.isEmpty() ? List.of("train") : all;
  }

  /** The validated config; a bad flag becomes a one-line {@link UserError}. */
  TrainConfig toConfig() {
    try {
      return flags.toConfig();
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage(), e);
    }
  }

  /** The arguments Beam gets; anything that cannot be a Beam option is a user error. */
  String[] beamArgs() {
    for (String arg : unmatched) {
      if (!BEAM_OPTION.matcher(arg).matches()) {
        throw new UserError(arg.startsWith("-")
            ? "unknown option '" + arg + "': see `lorabeam train --help`"
                + " (Beam options are written --name=value, e.g. --runner=DirectRunner)"
            : "unexpected argument '" + arg + "': Beam options are written --name=value"
                + " (e.g. --runner=DirectRunner), train flags as --flag value");
      }
    }
    return unmatched.toArray(new String[0]);
  }
}
