package dev.lorabeam.pipeline.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import oshi.SystemInfo;
import oshi.software.os.OSProcess;

/**
 * This process's resident set size (RSS): JVM heap, native MLX buffers and everything else the OS
 * keeps in memory for it. Linux reads {@code VmRSS} from {@code /proc/self/status} (no page-size
 * guess: the kernel reports kB); other systems (macOS) ask OSHI, which reads the task info.
 */
public final class ProcessMemory {
  private static final Path STATUS = Path.of("/proc/self/status");

  private ProcessMemory() {}

  /** Current RSS in bytes, or -1 when the system does not say. */
  public static long residentBytes() {
    if (Files.isReadable(STATUS)) {
      try {
        return vmRssBytes(Files.readAllLines(STATUS));
      } catch (IOException | IllegalArgumentException e) {
        // Fall through to OSHI.
      }
    }
    OSProcess self = new SystemInfo().getOperatingSystem().getCurrentProcess();
    return self == null ? -1 : self.getResidentSetSize();
  }

  /** The {@code VmRSS:  123456 kB} line of a /proc status file, in bytes. */
  static long vmRssBytes(List<String> statusLines) {
    for (String line : statusLines) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.substring(6).trim().split("\\s+");
        if (parts.length == 2 && parts[1].equals("kB")) {
          return Long.parseLong(parts[0]) * 1024;
        }
      }
    }
    throw new IllegalArgumentException("no 'VmRSS: N kB' line in /proc/self/status");
  }
}
