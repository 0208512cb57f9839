package dev.lorabeam.engine;

import dev.lorabeam.engine.bridge.LorabeamNative;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Process-wide MLX facts and controls: version, device, memory statistics and limits. Every call
 * checks the native return code and turns a failure into an {@link MlxException} with MLX's
 * message.
 */
public final class Mlx {
  static {
    LorabeamNative.load();
  }

  private Mlx() {}

  /** Loads the native libraries now (fails fast with a clear message when MLX cannot load). */
  public static void ensureLoaded() {
    // The static initializer did the work.
  }

  public static String version() {
    return LorabeamNative.lb_mlx_version();
  }

  /** The default device and what MLX reports of it, as a JSON object. */
  public static String deviceInfoJson() {
    String json = LorabeamNative.lb_device_info_json();
    if (json == null) {
      throw failure("device_info");
    }
    return json;
  }

  /** {@code a(m,k) · b(kb,n)} in float32 on MLX's default device, row-major. */
  public static float[] matmul(float[] a, int m, int k, float[] b, int kb, int n) {
    if (a.length != m * k || b.length != kb * n) {
      throw new IllegalArgumentException(
          "matmul: array lengths " + a.length + ", " + b.length + " do not match shapes ("
              + m + "," + k + ") and (" + kb + "," + n + ")");
    }
    try (FloatPointer pa = new FloatPointer(a);
        FloatPointer pb = new FloatPointer(b);
        FloatPointer out = new FloatPointer((long) m * n)) {
      check(LorabeamNative.lb_matmul_f32(pa, m, k, pb, kb, n, out), "matmul");
      float[] result = new float[m * n];
      out.get(result);
      return result;
    }
  }

  /** Float32 GEMM throughput of n×n products on the default device, in GFLOP/s. */
  public static double gemmGflops(int n, int iters) {
    double[] gflops = new double[1];
    check(LorabeamNative.lb_gemm_gflops(n, iters, gflops), "gemm benchmark");
    return gflops[0];
  }

  /**
   * One exp-based op on the CPU device by the engine's own kernel ({@code fast}) or by MLX's op, for
   * tests comparing the two: {@code op} is exp, sigmoid, softmax, causal_softmax or logsumexp over
   * {@code x} (rows, cols). Returns {output, VJP of Σ cotangent ⊙ output} (no VJP for exp).
   */
  public static float[][] cpuKernel(String op, boolean fast, float[] x, int rows, int cols, float[] cotangent) {
    if (x.length != rows * cols) {
      throw new IllegalArgumentException("cpuKernel: " + x.length + " floats for (" + rows + ", " + cols + ")");
    }
    float[] out = new float[op.equals("logsumexp") ? rows : rows * cols];
    float[] grad = op.equals("exp") ? null : new float[rows * cols];
    if (grad != null && (cotangent == null || cotangent.length != out.length)) {
      throw new IllegalArgumentException("cpuKernel: the cotangent must have " + out.length + " floats");
    }
    check(LorabeamNative.lb_cpu_kernel(op, fast ? 1 : 0, x, rows, cols, cotangent, out, grad), "cpu kernel " + op);
    return new float[][] {out, grad};
  }

  public static long activeMemory() {
    return checked(LorabeamNative.lb_active_memory(), "get_active_memory");
  }

  public static long peakMemory() {
    return checked(LorabeamNative.lb_peak_memory(), "get_peak_memory");
  }

  public static long cacheMemory() {
    return checked(LorabeamNative.lb_cache_memory(), "get_cache_memory");
  }

  public static void resetPeakMemory() {
    check(LorabeamNative.lb_reset_peak_memory(), "reset_peak_memory");
  }

  public static void clearCache() {
    check(LorabeamNative.lb_clear_cache(), "clear_cache");
  }

  /** Sets MLX's memory limit in bytes; returns the previous limit. */
  public static long setMemoryLimit(long bytes) {
    long[] previous = new long[1];
    check(LorabeamNative.lb_set_memory_limit(bytes, previous), "set_memory_limit");
    return previous[0];
  }

  /** The memory limit MLX holds now, in bytes (read back from MLX, not remembered here). */
  public static long memoryLimit() {
    return checked(LorabeamNative.lb_get_memory_limit(), "get_memory_limit");
  }

  /** Sets MLX's buffer-cache limit in bytes; returns the previous limit. */
  public static long setCacheLimit(long bytes) {
    long[] previous = new long[1];
    check(LorabeamNative.lb_set_cache_limit(bytes, previous), "set_cache_limit");
    return previous[0];
  }

  /** Throws the thread's last native error when {@code rc != 0}. */
  public static void check(int rc, String what) {
    if (rc != 0) {
      throw failure(what);
    }
  }

  private static long checked(long value, String what) {
    if (value < 0) {
      throw failure(what);
    }
    return value;
  }

  private static MlxException failure(String what) {
    String message = LorabeamNative.lb_last_error();
    return new MlxException(what + " failed: " + (message == null || message.isEmpty() ? "unknown error" : message));
  }
}
