// fuse: W' = W + scale·(A·B)ᵀ in float32 per adapted Linear, then the target dtype or quantization,
// written as Hugging Face safetensors (sharded above a size threshold); see fuse.h.
#include "engine/fuse.h"

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "engine/fuse_internal.h"
#include "engine/json.h"
#include "engine/loader.h"
#include "engine/lora.h"

namespace lorabeam {

namespace fs = std::filesystem;

namespace {

mx::Dtype parse_out_dtype(const std::string& name) {
  if (name == "float32") return mx::float32;
  if (name == "float16") return mx::float16;
  if (name == "bfloat16") return mx::bfloat16;
  throw std::runtime_error("fuse dtype must be float32, float16 or bfloat16, got \"" + name + "\"");
}

// "model.layers.3.self_attn.q_proj.lora_a" -> {"model.layers.3.self_attn.q_proj", true}
std::pair<std::string, bool> adapter_target(const std::string& name) {
  for (const char* suffix : {".lora_a", ".lora_b"}) {
    std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return {name.substr(0, name.size() - s.size()), s == ".lora_a"};
    }
  }
  return {"", false};
}

std::string shape_str(const mx::array& a) {
  std::ostringstream os;
  os << "(";
  for (int i = 0; i < a.ndim(); i++) os << (i ? ", " : "") << a.shape(i);
  os << ")";
  return os.str();
}

// Every Linear of the blocks under its Hugging Face prefix.
std::map<std::string, const Linear*> block_linears(const Model& m) {
  std::map<std::string, const Linear*> out;
  for (int l = 0; l < m.args.num_layers; l++) {
    for (const auto& [key, lin] : m.layers[l].linears) out["model.layers." + std::to_string(l) + "." + key] = &lin;
  }
  return out;
}

}  // namespace

FuseConfig parse_fuse_config(const std::string& text) {
  json::Value j = json::parse(text, "fuse config");
  FuseConfig c;
  c.model = j.str("model", "");
  if (c.model.empty()) throw std::runtime_error("fuse config: \"model\" (a model directory or .gguf file) is required");
  c.adapters = j.str("adapters", "");
  c.output = j.str("output", "");
  if (c.output.empty()) throw std::runtime_error("fuse config: \"output\" (a directory) is required");
  c.dtype = j.str("dtype", "float16");
  c.dequantize = j.flag("dequantize", false);
  c.quantize_bits = j.integer("quantizeBits", 0);
  c.shard_bytes = static_cast<int64_t>(j.num("shardBytes", 5e9));
  c.gguf = j.str("gguf", "");
  if (j.has("ggufMetadata")) c.gguf_metadata = j.str("ggufMetadata", "");
  if (c.quantize_bits != 0 && c.quantize_bits != 4 && c.quantize_bits != 8) {
    throw std::runtime_error("quantize must be 4 or 8 bits, got " + std::to_string(c.quantize_bits));
  }
  if (c.quantize_bits != 0 && c.dequantize) {
    throw std::runtime_error("--dequantize and --quantize exclude each other: pick one output format");
  }
  if (c.shard_bytes < 1) throw std::runtime_error("shardBytes must be positive, got " + std::to_string(c.shard_bytes));
  parse_out_dtype(c.dtype);
  return c;
}

