package dev.lorabeam.pipeline.memory;

import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.GlobalMemory;

/** What this machine has: chip name, physical and available memory, read through OSHI. */
public record SystemMemory(String os, String chip, long totalBytes, long availableBytes) {

  public static SystemMemory read() {
    SystemInfo info = new SystemInfo();
    GlobalMemory memory = info.getHardware().getMemory();
    CentralProcessor cpu = info.getHardware().getProcessor();
    String chip = cpu.getProcessorIdentifier().getName().trim();
    int cores = cpu.getPhysicalProcessorCount();
    return new SystemMemory(
        info.getOperatingSystem().toString(),
        chip + " (" + cores + " cores, " + cpu.getLogicalProcessorCount() + " threads)",
        memory.getTotal(),
        memory.getAvailable());
  }

  public double totalGb() {
    return MemoryRule.bytesToGb(totalBytes);
  }

  public double availableGb() {
    return MemoryRule.bytesToGb(availableBytes);
  }
}
