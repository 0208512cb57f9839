// Foundation calls of the C ABI: version, device, a checked matrix product, memory.
#include "lorabeam.h"
#include "errors.h"

#include <chrono>
#include <cstring>
#include <sstream>
#include <string>
#include <variant>

#include "engine/checked_write.h"
#include "mlx/mlx.h"

namespace mx = mlx::core;

namespace lorabeam {

namespace {
thread_local std::string last_error;
thread_local std::string scratch;  // backs const char* results until the next call

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

void set_last_error(const std::string& message) { last_error = message; }
void clear_last_error() { last_error.clear(); }

}  // namespace lorabeam

using lorabeam::guarded;

extern "C" {

const char* lb_last_error(void) { return lorabeam::last_error.c_str(); }

const char* lb_mlx_version(void) { return mx::version(); }

const char* lb_device_info_json(void) {
  int rc = guarded([] {
    const mx::Device& d = mx::default_device();
    std::ostringstream os;
    os << "{\"type\":\"" << (d.type == mx::Device::gpu ? "gpu" : "cpu") << "\",\"index\":" << d.index;
    for (const auto& [key, value] : mx::device_info(d)) {
      os << ",\"" << lorabeam::json_escape(key) << "\":";
      if (std::holds_alternative<std::string>(value)) {
        os << "\"" << lorabeam::json_escape(std::get<std::string>(value)) << "\"";
      } else {
        os << std::get<size_t>(value);
      }
    }
    os << "}";
    lorabeam::scratch = os.str();
  });
  return rc == 0 ? lorabeam::scratch.c_str() : nullptr;
}

int lb_matmul_f32(const float* a, int m, int k, const float* b, int kb, int n, float* out) {
  return guarded([&] {
    mx::array A(a, {m, k}, mx::float32);
    mx::array B(b, {kb, n}, mx::float32);
    mx::array C = mx::matmul(A, B);
    mx::eval(C);
    std::memcpy(out, C.data<float>(), sizeof(float) * static_cast<size_t>(m) * n);
  });
}

int lb_gemm_gflops(int n, int iters, double* gflops) {
  return guarded([&] {
    mx::array a = mx::random::normal({n, n});
    mx::array b = mx::random::normal({n, n});
    mx::eval(a, b);
    mx::eval(mx::matmul(a, b));  // warm-up
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; i++) {
      mx::eval(mx::matmul(a, b));
    }
    std::chrono::duration<double> secs = std::chrono::steady_clock::now() - start;
    *gflops = 2.0 * n * n * static_cast<double>(n) * iters / secs.count() / 1e9;
  });
}

int64_t lb_active_memory(void) {
  int64_t v = -1;
  guarded([&] { v = static_cast<int64_t>(mx::get_active_memory()); });
  return v;
}

int64_t lb_peak_memory(void) {
  int64_t v = -1;
  guarded([&] { v = static_cast<int64_t>(mx::get_peak_memory()); });
  return v;
}

int64_t lb_cache_memory(void) {
  int64_t v = -1;
  guarded([&] { v = static_cast<int64_t>(mx::get_cache_memory()); });
  return v;
}

int lb_reset_peak_memory(void) { return guarded([] { mx::reset_peak_memory(); }); }

int lb_clear_cache(void) { return guarded([] { mx::clear_cache(); }); }

int lb_set_memory_limit(int64_t limit, int64_t* previous) {
  return guarded([&] { *previous = static_cast<int64_t>(mx::set_memory_limit(static_cast<size_t>(limit))); });
}

int64_t lb_get_memory_limit(void) {
  int64_t v = -1;
  guarded([&] { v = static_cast<int64_t>(mx::get_memory_limit()); });
  return v;
}

int lb_set_cache_limit(int64_t limit, int64_t* previous) {
  return guarded([&] { *previous = static_cast<int64_t>(mx::set_cache_limit(static_cast<size_t>(limit))); });
}

int lb_fault_fail_write(int64_t nth, int err_number) {
  return guarded([&] { lorabeam::fail_nth_write(nth, err_number); });
}

}  // extern "C"
