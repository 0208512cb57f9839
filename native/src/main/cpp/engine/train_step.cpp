// The training step, top to bottom: micro-batch gradients -> global-norm clip -> AdamW, traced
// as one function of (params, m, v, step, lr, batch) so it can be mx::compile'd and evaluated once.
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "engine/engine.h"

namespace lorabeam {

namespace {

// MLX's optimizers.AdamW.apply_single for one parameter: returns {p', m', v'}.
std::vector<mx::array> adamw(const mx::array& g, const mx::array& p, const mx::array& m, const mx::array& v,
                             const mx::array& lr, const mx::array& step, const EngineConfig& c) {
  mx::array b1(c.beta1), b2(c.beta2), eps(c.eps), one(1.0f);
  mx::array decayed = mx::multiply(p, mx::subtract(one, mx::multiply(lr, mx::array(c.weight_decay))));
  mx::array m1 = mx::add(mx::multiply(b1, m), mx::multiply(mx::subtract(one, b1), g));
  mx::array v1 = mx::add(mx::multiply(b2, v), mx::multiply(mx::subtract(one, b2), mx::square(g)));
  mx::array update(0.0f);
  if (c.bias_correction) {
    mx::array c1 = mx::divide(lr, mx::subtract(one, mx::power(b1, step)));
    mx::array c2 = mx::rsqrt(mx::subtract(one, mx::power(b2, step)));
    update = mx::divide(mx::multiply(c1, m1), mx::add(mx::multiply(mx::sqrt(v1), c2), eps));
  } else {
    update = mx::divide(mx::multiply(lr, m1), mx::add(mx::sqrt(v1), eps));
  }
  return {mx::subtract(decayed, update), m1, v1};
}

mx::array rows(const mx::array& a, int from, int to) {  // (B, ...) -> (to - from, ...)
  mx::Shape start(a.ndim(), 0), stop = a.shape();
  start[0] = from;
  stop[0] = to;
  return mx::slice(a, start, stop);
}

}  // namespace

// inputs: P params | P m | P v | step | lr | tokens (B, T+1) | segments (B, T) | weights (B, T) | [dropout key]
// outputs: P params' | P m' | P v' | loss | Σw | trained tokens | grad norm
std::vector<mx::array> Engine::step_graph(const std::vector<mx::array>& in) const {
  size_t P = lora_.params.size();
  std::vector<mx::array> params(in.begin(), in.begin() + P);
  const mx::array &step = in[3 * P], &lr = in[3 * P + 1];
  const mx::array &tokens = in[3 * P + 2], &segments = in[3 * P + 3], &weights = in[3 * P + 4];
  std::optional<mx::array> key;
  if (in.size() > 3 * P + 5) key = in[3 * P + 5];

  // 1. Σ over micro-batches of ∂(Σ w·CE)/∂params.
  std::vector<int> argnums(P);
  for (size_t i = 0; i < P; i++) argnums[i] = static_cast<int>(i);
  int k = config_.grad_accumulation, micro = tokens.shape(0) / k;
  std::vector<mx::array> grads, totals = {mx::array(0.0f), mx::array(0.0f), mx::array(0.0f)};
  for (int i = 0; i < k; i++) {
    std::optional<mx::array> micro_key;
    if (key) micro_key = mx::take(mx::random::split(*key, k), i, 0);  // (2,)
    auto loss_fn = [&](const std::vector<mx::array>& ps) {
      return loss_terms(ps, rows(tokens, i * micro, (i + 1) * micro), rows(segments, i * micro, (i + 1) * micro),
                        rows(weights, i * micro, (i + 1) * micro), micro_key, true);
    };
    auto [values, g] = mx::value_and_grad(loss_fn, argnums)(params);
    for (int t = 0; t < 3; t++) totals[t] = mx::add(totals[t], values[t]);
    if (grads.empty()) {
      grads = g;
    } else {
      for (size_t j = 0; j < P; j++) grads[j] = mx::add(grads[j], g[j]);
    }
  }
  mx::array wsum = totals[1];
  mx::array loss = mx::divide(totals[0], wsum);
  for (auto& g : grads) g = mx::divide(g, wsum);  // gradient of Σ w·CE / Σ w over the whole batch

  // 2. Global-norm clipping, as mlx.optimizers.clip_grad_norm.
  mx::array norm_sq(0.0f);
  for (const auto& g : grads) norm_sq = mx::add(norm_sq, mx::sum(mx::square(g)));
  mx::array grad_norm = mx::sqrt(norm_sq);
  if (config_.max_grad_norm > 0) {
    mx::array scale = mx::minimum(mx::divide(mx::array(config_.max_grad_norm), mx::add(grad_norm, mx::array(1e-6f))),
                                  mx::array(1.0f));
    for (auto& g : grads) g = mx::multiply(g, scale);
  }

  // 3. AdamW.
  std::vector<mx::array> new_p, new_m, new_v;
  for (size_t j = 0; j < P; j++) {
    auto u = adamw(grads[j], params[j], in[P + j], in[2 * P + j], lr, step, config_);
    new_p.push_back(u[0]);
    new_m.push_back(u[1]);
    new_v.push_back(u[2]);
  }
  std::vector<mx::array> out = new_p;
  out.insert(out.end(), new_m.begin(), new_m.end());
  out.insert(out.end(), new_v.begin(), new_v.end());
  out.insert(out.end(), {loss, wsum, totals[2], grad_norm});
  return out;
}

StepOut Engine::step(const Batch& batch, double learning_rate) {
  int k = config_.grad_accumulation;
  if (batch.rows % k != 0) {
    throw std::invalid_argument("batch has " + std::to_string(batch.rows) + " rows, not a multiple of gradAccumulation=" +
                                std::to_string(k));
  }
  if (!std::isfinite(learning_rate)) throw std::invalid_argument("learning rate must be finite");
  batch.require_trained_tokens();
  size_t P = lora_.params.size();
  std::vector<mx::array> in = lora_.params;
  in.insert(in.end(), m_.begin(), m_.end());
  in.insert(in.end(), v_.begin(), v_.end());
  in.push_back(mx::array(static_cast<float>(step_ + 1)));
  in.push_back(mx::array(static_cast<float>(learning_rate)));
  in.insert(in.end(), {batch.tokens, batch.segments, batch.weights});
  if (config_.lora.dropout > 0) in.push_back(mx::random::key(config_.seed * 1000003ULL + static_cast<uint64_t>(step_)));

  std::vector<mx::array> out = step_fn_(in);
  mx::eval(out);  // the one evaluation of the step: params, m, v, loss, Σw, tokens, grad norm
  double wsum = out[3 * P + 1].item<float>();
  lora_.params.assign(out.begin(), out.begin() + P);
  m_.assign(out.begin() + P, out.begin() + 2 * P);
  v_.assign(out.begin() + 2 * P, out.begin() + 3 * P);
  step_++;
  return {step_, out[3 * P].item<float>(), wsum, out[3 * P + 3].item<float>(),
          static_cast<int64_t>(out[3 * P + 2].item<float>())};
}

void Engine::save_optimizer(const std::string& file) const {
  std::unordered_map<std::string, mx::array> arrays;
  for (size_t i = 0; i < lora_.names.size(); i++) {
    arrays.insert_or_assign("m." + lora_.names[i], m_[i]);
    arrays.insert_or_assign("v." + lora_.names[i], v_[i]);
  }
  arrays.insert_or_assign("step", mx::array(static_cast<int64_t>(step_)));
  save_safetensors_atomic(file, arrays);
}

void Engine::load_optimizer(const std::string& file) {
  if (!std::filesystem::exists(file)) throw std::runtime_error("optimizer state not found: " + file);
  auto loaded = mx::load_safetensors(file).first;
  auto get = [&](const std::string& name, const mx::Shape& shape) {
    auto it = loaded.find(name);
    if (it == loaded.end()) throw std::runtime_error(file + ": missing tensor " + name);
    if (it->second.shape() != shape) throw std::runtime_error(file + ": shape mismatch for tensor " + name);
    return mx::astype(it->second, mx::float32);
  };
  std::vector<mx::array> m, v;
  for (size_t i = 0; i < lora_.names.size(); i++) {
    m.push_back(get("m." + lora_.names[i], lora_.params[i].shape()));
    v.push_back(get("v." + lora_.names[i], lora_.params[i].shape()));
  }
  mx::array step = mx::astype(get("step", {}), mx::int64);
  std::vector<mx::array> all = m;
  all.insert(all.end(), v.begin(), v.end());
  all.push_back(step);
  mx::eval(all);
  m_ = m;
  v_ = v;
  step_ = step.item<int64_t>();
}

}  // namespace lorabeam
