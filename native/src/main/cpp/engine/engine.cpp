// Engine construction, batch validation, the loss, and the gradient-free calls.
#include "engine/engine.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "engine/head_loss.h"
#include "engine/json.h"
#include "engine/loader.h"

namespace lorabeam {

namespace {

mx::Dtype parse_dtype(const std::string& name) {
  if (name == "float32" || name.empty()) return mx::float32;
  if (name == "bfloat16") return mx::bfloat16;
  if (name == "float16") return mx::float16;
  throw std::runtime_error("computeDtype must be float32, bfloat16 or float16, got \"" + name + "\"");
}

// Per-position cross-entropy: logits (B, T, V) float32, targets (B, T) -> (B, T).
mx::array cross_entropy(const mx::array& logits, const mx::array& targets) {
  mx::array lse = mx::logsumexp(logits, -1, false);                                           // (B, T)
  mx::array picked = mx::squeeze(mx::take_along_axis(logits, mx::expand_dims(targets, -1), -1), -1);  // (B, T)
  return mx::subtract(lse, picked);
}

// None (SDPA's causal mode) for one-segment rows, else bool (B, 1, T, T).
std::optional<mx::array> attention_mask(const mx::array& segments, const EngineTuning& tuning) {
  if (tuning.causal && segments.dtype() == mx::bool_) return std::nullopt;
  return segment_mask(segments);
}

bool one_segment_per_row(const int32_t* seg, int rows, int seq_len) {
  for (int r = 0; r < rows; r++) {
    const int32_t* row = seg + static_cast<int64_t>(r) * seq_len;
    for (int t = 1; t < seq_len; t++) {
      if (row[t] != row[0]) return false;
    }
  }
  return true;
}

mx::array inputs_of(const mx::array& tokens) {  // (B, T+1) -> (B, T)
  return mx::slice(tokens, {0, 0}, {tokens.shape(0), tokens.shape(1) - 1});
}

mx::array targets_of(const mx::array& tokens) {  // (B, T+1) -> (B, T)
  return mx::slice(tokens, {0, 1}, {tokens.shape(0), tokens.shape(1)});
}

}  // namespace

EngineConfig parse_engine_config(const std::string& text) {
  json::Value j = json::parse(text, "engine config");
  EngineConfig c;
  c.model = j.str("model", "");
  if (c.model.empty()) throw std::runtime_error("engine config: \"model\" (a model directory or .gguf file) is required");
  c.compute_dtype = j.str("computeDtype", "float32");
  c.quantize_bits = j.integer("quantizeBits", 0);
  c.lora.rank = j.integer("loraRank", 8);
  c.lora.scale = static_cast<float>(j.num("loraScale", 20.0));
  c.lora.dropout = static_cast<float>(j.num("loraDropout", 0.0));
  c.lora.num_layers = j.integer("loraLayers", 16);
  if (j.has("targetModules")) {
    for (const auto& k : j.at("targetModules").items) c.lora.keys.push_back(k.string);
  }
  c.beta1 = static_cast<float>(j.num("adamBeta1", 0.9));
  c.beta2 = static_cast<float>(j.num("adamBeta2", 0.999));
  c.eps = static_cast<float>(j.num("adamEps", 1e-8));
  c.weight_decay = static_cast<float>(j.num("weightDecay", 0.01));
  c.bias_correction = j.flag("biasCorrection", false);
  c.max_grad_norm = static_cast<float>(j.num("maxGradNorm", 0.0));
  c.grad_accumulation = j.integer("gradAccumulation", 1);
  c.grad_checkpoint = j.flag("gradCheckpoint", false);
  // The seed travels as a string so all 64 bits survive JSON's doubles.
  c.seed = j.has("seed") && j.at("seed").kind == json::Value::String
               ? static_cast<uint64_t>(std::stoll(j.at("seed").string))
               : static_cast<uint64_t>(static_cast<int64_t>(j.num("seed", 0)));
  c.compile = j.flag("compile", true);
  c.distributed = j.str("distributed", "off");
  if (c.grad_accumulation < 1) throw std::runtime_error("gradAccumulation must be at least 1");
  if (c.lora.dropout < 0 || c.lora.dropout >= 1) throw std::runtime_error("loraDropout must be in [0, 1)");
  return c;
}

Batch::Batch(int rows_, int seq_len_, const int32_t* tok, const int32_t* seg, const float* w, int vocab)
    : rows(rows_), seq_len(seq_len_), tokens(0), segments(0), weights(0.0f) {
  if (rows < 1 || seq_len < 1) {
    throw std::invalid_argument("batch shape must be positive, got rows=" + std::to_string(rows) +
                                " seqLen=" + std::to_string(seq_len));
  }
  if (!tok || !seg || !w) throw std::invalid_argument("batch buffers must not be null");
  int64_t n_tok = static_cast<int64_t>(rows) * (seq_len + 1), n = static_cast<int64_t>(rows) * seq_len;
  for (int64_t i = 0; i < n_tok; i++) {
    if (tok[i] < 0 || tok[i] >= vocab) {
      throw std::invalid_argument("token id " + std::to_string(tok[i]) + " at row " + std::to_string(i / (seq_len + 1)) +
                                  ", position " + std::to_string(i % (seq_len + 1)) +
                                  " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  double sum = 0;
  int64_t trained = 0;
  for (int64_t i = 0; i < n; i++) {
    sum += w[i];
    trained += w[i] > 0.0f;
    if (seg[i] < 0) throw std::invalid_argument("segment id " + std::to_string(seg[i]) + " is negative");
    if (!(w[i] >= 0.0f) || std::isinf(w[i])) {
      throw std::invalid_argument("loss weight " + std::to_string(w[i]) + " at index " + std::to_string(i) +
                                  " must be finite and >= 0");
    }
  }
  weight_sum = sum;
  trained_tokens = trained;
  causal = one_segment_per_row(seg, rows, seq_len);
  tokens = mx::array(tok, {rows, seq_len + 1}, mx::int32);  // (B, T+1)
  segments = causal ? mx::zeros({rows, seq_len}, mx::bool_) : mx::array(seg, {rows, seq_len}, mx::int32);  // (B, T)
  weights = mx::array(w, {rows, seq_len}, mx::float32);     // (B, T)
}

EngineTuning EngineTuning::from_env() {
  EngineTuning t;
  const char* off = std::getenv("LORABEAM_ENGINE_OFF");
  std::string list = off ? std::string(",") + off + "," : "";
  auto on = [&](const char* name) { return list.find(std::string(",") + name + ",") == std::string::npos; };
  t.causal = on("causal");
  t.chunked_head = on("chunked_head");
  t.shared_lora_a = on("shared_lora_a");
  t.compiled_eval = on("compiled_eval");
  bool cpu = mx::default_device() == mx::Device::cpu;  // Metal keeps MLX's own kernels
  t.cpu_softmax = cpu && on("cpu_softmax");
  t.cpu_sigmoid = cpu && on("cpu_sigmoid");
  t.cpu_lse = cpu && on("cpu_lse");
  return t;
}

Engine::Engine(const EngineConfig& config) : config_(config), tuning_(EngineTuning::from_env()) {
  LoadOptions load;
  load.dtype = parse_dtype(config.compute_dtype);
  load.quantize_bits = config.quantize_bits;
  model_ = load_model(config.model, load);
  lora_ = create_lora(model_, config.lora, config.seed);
  for (const auto& p : lora_.params) {
    m_.push_back(mx::zeros_like(p));
    v_.push_back(mx::zeros_like(p));
  }
  mx::eval(m_);
  mx::eval(v_);
  group_ = training_group(config.distributed);  // before compiling: the update captures it
  Fn micro = [this](const std::vector<mx::array>& in) { return micro_graph(in); };
  Fn apply = [this](const std::vector<mx::array>& in) { return apply_graph(in); };
  micro_fn_ = config.compile ? mx::compile(micro) : micro;
  apply_fn_ = config.compile ? mx::compile(apply) : apply;
  size_t P = lora_.params.size();
  auto eval_graph = [this, P](const std::vector<mx::array>& in) {
    std::vector<mx::array> ps(in.begin(), in.begin() + P);
    return loss_terms(ps, in[P], in[P + 1], in[P + 2], std::nullopt, false);
  };
  eval_fn_ = config.compile && tuning_.compiled_eval ? mx::compile(eval_graph) : Fn(eval_graph);
}

// [Σ w·CE, Σ w, #(w > 0)] of one (micro-)batch as a function of the LoRA parameters.
std::vector<mx::array> Engine::loss_terms(const std::vector<mx::array>& params, const mx::array& tokens,
                                          const mx::array& segments, const mx::array& weights,
                                          std::optional<mx::array> key, bool training) const {
  ForwardInputs in;
  in.lora = lora_.views(params, model_.args.num_layers);
  in.lora_options = {lora_.config.scale, training ? lora_.config.dropout : 0.0f};
  in.mask = attention_mask(segments, tuning_);  // none (causal) or (B, 1, T, T)
  in.dropout_key = key;
  in.checkpoint = training && config_.grad_checkpoint;
  in.shared_lora_a = tuning_.shared_lora_a;
  in.cpu_softmax = tuning_.cpu_softmax;
  in.cpu_sigmoid = tuning_.cpu_sigmoid;
  mx::array h = forward_hidden(model_, inputs_of(tokens), in);  // (B, T, D)
  mx::array targets = targets_of(tokens);                       // (B, T)
  mx::array weighted(0.0f);                                     // Σ w·CE
  if (!tuning_.chunked_head) {
    weighted = mx::sum(mx::multiply(cross_entropy(head_logits(model_, h), targets), weights));
  } else if (training) {
    weighted = head_weighted_loss(model_, h, targets, weights, tuning_.cpu_lse);
  } else {
    weighted = mx::sum(mx::multiply(head_cross_entropy(model_, h, targets, tuning_.cpu_lse), weights));
  }
  return {weighted, mx::sum(weights), mx::sum(mx::astype(mx::greater(weights, mx::array(0.0f)), mx::float32))};
}

void Batch::require_trained_tokens() const {
  if (trained_tokens <= 0) throw std::invalid_argument("batch has no trained tokens: every loss weight is 0");
}

// Plain CE over the trained targets: weights count as 0/1 here, so validation losses compare across
// runs and data whatever the distrust weighting.
LossOut Engine::eval_loss(const Batch& batch) {
  batch.require_trained_tokens();
  mx::array trained = mx::astype(mx::greater(batch.weights, mx::array(0.0f)), mx::float32);  // (B, T) 0/1
  std::vector<mx::array> in = lora_.params;
  in.insert(in.end(), {batch.tokens, batch.segments, trained});
  std::vector<mx::array> t = eval_fn_(in);
  mx::eval(t);
  return {t[0].item<float>() / static_cast<double>(batch.trained_tokens), batch.weight_sum, batch.trained_tokens};
}

std::vector<float> Engine::token_losses(const Batch& batch) {
  ForwardInputs in;
  in.lora = lora_.views(lora_.params, model_.args.num_layers);
  in.lora_options = {lora_.config.scale, 0.0f};
  in.mask = attention_mask(batch.segments, tuning_);
  in.shared_lora_a = tuning_.shared_lora_a;
  in.cpu_softmax = tuning_.cpu_softmax;
  in.cpu_sigmoid = tuning_.cpu_sigmoid;
  mx::array ce = head_cross_entropy(model_, forward_hidden(model_, inputs_of(batch.tokens), in),
                                    targets_of(batch.tokens), tuning_.cpu_lse);  // (B, T)
  ce = mx::where(mx::greater(batch.weights, mx::array(0.0f)), ce, mx::array(0.0f));
  mx::eval(ce);
  return std::vector<float>(ce.data<float>(), ce.data<float>() + ce.size());
}

std::vector<float> Engine::lora_values() const {
  std::vector<float> out;
  for (const auto& p : lora_.params) {
    mx::array c = mx::flatten(p);
    mx::eval(c);
    out.insert(out.end(), c.data<float>(), c.data<float>() + c.size());
  }
  return out;
}

void Engine::set_lora_values(const std::vector<float>& values) {
  if (static_cast<int64_t>(values.size()) != lora_.size()) {
    throw std::invalid_argument("expected " + std::to_string(lora_.size()) + " LoRA values, got " +
                                std::to_string(values.size()));
  }
  size_t off = 0;
  for (auto& p : lora_.params) {
    p = mx::array(values.data() + off, p.shape(), mx::float32);
    off += p.size();
  }
}

void Engine::save_adapters(const std::string& dir) const { lorabeam::save_adapters(lora_, dir); }

void Engine::load_adapters(const std::string& dir) { lorabeam::load_adapters(lora_, dir); }

}  // namespace lorabeam
