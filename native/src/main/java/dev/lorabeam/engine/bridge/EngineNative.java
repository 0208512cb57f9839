package dev.lorabeam.engine.bridge;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Opaque;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of the training engine's C ABI in {@code lorabeam_engine.h}. Raw: return codes
 * are checked by {@link dev.lorabeam.engine.Engine}; use that class instead of this one. Batches are
 * passed as direct NIO buffers, so a training step is a single JNI crossing.
 */
@Platform(include = "lorabeam_engine.h", link = "lorabeam", library = "jnilorabeam")
public final class EngineNative {
  static {
    Loader.load();
  }

  private EngineNative() {}

  /** Loads the native libraries. */
  public static void load() {
    Loader.load(EngineNative.class);
  }

  /** The opaque {@code lb_engine*} handle. */
  @Opaque
  public static class lb_engine extends Pointer {
    public lb_engine() {
      super((Pointer) null);
    }

    public lb_engine(Pointer p) {
      super(p);
    }
  }

  public static native @Cast("const char*") String lb_last_error();

  public static native lb_engine lb_engine_new(@Cast("const char*") String configJson);

  public static native void lb_engine_free(lb_engine engine);

  public static native int lb_engine_model_info(lb_engine engine, @Cast("int64_t*") long[] ints);

  public static native @Cast("const char*") String lb_engine_architecture(lb_engine engine);

  public static native @Cast("const char*") String lb_engine_quantization(lb_engine engine);

  public static native int lb_engine_step(lb_engine engine, int rows, int seqLen,
      @Cast("const int32_t*") IntBuffer tokens, @Cast("const int32_t*") IntBuffer segments,
      @Const FloatBuffer weights, double learningRate, double[] out);

  public static native int lb_engine_eval_loss(lb_engine engine, int rows, int seqLen,
      @Cast("const int32_t*") IntBuffer tokens, @Cast("const int32_t*") IntBuffer segments,
      @Const FloatBuffer weights, double[] out);

  public static native int lb_engine_token_losses(lb_engine engine, int rows, int seqLen,
      @Cast("const int32_t*") IntBuffer tokens, @Cast("const int32_t*") IntBuffer segments,
      @Const FloatBuffer weights, FloatBuffer out);

  public static native int lb_engine_save_adapters(lb_engine engine, @Cast("const char*") String dir);

  public static native int lb_engine_load_adapters(lb_engine engine, @Cast("const char*") String dir);

  public static native int lb_engine_save_optimizer(lb_engine engine, @Cast("const char*") String file);

  public static native int lb_engine_load_optimizer(lb_engine engine, @Cast("const char*") String file);

  public static native int lb_engine_generate(lb_engine engine, @Cast("const int32_t*") int[] prompt,
      int promptLen, int maxTokens, double temperature, double topP, long seed,
      @Cast("const int32_t*") int[] stop, int stopLen, @Cast("int32_t*") int[] out, int[] outLen);

  public static native long lb_engine_lora_size(lb_engine engine);

  public static native int lb_engine_lora_get(lb_engine engine, float[] out);

  public static native int lb_engine_lora_set(lb_engine engine, @Const float[] values);

  public static native int lb_engine_first_moment(lb_engine engine, FloatBuffer out);
}
