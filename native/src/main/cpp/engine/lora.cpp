// LoRA creation and the mlx-lm adapter files (see lora.h).
#include "engine/lora.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "engine/checked_write.h"
#include "engine/json.h"

namespace lorabeam {

namespace fs = std::filesystem;

std::vector<std::string> resolve_lora_keys(const std::vector<std::string>& requested) {
  static const std::map<std::string, std::string> shorts = {
      {"q", "self_attn.q_proj"}, {"k", "self_attn.k_proj"}, {"v", "self_attn.v_proj"}, {"o", "self_attn.o_proj"},
      {"gate", "mlp.gate_proj"}, {"up", "mlp.up_proj"},     {"down", "mlp.down_proj"}};
  if (requested.empty()) return block_linear_keys();
  std::vector<std::string> out;
  for (const std::string& r : requested) {
    std::string key = shorts.count(r) ? shorts.at(r) : r;
    const auto& all = block_linear_keys();
    if (std::find(all.begin(), all.end(), key) == all.end()) {
      throw std::runtime_error("unknown LoRA target module \"" + r +
                               "\"; use q, k, v, o, gate, up, down or mlx-lm keys such as self_attn.q_proj");
    }
    if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
  }
  return out;
}

namespace {

// (in, out) of a Linear, whether dense or quantized.
std::pair<int, int> linear_dims(const Linear& l) {
  int out = l.weight.shape(0);
  int in = l.quantized() ? l.weight.shape(1) * 32 / l.bits : l.weight.shape(1);
  return {in, out};
}

std::string adapter_config_json(const Lora& lora) {
  std::ostringstream os;
  const LoraConfig& c = lora.config;
  os << "{\n  \"fine_tune_type\": \"lora\",\n  \"num_layers\": " << c.num_layers << ",\n"
     << "  \"lora_parameters\": {\n    \"rank\": " << c.rank << ",\n    \"scale\": " << c.scale
     << ",\n    \"dropout\": " << c.dropout << ",\n    \"keys\": [";
  for (size_t i = 0; i < c.keys.size(); i++) os << (i ? ", " : "") << json::quote(c.keys[i]);
  os << "]\n  }\n}\n";
  return os.str();
}

std::string temp_name(const fs::path& target) {
  return (target.parent_path() / ("." + target.stem().string() + ".tmp" + std::to_string(getpid()))).string() +
         target.extension().string();
}

// The temp file goes whether or not the rename succeeds: a failed save leaves the target as it was.
void rename_or_remove(const std::string& tmp, const fs::path& target) {
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error(tmp + ": cannot rename it to " + target.string() + ": " + ec.message());
  }
}

}  // namespace

std::vector<BlockLora> Lora::views(const std::vector<mx::array>& ps, int model_layers) const {
  std::vector<BlockLora> out(model_layers);
  for (size_t p = 0; p < layer_of.size(); p++) out[layer_of[p]].emplace(key_of[p], LoraPair{ps[2 * p], ps[2 * p + 1]});
  return out;
}

int64_t Lora::size() const {
  int64_t n = 0;
  for (const auto& p : params) n += p.size();
  return n;
}

Lora create_lora(const Model& model, const LoraConfig& config, uint64_t seed) {
  int total = model.args.num_layers;
  if (config.rank < 1) throw std::runtime_error("loraRank must be at least 1, got " + std::to_string(config.rank));
  if (config.num_layers == 0 || config.num_layers < -1) {
    throw std::runtime_error("loraLayers must be -1 (all) or a positive count, got " + std::to_string(config.num_layers));
  }
  Lora lora;
  lora.config = config;
  lora.config.keys = resolve_lora_keys(config.keys);
  int n = config.num_layers < 0 ? total : std::min(config.num_layers, total);
  lora.config.num_layers = n;
  lora.first_layer = total - n;
  mx::array key = mx::random::key(seed);
  for (int l = lora.first_layer; l < total; l++) {
    for (const std::string& k : lora.config.keys) {
      auto [in, out] = linear_dims(model.layers[l].linears.at(k));
      auto ks = mx::random::split(key);
      key = ks.first;
      float bound = 1.0f / std::sqrt(static_cast<float>(in));
      std::string prefix = "model.layers." + std::to_string(l) + "." + k;
      lora.params.push_back(mx::random::uniform(-bound, bound, {in, config.rank}, mx::float32, ks.second));
      lora.params.push_back(mx::zeros({config.rank, out}, mx::float32));
      lora.names.push_back(prefix + ".lora_a");
      lora.names.push_back(prefix + ".lora_b");
      lora.layer_of.push_back(l);
      lora.key_of.push_back(k);
    }
  }
  mx::eval(lora.params);
  return lora;
}

void save_safetensors_atomic(const std::string& file, const std::unordered_map<std::string, mx::array>& arrays) {
  fs::path target(file);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string tmp = temp_name(target);  // keeps the .safetensors extension MLX insists on
  save_safetensors_checked(tmp, arrays, {{"format", "mlx"}});  // removes tmp itself when a write fails
  rename_or_remove(tmp, target);
}

void write_text_atomic(const std::string& file, const std::string& text) {
  fs::path target(file);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string tmp = temp_name(target);
  write_file_checked(tmp, text);
  rename_or_remove(tmp, target);
}

void save_adapters(const Lora& lora, const std::string& dir) {
  std::unordered_map<std::string, mx::array> arrays;
  for (size_t i = 0; i < lora.names.size(); i++) arrays.insert_or_assign(lora.names[i], lora.params[i]);
  fs::create_directories(dir);
  save_safetensors_atomic((fs::path(dir) / "adapters.safetensors").string(), arrays);
  write_text_atomic((fs::path(dir) / "adapter_config.json").string(), adapter_config_json(lora));
}

void load_adapters(Lora& lora, const std::string& dir) {
  fs::path file = fs::path(dir) / "adapters.safetensors";
  if (!fs::exists(file)) throw std::runtime_error("no adapters found: " + file.string() + " does not exist");
  auto loaded = mx::load_safetensors(file.string()).first;
  std::vector<mx::array> params;
  for (size_t i = 0; i < lora.names.size(); i++) {
    auto it = loaded.find(lora.names[i]);
    if (it == loaded.end()) {
      throw std::runtime_error(file.string() + ": missing tensor " + lora.names[i] +
                               " (the adapters were trained with other LoRA layers or target modules)");
    }
    if (it->second.shape() != lora.params[i].shape()) {
      throw std::runtime_error(file.string() + ": shape mismatch for tensor " + lora.names[i] +
                               " (the adapters were trained with another LoRA rank)");
    }
    params.push_back(mx::astype(it->second, mx::float32));
  }
  mx::eval(params);
  lora.params = params;
}

}  // namespace lorabeam