AdapterSet read_adapter_set(const std::string& dir, const Model& m) {
  AdapterSet s;
  if (dir.empty()) return s;
  fs::path cfg_file = fs::path(dir) / "adapter_config.json";
  fs::path file = fs::path(dir) / "adapters.safetensors";
  if (!fs::exists(cfg_file)) throw std::runtime_error("no adapter config: " + cfg_file.string() + " does not exist");
  if (!fs::exists(file)) throw std::runtime_error("no adapters found: " + file.string() + " does not exist");
  json::Value cfg = json::parse_file(cfg_file.string());
  std::string type = cfg.str("fine_tune_type", "lora");
  if (type != "lora" || cfg.flag("use_dora", false)) {
    throw std::runtime_error(cfg_file.string() + ": fine_tune_type \"" + type + "\" cannot be fused here (only lora)");
  }
  if (!cfg.has("lora_parameters")) throw std::runtime_error(cfg_file.string() + ": missing \"lora_parameters\"");
  s.scale = static_cast<float>(cfg.at("lora_parameters").num("scale", 20.0));
  std::map<std::string, const Linear*> linears = block_linears(m);
  std::map<std::string, std::pair<std::optional<mx::array>, std::optional<mx::array>>> halves;
  for (auto& [name, arr] : mx::load_safetensors(file.string()).first) {
    auto [target, is_a] = adapter_target(name);
    if (target.empty() || !linears.count(target)) {
      throw std::runtime_error(file.string() + ": tensor " + name + " is not the lora_a/lora_b of a Linear in the "
                               "model's blocks (were these adapters trained for another model?)");
    }
    (is_a ? halves[target].first : halves[target].second) = mx::astype(arr, mx::float32);
  }
  for (auto& [target, ab] : halves) {
    if (!ab.first || !ab.second) throw std::runtime_error(file.string() + ": " + target + " lacks lora_a or lora_b");
    const Linear& lin = *linears.at(target);
    int out = lin.weight.shape(0), in = lin.quantized() ? lin.weight.shape(1) * 32 / lin.bits : lin.weight.shape(1);
    const mx::array &a = *ab.first, &b = *ab.second;
    if (a.ndim() != 2 || b.ndim() != 2 || a.shape(0) != in || b.shape(1) != out || a.shape(1) != b.shape(0)) {
      throw std::runtime_error(file.string() + ": " + target + " has lora_a " + shape_str(a) + " and lora_b " +
                               shape_str(b) + ", expected (" + std::to_string(in) + ", r) and (r, " +
                               std::to_string(out) + ") for this model");
    }
    s.pairs.emplace(target, LoraPair{a, b});
  }
  return s;
}

mx::array dense_f32(const Linear& l) {  // (out, in)
  if (!l.quantized()) return mx::astype(l.weight, mx::float32);
  return mx::astype(mx::dequantize(l.weight, *l.scales, l.biases, l.group_size, l.bits), mx::float32);
}

static mx::array fused_f32(const Linear& l, const LoraPair* pair, float scale) {
  mx::array w = dense_f32(l);
  if (!pair) return w;
  mx::array delta = mx::transpose(mx::matmul(pair->a, pair->b));  // (in, r)·(r, out) -> (out, in)
  return mx::add(w, mx::multiply(mx::array(scale), delta));
}

mx::array permute_qk(const mx::array& w, int heads) {
  int rows = w.shape(0);
  mx::Shape s = {heads, 2, rows / heads / 2};
  for (int i = 1; i < w.ndim(); i++) s.push_back(w.shape(i));
  return mx::reshape(mx::swapaxes(mx::reshape(w, s), 1, 2), w.shape());
}

mx::array unpermute_qk(const mx::array& w, int heads) {
  int rows = w.shape(0);
  mx::Shape s = {heads, rows / heads / 2, 2};
  for (int i = 1; i < w.ndim(); i++) s.push_back(w.shape(i));
  return mx::reshape(mx::swapaxes(mx::reshape(w, s), 1, 2), w.shape());
}

static OutQuant output_quantization(const Model& m, const FuseConfig& c) {
  if (c.quantize_bits != 0) return {c.quantize_bits, 64};
  if (c.dequantize) return {};
  OutQuant q;
  for (const auto& [name, lin] : block_linears(m)) {
    if (!lin->quantized()) continue;
    if (q.bits != 0 && (q.bits != lin->bits || q.group != lin->group_size)) {
      throw std::runtime_error("the base mixes quantizations (" + std::to_string(q.bits) + "-bit and " +
                               std::to_string(lin->bits) + "-bit Linears); pass --dequantize or --quantize 4|8");
    }
    q = {lin->bits, lin->group_size};
  }
  return q;
}

