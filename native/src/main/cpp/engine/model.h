// The Llama-family model (llama, mistral, qwen2) as plain structs of MLX arrays, and its forward
// pass with LoRA adapters applied on the fly. Field names follow the Hugging Face weight keys.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mlx/mlx.h"

namespace lorabeam {

namespace mx = mlx::core;

struct ModelArgs {
  std::string architecture;  // llama | mistral | qwen2
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool rope_traditional = false;          // true for GGUF (llama.cpp permutes Q/K)
  std::optional<mx::array> rope_freqs;    // llama3 rope scaling: per-pair frequencies (head_dim/2)
  bool tie_word_embeddings = false;
  bool attention_bias = false;            // qwen2: q/k/v have biases
  std::string quantization = "none";      // e.g. "none", "q4_g64", "gguf"
};

// y = x·Wᵀ (+ bias). W is dense (out, in) or affine-quantized (out, in·bits/32) with scales/biases.
struct Linear {
  mx::array weight = mx::array(0.0f);
  std::optional<mx::array> scales;
  std::optional<mx::array> biases;
  std::optional<mx::array> bias;
  int bits = 0;
  int group_size = 0;

  bool quantized() const { return scales.has_value(); }
  mx::array operator()(const mx::array& x) const;  // (..., in) -> (..., out)
  mx::array rows(const mx::array& ids) const;      // embedding lookup: (B, T) -> (B, T, in)
  void quantize(int bits, int group_size);
  std::vector<mx::array> arrays() const;
};

struct Block {
  std::map<std::string, Linear> linears;  // "self_attn.q_proj", ..., "mlp.down_proj"
  mx::array input_layernorm = mx::array(0.0f);
  mx::array post_attention_layernorm = mx::array(0.0f);
};

struct Model {
  ModelArgs args;
  Linear embed_tokens;
  std::vector<Block> layers;
  mx::array norm = mx::array(0.0f);
  std::optional<Linear> lm_head;  // absent when tied to embed_tokens

  std::vector<mx::array> arrays() const;
  int64_t parameter_count() const;  // logical (unquantized) count
};

// The seven Linear keys of a block, in mlx-lm's naming.
const std::vector<std::string>& block_linear_keys();

// LoRA pair of one Linear: a (in, r), b (r, out), both float32.
struct LoraPair {
  mx::array a;
  mx::array b;
};
using BlockLora = std::map<std::string, LoraPair>;

struct LoraOptions {
  float scale = 20.0f;
  float dropout = 0.0f;
};

// Per-layer key/value cache for generation; empty entries before the first call.
struct KVCache {
  std::vector<std::optional<mx::array>> keys;    // (1, Hkv, S, hd)
  std::vector<std::optional<mx::array>> values;  // (1, Hkv, S, hd)
  int offset = 0;
};

// Everything one forward pass needs besides the weights.
struct ForwardInputs {
  std::vector<BlockLora> lora;            // one map per layer (empty map: no adapters there)
  LoraOptions lora_options;
  std::optional<mx::array> mask;          // bool (B, 1, T, T); none = causal
  std::optional<mx::array> dropout_key;   // set when training with dropout > 0
  bool checkpoint = false;                // recompute each block in the backward pass
  bool shared_lora_a = true;              // one x·[A_q|A_k|A_v] and x·[A_gate|A_up] GEMM (dropout 0 only)
  bool cpu_softmax = false;               // attention softmax by cpu_ops.h's kernel (CPU device, float32)
  bool cpu_sigmoid = false;               // SwiGLU's sigmoid by cpu_ops.h's kernel (CPU device, float32)
  KVCache* cache = nullptr;
};

// Causal-within-segment attention mask from segment ids (B, T) -> bool (B, 1, T, T).
mx::array segment_mask(const mx::array& segments);

// (B, T) int32 tokens -> (B, T, D) final hidden states (after the last norm), in the compute dtype.
mx::array forward_hidden(const Model& model, const mx::array& inputs, ForwardInputs& in);

// The LM head (tied or not): (..., D) -> (..., V) logits in float32.
mx::array head_logits(const Model& model, const mx::array& h);

// dlogits·W_head: (..., V) -> (..., D), the head's input gradient, in dlogits' dtype.
mx::array head_input_grad(const Model& model, const mx::array& dlogits);

// (B, T) int32 tokens -> (B, T, V) logits in float32.
mx::array forward_logits(const Model& model, const mx::array& inputs, ForwardInputs& in);

}  // namespace lorabeam
