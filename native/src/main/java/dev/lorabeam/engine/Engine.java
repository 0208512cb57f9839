package dev.lorabeam.engine;

import dev.lorabeam.engine.bridge.EngineNative;
import dev.lorabeam.engine.bridge.EngineNative.lb_engine;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Path;

/**
 * A loaded model with LoRA adapters and AdamW state, living in native memory. Each call is one
 * JNI crossing; inside a training step the engine evaluates each micro-batch once, then the update
 * once. Not thread-safe
 * beyond the method-level lock; close it to give all native memory back.
 */
public final class Engine implements AutoCloseable {
  static {
    Mlx.ensureLoaded();
    EngineNative.load();
  }

  private lb_engine handle;
  private final EngineConfig config;
  private IntBuffer tokens = IntBuffer.allocate(0);
  private IntBuffer segments = IntBuffer.allocate(0);
  private FloatBuffer weights = FloatBuffer.allocate(0);

  private Engine(lb_engine handle, EngineConfig config) {
    this.handle = handle;
    this.config = config;
  }

  /** Loads the model and creates adapters (A ~ U(±1/√in), B = 0, from {@code config.seed()}). */
  public static Engine open(EngineConfig config) {
    lb_engine h = EngineNative.lb_engine_new(config.toJson());
    if (h == null || h.isNull()) {
      throw failure("opening " + config.model());
    }
    return new Engine(h, config);
  }

  public EngineConfig config() {
    return config;
  }

  public synchronized ModelInfo modelInfo() {
    long[] v = new long[8];
    check(EngineNative.lb_engine_model_info(live(), v), "modelInfo");
    return new ModelInfo(EngineNative.lb_engine_architecture(handle), (int) v[0], (int) v[1], (int) v[2],
        (int) v[3], (int) v[4], (int) v[5], v[6], v[7], EngineNative.lb_engine_quantization(handle));
  }

  /**
   * One AdamW step on {@code batch} (rows = microBatch × gradAccumulation) at this learning rate,
   * minimising Σ w·CE / N (N = targets with w > 0 in the whole batch). The micro-batches are
   * evaluated one after the other inside this one native call, so peak memory is one micro-batch's.
   */
  public synchronized StepResult step(Batch batch, double learningRate) {
    stage(batch);
    double[] out = new double[6];
    check(EngineNative.lb_engine_step(live(), batch.rows(), batch.seqLen(), tokens, segments, weights,
        learningRate, out), "step");
    return new StepResult((long) out[0], out[1], out[2], (long) out[3], out[4], (long) out[5]);
  }

  /** Plain cross-entropy of {@code batch} over its targets with weight > 0, without gradients. */
  public synchronized LossResult evalLoss(Batch batch) {
    stage(batch);
    double[] out = new double[3];
    check(EngineNative.lb_engine_eval_loss(live(), batch.rows(), batch.seqLen(), tokens, segments, weights, out),
        "evalLoss");
    return new LossResult(out[0], out[1], (long) out[2]);
  }

  /** Per-position cross-entropy (rows × seqLen), 0 where the weight is 0. */
  public synchronized float[] tokenLosses(Batch batch) {
    stage(batch);
    FloatBuffer out = directFloats(batch.rows() * batch.seqLen());
    check(EngineNative.lb_engine_token_losses(live(), batch.rows(), batch.seqLen(), tokens, segments, weights,
        out), "tokenLosses");
    float[] result = new float[batch.rows() * batch.seqLen()];
    out.get(0, result);
    return result;
  }

  /** Writes adapters.safetensors + adapter_config.json (mlx-lm's format) into {@code dir}, atomically. */
  public synchronized void saveAdapters(Path dir) {
    check(EngineNative.lb_engine_save_adapters(live(), dir.toString()), "saveAdapters to " + dir);
  }

  /** Loads adapters written by this engine or by mlx-lm from {@code dir}. */
  public synchronized void loadAdapters(Path dir) {
    check(EngineNative.lb_engine_load_adapters(live(), dir.toString()), "loadAdapters from " + dir);
  }

