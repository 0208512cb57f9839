// Model assembly shared by every loader: shape checks against the config, dtype, quantization.
#include "engine/loader.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace lorabeam {

namespace fs = std::filesystem;

namespace {

std::string shape_str(const mx::Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); i++) os << (i ? ", " : "") << s[i];
  os << ")";
  return os.str();
}

[[noreturn]] void mismatch(const TensorSet& t, const std::string& name, const mx::Shape& got, const std::string& want) {
  throw std::runtime_error(t.where(name) + ": shape mismatch for tensor " + name + ": got " + shape_str(got) +
                           ", expected " + want + " from the model's configuration");
}

// Dense (out, in) or quantized (out, in·bits/32) + scales/biases (out, in/group).
Linear make_linear(const TensorSet& t, const std::string& prefix, int out, int in, bool with_bias, mx::Dtype dtype) {
  Linear l;
  std::string wname = prefix + ".weight";
  l.weight = t.get(wname);
  std::string expected = "(" + std::to_string(out) + ", " + std::to_string(in) + ")";
  if (t.has(prefix + ".scales")) {
    mx::array scales = t.get(prefix + ".scales");
    if (l.weight.ndim() != 2 || scales.ndim() != 2 || l.weight.shape(0) != out || scales.shape(0) != out ||
        in % scales.shape(1) != 0 || (l.weight.shape(1) * 32) % in != 0) {
      mismatch(t, wname, l.weight.shape(), "a quantized " + expected);
    }
    l.bits = l.weight.shape(1) * 32 / in;
    l.group_size = in / scales.shape(1);
    if (l.bits < 2 || l.bits > 8) {
      throw std::runtime_error(t.where(wname) + ": unsupported quantization of " + wname + ": " +
                               std::to_string(l.bits) + " bits");
    }
    l.scales = mx::astype(scales, dtype);
    if (t.has(prefix + ".biases")) l.biases = mx::astype(t.get(prefix + ".biases"), dtype);
  } else {
    if (l.weight.shape() != mx::Shape{out, in}) mismatch(t, wname, l.weight.shape(), expected);
    l.weight = mx::astype(l.weight, dtype);
  }
  if (with_bias) {
    l.bias = mx::astype(t.get(prefix + ".bias"), dtype);
    if (l.bias->shape() != mx::Shape{out}) mismatch(t, prefix + ".bias", l.bias->shape(), "(" + std::to_string(out) + ")");
  }
  return l;
}

mx::array make_norm(const TensorSet& t, const std::string& name, int dim, mx::Dtype dtype) {
  mx::array w = t.get(name);
  if (w.shape() != mx::Shape{dim}) mismatch(t, name, w.shape(), "(" + std::to_string(dim) + ")");
  return mx::astype(w, dtype);
}

Block make_block(const ModelArgs& a, const TensorSet& t, int i, mx::Dtype dtype) {
  std::string p = "model.layers." + std::to_string(i) + ".";
  int q = a.num_heads * a.head_dim, kv = a.num_kv_heads * a.head_dim, d = a.hidden_size, f = a.intermediate_size;
  Block b;
  bool qkv_bias = a.attention_bias;
  b.linears.emplace("self_attn.q_proj", make_linear(t, p + "self_attn.q_proj", q, d, qkv_bias, dtype));
  b.linears.emplace("self_attn.k_proj", make_linear(t, p + "self_attn.k_proj", kv, d, qkv_bias, dtype));
  b.linears.emplace("self_attn.v_proj", make_linear(t, p + "self_attn.v_proj", kv, d, qkv_bias, dtype));
  b.linears.emplace("self_attn.o_proj", make_linear(t, p + "self_attn.o_proj", d, q, false, dtype));
  b.linears.emplace("mlp.gate_proj", make_linear(t, p + "mlp.gate_proj", f, d, false, dtype));
  b.linears.emplace("mlp.up_proj", make_linear(t, p + "mlp.up_proj", f, d, false, dtype));
  b.linears.emplace("mlp.down_proj", make_linear(t, p + "mlp.down_proj", d, f, false, dtype));
  b.input_layernorm = make_norm(t, p + "input_layernorm.weight", d, dtype);
  b.post_attention_layernorm = make_norm(t, p + "post_attention_layernorm.weight", d, dtype);
  return b;
}

