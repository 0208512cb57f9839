// Developer tool for mlx-lm interop checks.
//   adapters_tool save <model dir> <adapter dir>   random non-zero adapters -> mlx-lm format; prints the loss
//   adapters_tool load <model dir> <adapter dir>   loads (e.g. mlx-lm-written) adapters; prints the loss
//   adapters_tool base <model dir> -               the base model's loss (fresh adapters, B = 0)
// The loss is over one fixed row: tokens (i * 7 + 3) % 256, T = 16, every target trained.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "lorabeam_engine.h"

int main(int argc, char** argv) {
  if (argc < 4) return std::printf("usage: adapters_tool save|load <model dir> <adapter dir>\n"), 2;
  std::string mode = argv[1];
  std::string cfg = std::string("{\"model\":\"") + argv[2] + "\",\"loraLayers\":-1,\"loraRank\":4,\"loraScale\":10}";
  lb_engine* e = lb_engine_new(cfg.c_str());
  if (!e) return std::printf("%s\n", lb_last_error()), 1;
  if (mode == "save") {
    std::vector<float> v(lb_engine_lora_size(e));
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (auto& x : v) x = normal(rng);
    lb_engine_lora_set(e, v.data());
    if (lb_engine_save_adapters(e, argv[3])) return std::printf("%s\n", lb_last_error()), 1;
  } else if (mode == "load" && lb_engine_load_adapters(e, argv[3])) {
    return std::printf("%s\n", lb_last_error()), 1;
  }
  int T = 16;
  std::vector<int32_t> tok(T + 1), seg(T, 1);
  std::vector<float> w(T, 1.0f);
  for (int i = 0; i <= T; i++) tok[i] = (i * 7 + 3) % 256;
  double out[3];
  if (lb_engine_eval_loss(e, 1, T, tok.data(), seg.data(), w.data(), out)) return std::printf("%s\n", lb_last_error()), 1;
  std::printf("loss %.7f\n", out[0]);
  lb_engine_free(e);
}
