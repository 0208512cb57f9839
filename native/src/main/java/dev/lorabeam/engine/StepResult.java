package dev.lorabeam.engine;

/**
 * Outcome of one training step: the step number after it (1-based), the batch loss Σw·CE/Σw before
 * the update, Σw, the number of targets with weight > 0, and the gradient's global norm before
 * clipping.
 */
public record StepResult(long step, double loss, double weightSum, long trainedTokens, double gradNorm) {}
