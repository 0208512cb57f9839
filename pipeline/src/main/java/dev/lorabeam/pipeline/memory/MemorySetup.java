package dev.lorabeam.pipeline.memory;

import dev.lorabeam.engine.Mlx;
import java.io.PrintStream;
import org.checkerframework.checker.nullness.qual.Nullable;

/** Applies {@code --max-memory} (or the auto rule) to MLX and prints what users expect to read. */
public final class MemorySetup {
  private MemorySetup() {}

  /** Sets MLX's memory limit and returns the limit MLX holds afterwards (read back), in bytes. */
  public static long apply(@Nullable Double maxMemoryGb, PrintStream out) {
    double wantedGb;
    if (maxMemoryGb == null) {
      SystemMemory system = SystemMemory.read();
      wantedGb = MemoryRule.autoLimitGb(system.availableGb(), system.totalGb());
      out.printf("⚠️  No memory limit specified. Auto-detecting safe limit: %.1f GB%n", wantedGb);
      out.printf("   (Based on %.1f GB available system memory)%n", system.availableGb());
    } else {
      wantedGb = maxMemoryGb;
    }
    long previous = Mlx.setMemoryLimit(MemoryRule.gbToBytes(wantedGb));
    long held = Mlx.memoryLimit();
    out.printf("🔒 Set MLX memory limit to %.1f GB (was %.1f GB)%n", held / 1e9, previous / 1e9);
    return held;
  }
}
