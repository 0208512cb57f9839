// GGUF files through mx::load_gguf: llama.cpp tensor names mapped to Hugging Face names,
// hyper-parameters from the "<arch>.*" metadata, interleaved RoPE for llama's permuted Q/K.
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "engine/loader.h"

namespace lorabeam {

namespace {

const std::map<std::string, std::string>& block_names() {
  static const std::map<std::string, std::string> m = {
      {"attn_q", "self_attn.q_proj"},   {"attn_k", "self_attn.k_proj"}, {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"}, {"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},    {"attn_norm", "input_layernorm"}, {"ffn_norm", "post_attention_layernorm"}};
  return m;
}

// "blk.3.attn_q.scales" -> "model.layers.3.self_attn.q_proj.scales"; "" when not a model tensor.
std::string hf_name(const std::string& name) {
  size_t dot = name.rfind('.');
  std::string stem = name.substr(0, dot), suffix = name.substr(dot);
  if (stem == "token_embd") return "model.embed_tokens" + suffix;
  if (stem == "output_norm") return "model.norm" + suffix;
  if (stem == "output") return "lm_head" + suffix;
  if (stem.rfind("blk.", 0) != 0) return "";
  size_t second = stem.find('.', 4);
  std::string layer = stem.substr(4, second - 4), part = stem.substr(second + 1);
  auto it = block_names().find(part);
  if (it == block_names().end()) return "";
  return "model.layers." + layer + "." + it->second + suffix;
}

struct Meta {
  const std::unordered_map<std::string, mx::GGUFMetaData>& m;
  std::string file;

  bool has(const std::string& key) const { return m.count(key) > 0; }
  double number(const std::string& key) const {
    auto it = m.find(key);
    if (it == m.end() || !std::holds_alternative<mx::array>(it->second)) {
      throw std::runtime_error(file + ": missing GGUF metadata " + key);
    }
    return mx::astype(std::get<mx::array>(it->second), mx::float64, mx::Device::cpu).item<double>();
  }
  double number(const std::string& key, double fallback) const { return has(key) ? number(key) : fallback; }
  std::string string(const std::string& key) const {
    auto it = m.find(key);
    if (it == m.end() || !std::holds_alternative<std::string>(it->second)) return "";
    return std::get<std::string>(it->second);
  }
};

ModelArgs gguf_args(const Meta& meta, const TensorSet& t) {
  ModelArgs a;
  std::string arch = meta.string("general.architecture");
  if (arch != "llama" && arch != "qwen2") {
    throw std::runtime_error(meta.file + ": unsupported architecture \"" + arch +
                             "\" (general.architecture); supported GGUF architectures: llama, qwen2");
  }
  std::string p = arch + ".";
  a.architecture = arch;
  a.hidden_size = static_cast<int>(meta.number(p + "embedding_length"));
  a.num_layers = static_cast<int>(meta.number(p + "block_count"));
  a.num_heads = static_cast<int>(meta.number(p + "attention.head_count"));
  a.num_kv_heads = static_cast<int>(meta.number(p + "attention.head_count_kv", a.num_heads));
  a.intermediate_size = static_cast<int>(meta.number(p + "feed_forward_length"));
  // Checked before the first division: a zero head count was an integer division by zero (SIGFPE, the JVM gone).
  for (auto [key, v] : {std::pair<const char*, int>{"embedding_length", a.hidden_size}, {"block_count", a.num_layers},
                        {"attention.head_count", a.num_heads}, {"attention.head_count_kv", a.num_kv_heads},
                        {"feed_forward_length", a.intermediate_size}}) {
    if (v <= 0) throw std::runtime_error(meta.file + ": GGUF metadata " + p + key + " must be a positive integer, got " +
                                         std::to_string(v));
  }
  a.rms_norm_eps = static_cast<float>(meta.number(p + "attention.layer_norm_rms_epsilon", 1e-5));
  a.rope_theta = static_cast<float>(meta.number(p + "rope.freq_base", 10000.0));
  a.head_dim = static_cast<int>(meta.number(p + "attention.key_length", a.hidden_size / a.num_heads));
  a.vocab_size = static_cast<int>(meta.number(p + "vocab_size", t.get("model.embed_tokens.weight").shape(0)));
  a.attention_bias = arch == "qwen2";
  a.rope_traditional = arch == "llama";  // llama.cpp's converter permutes llama's Q/K rows
  a.tie_word_embeddings = !t.has("lm_head.weight");
  a.quantization = "gguf";
  return a;
}

// llama3 GGUF files carry rope_freqs.weight: per-pair factors dividing the rotation frequency.
std::optional<mx::array> gguf_rope_freqs(const ModelArgs& a, const std::map<std::string, mx::array>& raw) {
  auto it = raw.find("rope_freqs.weight");
  if (it == raw.end()) return std::nullopt;
  std::vector<float> base;
  for (int i = 0; i < a.head_dim; i += 2) base.push_back(std::pow(a.rope_theta, static_cast<float>(i) / a.head_dim));
  mx::array periods(base.data(), {static_cast<int>(base.size())}, mx::float32);
  return mx::multiply(periods, mx::astype(it->second, mx::float32));
}

}  // namespace

Model load_gguf_file(const std::string& file, const LoadOptions& options) {
  mx::GGUFLoad loaded = [&] {
    try {
      return mx::load_gguf(file, mx::Device::cpu);
    } catch (const std::exception& e) {
      throw std::runtime_error(file + ": cannot load GGUF file: " + e.what());
    }
  }();
  TensorSet t;
  t.source = file;
  std::map<std::string, mx::array> raw;
  for (auto& [name, arr] : loaded.first) {
    raw.insert_or_assign(name, arr);
    std::string hf = hf_name(name);
    if (hf.empty()) continue;
    t.arrays.insert_or_assign(hf, arr);
    t.file_of[hf] = file;
  }
  ModelArgs args = gguf_args(Meta{loaded.second, file}, t);
  args.rope_freqs = gguf_rope_freqs(args, raw);
  return build_model(args, t, options);
}

}  // namespace lorabeam
