// Loading a Model from a Hugging Face directory, an mlx-community quantized directory or a GGUF file.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "engine/model.h"

namespace lorabeam {

struct LoadOptions {
  mx::Dtype dtype = mx::float32;  // compute dtype of dense weights, norms and activations
  int quantize_bits = 0;          // 0, 4 or 8: quantize every Linear in the blocks (affine, group 64)
};

// Tensors under Hugging Face names, each remembering the file it came from (for error messages).
struct TensorSet {
  std::map<std::string, mx::array> arrays;
  std::map<std::string, std::string> file_of;
  std::string source;  // directory or file, named by "missing tensor" errors

  bool has(const std::string& name) const { return arrays.count(name) > 0; }
  mx::array get(const std::string& name) const;
  std::string where(const std::string& name) const;
};

// Dispatches on the path: a directory (config.json + safetensors) or a .gguf file.
Model load_model(const std::string& path, const LoadOptions& options);

// Implemented by loader_hf.cpp and loader_gguf.cpp.
Model load_hf_dir(const std::string& dir, const LoadOptions& options);
Model load_gguf_file(const std::string& file, const LoadOptions& options);

// Shared: builds the model from Hugging Face-named tensors and validated args, then casts,
// optionally quantizes and evaluates every weight.
Model build_model(const ModelArgs& args, const TensorSet& tensors, const LoadOptions& options);

// llama3 rope scaling frequencies (mlx-lm's Llama3RoPE), length head_dim/2.
mx::array llama3_rope_freqs(int dims, float base, float factor, float low_freq_factor, float high_freq_factor,
                            float original_max_position_embeddings);

}  // namespace lorabeam
