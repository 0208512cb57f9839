// Autoregressive generation with a KV cache: greedy (temperature 0) or temperature + top-p sampling.
#include <stdexcept>

#include "engine/engine.h"

namespace lorabeam {

namespace {

// logits (1, V) float32 -> token (1,) int32
mx::array sample(const mx::array& logits, float temperature, float top_p, const mx::array& key) {
  if (temperature <= 0.0f) return mx::argmax(logits, -1);
  mx::array scaled = mx::divide(logits, mx::array(temperature));
  if (top_p > 0.0f && top_p < 1.0f) {
    mx::array probs = mx::softmax(scaled, -1);                       // (1, V)
    mx::array order = mx::argsort(mx::negative(probs), -1);          // (1, V) most likely first
    mx::array sorted = mx::take_along_axis(probs, order, -1);        // (1, V)
    mx::array before = mx::subtract(mx::cumsum(sorted, -1), sorted); // mass strictly before each token
    mx::array keep_sorted = mx::less(before, mx::array(top_p));      // the nucleus, always >= 1 token
    mx::array keep = mx::put_along_axis(mx::zeros_like(keep_sorted), order, keep_sorted, -1);
    scaled = mx::where(keep, scaled, mx::array(-INFINITY));
  }
  return mx::random::categorical(scaled, -1, key);
}

}  // namespace

std::vector<int32_t> Engine::generate(const std::vector<int32_t>& prompt, int max_tokens, float temperature,
                                      float top_p, uint64_t seed, const std::vector<int32_t>& stop) {
  int vocab = model_.args.vocab_size;
  if (prompt.empty()) throw std::invalid_argument("generate needs a non-empty prompt");
  if (max_tokens < 0) throw std::invalid_argument("maxTokens must be >= 0");
  for (int32_t t : prompt) {
    if (t < 0 || t >= vocab) {
      throw std::invalid_argument("prompt token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                  std::to_string(vocab) + ")");
    }
  }
  KVCache cache;
  cache.keys.resize(model_.args.num_layers);
  cache.values.resize(model_.args.num_layers);
  ForwardInputs in;
  in.lora = lora_.views(lora_.params, model_.args.num_layers);
  in.lora_options = {lora_.config.scale, 0.0f};
  in.cache = &cache;
  mx::array key = mx::random::key(seed);
  mx::array x(prompt.data(), {1, static_cast<int>(prompt.size())}, mx::int32);  // (1, T)
  std::vector<int32_t> out;
  for (int i = 0; i < max_tokens; i++) {
    mx::array logits = forward_logits(model_, x, in);                    // (1, T, V)
    int T = logits.shape(1);
    logits = mx::reshape(mx::slice(logits, {0, T - 1, 0}, {1, T, vocab}), {1, vocab});  // (1, V)
    auto ks = mx::random::split(key);
    key = ks.first;
    mx::array next = mx::astype(sample(logits, temperature, top_p, ks.second), mx::int32);  // (1,)
    mx::eval(next);
    int32_t token = next.item<int32_t>();
    out.push_back(token);
    if (std::find(stop.begin(), stop.end(), token) != stop.end()) break;
    x = mx::reshape(next, {1, 1});
  }
  return out;
}

}  // namespace lorabeam
