package dev.lorabeam.engine.bridge;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code lorabeam_fuse.h}. Raw: a null result is turned into an exception by
 * {@link dev.lorabeam.engine.Fuser}; use that class instead of this one.
 */
@Platform(include = "lorabeam_fuse.h", link = "lorabeam", library = "jnilorabeam")
public final class FuseNative {
  static {
    Loader.load();
  }

  private FuseNative() {}

  /** Loads the native libraries. */
  public static void load() {
    Loader.load(FuseNative.class);
  }

  public static native @Cast("const char*") String lb_last_error();

  public static native @Cast("const char*") String lb_fuse(@Cast("const char*") String configJson);
}
