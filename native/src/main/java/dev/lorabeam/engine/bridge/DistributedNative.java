package dev.lorabeam.engine.bridge;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code lorabeam_distributed.h} (MLX distributed). Raw: use
 * {@link dev.lorabeam.engine.Distributed} instead.
 */
@Platform(include = "lorabeam_distributed.h", link = "lorabeam", library = "jnilorabeam")
public final class DistributedNative {
  static {
    Loader.load();
  }

  private DistributedNative() {}

  /** Loads the native libraries. */
  public static void load() {
    Loader.load(DistributedNative.class);
  }

  public static native @Cast("const char*") String lb_last_error();

  public static native int lb_distributed_is_available(@Cast("const char*") String backend);

  public static native int lb_distributed_init(@Cast("const char*") String backend, int[] out);

  public static native int lb_distributed_all_gather(@Cast("const int64_t*") @Const long[] mine, int n,
      @Cast("int64_t*") long[] out);
}
