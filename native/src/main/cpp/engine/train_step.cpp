// The training step, top to bottom. One optimizer step over k = gradAccumulation micro-batches:
//   for each micro-batch i: sums += ∂(Σ w·CE)/∂params and Σ w·CE      (compiled; evaluated each time)
//   then once: g = sums / N, global-norm clip, AdamW                    (compiled; evaluated once)
// N is the number of trained targets (w > 0) of the whole step, so weights stay absolute: a
// target of weight 3 moves the adapters 3× as much as one of weight 1 whatever its batch-mates.
// Peak memory is one micro-batch's graph plus LoRA-sized sums, not k graphs.
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

std::vector<mx::array> part(const std::vector<mx::array>& v, size_t from, size_t n) {
  return std::vector<mx::array>(v.begin() + from, v.begin() + from + n);
}

}  // namespace

// inputs: P params | P zeros | tokens (b, T+1) | segments (b, T) | weights (b, T) | [key (2,)]
// outputs: P ∂(Σ w·CE)/∂params | Σ w·CE   (sums over this micro-batch, not yet divided by N)
std::vector<mx::array> Engine::micro_graph(const std::vector<mx::array>& in) const {
  size_t P = lora_.params.size();
  std::vector<mx::array> params = part(in, 0, P);
  const mx::array &tokens = in[2 * P], &segments = in[2 * P + 1], &weights = in[2 * P + 2];
  std::optional<mx::array> key;
  if (in.size() > 2 * P + 3) key = in[2 * P + 3];
  std::vector<int> argnums(P);
  for (size_t i = 0; i < P; i++) argnums[i] = static_cast<int>(i);
  auto loss_fn = [&](const std::vector<mx::array>& ps) {
    return loss_terms(ps, tokens, segments, weights, key, true);  // [Σ w·CE, Σ w, #(w > 0)]; grad of the first
  };
  auto [values, grads] = mx::value_and_grad(loss_fn, argnums)(params);
  // Each gradient lands on a fresh lazy zero (step() adds it to the running sum outside). Measured on
  // the 2-layer test model, 4 x 256 tokens: this schedule peaks at 30.2 MB; returning the bare
  // gradients peaks at 32.9 MB, adding the evaluated running sums in here at 32.2 MB.
  for (size_t j = 0; j < P; j++) grads[j] = mx::add(in[P + j], grads[j]);
  grads.push_back(values[0]);
  return grads;
}

// inputs: P params | P m | P v | P grad sums | step | lr | Σ w·CE | N (trained targets) | Σ w   (this rank's)
// outputs: P params' | P m' | P v' | loss | grad norm (before clipping) | N | Σ w   (the global step's)
std::vector<mx::array> Engine::apply_graph(const std::vector<mx::array>& in) const {
  size_t P = lora_.params.size();
  const mx::array &step = in[4 * P], &lr = in[4 * P + 1];
  std::vector<mx::array> sums = part(in, 3 * P, P);  // P grad sums, then Σ w·CE, N, Σ w
  sums.insert(sums.end(), {in[4 * P + 2], in[4 * P + 3], in[4 * P + 4]});
  // Data parallel: one all_sum over the ranks, before the division, so every rank divides the same
  // global sums by the same global N and applies the identical update (bytes: 4 × (LoRA size + 3)).
  if (group_) sums = all_sum_flat(sums, *group_);
  const mx::array &wce = sums[P], &n = sums[P + 1], &wsum = sums[P + 2];
  std::vector<mx::array> grads = part(sums, 0, P);
  for (auto& g : grads) g = mx::divide(g, n);  // ∂(Σ w·CE / N)/∂params over the whole step
  mx::array loss = mx::divide(wce, n);

  // Global-norm clipping, as mlx.optimizers.clip_grad_norm.
  mx::array norm_sq(0.0f);
  for (const auto& g : grads) norm_sq = mx::add(norm_sq, mx::sum(mx::square(g)));
  mx::array grad_norm = mx::sqrt(norm_sq);
  if (config_.max_grad_norm > 0) {
    mx::array scale = mx::minimum(mx::divide(mx::array(config_.max_grad_norm), mx::add(grad_norm, mx::array(1e-6f))),
                                  mx::array(1.0f));
    for (auto& g : grads) g = mx::multiply(g, scale);
  }

  std::vector<mx::array> new_p, new_m, new_v;
  for (size_t j = 0; j < P; j++) {
    auto u = adamw(grads[j], in[j], in[P + j], in[2 * P + j], lr, step, config_);
    new_p.push_back(u[0]);
    new_m.push_back(u[1]);
    new_v.push_back(u[2]);
  }
  std::vector<mx::array> out = new_p;
  out.insert(out.end(), new_m.begin(), new_m.end());
  out.insert(out.end(), new_v.begin(), new_v.end());
  out.insert(out.end(), {loss, grad_norm, n, wsum});
  return out;
}

