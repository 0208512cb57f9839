// Float32 exp-based kernels for MLX's CPU backend: plain C++ loops that the compiler vectorizes.
// MLX 0.32.4 on x86 has no SIMD type wider than 1 (simd::max_size<float> = 1 outside Apple's
// Accelerate/NEON headers), so its polynomial exp runs one float at a time through generic
// select/floor code: ~45 ns per element on one core, ~15x numpy. These run ~1 ns per element.
// Rows are split over a few threads; every function returns only when all rows are done.
#pragma once

#include <cstdint>

namespace lorabeam::cpu {

// y[i] = exp(x[i]) for n floats (Cephes expf: ≤ 2 ulp on [-87.3, 88.7], 0 below, +inf above, NaN kept).
void exp(const float* x, float* y, int64_t n);

// y[i] = 1 / (1 + exp(-x[i])).
void sigmoid(const float* x, float* y, int64_t n);

// Softmax over each row of `cols` floats. With causal_rows > 0 row r is query r % causal_rows and
// only its first (r % causal_rows) + 1 + offset columns take part; the rest of the row is set to 0.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, int64_t causal_rows, int64_t offset);

// out[r] = log Σ_j exp(x[r, j]) for each of `rows` rows of `cols` floats.
void logsumexp_rows(const float* x, float* out, int64_t rows, int64_t cols);

// dx = p ⊙ (g − Σ_j g ⊙ p) per row: the softmax VJP from its output p and cotangent g.
void softmax_vjp_rows(const float* p, const float* g, float* dx, int64_t rows, int64_t cols);

// dx[r, j] = w[r] · (exp(x[r, j] − lse[r]) − [j = target[r]]): ∂(Σ w·CE)/∂logits of each row, from its
// log-sum-exp. A target outside [0, cols) only drops the one-hot term.
void xent_grad_rows(const float* x, const float* lse, const int32_t* target, const float* w, float* dx,
                    int64_t rows, int64_t cols);

}  // namespace lorabeam::cpu