static void put_linear(TensorMap& out, const std::string& prefix, const Linear& src, const mx::array& hf_f32, bool changed,
                const OutQuant& q, bool quantizable, mx::Dtype dtype) {
  int in = hf_f32.shape(1);
  if (q.bits != 0 && quantizable && in % q.group == 0) {
    if (!changed && src.quantized() && src.bits == q.bits && src.group_size == q.group) {
      out.insert_or_assign(prefix + ".weight", src.weight);  // untouched: keep the exact bits
      out.insert_or_assign(prefix + ".scales", mx::astype(*src.scales, dtype));
      if (src.biases) out.insert_or_assign(prefix + ".biases", mx::astype(*src.biases, dtype));
    } else {
      std::vector<mx::array> w = mx::quantize(mx::astype(hf_f32, dtype), q.group, q.bits);
      out.insert_or_assign(prefix + ".weight", w[0]);
      out.insert_or_assign(prefix + ".scales", w[1]);
      out.insert_or_assign(prefix + ".biases", w[2]);
    }
  } else {
    out.insert_or_assign(prefix + ".weight", mx::astype(hf_f32, dtype));
  }
  if (src.bias) out.insert_or_assign(prefix + ".bias", mx::astype(*src.bias, dtype));
}

std::string fuse_model(const FuseConfig& c) {
  bool from_gguf = c.model.size() >= 5 && c.model.substr(c.model.size() - 5) == ".gguf";
  Model m = load_model(c.model, LoadOptions{mx::float32, 0});
  AdapterSet adapters = read_adapter_set(c.adapters, m);
  mx::Dtype dtype = parse_out_dtype(c.dtype);
  OutQuant q = output_quantization(m, c);
  if (!c.gguf.empty()) check_gguf_exportable(m);
  if (from_gguf && m.args.rope_freqs) {
    throw std::runtime_error(c.model + ": its rope_freqs (Llama 3.1 rope scaling) cannot be written as config.json "
                             "rope_scaling; fuse from the Hugging Face model instead");
  }
  TensorMap hf, gguf;
  const ModelArgs& a = m.args;
  for (const auto& [prefix, lin] : block_linears(m)) {
    auto it = adapters.pairs.find(prefix);
    const LoraPair* pair = it == adapters.pairs.end() ? nullptr : &it->second;
    bool is_q = prefix.ends_with("q_proj"), is_k = prefix.ends_with("k_proj");
    int heads = is_q ? a.num_heads : a.num_kv_heads;
    mx::array w = fused_f32(*lin, pair, adapters.scale);  // (out, in), row order as loaded
    bool unpermute = from_gguf && (is_q || is_k);  // GGUF rows are llama.cpp's order; HF wants the original
    mx::array hf_w = unpermute ? unpermute_qk(w, heads) : w;
    put_linear(hf, prefix, *lin, hf_w, pair != nullptr || unpermute, q, true, dtype);
    if (!c.gguf.empty()) {
      mx::array g = (is_q || is_k) && !a.rope_traditional ? permute_qk(w, heads) : w;
      add_gguf_linear(gguf, prefix, g, lin->bias);
    }
    mx::eval(hf.at(prefix + ".weight"));
    if (!c.gguf.empty()) mx::eval(gguf.at(gguf_name(prefix + ".weight")));
  }
  put_linear(hf, "model.embed_tokens", m.embed_tokens, dense_f32(m.embed_tokens), false, q, m.embed_tokens.quantized(),
             dtype);
  if (m.lm_head) put_linear(hf, "lm_head", *m.lm_head, dense_f32(*m.lm_head), false, q, m.lm_head->quantized(), dtype);
  for (int l = 0; l < a.num_layers; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    hf.insert_or_assign(p + "input_layernorm.weight", mx::astype(m.layers[l].input_layernorm, dtype));
    hf.insert_or_assign(p + "post_attention_layernorm.weight", mx::astype(m.layers[l].post_attention_layernorm, dtype));
  }
  hf.insert_or_assign("model.norm.weight", mx::astype(m.norm, dtype));
  FuseReport report;
  report.fused = static_cast<int>(adapters.pairs.size());
  report.quant = q;
  report.from_gguf = from_gguf;
  write_hf_shards(hf, c, report);
  if (!c.gguf.empty()) {
    add_gguf_rest(gguf, m);
    write_gguf(gguf, m, c, report);
  }
  return report_json(m, c, report);
}

}  // namespace lorabeam
