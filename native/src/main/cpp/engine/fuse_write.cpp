// The fuse's outputs: Hugging Face safetensors (one file, or shards + model.safetensors.index.json),
// a float16 GGUF in llama.cpp's names and metadata, and the JSON report Java turns into config.json.
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "engine/checked_write.h"
#include "engine/fuse_internal.h"
#include "engine/json.h"
#include "engine/lora.h"

namespace lorabeam {

namespace fs = std::filesystem;

namespace {

const std::map<std::string, std::string>& gguf_block_names() {
  static const std::map<std::string, std::string> m = {
      {"self_attn.q_proj", "attn_q"},   {"self_attn.k_proj", "attn_k"}, {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},    {"input_layernorm", "attn_norm"}, {"post_attention_layernorm", "ffn_norm"}};
  return m;
}

std::string shard_name(size_t i, size_t n) {
  std::ostringstream os;
  os << "model-" << std::setw(5) << std::setfill('0') << i + 1 << "-of-" << std::setw(5) << std::setfill('0') << n
     << ".safetensors";
  return os.str();
}

void save_part(const fs::path& file, const TensorMap& all, const std::vector<std::string>& names) {
  std::unordered_map<std::string, mx::array> part;
  for (const auto& n : names) part.insert_or_assign(n, all.at(n));
  save_safetensors_checked(file.string(), part, {{"format", "pt"}});  // "pt": what transformers expects
}

mx::GGUFMetaData u32(int64_t v) { return mx::array(static_cast<uint32_t>(v), mx::uint32); }
mx::GGUFMetaData f32(double v) { return mx::array(static_cast<float>(v), mx::float32); }

// {"key": {"type": "str" | "str[]" | "u32" | "i32" | "f32" | "bool" | "u32[]" | "i32[]" | "f32[]", "value": ...}}
void add_typed_metadata(std::unordered_map<std::string, mx::GGUFMetaData>& meta, const std::string& text) {
  if (text.empty()) return;
  json::Value j = json::parse(text, "GGUF metadata");
  for (const auto& [key, v] : j.fields) {
    std::string type = v.str("type", "");
    const json::Value& val = v.at("value");
    if (type == "str") {
      meta[key] = val.string;
    } else if (type == "str[]") {
      std::vector<std::string> s;
      for (const auto& item : val.items) s.push_back(item.string);
      meta[key] = s;
    } else if (type == "u32") {
      meta[key] = u32(static_cast<int64_t>(val.number));
    } else if (type == "i32") {
      meta[key] = mx::array(static_cast<int32_t>(val.number), mx::int32);
    } else if (type == "f32") {
      meta[key] = f32(val.number);
    } else if (type == "bool") {
      meta[key] = mx::array(val.boolean);
    } else if (type == "u32[]" || type == "i32[]" || type == "f32[]") {
      std::vector<float> f;
      for (const auto& item : val.items) f.push_back(static_cast<float>(item.number));
      if (f.empty()) continue;  // GGUF cannot hold an empty array
      mx::array a(f.data(), {static_cast<int>(f.size())}, mx::float32);
      if (type == "u32[]") {
        std::vector<uint32_t> u;
        for (const auto& item : val.items) u.push_back(static_cast<uint32_t>(item.number));
        a = mx::array(u.data(), {static_cast<int>(u.size())}, mx::uint32);
      } else if (type == "i32[]") {
        std::vector<int32_t> s;
        for (const auto& item : val.items) s.push_back(static_cast<int32_t>(item.number));
        a = mx::array(s.data(), {static_cast<int>(s.size())}, mx::int32);
      }
      meta[key] = a;
    } else {
      throw std::runtime_error("GGUF metadata " + key + ": unknown type \"" + type + "\"");
    }
  }
}

}  // namespace

std::string gguf_name(const std::string& hf) {
  size_t dot = hf.rfind('.');
  std::string stem = hf.substr(0, dot), suffix = hf.substr(dot);
  if (stem == "model.embed_tokens") return "token_embd" + suffix;
  if (stem == "model.norm") return "output_norm" + suffix;
  if (stem == "lm_head") return "output" + suffix;
  const std::string p = "model.layers.";
  if (stem.rfind(p, 0) == 0) {
    size_t end = stem.find('.', p.size());
    auto it = gguf_block_names().find(stem.substr(end + 1));
    if (it != gguf_block_names().end()) return "blk." + stem.substr(p.size(), end - p.size()) + "." + it->second + suffix;
  }
  throw std::runtime_error("no GGUF name for tensor " + hf);
}

void check_gguf_exportable(const Model& m) {
  const std::string& arch = m.args.architecture;
  if ((arch != "llama" && arch != "mistral") || m.args.attention_bias) {
    throw std::runtime_error("--export-gguf writes Llama-family models (llama, mistral); this model is \"" + arch +
                             "\"" + (m.args.attention_bias ? " with attention biases" : ""));
  }
}

void add_gguf_linear(TensorMap& gguf, const std::string& prefix, const mx::array& w, const std::optional<mx::array>& bias) {
  gguf.insert_or_assign(gguf_name(prefix + ".weight"), mx::astype(w, mx::float16));  // llama.cpp: 2-D in f16
  if (bias) gguf.insert_or_assign(gguf_name(prefix + ".bias"), mx::astype(*bias, mx::float32));
}

void add_gguf_rest(TensorMap& gguf, const Model& m) {
  gguf.insert_or_assign("token_embd.weight", mx::astype(dense_f32(m.embed_tokens), mx::float16));
  if (m.lm_head) gguf.insert_or_assign("output.weight", mx::astype(dense_f32(*m.lm_head), mx::float16));
  gguf.insert_or_assign("output_norm.weight", mx::astype(m.norm, mx::float32));  // 1-D tensors stay f32
  for (int l = 0; l < m.args.num_layers; l++) {
    std::string b = "blk." + std::to_string(l) + ".";
    gguf.insert_or_assign(b + "attn_norm.weight", mx::astype(m.layers[l].input_layernorm, mx::float32));
    gguf.insert_or_assign(b + "ffn_norm.weight", mx::astype(m.layers[l].post_attention_layernorm, mx::float32));
  }
  if (m.args.rope_freqs) {  // llama.cpp stores per-pair factors: freq_i = θ^(2i/d) · factor_i
    const ModelArgs& a = m.args;
    std::vector<float> base;
    for (int i = 0; i < a.head_dim; i += 2) base.push_back(std::pow(a.rope_theta, static_cast<float>(i) / a.head_dim));
    mx::array periods(base.data(), {static_cast<int>(base.size())}, mx::float32);
    gguf.insert_or_assign("rope_freqs.weight", mx::divide(*a.rope_freqs, periods));
  }
}

void write_hf_shards(const TensorMap& t, const FuseConfig& c, FuseReport& r) {
  fs::create_directories(c.output);
  std::vector<std::vector<std::string>> shards(1);
  int64_t current = 0;
  for (const auto& [name, a] : t) {
    int64_t n = static_cast<int64_t>(a.nbytes());
    if (current > 0 && current + n > c.shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(name);
    current += n;
    r.bytes += n;
  }
  if (shards.size() == 1) {
    save_part(fs::path(c.output) / "model.safetensors", t, shards[0]);
    r.files.push_back("model.safetensors");
    return;
  }
  std::ostringstream index;
  index << "{\n  \"metadata\": {\"total_size\": " << r.bytes << "},\n  \"weight_map\": {";
  bool first = true;
  for (size_t i = 0; i < shards.size(); i++) {
    std::string file = shard_name(i, shards.size());
    save_part(fs::path(c.output) / file, t, shards[i]);
    r.files.push_back(file);
    for (const auto& n : shards[i]) {
      index << (first ? "\n" : ",\n") << "    " << json::quote(n) << ": " << json::quote(file);
      first = false;
    }
  }
  index << "\n  }\n}\n";
  write_text_atomic((fs::path(c.output) / "model.safetensors.index.json").string(), index.str());
}

void write_gguf(const TensorMap& t, const Model& m, const FuseConfig& c, FuseReport& r) {
  fs::path target(c.gguf);
  if (target.extension() != ".gguf") throw std::runtime_error("--export-gguf file must end in .gguf, got " + c.gguf);
  const ModelArgs& a = m.args;
  std::unordered_map<std::string, mx::GGUFMetaData> meta;
  meta["general.architecture"] = std::string("llama");
  meta["general.name"] = fs::path(c.model).stem().string();
  meta["general.file_type"] = u32(1);  // LLAMA_FTYPE_MOSTLY_F16
  meta["llama.embedding_length"] = u32(a.hidden_size);
  meta["llama.block_count"] = u32(a.num_layers);
  meta["llama.feed_forward_length"] = u32(a.intermediate_size);
  meta["llama.attention.head_count"] = u32(a.num_heads);
  meta["llama.attention.head_count_kv"] = u32(a.num_kv_heads);
  meta["llama.attention.key_length"] = u32(a.head_dim);
  meta["llama.attention.value_length"] = u32(a.head_dim);
  meta["llama.rope.dimension_count"] = u32(a.head_dim);
  meta["llama.attention.layer_norm_rms_epsilon"] = f32(a.rms_norm_eps);
  meta["llama.rope.freq_base"] = f32(a.rope_theta);
  meta["llama.vocab_size"] = u32(a.vocab_size);
  add_typed_metadata(meta, c.gguf_metadata);  // tokenizer.*, llama.context_length from Java
  std::unordered_map<std::string, mx::array> arrays(t.begin(), t.end());
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  fs::path tmp = target.parent_path() / ("." + target.stem().string() + ".tmp" + std::to_string(getpid()) + ".gguf");
  try {
    mx::save_gguf(tmp.string(), arrays, meta);
    fs::rename(tmp, target);
  } catch (...) {
    fs::remove(tmp);
    throw;
  }
  r.gguf_tensors = static_cast<int>(arrays.size());
}

std::string report_json(const Model& m, const FuseConfig& c, const FuseReport& r) {
  const ModelArgs& a = m.args;
  std::ostringstream os;
  os << std::setprecision(9);
  os << "{\"model_type\": " << json::quote(a.architecture) << ", \"hidden_size\": " << a.hidden_size
     << ", \"num_hidden_layers\": " << a.num_layers << ", \"num_attention_heads\": " << a.num_heads
     << ", \"num_key_value_heads\": " << a.num_kv_heads << ", \"head_dim\": " << a.head_dim
     << ", \"intermediate_size\": " << a.intermediate_size << ", \"vocab_size\": " << a.vocab_size
     << ", \"rms_norm_eps\": " << a.rms_norm_eps << ", \"rope_theta\": " << a.rope_theta
     << ", \"tie_word_embeddings\": " << (a.tie_word_embeddings ? "true" : "false")
     << ", \"attention_bias\": " << (a.attention_bias ? "true" : "false")
     << ", \"from_gguf\": " << (r.from_gguf ? "true" : "false") << ", \"fused_linears\": " << r.fused
     << ", \"dtype\": " << json::quote(c.dtype) << ", \"quantization\": ";
  if (r.quant.bits) {
    os << "{\"group_size\": " << r.quant.group << ", \"bits\": " << r.quant.bits << "}";
  } else {
    os << "null";
  }
  os << ", \"bytes\": " << r.bytes << ", \"gguf_tensors\": " << r.gguf_tensors << ", \"files\": [";
  for (size_t i = 0; i < r.files.size(); i++) os << (i ? ", " : "") << json::quote(r.files[i]);
  os << "]}";
  return os.str();
}

}  // namespace lorabeam
