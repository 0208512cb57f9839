// Forward pass of the Llama-family model with LoRA (see model.h); mirrors mlx-lm's llama.py.
#include "engine/model.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "engine/cpu_ops.h"

namespace lorabeam {

const std::vector<std::string>& block_linear_keys() {
  static const std::vector<std::string> keys = {
      "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
      "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
  return keys;
}

namespace {

// x·dequantize(W)ᵀ whose backward dequantizes W again instead of keeping the dense copy alive,
// so a QLoRA step holds one dense weight at a time, not the whole dequantized model.
mx::array dequantized_matmul(const Linear& l, const mx::array& x) {
  int bits = l.bits, group = l.group_size;
  bool has_biases = l.biases.has_value();
  auto dense = [bits, group, has_biases](const std::vector<mx::array>& p) {  // (out, in)
    return mx::dequantize(p[1], p[2], has_biases ? std::optional<mx::array>(p[3]) : std::nullopt, group, bits);
  };
  auto forward = [dense](const std::vector<mx::array>& p) {
    return std::vector<mx::array>{mx::matmul(p[0], mx::transpose(dense(p)))};
  };
  auto backward = [dense](const std::vector<mx::array>& p, const std::vector<mx::array>& cotangents,
                          const std::vector<mx::array>&) {
    std::vector<mx::array> grads = {mx::matmul(cotangents[0], dense(p))};  // dx: (..., in)
    for (size_t i = 1; i < p.size(); i++) grads.push_back(mx::zeros_like(p[i]));  // base stays frozen
    return grads;
  };
  std::vector<mx::array> inputs = {x, l.weight, *l.scales};
  if (has_biases) inputs.push_back(*l.biases);
  return mx::custom_vjp(forward, backward)(inputs)[0];
}

}  // namespace

mx::array Linear::operator()(const mx::array& x) const {
  mx::array y(0.0f);
  if (!quantized()) {
    y = mx::matmul(x, mx::transpose(weight));
  } else if (mx::default_device() == mx::Device::cpu && x.size() / x.shape(-1) >= 16) {
    // MLX's CPU quantized_matmul is ~20x slower than dequantize + BLAS GEMM (qmm_bench: 1354 vs
    // 62 ms for a 512x576x1536 product). Decoding one token at a time stays on quantized_matmul.
    y = dequantized_matmul(*this, x);
  } else {
    y = mx::quantized_matmul(x, weight, *scales, biases, true, group_size, bits);
  }
  return bias ? mx::add(y, *bias) : y;
}

mx::array Linear::rows(const mx::array& ids) const {
  mx::array w = mx::take(weight, ids, 0);  // (B, T, in) or packed (B, T, in·bits/32)
  if (!quantized()) return w;
  return mx::dequantize(w, mx::take(*scales, ids, 0), mx::take(*biases, ids, 0), group_size, bits);
}

void Linear::quantize(int new_bits, int new_group) {
  if (quantized()) return;  // already quantized at the source (GGUF, mlx-community)
  std::vector<mx::array> q = mx::quantize(weight, new_group, new_bits);
  weight = q[0];
  scales = q[1];
  biases = q[2];
  bits = new_bits;
  group_size = new_group;
}

std::vector<mx::array> Linear::arrays() const {
  std::vector<mx::array> out = {weight};
  for (const auto* o : {&scales, &biases, &bias}) {
    if (*o) out.push_back(**o);
  }
  return out;
}

std::vector<mx::array> Model::arrays() const {
  std::vector<mx::array> out = embed_tokens.arrays();
  for (const Block& b : layers) {
    for (const auto& [key, lin] : b.linears) {
      for (auto& a : lin.arrays()) out.push_back(a);
    }
    out.push_back(b.input_layernorm);
    out.push_back(b.post_attention_layernorm);
  }
  out.push_back(norm);
  if (lm_head) {
    for (auto& a : lm_head->arrays()) out.push_back(a);
  }
  if (args.rope_freqs) out.push_back(*args.rope_freqs);
  return out;
}

namespace {

int64_t logical_size(const Linear& l) {
  if (!l.quantized()) return l.weight.size();
  return static_cast<int64_t>(l.weight.shape(0)) * l.weight.shape(1) * 32 / l.bits;
}

mx::array dropout(const mx::array& x, ForwardInputs& in) {
  float p = in.lora_options.dropout;
  if (p <= 0.0f || !in.dropout_key) return x;
  std::pair<mx::array, mx::array> keys = mx::random::split(*in.dropout_key);
  in.dropout_key = keys.first;
  mx::array keep = mx::random::bernoulli(mx::array(1.0f - p), x.shape(), keys.second);
  return mx::multiply(x, mx::astype(mx::divide(keep, mx::array(1.0f - p)), x.dtype()));
}

mx::array add_lora(const mx::array& y, const mx::array& xa, const LoraPair& p, const mx::array& x,
                   const ForwardInputs& in) {
  mx::array z = mx::matmul(xa, p.b);  // (B, T, out)
  return mx::add(y, mx::astype(mx::multiply(mx::array(in.lora_options.scale), z), x.dtype()));
}

// y = base(x) + scale·(dropout(x)·A)·B, the LoRA sum cast back to x's dtype like mlx-lm.
mx::array linear(const Block& block, const BlockLora& lora, const std::string& key, const mx::array& x,
                 ForwardInputs& in) {
  mx::array y = block.linears.at(key)(x);
  auto it = lora.find(key);
  if (it == lora.end()) return y;
  return add_lora(y, mx::matmul(dropout(x, in), it->second.a), it->second, x, in);
}

// Linears that read the same x (q/k/v, gate/up). With adapters on all of them and no dropout, their
// A matrices are concatenated into one (in, n·r) GEMM and its (B, T, n·r) result split per pair:
// one product instead of n in the forward pass, and one each for dx and dA in the backward pass.
std::vector<mx::array> linears(const Block& block, const BlockLora& lora, const std::vector<std::string>& keys,
                               const mx::array& x, ForwardInputs& in) {
  bool shared = in.shared_lora_a && !(in.lora_options.dropout > 0.0f && in.dropout_key);
  std::vector<mx::array> as;
  for (const std::string& k : keys) {
    auto it = lora.find(k);
    if (it != lora.end()) as.push_back(it->second.a);
  }
  std::vector<mx::array> out;
  if (!shared || as.size() != keys.size() || keys.size() < 2) {
    for (const std::string& k : keys) out.push_back(linear(block, lora, k, x, in));
    return out;
  }
  mx::array xa = mx::matmul(x, mx::concatenate(as, 1));  // (B, T, Σr)
  int last = xa.ndim() - 1, from = 0;
  for (size_t i = 0; i < keys.size(); i++) {
    mx::Shape start(xa.ndim(), 0), stop = xa.shape();
    start[last] = from;
    stop[last] = from += as[i].shape(1);
    out.push_back(add_lora(block.linears.at(keys[i])(x), mx::slice(xa, start, stop), lora.at(keys[i]), x, in));
  }
  return out;
}

mx::array rope(const ModelArgs& a, const mx::array& x, int offset) {
  if (a.rope_freqs) {
    return mx::fast::rope(x, a.head_dim, a.rope_traditional, std::nullopt, 1.0f, offset, a.rope_freqs);
  }
  return mx::fast::rope(x, a.head_dim, a.rope_traditional, a.rope_theta, 1.0f, offset);
}

// MLX's SDPA on the CPU is this same graph (its "fallback": scale q, QKᵀ, mask, softmax, ·V) with
// mx::softmax, whose scalar exp is most of its time; here the softmax is cpu_ops.h's, and the causal
// mode masks inside the kernel instead of building a (T, T) mask. q (B, H, T, hd), k/v (B, Hkv, S, hd).
mx::array cpu_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale,
                        const std::optional<mx::array>& mask) {
  int n_kv = k.shape(1), rep = q.shape(1) / n_kv;
  mx::array qs = mx::multiply(mx::array(scale, q.dtype()), q), ks = k, vs = v;
  if (rep > 1) {  // grouped queries: (B, Hkv, rep, T, hd) against (B, Hkv, 1, S, hd)
    qs = mx::unflatten(qs, 1, {n_kv, rep});
    ks = mx::expand_dims(k, 2);
    vs = mx::expand_dims(v, 2);
  }
  mx::array scores = mx::matmul(qs, mx::swapaxes(ks, -1, -2));  // (B, Hkv, [rep,] T, S)
  if (mask) {
    mx::array m = rep > 1 ? mx::expand_dims(*mask, -3) : *mask;  // (B, 1, [1,] T, S)
    scores = mx::where(m, scores, mx::array(std::numeric_limits<float>::lowest(), scores.dtype()));
  }
  mx::array o = mx::matmul(fast_softmax(scores, !mask), vs);
  return rep > 1 ? mx::flatten(o, 1, 2) : o;  // (B, H, T, hd)
}

// (B, T, D) -> (B, T, D)
mx::array attention(const Model& m, const Block& block, const BlockLora& lora, int layer, const mx::array& x,
                    ForwardInputs& in) {
  const ModelArgs& a = m.args;
  int B = x.shape(0), T = x.shape(1);
  auto heads = [&](const mx::array& t, int n) {  // (B, T, n·hd) -> (B, n, T, hd)
    return mx::transpose(mx::reshape(t, {B, T, n, a.head_dim}), {0, 2, 1, 3});
  };
  static const std::vector<std::string> qkv_keys = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};
  std::vector<mx::array> qkv = linears(block, lora, qkv_keys, x, in);
  mx::array q = heads(qkv[0], a.num_heads);
  mx::array k = heads(qkv[1], a.num_kv_heads);
  mx::array v = heads(qkv[2], a.num_kv_heads);
  int offset = in.cache ? in.cache->offset : 0;
  q = rope(a, q, offset);
  k = rope(a, k, offset);
  std::string mode = "";
  if (in.cache) {
    auto& ck = in.cache->keys[layer];
    auto& cv = in.cache->values[layer];
    if (ck) {
      k = mx::concatenate({*ck, k}, 2);
      v = mx::concatenate({*cv, v}, 2);
    }
    ck = k;
    cv = v;
    if (T > 1) mode = "causal";
  } else if (!in.mask) {
    mode = "causal";
  }
  float scale = 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  bool own = in.cpu_softmax && !in.cache && cpu_kernels_apply(q);
  mx::array o = own ? cpu_attention(q, k, v, scale, in.mask)
                    : mx::fast::scaled_dot_product_attention(q, k, v, scale, mode,
                                                             mode.empty() ? in.mask : std::nullopt);  // (B, H, T, hd)
  o = mx::reshape(mx::transpose(o, {0, 2, 1, 3}), {B, T, a.num_heads * a.head_dim});
  return linear(block, lora, "self_attn.o_proj", o, in);
}

// SwiGLU MLP: (B, T, D) -> (B, T, D)
mx::array mlp(const Block& block, const BlockLora& lora, const mx::array& x, ForwardInputs& in) {
  static const std::vector<std::string> gate_up_keys = {"mlp.gate_proj", "mlp.up_proj"};
  std::vector<mx::array> gu = linears(block, lora, gate_up_keys, x, in);
  const mx::array &g = gu[0], &u = gu[1];
  mx::array silu = mx::multiply(g, in.cpu_sigmoid ? fast_sigmoid(g) : mx::sigmoid(g));
  return linear(block, lora, "mlp.down_proj", mx::multiply(silu, u), in);
}

mx::array block_forward(const Model& m, int layer, const BlockLora& lora, const mx::array& h, ForwardInputs& in) {
  const Block& b = m.layers[layer];
  float eps = m.args.rms_norm_eps;
  mx::array r = mx::add(h, attention(m, b, lora, layer, mx::fast::rms_norm(h, b.input_layernorm, eps), in));
  return mx::add(r, mlp(b, lora, mx::fast::rms_norm(r, b.post_attention_layernorm, eps), in));
}

// The same block as a function of explicit arrays, so mx::checkpoint can recompute it.
mx::array checkpointed_block(const Model& m, int layer, const BlockLora& lora, const mx::array& h, ForwardInputs& in) {
  std::vector<std::string> keys;
  std::vector<mx::array> inputs = {h};
  if (in.mask) inputs.push_back(*in.mask);
  for (const auto& [key, pair] : lora) {
    keys.push_back(key);
    inputs.push_back(pair.a);
    inputs.push_back(pair.b);
  }
  bool has_mask = in.mask.has_value(), shared = in.shared_lora_a, cpu_softmax = in.cpu_softmax,
       cpu_sigmoid = in.cpu_sigmoid;
  LoraOptions opts = in.lora_options;
  std::optional<mx::array> key = in.dropout_key;
  if (key) {
    auto ks = mx::random::split(*key);
    in.dropout_key = ks.first;
    key = ks.second;
  }
  auto fn = [&m, layer, keys, has_mask, shared, cpu_softmax, cpu_sigmoid, opts,
             key](const std::vector<mx::array>& xs) {
    size_t i = 1;
    ForwardInputs local;
    local.cpu_softmax = cpu_softmax;
    local.cpu_sigmoid = cpu_sigmoid;
    local.lora_options = opts;
    local.shared_lora_a = shared;
    local.dropout_key = key;
    if (has_mask) local.mask = xs[i++];
    BlockLora l;
    for (const std::string& k : keys) {
      l.emplace(k, LoraPair{xs[i], xs[i + 1]});
      i += 2;
    }
    return std::vector<mx::array>{block_forward(m, layer, l, xs[0], local)};
  };
  return mx::checkpoint(fn)(inputs)[0];
}

}  // namespace

