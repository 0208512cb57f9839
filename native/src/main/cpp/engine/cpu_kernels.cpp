// Vectorizable exp, sigmoid, softmax and log-sum-exp over float32 rows (see cpu_kernels.h).
#include "engine/cpu_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

// The loops are written so GCC/Clang vectorize them at -O3 for the baseline ISA; on x86-64 Linux each
// kernel is also cloned for AVX2 and AVX-512 and the loader picks one for the CPU it runs on, so the
// library stays portable (no -march=native).
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define LB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LB_CLONES
#endif

namespace lorabeam::cpu {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kMaxLog = 88.72283905f;   // log(FLT_MAX)
constexpr float kMinLog = -87.33654475f;  // log(FLT_MIN): below it the result is 0 (no subnormals)
constexpr int kLanes = 16;                // independent accumulators: reductions vectorize without -ffast-math

// Cephes expf: exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x − n·ln 2 (ln 2 split in two so r
// is exact), exp(r) by a degree-6 polynomial on |r| ≤ ln(2)/2. 2^n is built as 2^(n/2) · 2^(n − n/2)
// from exponent bits, so n = ±127 stays in range of the float exponent field.
inline float exp1(float x) {
  float xc = x < kMinLog ? kMinLog : (x > kMaxLog ? kMaxLog : x);
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest (|n| ≤ 128)
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t ni = static_cast<int32_t>(n);
  int32_t half = ni >> 1;
  float s1 = std::bit_cast<float>((half + 127) << 23);
  float s2 = std::bit_cast<float>((ni - half + 127) << 23);
  float y = p * s1 * s2;
  y = x > kMaxLog ? kInf : y;
  y = x < kMinLog ? 0.0f : y;
  return x != x ? x : y;  // NaN in, NaN out
}

inline float row_max(const float* x, int64_t n) {
  float acc[kLanes];
  for (int l = 0; l < kLanes; l++) acc[l] = -kInf;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
  }
  float m = -kInf;
  for (int l = 0; l < kLanes; l++) m = std::max(m, acc[l]);
  for (; i < n; i++) m = std::max(m, x[i]);
  return m;
}

inline float row_sum(const float* x, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; l++) acc[l] += x[i + l];
  }
  float s = 0.0f;
  for (int l = 0; l < kLanes; l++) s += acc[l];
  for (; i < n; i++) s += x[i];
  return s;
}

// y = exp(x − shift) for n floats.
inline void exp_shifted(const float* x, float* y, int64_t n, float shift) {
  for (int64_t i = 0; i < n; i++) y[i] = exp1(x[i] - shift);
}

LB_CLONES void exp_range(const float* x, float* y, int64_t n) { exp_shifted(x, y, n, 0.0f); }

LB_CLONES void sigmoid_range(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp1(-x[i]));
}

// One row: the first `valid` columns are softmaxed, the rest set to 0. The sum runs over the whole
// row, zeros included, so a causal row is bit-identical to the same row masked to −inf and softmaxed
// whole: the engine takes the causal path per batch (all rows one segment), so a data-parallel rank
// and one process with gradient accumulation may take different paths for the same rows.
LB_CLONES void softmax_row(const float* x, float* y, int64_t cols, int64_t valid) {
  float m = row_max(x, valid);
  exp_shifted(x, y, valid, m);
  for (int64_t i = valid; i < cols; i++) y[i] = 0.0f;
  float inv = 1.0f / row_sum(y, cols);
  for (int64_t i = 0; i < valid; i++) y[i] *= inv;
}

LB_CLONES float logsumexp_row(const float* x, int64_t n) {
  float m = row_max(x, n);
  if (!std::isfinite(m)) return m;  // all −inf, or an inf/NaN in the row: what log Σ exp gives
  constexpr int64_t kBlock = 1024;
  float buf[kBlock];
  float s = 0.0f;
  for (int64_t from = 0; from < n; from += kBlock) {
    int64_t len = std::min(kBlock, n - from);
    exp_shifted(x + from, buf, len, m);
    s += row_sum(buf, len);
  }
  return m + std::log(s);
}

LB_CLONES void softmax_vjp_row(const float* p, const float* g, float* dx, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; l++) acc[l] += g[i + l] * p[i + l];
  }
  float dot = 0.0f;
  for (int l = 0; l < kLanes; l++) dot += acc[l];
  for (; i < n; i++) dot += g[i] * p[i];
  for (int64_t j = 0; j < n; j++) dx[j] = p[j] * (g[j] - dot);
}

LB_CLONES void xent_grad_row(const float* x, float lse, int32_t target, float w, float* dx, int64_t n) {
  for (int64_t j = 0; j < n; j++) dx[j] = w * exp1(x[j] - lse);
  if (target >= 0 && target < n) dx[target] -= w;
}

// Runs fn(begin, end) over [0, items) split into contiguous ranges, one per thread; `cost` is the
// work of one item in elements, so small calls stay on the calling thread.
void parallel_for(int64_t items, int64_t cost, const std::function<void(int64_t, int64_t)>& fn) {
  int64_t by_work = items * cost / (1 << 16);  // ≥ 64k elements per thread: thread start-up is ~50 µs
  int threads = static_cast<int>(std::min<int64_t>({by_work, items, std::thread::hardware_concurrency(), 16}));
  if (threads <= 1) {
    fn(0, items);
    return;
  }
  std::vector<std::thread> pool;
  int64_t per = (items + threads - 1) / threads, done = per;
  try {
    for (int64_t from = per; from < items; from += per) {
      pool.emplace_back(fn, from, std::min(items, from + per));
      done = std::min(items, from + per);
    }
  } catch (const std::exception&) {  // no more threads: do the rest here
    fn(done, items);
  }
  fn(0, std::min(items, per));
  for (std::thread& t : pool) t.join();
}

}  // namespace

void exp(const float* x, float* y, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
  parallel_for((n + kChunk - 1) / kChunk, kChunk, [=](int64_t b, int64_t e) {
    exp_range(x + b * kChunk, y + b * kChunk, std::min(n, e * kChunk) - b * kChunk);
  });
}

void sigmoid(const float* x, float* y, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
  parallel_for((n + kChunk - 1) / kChunk, kChunk, [=](int64_t b, int64_t e) {
    sigmoid_range(x + b * kChunk, y + b * kChunk, std::min(n, e * kChunk) - b * kChunk);
  });
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, int64_t causal_rows, int64_t offset) {
  parallel_for(rows, cols, [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      int64_t valid = causal_rows > 0 ? std::clamp<int64_t>(r % causal_rows + 1 + offset, 0, cols) : cols;
      softmax_row(x + r * cols, y + r * cols, cols, valid);
    }
  });
}

void logsumexp_rows(const float* x, float* out, int64_t rows, int64_t cols) {
  parallel_for(rows, cols, [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) out[r] = logsumexp_row(x + r * cols, cols);
  });
}

void softmax_vjp_rows(const float* p, const float* g, float* dx, int64_t rows, int64_t cols) {
  parallel_for(rows, cols, [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) softmax_vjp_row(p + r * cols, g + r * cols, dx + r * cols, cols);
  });
}

void xent_grad_rows(const float* x, const float* lse, const int32_t* target, const float* w, float* dx,
                    int64_t rows, int64_t cols) {
  parallel_for(rows, cols, [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) xent_grad_row(x + r * cols, lse[r], target[r], w[r], dx + r * cols, cols);
  });
}

}  // namespace lorabeam::cpu
