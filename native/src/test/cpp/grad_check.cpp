// Developer tool: the training step's LoRA gradient vs central finite differences per parameter group
// on a tiny model written by engine_smoke (usage: grad_check <tiny model dir> [scale] [segmented]).
// Both sides go through lb_engine_step at learning rate 0 (parameters unchanged): the loss is the step's
// Σ w·CE / N and, with adamBeta1 = 0, AdamW's first moment is the step's gradient.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "lorabeam_engine.h"

int main(int argc, char** argv) {
  std::string cfg = std::string("{\"model\":\"") + argv[1] + "\",\"loraLayers\":-1,\"loraRank\":4,\"adamBeta1\":0,\"weightDecay\":0}";
  double scale = argc > 2 ? std::atof(argv[2]) : 0.05;
  lb_engine* e = lb_engine_new(cfg.c_str());
  if (!e) return std::printf("%s\n", lb_last_error()), 1;
  int64_t n = lb_engine_lora_size(e);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> theta(n);
  for (auto& t : theta) t = normal(rng) * scale;
  lb_engine_lora_set(e, theta.data());
  int B = 2, T = 16;
  std::vector<int32_t> tok(B * (T + 1)), seg(B * T, 1);
  std::vector<float> w(B * T, 1.0f);
  for (auto& t : tok) t = rng() % 256;
  bool segmented = argc > 3;
  for (int i = 0; segmented && i < T; i++) {
    seg[i] = i < 7 ? 1 : i < 13 ? 2 : 0;
    w[i] = seg[i] == 0 || i == 6 ? 0.0f : 1.0f;
  }
  auto step_loss = [&] {
    double out[6];
    lb_engine_step(e, B, T, tok.data(), seg.data(), w.data(), 0.0, out);
    return out[1];
  };
  std::vector<float> g(n);
  step_loss();
  if (lb_engine_first_moment(e, g.data())) return std::printf("%s\n", lb_last_error()), 1;
  auto at = [&](int64_t i, float delta) {
    std::vector<float> th = theta;
    th[i] += delta;
    lb_engine_lora_set(e, th.data());
    return step_loss();
  };
  double gn = 0;
  for (float x : g) gn += double(x) * x;
  gn = std::sqrt(gn);
  auto along = [&](double eps) {
    std::vector<float> th(n);
    for (int64_t i = 0; i < n; i++) th[i] = theta[i] + eps * g[i] / gn;
    lb_engine_lora_set(e, th.data());
    return step_loss();
  };
  for (double eps : {4e-2, 2e-2, 1e-2, 5e-3, 2e-3}) {
    std::printf("direction g: eps %g analytic %.6f central %.6f\n", eps, gn, (along(eps) - along(-eps)) / (2 * eps));
  }
  // largest-gradient coordinates in the first few groups
  for (int64_t i : {0L, 1L, 100L, 257L, 1000L, 3000L, n - 1, n / 2}) {
    for (float eps : {1e-2f, 1e-3f}) {
      double fd = (at(i, eps) - at(i, -eps)) / (2 * eps);
      std::printf("i=%ld eps=%g analytic %.6f fd %.6f\n", i, eps, g[i], fd);
    }
  }
  lb_engine_free(e);
}
