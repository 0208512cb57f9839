// Chunked LM head + cross-entropy (see head_loss.h).
#include "engine/head_loss.h"

#include <algorithm>

#include "engine/cpu_ops.h"

namespace lorabeam {

namespace {

mx::array first_axis(const mx::array& a, int from, int to) {  // (N, ...) -> (to - from, ...)
  mx::Shape start(a.ndim(), 0), stop = a.shape();
  start[0] = from;
  stop[0] = to;
  return mx::slice(a, start, stop);
}

// One chunk's logits (C, V) float32 and targets (C,) -> log-sum-exp (C, 1) and target logit (C, 1).
std::pair<mx::array, mx::array> lse_and_picked(const mx::array& logits, const mx::array& targets, bool cpu_lse) {
  mx::array lse = cpu_lse ? fast_logsumexp(logits) : mx::logsumexp(logits, -1, true);  // (C, 1)
  mx::array picked = mx::take_along_axis(logits, mx::expand_dims(targets, -1), -1);  // (C, 1)
  return {lse, picked};
}

// w·(exp(logits − lse) − onehot(targets)) by MLX's ops: logits (C, V), lse/targets/w (C, 1).
mx::array xent_grad(const mx::array& logits, const mx::array& lse, const mx::array& tc, const mx::array& wc) {
  mx::array probs = mx::exp(mx::subtract(logits, lse));  // (C, V) softmax
  mx::array picked = mx::subtract(mx::take_along_axis(probs, tc, -1), mx::array(1.0f));  // (C, 1)
  return mx::multiply(mx::put_along_axis(probs, tc, picked, -1), wc);                  // softmax − onehot, × w
}

}  // namespace

int head_chunk_rows(int vocab, int n) {
  int by_memory = (1 << 24) / std::max(vocab, 1);  // 64 MB of float32 logits per chunk
  int quarter = (n + 3) / 4;                        // ≥ 4 chunks: small batches (and the tests) cross chunk edges too
  return std::min(n, std::max(16, std::min(by_memory, quarter)));
}

mx::array head_cross_entropy(const Model& m, const mx::array& h, const mx::array& targets, bool cpu_lse) {
  int B = h.shape(0), T = h.shape(1), D = h.shape(2), N = B * T;
  mx::array hf = mx::reshape(h, {N, D});
  mx::array tf = mx::reshape(targets, {N});
  int C = head_chunk_rows(m.args.vocab_size, N);
  std::vector<mx::array> parts;  // (C,) each
  for (int from = 0; from < N; from += C) {
    int to = std::min(N, from + C);
    auto [lse, picked] = lse_and_picked(head_logits(m, first_axis(hf, from, to)), first_axis(tf, from, to), cpu_lse);
    parts.push_back(mx::squeeze(mx::subtract(lse, picked), -1));
  }
  return mx::reshape(mx::concatenate(parts, 0), {B, T});
}

mx::array head_weighted_loss(const Model& m, const mx::array& h, const mx::array& targets, const mx::array& weights,
                             bool cpu_lse) {
  int B = h.shape(0), T = h.shape(1), D = h.shape(2), N = B * T;
  int C = head_chunk_rows(m.args.vocab_size, N);
  auto forward = [&m, B, T, D, N, C, cpu_lse](const std::vector<mx::array>& p) {  // p: h, targets, weights
    mx::array hf = mx::reshape(p[0], {N, D}), tf = mx::reshape(p[1], {N}), wf = mx::reshape(p[2], {N});
    mx::array loss(0.0f);
    std::vector<mx::array> grads;  // (C, D) each
    for (int from = 0; from < N; from += C) {
      int to = std::min(N, from + C);
      mx::array hc = first_axis(hf, from, to);  // (C, D)
      // The next chunk starts only after this one is done, so one chunk's logits are alive at a time.
      if (!grads.empty()) hc = mx::depends({hc}, {grads.back(), loss})[0];
      mx::array tc = mx::expand_dims(first_axis(tf, from, to), -1), wc = mx::expand_dims(first_axis(wf, from, to), -1);
      mx::array logits = head_logits(m, hc);                                     // (C, V) float32
      auto [lse, picked] = lse_and_picked(logits, mx::squeeze(tc, -1), cpu_lse);  // (C, 1) each
      loss = mx::add(loss, mx::sum(mx::multiply(mx::subtract(lse, picked), wc)));
      // ∂(Σ w·CE)/∂logits = w·(softmax − onehot): one pass of cpu_ops.h's kernel, or MLX's ops.
      bool fast = cpu_lse && cpu_kernels_apply(logits);
      mx::array dlogits = fast ? fast_xent_grad(logits, lse, tc, wc) : xent_grad(logits, lse, tc, wc);
      dlogits = mx::astype(dlogits, p[0].dtype());                               // (C, V)
      grads.push_back(head_input_grad(m, dlogits));                              // (C, D)
    }
    return std::vector<mx::array>{loss, mx::reshape(mx::concatenate(grads, 0), {B, T, D})};
  };
  auto backward = [](const std::vector<mx::array>& p, const std::vector<mx::array>& cotangents,
                     const std::vector<mx::array>& outputs) {
    mx::array dh = mx::multiply(outputs[1], mx::astype(cotangents[0], outputs[1].dtype()));  // (B, T, D)
    return std::vector<mx::array>{dh, mx::zeros_like(p[1]), mx::zeros_like(p[2])};
  };
  return mx::custom_vjp(forward, backward)({h, targets, weights})[0];
}

}  // namespace lorabeam
