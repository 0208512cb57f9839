// lb_cpu_kernel (lorabeam.h): the engine's CPU kernels and MLX's ops side by side, for CpuKernelsTest.
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "engine/cpu_kernels.h"
#include "engine/cpu_ops.h"
#include "errors.h"
#include "lorabeam.h"

namespace {

using lorabeam::mx::array;
namespace mx = lorabeam::mx;

// MLX's own graph for op: what the fast path replaces (the causal mask as SDPA's fallback builds it).
array reference(const std::string& op, const array& x) {
  if (op == "sigmoid") return mx::sigmoid(x);
  if (op == "softmax") return mx::softmax(x, -1, true);
  if (op == "logsumexp") return mx::logsumexp(x, -1, true);
  int rows = x.shape(0), cols = x.shape(1);
  mx::array q = mx::expand_dims(mx::arange(cols - rows, cols, mx::int32), 1), k = mx::arange(0, cols, mx::int32);
  mx::array masked = mx::where(mx::greater_equal(q, k), x, mx::array(std::numeric_limits<float>::lowest()));
  return mx::softmax(masked, -1, true);
}

array fast(const std::string& op, const array& x) {
  if (op == "sigmoid") return lorabeam::fast_sigmoid(x);
  if (op == "softmax") return lorabeam::fast_softmax(x, false);
  if (op == "logsumexp") return lorabeam::fast_logsumexp(x);
  return lorabeam::fast_softmax(x, true);
}

void copy_out(const array& a, float* dst) {
  array c = mx::contiguous(a);
  mx::eval(c);
  std::memcpy(dst, c.data<float>(), sizeof(float) * c.size());
}

}  // namespace

int lb_cpu_kernel(const char* op_name, int use_fast, const float* x, int rows, int cols, const float* cotangent,
                  float* out, float* grad) {
  return lorabeam::guarded([&] {
    std::string op = op_name ? op_name : "";
    if (op != "exp" && op != "sigmoid" && op != "softmax" && op != "causal_softmax" && op != "logsumexp") {
      throw std::invalid_argument("lb_cpu_kernel: unknown op \"" + op +
                                  "\" (exp, sigmoid, softmax, causal_softmax, logsumexp)");
    }
    if (rows <= 0 || cols <= 0) throw std::invalid_argument("lb_cpu_kernel: rows and cols must be > 0");
    mx::Device previous = mx::default_device();
    mx::set_default_device(mx::Device::cpu);  // the kernels are CPU-only; restored below
    try {
      array in(x, {rows, cols}, mx::float32);
      if (op == "exp") {
        if (use_fast) {
          lorabeam::cpu::exp(x, out, static_cast<int64_t>(rows) * cols);
        } else {
          copy_out(mx::exp(in), out);
        }
      } else {
        auto f = [&](const std::vector<array>& p) { return std::vector<array>{use_fast ? fast(op, p[0]) : reference(op, p[0])}; };
        mx::Shape out_shape = op == "logsumexp" ? mx::Shape{rows, 1} : mx::Shape{rows, cols};
        array ct(cotangent ? cotangent : x, out_shape, mx::float32);
        auto [outs, vjps] = mx::vjp(f, {in}, {ct});
        copy_out(outs[0], out);
        if (grad && cotangent) copy_out(vjps[0], grad);
      }
    } catch (...) {
      mx::set_default_device(previous);
      throw;
    }
    mx::set_default_device(previous);
  });
}
