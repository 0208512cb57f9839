// Developer tool: CPU cost of quantized_matmul vs dequantize + matmul vs dense matmul (float32),
// forward (x·Wᵀ) and backward-to-input (g·W) shapes of a SmolLM2 MLP projection.
#include <chrono>
#include <cstdio>
#include <functional>

#include "mlx/mlx.h"

namespace mx = mlx::core;

static double ms(const std::function<mx::array()>& f, int n = 5) {
  mx::eval(f());
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i++) mx::eval(f());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
}

int main() {
  mx::array x = mx::random::normal({512, 576}), w = mx::random::normal({1536, 576}), g = mx::random::normal({512, 1536});
  auto q = mx::quantize(w, 32, 4);
  mx::eval(x, w, g, q[0], q[1], q[2]);
  std::printf("forward  qmm %.1f ms | dequant+mm %.1f ms | dense mm %.1f ms\n",
              ms([&] { return mx::quantized_matmul(x, q[0], q[1], q[2], true, 32, 4); }),
              ms([&] { return mx::matmul(x, mx::transpose(mx::dequantize(q[0], q[1], q[2], 32, 4))); }),
              ms([&] { return mx::matmul(x, mx::transpose(w)); }));
  std::printf("backward qmm %.1f ms | dequant+mm %.1f ms | dense mm %.1f ms\n",
              ms([&] { return mx::quantized_matmul(g, q[0], q[1], q[2], false, 32, 4); }),
              ms([&] { return mx::matmul(g, mx::dequantize(q[0], q[1], q[2], 32, 4)); }),
              ms([&] { return mx::matmul(g, w); }));
}
