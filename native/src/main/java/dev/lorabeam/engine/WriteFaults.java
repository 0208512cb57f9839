package dev.lorabeam.engine;

import dev.lorabeam.engine.bridge.LorabeamNative;

/**
 * Test hook: makes one of the engine's native file writes (adapters, optimizer state,
 * adapter_config.json, fused safetensors) fail the way {@code ::write} fails on a full disk, so
 * tests can check what a user sees when a checkpoint cannot be written. Production code never
 * calls it; without a call nothing is injected.
 */
public final class WriteFaults {
  /** Linux's errno for "No space left on device". */
  public static final int ENOSPC = 28;

  private WriteFaults() {}

  /**
   * The {@code nth} native write from now on (1 = the next) fails with errno {@code errNumber};
   * it fires once. Each safetensors file is at least three writes: length, header, each tensor.
   */
  public static void failNthNativeWrite(long nth, int errNumber) {
    if (nth < 1) {
      throw new IllegalArgumentException("nth must be ≥ 1 (got " + nth + "); clear() turns the fault off");
    }
    Mlx.ensureLoaded();
    Mlx.check(LorabeamNative.lb_fault_fail_write(nth, errNumber), "fault injection");
  }

  /** No injected failure. */
  public static void clear() {
    Mlx.ensureLoaded();
    Mlx.check(LorabeamNative.lb_fault_fail_write(0, 0), "fault injection");
  }
}
