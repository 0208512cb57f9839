package dev.lorabeam.engine;

/**
 * Loss of a batch without gradients: plain cross-entropy averaged over the {@code trainedTokens}
 * targets with weight > 0 (the weights' sizes do not count, so validation losses compare across
 * runs), with the batch's Σ w.
 */
public record LossResult(double loss, double weightSum, long trainedTokens) {}
