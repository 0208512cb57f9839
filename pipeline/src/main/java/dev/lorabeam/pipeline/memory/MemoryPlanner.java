package dev.lorabeam.pipeline.memory;

import dev.lorabeam.pipeline.memory.MemoryModel.Backend;
import dev.lorabeam.pipeline.memory.MemoryModel.Estimate;
import dev.lorabeam.pipeline.memory.MemoryModel.Plan;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Picks training flags for a model and a memory budget from {@link MemoryModel}: the plan that
 * fits in {@link #FILL} of the budget and ranks best by, in order, tokens per step (up to
 * {@link #ENOUGH_TOKENS}), no quantization, no gradient checkpointing (faster), a sequence length
 * of at least 512, more adapted layers, then a higher rank.
 */
public final class MemoryPlanner {
  /** Share of the budget a plan may fill: the model is checked to ±20%, so keep a margin. */
  public static final double FILL = 0.85;
  /** Tokens per optimizer step beyond which more batch buys little (gradient noise is low enough). */
  static final int ENOUGH_TOKENS = 4096;
  static final int[] SEQ_LENGTHS = {128, 256, 512, 1024, 2048};
  static final int[] BATCH_SIZES = {1, 2, 4, 8, 16, 32};
  static final int[] RANKS = {8, 16};
  static final int[] LAYERS = {8, 16, -1};

  private MemoryPlanner() {}

  /** A recommended plan and its predicted peak. */
  public record Choice(ModelShape model, Plan plan, Estimate estimate) {}

  /** The best plan for {@code model} within {@code FILL × budgetBytes}, if any fits. */
  public static Optional<Choice> recommend(ModelShape model, long budgetBytes) {
    return recommend(model, budgetBytes, Backend.current());
  }

  public static Optional<Choice> recommend(ModelShape model, long budgetBytes, Backend backend) {
    long usable = (long) (FILL * budgetBytes);
    return candidates(model)
        .map(p -> new Choice(model, p, MemoryModel.estimate(model, p, backend)))
        .filter(c -> c.estimate().total() <= usable)
        .max(RANKING);
  }

  static final Comparator<Choice> RANKING = Comparator
      .comparingLong((Choice c) -> Math.min(tokens(c.plan()), ENOUGH_TOKENS))
      .thenComparing(c -> c.plan().quantizeBits() == 0)
      .thenComparing(c -> !c.plan().gradCheckpoint())
      .thenComparing(c -> c.plan().seqLength() >= 512)
      .thenComparingInt(c -> adapted(c.model(), c.plan()))
      .thenComparingInt(c -> c.plan().loraRank())
      // Among equals, the smaller footprint (fewer tokens beyond ENOUGH_TOKENS, shorter T).
      .thenComparing(c -> -c.estimate().total());

  private static Stream<Plan> candidates(ModelShape model) {
    // A model stored quantized (GGUF, mlx-community) is not re-quantized: --quantize stays 0.
    int[] quantize = model.storedBits() > 0 ? new int[] {0} : new int[] {0, 4};
    return IntStream.of(quantize).boxed().flatMap(q -> IntStream.of(SEQ_LENGTHS).boxed()
        .flatMap(t -> IntStream.of(BATCH_SIZES).boxed()
            .flatMap(b -> IntStream.of(RANKS).boxed()
                .flatMap(r -> IntStream.of(LAYERS).boxed()
                    .flatMap(l -> Stream.of(false, true).map(ck -> Plan.of(q, b, t, r, l, ck)))))));
  }

  private static long tokens(Plan p) {
    return (long) p.batchSize() * p.seqLength();
  }

  private static int adapted(ModelShape m, Plan p) {
    return p.loraLayers() < 0 ? m.layers() : Math.min(p.loraLayers(), m.layers());
  }

  /** The flags of a choice as {@code train} takes them. */
  public static String flags(String modelArg, Plan p) {
    return "--model " + modelArg + (p.quantizeBits() > 0 ? " --quantize " + p.quantizeBits() : "")
        + " --batch-size " + p.batchSize() + " --train-seq-length " + p.seqLength() + " --lora-rank " + p.loraRank()
        + " --lora-layers " + p.loraLayers() + (p.gradCheckpoint() ? " --grad-checkpoint" : "");
  }
}