// Like mlx-lm's nn.quantize: every Linear of the blocks, and the embedding and LM head too when their
// width is a multiple of the group (embedding rows are then dequantized as they are gathered; the head
// runs quantized_matmul for single tokens and dequantize + GEMM per chunk in training).
void quantize_model(Model& m, int bits) {
  for (Linear* l : {&m.embed_tokens, m.lm_head ? &*m.lm_head : nullptr}) {
    if (l && !l->quantized() && l->weight.shape(1) % 64 == 0) l->quantize(bits, 64);
  }
  for (Block& b : m.layers) {
    for (auto& [key, lin] : b.linears) {
      if (lin.quantized()) continue;
      if (lin.weight.shape(1) % 64 != 0) {
        throw std::runtime_error("cannot quantize " + key + " to " + std::to_string(bits) +
                                 " bits: its input size " + std::to_string(lin.weight.shape(1)) +
                                 " is not a multiple of the group size 64");
      }
      lin.quantize(bits, 64);
    }
  }
  m.args.quantization = m.args.quantization == "none" ? "q" + std::to_string(bits) + "_g64"
                                                       : m.args.quantization;
}

}  // namespace

mx::array TensorSet::get(const std::string& name) const {
  auto it = arrays.find(name);
  if (it == arrays.end()) throw std::runtime_error(source + ": missing tensor " + name);
  return it->second;
}

std::string TensorSet::where(const std::string& name) const {
  auto it = file_of.find(name);
  return it == file_of.end() ? source : it->second;
}

Model build_model(const ModelArgs& args, const TensorSet& t, const LoadOptions& opt) {
  Model m;
  m.args = args;
  m.embed_tokens = make_linear(t, "model.embed_tokens", args.vocab_size, args.hidden_size, false, opt.dtype);
  for (int i = 0; i < args.num_layers; i++) m.layers.push_back(make_block(args, t, i, opt.dtype));
  m.norm = make_norm(t, "model.norm.weight", args.hidden_size, opt.dtype);
  if (!args.tie_word_embeddings) {
    m.lm_head = make_linear(t, "lm_head", args.vocab_size, args.hidden_size, false, opt.dtype);
  }
  if (opt.quantize_bits != 0) {
    if (opt.quantize_bits != 4 && opt.quantize_bits != 8) {
      throw std::runtime_error("quantizeBits must be 0, 4 or 8, got " + std::to_string(opt.quantize_bits));
    }
    quantize_model(m, opt.quantize_bits);
  }
  mx::eval(m.arrays());
  return m;
}

mx::array llama3_rope_freqs(int dims, float base, float factor, float low, float high, float old_ctx) {
  double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> out;
  for (int i = 0; i < dims; i += 2) {
    double freq = std::pow(static_cast<double>(base), static_cast<double>(i) / dims);
    double wavelen = 2 * M_PI * freq;
    double f = wavelen > low_wavelen ? freq * factor : freq;
    if (wavelen > high_wavelen && wavelen < low_wavelen) {
      double smooth = (old_ctx / wavelen - low) / (high - low);
      f = f / ((1 - smooth) / factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return mx::array(out.data(), {static_cast<int>(out.size())}, mx::float32);
}

Model load_model(const std::string& path, const LoadOptions& options) {
  if (!fs::exists(path)) {
    throw std::runtime_error("model not found: " + path + " (expected a Hugging Face model directory or a .gguf file)");
  }
  if (fs::is_directory(path)) return load_hf_dir(path, options);
  if (path.size() >= 5 && path.substr(path.size() - 5) == ".gguf") return load_gguf_file(path, options);
  throw std::runtime_error("unsupported model file " + path + ": give a directory with config.json or a .gguf file");
}

}  // namespace lorabeam
