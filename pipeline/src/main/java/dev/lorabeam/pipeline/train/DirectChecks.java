package dev.lorabeam.pipeline.train;

import java.util.Arrays;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Turns off the DirectRunner's per-element immutability and encodability checks for {@code train}.
 * They re-encode and compare every element each transform emits, a cost paid for nothing here
 * (our DoFns never mutate their inputs and every coder is tested); a user who passes
 * {@code --enforceImmutability} or {@code --enforceEncodability} keeps what they asked for.
 *
 * <p>It also runs the training pipeline on one DirectRunner worker ({@code --targetParallelism=1}
 * unless given). The runner's {@code QuiescenceDriver} resubmits itself to the worker pool without
 * pausing while any bundle is outstanding, and a training bundle is outstanding for the whole run:
 * with a second worker that loop spins a core at 100% (measured: ≈ 30 s of CPU per 400 s of
 * training on 2 cores) that MLX needs. On one worker it runs only between bundles. The pipeline has
 * nothing to parallelise: one key, one stateful DoFn.
 */
final class DirectChecks {
  private DirectChecks() {}

  static void relax(PipelineOptions options, String[] beamArgs) {
    if (!DirectRunner.class.equals(options.getRunner())) {
      return;
    }
    DirectOptions direct = options.as(DirectOptions.class);
    if (!given(beamArgs, "enforceImmutability")) {
      direct.setEnforceImmutability(false);
    }
    if (!given(beamArgs, "enforceEncodability")) {
      direct.setEnforceEncodability(false);
    }
    if (!given(beamArgs, "targetParallelism")) {
      direct.setTargetParallelism(1);
    }
  }

  /** Whether {@code --name} or {@code --name=value} is among the Beam arguments. */
  static boolean given(String[] beamArgs, String name) {
    return Arrays.stream(beamArgs).anyMatch(a -> a.equals("--" + name) || a.startsWith("--" + name + "="));
  }
}
