// Fusing LoRA adapters into the base weights and writing the result: Hugging Face safetensors
// (optionally sharded, optionally re-quantized in mlx-community's layout) and a float16 GGUF.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/model.h"

namespace lorabeam {

struct FuseConfig {
  std::string model;             // HF / mlx-community directory or .gguf file
  std::string adapters;          // directory with adapters.safetensors + adapter_config.json; "" = none
  std::string output;            // directory that receives model*.safetensors (+ index)
  std::string dtype = "float16"; // dense weights, norms, and scales/biases of quantized weights
  bool dequantize = false;       // a quantized base is written dense
  int quantize_bits = 0;         // 4 or 8: quantize the block Linears (affine, group 64)
  int64_t shard_bytes = 5'000'000'000LL;  // one file up to this size, shards above (like HF)
  std::string gguf;              // "" = no GGUF export
  std::string gguf_metadata;     // JSON object of typed GGUF metadata (tokenizer keys) for a non-GGUF base
};

FuseConfig parse_fuse_config(const std::string& json_text);

// Runs the fuse and returns a JSON report: the model's hyper-parameters (Hugging Face config.json
// names), the output quantization, the files and bytes written.
std::string fuse_model(const FuseConfig& config);

// llama.cpp's Q/K row order (convert_hf_to_gguf.py `permute`) and its inverse, for an (out, ...) array
// whose rows are `heads` heads of head_dim rows each.
mx::array permute_qk(const mx::array& w, int heads);
mx::array unpermute_qk(const mx::array& w, int heads);

}  // namespace lorabeam
