package dev.lorabeam.engine.bridge;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of the foundation calls in {@code lorabeam.h}. Raw: return codes are checked by
 * {@link dev.lorabeam.engine.Mlx}; use that class instead of this one.
 */
@Platform(include = "lorabeam.h", link = "lorabeam", library = "jnilorabeam")
public final class LorabeamNative {
  static {
    Loader.load();
  }

  private LorabeamNative() {}

  /** Loads the native libraries (liblorabeam, libmlx through its RUNPATH, the JNI library). */
  public static void load() {
    Loader.load(LorabeamNative.class);
  }

  public static native @Cast("const char*") String lb_last_error();

  public static native @Cast("const char*") String lb_mlx_version();

  public static native @Cast("const char*") String lb_device_info_json();

  public static native int lb_matmul_f32(
      @Const FloatPointer a, int m, int k, @Const FloatPointer b, int kb, int n, FloatPointer out);

  public static native int lb_gemm_gflops(int n, int iters, double[] gflops);

  public static native int lb_cpu_kernel(
      String op, int fast, float[] x, int rows, int cols, float[] cotangent, float[] out, float[] grad);

  public static native long lb_active_memory();

  public static native long lb_peak_memory();

  public static native long lb_cache_memory();

  public static native int lb_reset_peak_memory();

  public static native int lb_clear_cache();

  public static native int lb_set_memory_limit(long limit, @Cast("int64_t*") long[] previous);

  public static native long lb_get_memory_limit();

  public static native int lb_set_cache_limit(long limit, @Cast("int64_t*") long[] previous);

  public static native int lb_fault_fail_write(long nth, int errNumber);
}
