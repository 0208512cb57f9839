package dev.lorabeam.pipeline.memory;

import dev.lorabeam.engine.Mlx;

/**
 * Peak memory of one training step of this project's engine, in bytes, from the model's shapes and
 * the run's flags. The terms follow what the step keeps alive at its peak (the start of the
 * backward pass): resident weights, LoRA + AdamW state, the activations the backward pass reads,
 * the logits and their gradient, and the dense copies of quantized weights. The coefficients count the arrays
 * in {@code model.cpp}/{@code engine.cpp}; {@code MemoryModelTest} checks the sum against MLX's
 * measured peak on real models.
 */
public final class MemoryModel {
  // Per token and adapted block, the arrays the backward pass reads, in units of each width. The
  // counts come from model.cpp (norm inputs/outputs, q/k/v/o, rope, gate/up/silu, LoRA x·A) and were
  // calibrated once against MLX's measured peak on a random float32 Llama (MemoryModelTest);
  // MLX's compile fuses the element-wise ones, so fewer survive than the graph has.
  /** Residual stream, norm outputs, attention output, o/down outputs: D wide. */
  static final double ACT_PER_D = 8;
  /** gate, up, their product and the SiLU: F wide. */
  static final double ACT_PER_F = 5;
  /** k and v after projection: Hkv·hd wide. */
  static final double ACT_PER_KV = 2;
  /** Attention on CPU is not fused: the softmax probabilities (B, H, T, T) stay for the backward pass. */
  static final double ATTN_SCORE_COPIES = 1;
  /**
   * (B, T, V) float32 copies of the logits alive at the peak. The engine's chunked LM head
   * ({@code head_loss.cpp}) never holds logits, softmax and dlogits of the whole batch at once;
   * measured peaks (MemoryModelTest) fit two full-size copies, where the unchunked head needed four.
   */
  static final double LOGIT_COPIES = 2;
  /** LoRA parameters, AdamW m and v (resident) and the gradients (float32). */
  static final double LORA_COPIES = 4;
  /** MLX's fixed working set on top of the arrays above (graph, small buffers), bytes. */
  static final long FIXED_OVERHEAD = 1_000_000L;

  private MemoryModel() {}

  /** A training run's memory-relevant flags. {@code loraLayers} −1 = all blocks. */
  public record Plan(int quantizeBits, int batchSize, int seqLength, int loraRank, int loraLayers,
      boolean gradCheckpoint, int computeBytes) {
    public Plan {
      if (batchSize < 1 || seqLength < 1 || loraRank < 1 || computeBytes < 1) {
        throw new IllegalArgumentException("plan needs positive sizes: batch " + batchSize + ", T " + seqLength
            + ", rank " + loraRank + ", bytes/value " + computeBytes);
      }
    }

    /** float32 compute (the trainer's default). */
    public static Plan of(int quantizeBits, int batchSize, int seqLength, int loraRank, int loraLayers,
        boolean gradCheckpoint) {
      return new Plan(quantizeBits, batchSize, seqLength, loraRank, loraLayers, gradCheckpoint, 4);
    }
  }

  /** The predicted peak, by term, in bytes. */
  public record Estimate(long weights, long lora, long activations, long logits, long overhead) {
    public long total() {
      return weights + lora + activations + logits + overhead;
    }

    /** The memory held between steps (weights + LoRA + AdamW state). */
    public long resident() {
      return weights + (long) (lora * 3 / LORA_COPIES);
    }
  }

  /**
   * Where the step runs: MLX's CPU backend multiplies by quantized weights through a dense copy
   * (engine's {@code Linear::operator()}), Metal uses {@code quantized_matmul} directly.
   */
  public enum Backend {
    CPU, GPU;

    /** MLX's default device in this process. */
    public static Backend current() {
      return Mlx.deviceInfoJson().contains("\"type\":\"gpu\"") ? GPU : CPU;
    }
  }

  /** The peak on this process's MLX device. */
  public static Estimate estimate(ModelShape m, Plan p) {
    return estimate(m, p, Backend.current());
  }

  public static Estimate estimate(ModelShape m, Plan p, Backend backend) {
    int adapted = p.loraLayers() < 0 ? m.layers() : Math.min(p.loraLayers(), m.layers());
    long tokens = (long) p.batchSize() * p.seqLength();
    long lora = (long) (LORA_COPIES * 4 * adapted * m.loraParamsPerLayer(p.loraRank()));
    long perBlock = blockActivations(m, p, tokens);
    // With checkpointing each adapted block keeps only its input (B, T, D); one block at a time is
    // recomputed in full during the backward pass.
    long activations = p.gradCheckpoint()
        ? adapted * tokens * m.hidden() * p.computeBytes() + perBlock
        : adapted * perBlock;
    long logits = (long) (LOGIT_COPIES * tokens * m.vocab() * 4);
    return new Estimate(weights(m, p), lora, activations, logits, FIXED_OVERHEAD
        + (backend == Backend.CPU ? transientWeights(m, p, adapted) : 0));
  }

  /** Bytes of the base weights as the engine holds them (dense in the compute dtype, or packed). */
  static long weights(ModelShape m, Plan p) {
    int blockBits = m.storedBits() > 0 ? m.storedBits() : p.quantizeBits();
    int blockGroup = m.storedBits() > 0 ? m.groupSize() : 64;
    return packed(m.blockLinearParams(), blockBits, blockGroup, p.computeBytes())
        + packed(m.embeddingParams(), m.embedBits(), m.groupSize(), p.computeBytes());
  }

  private static long packed(long params, int bits, int group, int computeBytes) {
    if (bits == 0) {
      return params * computeBytes;
    }
    return params * bits / 8 + 2 * (params / group) * computeBytes;  // values + scales + biases
  }

  /** (B·T) × activations of one adapted block without checkpointing. */
  private static long blockActivations(ModelShape m, Plan p, long tokens) {
    double perToken = ACT_PER_D * m.hidden() + ACT_PER_F * m.intermediate() + ACT_PER_KV * m.kvHeads() * m.headDim()
        + 7.0 * 2 * p.loraRank();  // x·A and its scaled product, per adapted Linear
    double scores = ATTN_SCORE_COPIES * m.heads() * (double) p.seqLength();
    return (long) (tokens * (perToken + scores) * p.computeBytes());
  }

  /**
   * On the CPU a quantized Linear is dequantized to a dense (out, in) weight in the compute dtype
   * for each matrix product. The adapted blocks' dense copies are all live at the peak (the
   * backward pass multiplies by them again), and so is the output head's when it is quantized.
   */
  private static long transientWeights(ModelShape m, Plan p, int adapted) {
    boolean blocksQuantized = m.storedBits() > 0 || p.quantizeBits() > 0;
    long blocks = blocksQuantized ? m.blockLinearParams() / m.layers() * adapted * p.computeBytes() : 0;
    long head = m.embedBits() > 0 ? (long) m.vocab() * m.hidden() * p.computeBytes() : 0;
    return blocks + head;
  }
}
