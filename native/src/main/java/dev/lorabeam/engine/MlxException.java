package dev.lorabeam.engine;

/** A failure inside the native engine or MLX, carrying the engine's message. The JVM lives on. */
public class MlxException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MlxException(String message) {
    super(message);
  }
}
