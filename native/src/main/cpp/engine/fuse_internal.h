// Pieces of the fuse shared by fuse.cpp (merging) and fuse_write.cpp (files, GGUF, report).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/fuse.h"

namespace lorabeam {

using TensorMap = std::map<std::string, mx::array>;  // name -> array, in name order

struct AdapterSet {
  float scale = 0;
  std::map<std::string, LoraPair> pairs;  // "model.layers.3.self_attn.q_proj" -> (a, b)
};

struct OutQuant {
  int bits = 0;   // 0 = dense output
  int group = 0;
};

struct FuseReport {
  int fused = 0;                      // Linears that received adapters
  OutQuant quant;
  bool from_gguf = false;
  std::vector<std::string> files;     // safetensors files written (names inside output)
  int64_t bytes = 0;                  // tensor bytes in the safetensors files
  int gguf_tensors = 0;
  int64_t context_length = 0;
};

// adapters.safetensors + adapter_config.json (mlx-lm's format), checked against the model's Linears.
AdapterSet read_adapter_set(const std::string& dir, const Model& m);

mx::array dense_f32(const Linear& l);  // (out, in) float32, dequantized if needed

// HF name -> llama.cpp name ("model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight").
std::string gguf_name(const std::string& hf_name);
void check_gguf_exportable(const Model& m);
void add_gguf_linear(TensorMap& gguf, const std::string& prefix, const mx::array& w_f32,
                     const std::optional<mx::array>& bias);
void add_gguf_rest(TensorMap& gguf, const Model& m);  // embeddings, norms, output, rope_freqs

void write_hf_shards(const TensorMap& tensors, const FuseConfig& c, FuseReport& report);
void write_gguf(const TensorMap& tensors, const Model& m, const FuseConfig& c, FuseReport& report);
std::string report_json(const Model& m, const FuseConfig& c, const FuseReport& report);

}  // namespace lorabeam
