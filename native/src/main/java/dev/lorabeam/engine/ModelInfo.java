package dev.lorabeam.engine;

/**
 * Shape of the loaded model. {@code totalParams} counts base weights as unquantized values plus the
 * adapters; {@code quantization} is "none", "qB_gG" (bits, group) or "gguf".
 */
public record ModelInfo(String architecture, int vocabSize, int numLayers, int hiddenSize, int numHeads,
    int numKvHeads, int headDim, long totalParams, long trainableParams, String quantization) {}
