// Hugging Face / mlx-community directories: config.json + model.safetensors or shards.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "engine/json.h"
#include "engine/loader.h"

namespace lorabeam {

namespace fs = std::filesystem;

namespace {

ModelArgs parse_config(const json::Value& c, const std::string& file) {
  ModelArgs a;
  a.architecture = c.str("model_type", "");
  if (a.architecture != "llama" && a.architecture != "mistral" && a.architecture != "qwen2") {
    throw std::runtime_error(file + ": unsupported architecture \"" + a.architecture +
                             "\" (model_type); supported: llama, mistral, qwen2");
  }
  try {
    a.hidden_size = c.integer("hidden_size", 0);
    a.num_layers = c.integer("num_hidden_layers", 0);
    a.num_heads = c.integer("num_attention_heads", 0);
    a.num_kv_heads = c.integer("num_key_value_heads", a.num_heads);
    a.intermediate_size = c.integer("intermediate_size", 0);
    a.vocab_size = c.integer("vocab_size", 0);
    a.rms_norm_eps = static_cast<float>(c.num("rms_norm_eps", 1e-6));
    a.rope_theta = static_cast<float>(c.num("rope_theta", 10000.0));
    a.head_dim = c.integer("head_dim", a.num_heads > 0 ? a.hidden_size / a.num_heads : 0);
    a.attention_bias = a.architecture == "qwen2" || c.flag("attention_bias", false);
    a.rope_traditional = c.flag("rope_traditional", false);
  } catch (const std::exception& e) {
    throw std::runtime_error(file + ": " + e.what());
  }
  for (auto [name, v] : {std::pair<const char*, int>{"hidden_size", a.hidden_size}, {"num_hidden_layers", a.num_layers},
                         {"num_attention_heads", a.num_heads}, {"intermediate_size", a.intermediate_size},
                         {"vocab_size", a.vocab_size}, {"num_key_value_heads", a.num_kv_heads}}) {
    if (v <= 0) throw std::runtime_error(file + ": \"" + name + "\" must be a positive integer");
  }
  if (c.has("rope_scaling") && c.at("rope_scaling").kind == json::Value::Object) {
    const json::Value& r = c.at("rope_scaling");
    std::string type = r.str("rope_type", r.str("type", "default"));
    if (type == "llama3") {
      a.rope_freqs = llama3_rope_freqs(a.head_dim, a.rope_theta, static_cast<float>(r.num("factor", 1.0)),
                                       static_cast<float>(r.num("low_freq_factor", 1.0)),
                                       static_cast<float>(r.num("high_freq_factor", 4.0)),
                                       static_cast<float>(r.num("original_max_position_embeddings", 8192)));
    } else if (type != "default") {
      throw std::runtime_error(file + ": unsupported rope_scaling type \"" + type + "\" (supported: llama3)");
    }
  }
  if (c.has("quantization")) {
    const json::Value& q = c.at("quantization");
    std::string mode = q.str("mode", "affine");
    if (mode != "affine") {
      throw std::runtime_error(file + ": unsupported quantization mode \"" + mode + "\" (supported: affine)");
    }
    a.quantization = "q" + std::to_string(q.integer("bits", 0)) + "_g" + std::to_string(q.integer("group_size", 0));
  }
  return a;
}

// Reads the safetensors header and checks that the file holds all the data it announces.
void check_not_truncated(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file + ": cannot open file");
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  uint64_t size = fs::file_size(file);
  if (!in || header_len > size - 8) throw std::runtime_error(file + ": truncated safetensors file (bad header)");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  json::Value h = json::parse(header, file);
  uint64_t end = 0;
  for (const auto& [name, t] : h.fields) {
    if (name == "__metadata__") continue;
    const json::Value& offs = t.at("data_offsets");
    uint64_t e = static_cast<uint64_t>(offs.items.at(1).number);
    if (e > end) end = e;
  }
  if (8 + header_len + end > size) {
    throw std::runtime_error(file + ": truncated safetensors file: header announces " + std::to_string(end) +
                             " bytes of tensor data, the file holds " + std::to_string(size - 8 - header_len));
  }
}

std::vector<std::string> weight_files(const fs::path& dir) {
  fs::path index = dir / "model.safetensors.index.json";
  std::vector<std::string> files;
  if (fs::exists(index)) {
    std::set<std::string> names;
    json::Value parsed = json::parse_file(index.string());  // must outlive the loop: at() returns a reference into it
    for (const auto& [tensor, file] : parsed.at("weight_map").fields) names.insert(file.string);
    for (const auto& n : names) files.push_back((dir / n).string());
  } else if (fs::exists(dir / "model.safetensors")) {
    files.push_back((dir / "model.safetensors").string());
  } else {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
    }
  }
  if (files.empty()) throw std::runtime_error(dir.string() + ": no model.safetensors or *.safetensors files");
  return files;
}

}  // namespace

Model load_hf_dir(const std::string& dir_name, const LoadOptions& options) {
  fs::path dir(dir_name);
  fs::path config_file = dir / "config.json";
  if (!fs::exists(config_file)) throw std::runtime_error(dir_name + ": no config.json in the model directory");
  json::Value config = json::parse_file(config_file.string());
  ModelArgs args = parse_config(config, config_file.string());
  TensorSet t;
  t.source = dir_name;
  for (const std::string& file : weight_files(dir)) {
    if (!fs::exists(file)) throw std::runtime_error(file + ": shard listed in the index is missing");
    check_not_truncated(file);
    for (auto& [name, arr] : mx::load_safetensors(file).first) {
      t.arrays.insert_or_assign(name, arr);
      t.file_of[name] = file;
    }
  }
  bool tie_explicit = config.has("tie_word_embeddings");
  args.tie_word_embeddings = config.flag("tie_word_embeddings", false);
  if (!tie_explicit && !t.has("lm_head.weight")) args.tie_word_embeddings = true;  // mlx-community exports
  return build_model(args, t, options);
}

}  // namespace lorabeam
