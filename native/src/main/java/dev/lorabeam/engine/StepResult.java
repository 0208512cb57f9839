package dev.lorabeam.engine;

/**
 * Outcome of one optimizer step.
 *
 * @param step the step number after it (1-based)
 * @param loss Σ w·CE / N over the whole step (all micro-batches), before the update
 * @param weightSum Σ w
 * @param trainedTokens N, the number of targets with weight > 0 (the loss's denominator)
 * @param gradNorm the gradient's global norm before clipping
 * @param peakMemoryBytes MLX peak memory during the step (MLX's peak counter is reset when it starts)
 */
public record StepResult(long step, double loss, double weightSum, long trainedTokens, double gradNorm,
    long peakMemoryBytes) {}
