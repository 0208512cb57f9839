// Cross-entropy through the LM head, chunked over positions so that no (B, T, V) float32 logits,
// softmax or logits gradient exists at once (≈ 0.4 GB each at V = 49k, 1 GB at V = 128k, B·T = 2048).
#pragma once

#include "engine/model.h"

namespace lorabeam {

// Positions per chunk: about 2^24 logits (64 MB in float32) and at most a quarter of n, at least 16.
int head_chunk_rows(int vocab, int n);

// Per-position CE, no gradient kept: h (B, T, D), targets (B, T) int32 -> (B, T) float32.
// Differentiable like any MLX graph (each chunk's logits are then kept for the backward pass).
// cpu_lse: log-sum-exp and softmax by cpu_ops.h's kernels (CPU device, float32; MLX's ops otherwise).
mx::array head_cross_entropy(const Model& m, const mx::array& h, const mx::array& targets, bool cpu_lse);

// Σ w·CE over (B, T) as a scalar whose gradient in h is exact. The forward pass computes each chunk's
// input gradient w·(softmax − onehot)·W_head right after its loss and frees the chunk's logits, so the
// backward pass only scales the stored (B, T, D) gradient: no recomputation, no extra GEMM.
mx::array head_weighted_loss(const Model& m, const mx::array& h, const mx::array& targets, const mx::array& weights,
                             bool cpu_lse);

}  // namespace lorabeam
