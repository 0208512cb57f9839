// The training engine behind lb_engine*: model + LoRA + AdamW state + the compiled step.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/distributed.h"
#include "engine/lora.h"
#include "engine/model.h"

namespace lorabeam {

struct EngineConfig {
  std::string model;
  std::string compute_dtype = "float32";
  int quantize_bits = 0;
  LoraConfig lora;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
  bool bias_correction = false;
  float max_grad_norm = 0.0f;
  int grad_accumulation = 1;
  bool grad_checkpoint = false;
  uint64_t seed = 0;
  bool compile = true;
  std::string distributed = "off";  // off | ring | mpi | jaccl | nccl | any: the group the update all-sums over
};

// Parses the JSON object Java sends (field names of dev.lorabeam.engine.EngineConfig).
EngineConfig parse_engine_config(const std::string& json_text);

// Speed paths, all on by default. LORABEAM_ENGINE_OFF=causal,chunked_head,shared_lora_a,compiled_eval,
// cpu_softmax,cpu_sigmoid,cpu_lse (read when an Engine opens) turns some off, so EngineBenchmark can measure
// each against the path it replaced. The cpu_* paths (cpu_ops.h) only ever apply on the CPU device.
struct EngineTuning {
  bool causal = true, chunked_head = true, shared_lora_a = true, compiled_eval = true;
  bool cpu_softmax = true, cpu_sigmoid = true, cpu_lse = true;
  static EngineTuning from_env();
};

// A host batch: tokens (B, T+1), segments (B, T), weights (B, T); validated on construction.
// When every row holds one segment, the segment mask is the plain causal mask: segments is then
// stored as bool zeros (B, T). Its dtype is part of mx::compile's cache key, so causal batches get
// their own compiled graph with SDPA's "causal" mode and no (B, 1, T, T) mask, without a second cache.
struct Batch {
  int rows, seq_len;
  mx::array tokens, segments, weights;
  double weight_sum = 0;       // Σw, computed on the host while validating
  int64_t trained_tokens = 0;  // N = #(w > 0), the loss's denominator
  bool causal = false;         // one segment per row: SDPA's causal mode, no (B,1,T,T) mask
  Batch(int rows, int seq_len, const int32_t* tokens, const int32_t* segments, const float* weights, int vocab);
  void require_trained_tokens() const;  // N > 0, else a clear error
};

// loss = Σ w·CE / N of the whole optimizer step (before the update); peak = MLX peak bytes of the step.
struct StepOut {
  int64_t step;
  double loss, weight_sum, grad_norm;
  int64_t trained_tokens, peak_memory;
};

// loss = plain CE averaged over the N trained targets (weights only say which targets count).
struct LossOut {
  double loss, weight_sum;
  int64_t trained_tokens;
};

class Engine {
 public:
  explicit Engine(const EngineConfig& config);
  Engine(const Engine&) = delete;  // the compiled functions capture this
  Engine& operator=(const Engine&) = delete;

  StepOut step(const Batch& batch, double learning_rate);
  LossOut eval_loss(const Batch& batch);
  std::vector<float> token_losses(const Batch& batch);
  // AdamW's first moment, flattened in params order; with beta1 = 0 it is the last step's applied gradient.
  std::vector<float> first_moment() const;
  std::vector<float> lora_values() const;
  void set_lora_values(const std::vector<float>& values);

  void save_adapters(const std::string& dir) const;
  void load_adapters(const std::string& dir);
  void save_optimizer(const std::string& file) const;
  void load_optimizer(const std::string& file);

  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int max_tokens, float temperature, float top_p,
                                uint64_t seed, const std::vector<int32_t>& stop);

  const Model& model() const { return model_; }
  const Lora& lora() const { return lora_; }
  int rank() const { return group_ ? group_->rank() : 0; }
  int world_size() const { return group_ ? group_->size() : 1; }

 private:
  using Fn = std::function<std::vector<mx::array>(const std::vector<mx::array>&)>;
  std::vector<mx::array> loss_terms(const std::vector<mx::array>& params, const mx::array& tokens,
                                    const mx::array& segments, const mx::array& weights,
                                    std::optional<mx::array> key, bool training) const;
  std::vector<mx::array> micro_graph(const std::vector<mx::array>& inputs) const;
  std::vector<mx::array> apply_graph(const std::vector<mx::array>& inputs) const;

  EngineConfig config_;
  EngineTuning tuning_;
  Model model_;
  Lora lora_;
  std::vector<mx::array> m_, v_;
  int64_t step_ = 0;
  std::optional<mx::distributed::Group> group_;  // set when training data-parallel over > 1 rank
  Fn micro_fn_, apply_fn_;  // compiled (or plain) micro-batch gradient and optimizer update
  Fn eval_fn_;  // params | tokens | segments | weights -> loss_terms, compiled per shape
};

}  // namespace lorabeam
