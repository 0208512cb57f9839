package dev.lorabeam.pipeline.memory;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** The auto memory limit: clamp(0.8 × available, 16, 120), never above 0.9 × physical. */
public class MemoryRuleTest {

  @Test
  public void aLinuxMachineWith24GbGetsEightyPercentOfAvailableCappedBelowPhysical() {
    // 24 GB physical, 23 GB available: 0.8 × 23 = 18.4, under the 0.9 × 24 = 21.6 cap.
    assertEquals(18.4, MemoryRule.autoLimitGb(23, 24), 1e-9);
    // Little available: the 16 GB floor applies, still under the cap.
    assertEquals(16.0, MemoryRule.autoLimitGb(4, 24), 1e-9);
  }

  @Test
  public void aMacWith192GbIsCappedAt120() {
    assertEquals(120.0, MemoryRule.autoLimitGb(180, 192), 1e-9);
    assertEquals(96.0, MemoryRule.autoLimitGb(120, 192), 1e-9);
  }

  @Test
  public void theSixteenGbFloorNeverExceedsNinetyPercentOfASmallMachine() {
    // The old tool set 16 GB on a 16 GB Mac; we cap at 0.9 × 16 = 14.4.
    assertEquals(14.4, MemoryRule.autoLimitGb(6, 16), 1e-9);
  }

  @Test(expected = IllegalArgumentException.class)
  public void rejectsNonsense() {
    MemoryRule.autoLimitGb(8, 0);
  }
}