StepOut Engine::step(const Batch& batch, double learning_rate) {
  int k = config_.grad_accumulation;
  if (batch.rows % k != 0) {
    throw std::invalid_argument("batch has " + std::to_string(batch.rows) + " rows, not a multiple of gradAccumulation=" +
                                std::to_string(k));
  }
  if (!std::isfinite(learning_rate)) throw std::invalid_argument("learning rate must be finite");
  if (!group_) batch.require_trained_tokens();  // data parallel: one rank's share may be all padding
  mx::reset_peak_memory();
  size_t P = lora_.params.size();
  int micro = batch.rows / k;
  std::optional<mx::array> keys;  // (k, 2): one dropout key per micro-batch
  if (config_.lora.dropout > 0) {
    // Each rank draws its own masks (rank 0's are a single process's).
    uint64_t seed = config_.seed * 1000003ULL + static_cast<uint64_t>(step_) + (static_cast<uint64_t>(rank()) << 40);
    keys = mx::random::split(mx::random::key(seed), k);
  }

  // 1. Micro-batches, one evaluation each: only one micro-batch's activations are ever alive.
  std::vector<mx::array> sums;  // P grad sums | Σ w·CE
  for (int i = 0; i < k; i++) {
    std::vector<mx::array> in = lora_.params;
    for (const auto& p : lora_.params) in.push_back(mx::zeros_like(p));
    in.insert(in.end(), {rows(batch.tokens, i * micro, (i + 1) * micro), rows(batch.segments, i * micro, (i + 1) * micro),
                         rows(batch.weights, i * micro, (i + 1) * micro)});
    if (keys) in.push_back(mx::take(*keys, i, 0));  // (2,)
    std::vector<mx::array> out = micro_fn_(in);
    if (i > 0) {
      for (size_t j = 0; j < out.size(); j++) out[j] = mx::add(sums[j], out[j]);
    }
    sums = std::move(out);
    mx::eval(sums);
  }

  // 2. The update: normalise by N, clip, AdamW; one evaluation.
  std::vector<mx::array> in = lora_.params;
  in.insert(in.end(), m_.begin(), m_.end());
  in.insert(in.end(), v_.begin(), v_.end());
  in.insert(in.end(), sums.begin(), sums.begin() + P);
  in.insert(in.end(), {mx::array(static_cast<float>(step_ + 1)), mx::array(static_cast<float>(learning_rate)), sums[P],
                       mx::array(static_cast<float>(batch.trained_tokens)),
                       mx::array(static_cast<float>(batch.weight_sum))});
  std::vector<mx::array> out = apply_fn_(in);
  mx::eval(out);
  // Single process: the host's exact N and Σ w; data parallel: the all-summed float32 ones (exact to 2^24).
  int64_t global_n = group_ ? static_cast<int64_t>(out[3 * P + 2].item<float>()) : batch.trained_tokens;
  double global_wsum = group_ ? out[3 * P + 3].item<float>() : batch.weight_sum;
  if (global_n <= 0) throw std::invalid_argument("no rank's batch has a trained token: every loss weight is 0");
  lora_.params.assign(out.begin(), out.begin() + P);
  m_.assign(out.begin() + P, out.begin() + 2 * P);
  v_.assign(out.begin() + 2 * P, out.begin() + 3 * P);
  step_++;
  return {step_, out[3 * P].item<float>(), global_wsum, out[3 * P + 1].item<float>(), global_n,
          static_cast<int64_t>(mx::get_peak_memory())};
}

std::vector<float> Engine::first_moment() const {
  std::vector<float> out;
  for (const auto& m : m_) {
    mx::array c = mx::flatten(m);
    mx::eval(c);
    out.insert(out.end(), c.data<float>(), c.data<float>() + c.size());
  }
  return out;
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
