// MLX primitives over the float32 kernels of cpu_kernels.h, for the CPU device only: softmax (plain
// or causal), log-sum-exp and sigmoid, each with its VJP, usable inside mx::compile and mx::grad.
// On any other device or dtype each function is MLX's own op, so Metal keeps MLX's kernels.
#pragma once

#include "mlx/mlx.h"

namespace lorabeam {

namespace mx = mlx::core;

// Whether the fast CPU kernels apply to x: float32 on the CPU device (mx::default_device()).
bool cpu_kernels_apply(const mx::array& x);

// Softmax over the last axis. causal: x is (..., Tq, Tk) attention scores and query i sees keys
// j ≤ i + Tk − Tq (MLX's "causal" mode); masked entries are exactly 0.
mx::array fast_softmax(const mx::array& x, bool causal = false);

// log Σ exp over the last axis, keeping it: (..., V) -> (..., 1).
mx::array fast_logsumexp(const mx::array& x);

// 1 / (1 + exp(−x)), elementwise.
mx::array fast_sigmoid(const mx::array& x);

// ∂(Σ w·CE)/∂logits = w ⊙ (softmax − onehot(targets)) from logits (C, V) float32, their log-sum-exp
// (C, 1), targets (C, 1) and weights (C, 1), in one pass; CPU float32 only (cpu_kernels_apply). No
// VJP of its own: the chunked head calls it inside a custom VJP.
mx::array fast_xent_grad(const mx::array& logits, const mx::array& lse, const mx::array& targets,
                         const mx::array& weights);

}  // namespace lorabeam
