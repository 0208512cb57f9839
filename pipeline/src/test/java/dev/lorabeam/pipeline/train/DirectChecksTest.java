package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;

/** train turns the DirectRunner's per-element checks off unless the user set them; other runners are untouched. */
public class DirectChecksTest {
  private static DirectOptions relaxed(String... args) {
    PipelineOptions options = PipelineOptionsFactory.fromArgs(args).create();
    DirectChecks.relax(options, args);
    return options.as(DirectOptions.class);
  }

  @Test
  public void directRunnerByDefaultRunsWithoutImmutabilityOrEncodabilityChecks() {
    DirectOptions o = relaxed();
    assertFalse(o.isEnforceImmutability());
    assertFalse(o.isEnforceEncodability());
  }

  @Test
  public void checksTheUserAskedForStayOn() {
    DirectOptions o = relaxed("--enforceImmutability=true", "--enforceEncodability");
    assertTrue(o.isEnforceImmutability());
    assertTrue(o.isEnforceEncodability());
    DirectOptions one = relaxed("--enforceEncodability=true");
    assertFalse(one.isEnforceImmutability());
    assertTrue(one.isEnforceEncodability());
  }

  @Test
  public void otherRunnersKeepBeamsDefaults() {
    PipelineOptions options = PipelineOptionsFactory.fromArgs("--runner=FlinkRunner").create();
    DirectChecks.relax(options, new String[] {"--runner=FlinkRunner"});
    assertTrue(FlinkRunner.class.equals(options.getRunner()));
    assertTrue(options.as(DirectOptions.class).isEnforceImmutability());
    assertTrue(options.as(DirectOptions.class).isEnforceEncodability());
  }
}
