package dev.lorabeam.engine;

import java.util.Locale;

/** A failure inside the native engine or MLX, carrying the engine's message. The JVM lives on. */
public class MlxException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MlxException(String message) {
    super(message);
  }

  /**
   * Whether MLX refused an allocation (Metal enforces its memory limit and throws; the CPU backend
   * does not, see the README's "Memory limits"): the words MLX's and the C++ runtime's messages use.
   */
  public boolean isOutOfMemory() {
    String m = getMessage() == null ? "" : getMessage().toLowerCase(Locale.ROOT);
    return m.contains("allocate") || m.contains("malloc") || m.contains("out of memory")
        || m.contains("bad_alloc") || m.contains("memory limit") || m.contains("resource limit");
  }
}
