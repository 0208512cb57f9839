package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** Learning rate per 1-based step: warm-up, then constant / cosine / linear decay. */
public class LrScheduleTest {
  private static final double EPS = 1e-15;

  @Test
  public void constantWithoutWarmupIsThePeakEverywhere() {
    LrSchedule s = LrSchedule.of("constant", 1e-5, 0, 100);
    assertEquals(1e-5, s.at(1), EPS);
    assertEquals(1e-5, s.at(100), EPS);
    assertEquals(1e-5, s.at(250), EPS);
  }

  @Test
  public void warmupRisesLinearlyAndTheFirstStepAlreadyTrains() {
    LrSchedule s = LrSchedule.of("constant", 1e-4, 10, 100);
    assertEquals(1e-5, s.at(1), EPS);
    assertEquals(5e-5, s.at(5), EPS);
    assertEquals(1e-4, s.at(10), EPS);
    assertEquals(1e-4, s.at(11), EPS);
  }

  @Test
  public void cosineStartsAtThePeakHalvesMidwayAndEndsNearZero() {
    LrSchedule s = LrSchedule.of("cosine", 2e-4, 10, 110);
    assertEquals(2e-4, s.at(11), EPS);
    assertEquals(1e-4, s.at(61), 1e-12);
    assertEquals(2e-4 * 0.5 * (1 + Math.cos(Math.PI * 99 / 100)), s.at(110), EPS);
    assertTrue(s.at(110) > 0 && s.at(110) < 1e-6);
    assertEquals(0, s.at(111), EPS);
    assertEquals(0, s.at(500), EPS);
  }

  @Test
  public void linearDecaysByEqualStepsToZero() {
    LrSchedule s = LrSchedule.of("linear", 1e-3, 0, 4);
    assertEquals(1e-3, s.at(1), EPS);
    assertEquals(7.5e-4, s.at(2), EPS);
    assertEquals(5e-4, s.at(3), EPS);
    assertEquals(2.5e-4, s.at(4), EPS);
    assertEquals(0, s.at(5), EPS);
  }

  @Test
  public void decayIsMonotoneAfterWarmup() {
    for (String kind : new String[] {"cosine", "linear"}) {
      LrSchedule s = LrSchedule.of(kind, 1e-4, 50, 1000);
      for (long step = 51; step < 1000; step++) {
        assertTrue(kind + " at " + step, s.at(step + 1) <= s.at(step));
      }
    }
  }

  @Test
  public void resumingAtAStepGivesTheSameRateAsNeverStopping() {
    LrSchedule before = LrSchedule.of("cosine", 1e-4, 20, 500);
    LrSchedule after = LrSchedule.of(TrainConfig.builder("m", "d").lrSchedule("cosine").learningRate(1e-4)
        .warmupSteps(20).build(), 500);
    for (long step = 1; step <= 500; step++) {
      assertEquals(before.at(step), after.at(step), 0);
    }
  }

  @Test
  public void invalidSchedulesNameTheFlag() {
    assertMessage("--lr-schedule must be one of constant, cosine, linear (got 'exp')",
        () -> LrSchedule.of("exp", 1e-5, 0, 10));
    assertMessage("--warmup-steps (20) must not exceed the run's 10 steps",
        () -> LrSchedule.of("cosine", 1e-5, 20, 10));
    assertMessage("the run has no steps", () -> LrSchedule.of("cosine", 1e-5, 0, 0));
    assertMessage("steps are 1-based (got 0)", () -> LrSchedule.of("linear", 1e-5, 0, 10).at(0));
  }

  private static void assertMessage(String expected, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage(), e.getMessage().contains(expected));
  }
}
