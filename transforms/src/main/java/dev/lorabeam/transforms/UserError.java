package dev.lorabeam.transforms;

/** A mistake the user can fix; its message says what to change. Printed without a stack trace. */
public class UserError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UserError(String message) {
    super(message);
  }

  public UserError(String message, Throwable cause) {
    super(message, cause);
  }
}