  /** Writes AdamW's m, v and step to a safetensors file, atomically. */
  public synchronized void saveOptimizerState(Path file) {
    check(EngineNative.lb_engine_save_optimizer(live(), file.toString()), "saveOptimizerState to " + file);
  }

  public synchronized void loadOptimizerState(Path file) {
    check(EngineNative.lb_engine_load_optimizer(live(), file.toString()), "loadOptimizerState from " + file);
  }

  /**
   * Continues {@code prompt} by up to {@code maxTokens} ids (temperature 0 = greedy; otherwise
   * temperature + top-p sampling from {@code seed}), stopping after any of {@code stopTokens}.
   */
  public synchronized int[] generate(int[] prompt, int maxTokens, double temperature, double topP, long seed,
      int[] stopTokens) {
    int[] stop = stopTokens == null ? new int[0] : stopTokens;
    int[] out = new int[Math.max(maxTokens, 0)];
    int[] n = new int[1];
    check(EngineNative.lb_engine_generate(live(), prompt, prompt.length, maxTokens, temperature, topP, seed,
        stop, stop.length, out, n), "generate");
    return java.util.Arrays.copyOf(out, n[0]);
  }

  /** Frees every native array of this engine; active MLX memory returns to its level before open. */
  @Override
  public synchronized void close() {
    if (handle != null) {
      EngineNative.lb_engine_free(handle);
      handle = null;
    }
  }

  // ---- test hooks (package-private): flattened LoRA parameters and their exact gradient ----

  synchronized float[] loraValues() {
    float[] out = new float[(int) EngineNative.lb_engine_lora_size(live())];
    check(EngineNative.lb_engine_lora_get(handle, out), "loraValues");
    return out;
  }

  synchronized void setLoraValues(float[] values) {
    long n = EngineNative.lb_engine_lora_size(live());
    if (values.length != n) {
      throw new IllegalArgumentException("expected " + n + " LoRA values, got " + values.length);
    }
    check(EngineNative.lb_engine_lora_set(handle, values), "setLoraValues");
  }

  /**
   * AdamW's first moment m, flattened like {@link #loraValues}. With {@code adamBeta1 = 0} it is
   * exactly the gradient the last {@link #step} applied (normalised by N, clipped), computed by the
   * compiled training step itself: tests and diagnostics read the production gradient here.
   */
  public synchronized float[] firstMoment() {
    FloatBuffer out = directFloats((int) EngineNative.lb_engine_lora_size(live()));
    check(EngineNative.lb_engine_first_moment(handle, out), "firstMoment");
    float[] result = new float[out.capacity()];
    out.get(0, result);
    return result;
  }

  private lb_engine live() {
    if (handle == null) {
      throw new IllegalStateException("engine is closed");
    }
    return handle;
  }

  /** Copies the batch into reusable direct buffers (no JNI; the native call reads them in place). */
  private void stage(Batch b) {
    if (tokens.capacity() < b.tokens().length || !tokens.isDirect()) {
      tokens = directInts(b.tokens().length);
    }
    if (segments.capacity() < b.segments().length || !segments.isDirect()) {
      segments = directInts(b.segments().length);
      weights = directFloats(b.weights().length);
    }
    tokens.clear();
    tokens.put(b.tokens()).flip();
    segments.clear();
    segments.put(b.segments()).flip();
    weights.clear();
    weights.put(b.weights()).flip();
  }

  private static IntBuffer directInts(int n) {
    return ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asIntBuffer();
  }

  private static FloatBuffer directFloats(int n) {
    return ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static void check(int rc, String what) {
    if (rc != 0) {
      throw failure(what);
    }
  }

  private static MlxException failure(String what) {
    String message = EngineNative.lb_last_error();
    return new MlxException(what + " failed: " + (message == null || message.isEmpty() ? "unknown error" : message));
  }
}