int64_t Model::parameter_count() const {
  int64_t n = logical_size(embed_tokens) + norm.size();
  for (const Block& b : layers) {
    for (const auto& [key, lin] : b.linears) n += logical_size(lin) + (lin.bias ? lin.bias->size() : 0);
    n += b.input_layernorm.size() + b.post_attention_layernorm.size();
  }
  if (lm_head) n += logical_size(*lm_head);
  return n;
}

mx::array segment_mask(const mx::array& segments) {
  int T = segments.shape(1);
  mx::array same = mx::equal(mx::expand_dims(segments, 2), mx::expand_dims(segments, 1));  // (B, T, T)
  mx::array causal = mx::tril(mx::ones({T, T}, mx::bool_));                                // (T, T)
  return mx::expand_dims(mx::logical_and(same, causal), 1);                                // (B, 1, T, T)
}

mx::array forward_hidden(const Model& m, const mx::array& inputs, ForwardInputs& in) {
  static const BlockLora no_lora;
  mx::array h = m.embed_tokens.rows(inputs);  // (B, T, D)
  mx::Dtype dtype = m.norm.dtype();
  h = mx::astype(h, dtype);
  if (in.mask) in.mask = mx::astype(*in.mask, mx::bool_);
  for (int l = 0; l < m.args.num_layers; l++) {
    const BlockLora& lora = in.lora.empty() ? no_lora : in.lora[l];
    h = in.checkpoint ? checkpointed_block(m, l, lora, h, in) : block_forward(m, l, lora, h, in);
  }
  if (in.cache) in.cache->offset += inputs.shape(1);
  return mx::fast::rms_norm(h, m.norm, m.args.rms_norm_eps);  // (B, T, D)
}

mx::array head_logits(const Model& m, const mx::array& h) {
  return mx::astype(m.lm_head ? (*m.lm_head)(h) : m.embed_tokens(h), mx::float32);  // (..., V)
}

mx::array head_input_grad(const Model& m, const mx::array& dlogits) {
  const Linear& w = m.lm_head ? *m.lm_head : m.embed_tokens;  // (V, D)
  if (!w.quantized()) return mx::matmul(dlogits, mx::astype(w.weight, dlogits.dtype()));
  mx::array dense = mx::dequantize(w.weight, *w.scales, w.biases, w.group_size, w.bits);  // (V, D)
  return mx::matmul(dlogits, mx::astype(dense, dlogits.dtype()));
}

mx::array forward_logits(const Model& m, const mx::array& inputs, ForwardInputs& in) {
  return head_logits(m, forward_hidden(m, inputs, in));  // (B, T, V)
}

}  // namespace lorabeam
