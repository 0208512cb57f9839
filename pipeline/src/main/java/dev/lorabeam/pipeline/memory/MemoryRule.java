package dev.lorabeam.pipeline.memory;

/**
 * The memory-limit rule users know from the tool this project replaces, with its two defects
 * fixed: "available" is measured with the platform's real page size (16 KiB on Apple Silicon, via
 * OSHI) and the limit never exceeds 0.9 × physical memory (the old 16 GB floor could exceed a
 * 16 GB machine).
 */
public final class MemoryRule {
  public static final double FLOOR_GB = 16;
  public static final double CEILING_GB = 120;
  public static final double AVAILABLE_FRACTION = 0.8;
  public static final double PHYSICAL_CAP_FRACTION = 0.9;

  private MemoryRule() {}

  /** {@code min(clamp(0.8 × available, 16, 120), 0.9 × physical)}, in GB. */
  public static double autoLimitGb(double availableGb, double physicalGb) {
    if (availableGb < 0 || physicalGb <= 0) {
      throw new IllegalArgumentException(
          "memory sizes must be positive: available " + availableGb + " GB, physical " + physicalGb + " GB");
    }
    double clamped = Math.max(FLOOR_GB, Math.min(CEILING_GB, AVAILABLE_FRACTION * availableGb));
    return Math.min(clamped, PHYSICAL_CAP_FRACTION * physicalGb);
  }

  public static long gbToBytes(double gb) {
    return Math.round(gb * 1e9);
  }

  public static double bytesToGb(long bytes) {
    return bytes / 1e9;
  }
}
