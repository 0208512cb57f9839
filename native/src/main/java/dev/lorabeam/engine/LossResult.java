package dev.lorabeam.engine;

/** Loss Σw·CE/Σw of a batch without gradients, with Σw and the number of targets with weight > 0. */
public record LossResult(double loss, double weightSum, long trainedTokens) {}
