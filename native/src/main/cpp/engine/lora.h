// LoRA adapters like mlx-lm's LoRALinear: a (in, r) ~ U(±1/√in), b (r, out) = 0, float32,
// on the target Linears of the last N blocks; saved and loaded in mlx-lm's adapter format.
#pragma once

#include <string>
#include <vector>

#include "engine/model.h"

namespace lorabeam {

struct LoraConfig {
  int rank = 8;
  float scale = 20.0f;
  float dropout = 0.0f;
  int num_layers = 16;                // last N blocks; -1 = all
  std::vector<std::string> keys;      // mlx-lm keys, e.g. "self_attn.q_proj"
};

// Expands short names (q, k, v, o, gate, up, down) and checks every key; empty = all seven.
std::vector<std::string> resolve_lora_keys(const std::vector<std::string>& requested);

struct Lora {
  LoraConfig config;
  int first_layer = 0;               // adapters live in blocks [first_layer, num_layers)
  std::vector<std::string> names;    // "model.layers.{i}.{key}.lora_a" / ".lora_b", params order
  std::vector<int> layer_of;         // per pair (names.size()/2)
  std::vector<std::string> key_of;   // per pair
  std::vector<mx::array> params;     // a0, b0, a1, b1, ...

  // Per-layer views over an arbitrary parameter list in this order (traced arrays included).
  std::vector<BlockLora> views(const std::vector<mx::array>& ps, int model_layers) const;
  int64_t size() const;
};

Lora create_lora(const Model& model, const LoraConfig& config, uint64_t seed);

// mlx-lm format: adapters.safetensors + adapter_config.json, each written to a temp file and renamed.
void save_adapters(const Lora& lora, const std::string& dir);
void load_adapters(Lora& lora, const std::string& dir);

// Writes arrays to `file` atomically (temp file in the same directory, then rename).
void save_safetensors_atomic(const std::string& file, const std::unordered_map<std::string, mx::array>& arrays);
void write_text_atomic(const std::string& file, const std::string& text);

}  // namespace lorabeam
