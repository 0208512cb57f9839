// extern "C" bodies of lorabeam_engine.h: each one guarded, so no exception reaches the JVM.
#include <cstring>
#include <stdexcept>

#include "engine/engine.h"
#include "errors.h"
#include "lorabeam_engine.h"

struct lb_engine {
  explicit lb_engine(const lorabeam::EngineConfig& config) : engine(config) {}
  lorabeam::Engine engine;
  std::string scratch;  // backs const char* results
};

using lorabeam::guarded;

namespace {

lorabeam::Engine& get(lb_engine* e) {
  if (!e) throw std::invalid_argument("engine handle is null (closed or never opened)");
  return e->engine;
}

lorabeam::Batch batch(lb_engine* e, int rows, int seq_len, const int32_t* t, const int32_t* s, const float* w) {
  return lorabeam::Batch(rows, seq_len, t, s, w, get(e).model().args.vocab_size);
}

const char* text(lb_engine* e, const std::string& value) {
  if (!e) return nullptr;
  e->scratch = value;
  return e->scratch.c_str();
}

}  // namespace

extern "C" {

lb_engine* lb_engine_new(const char* config_json) {
  lb_engine* out = nullptr;
  guarded([&] {
    if (!config_json) throw std::invalid_argument("engine config is null");
    out = new lb_engine(lorabeam::parse_engine_config(config_json));
  });
  return out;
}

void lb_engine_free(lb_engine* engine) {
  guarded([&] {
    delete engine;
    mlx::core::clear_cache();
  });
}

int lb_engine_model_info(lb_engine* e, int64_t* ints) {
  return guarded([&] {
    const lorabeam::ModelArgs& a = get(e).model().args;
    int64_t trainable = get(e).lora().size();
    int64_t values[8] = {a.vocab_size, a.num_layers,  a.hidden_size, a.num_heads, a.num_kv_heads, a.head_dim,
                         get(e).model().parameter_count() + trainable, trainable};
    std::memcpy(ints, values, sizeof(values));
  });
}

const char* lb_engine_architecture(lb_engine* e) { return e ? text(e, e->engine.model().args.architecture) : nullptr; }

const char* lb_engine_quantization(lb_engine* e) { return e ? text(e, e->engine.model().args.quantization) : nullptr; }

int lb_engine_step(lb_engine* e, int rows, int seq_len, const int32_t* t, const int32_t* s, const float* w,
                   double lr, double* out) {
  return guarded([&] {
    lorabeam::StepOut r = get(e).step(batch(e, rows, seq_len, t, s, w), lr);
    double values[6] = {static_cast<double>(r.step), r.loss, r.weight_sum, static_cast<double>(r.trained_tokens),
                        r.grad_norm, static_cast<double>(r.peak_memory)};
    std::memcpy(out, values, sizeof(values));
  });
}

int lb_engine_eval_loss(lb_engine* e, int rows, int seq_len, const int32_t* t, const int32_t* s, const float* w,
                        double* out) {
  return guarded([&] {
    lorabeam::LossOut r = get(e).eval_loss(batch(e, rows, seq_len, t, s, w));
    double values[3] = {r.loss, r.weight_sum, static_cast<double>(r.trained_tokens)};
    std::memcpy(out, values, sizeof(values));
  });
}

int lb_engine_token_losses(lb_engine* e, int rows, int seq_len, const int32_t* t, const int32_t* s, const float* w,
                           float* out) {
  return guarded([&] {
    std::vector<float> ce = get(e).token_losses(batch(e, rows, seq_len, t, s, w));
    std::memcpy(out, ce.data(), ce.size() * sizeof(float));
  });
}

int lb_engine_save_adapters(lb_engine* e, const char* dir) {
  return guarded([&] { get(e).save_adapters(dir ? dir : ""); });
}

int lb_engine_load_adapters(lb_engine* e, const char* dir) {
  return guarded([&] { get(e).load_adapters(dir ? dir : ""); });
}

int lb_engine_save_optimizer(lb_engine* e, const char* file) {
  return guarded([&] { get(e).save_optimizer(file ? file : ""); });
}

int lb_engine_load_optimizer(lb_engine* e, const char* file) {
  return guarded([&] { get(e).load_optimizer(file ? file : ""); });
}

int lb_engine_generate(lb_engine* e, const int32_t* prompt, int prompt_len, int max_tokens, double temperature,
                       double top_p, int64_t seed, const int32_t* stop, int stop_len, int32_t* out, int* out_len) {
  return guarded([&] {
    if (!prompt || prompt_len < 1) throw std::invalid_argument("generate needs a non-empty prompt");
    std::vector<int32_t> p(prompt, prompt + prompt_len);
    std::vector<int32_t> st = stop && stop_len > 0 ? std::vector<int32_t>(stop, stop + stop_len) : std::vector<int32_t>{};
    std::vector<int32_t> g = get(e).generate(p, max_tokens, static_cast<float>(temperature),
                                             static_cast<float>(top_p), static_cast<uint64_t>(seed), st);
    std::memcpy(out, g.data(), g.size() * sizeof(int32_t));
    *out_len = static_cast<int>(g.size());
  });
}

int64_t lb_engine_lora_size(lb_engine* e) {
  int64_t n = -1;
  guarded([&] { n = get(e).lora().size(); });
  return n;
}

int lb_engine_lora_get(lb_engine* e, float* out) {
  return guarded([&] {
    std::vector<float> v = get(e).lora_values();
    std::memcpy(out, v.data(), v.size() * sizeof(float));
  });
}

int lb_engine_lora_set(lb_engine* e, const float* values) {
  return guarded([&] {
    int64_t n = get(e).lora().size();
    get(e).set_lora_values(std::vector<float>(values, values + n));
  });
}

int lb_engine_first_moment(lb_engine* e, float* out) {
  return guarded([&] {
    if (!out) throw std::invalid_argument("first moment output buffer is null");
    std::vector<float> m = get(e).first_moment();
    std::memcpy(out, m.data(), m.size() * sizeof(float));
  });
}

}  // extern "C"
