// Developer tool: exercises the engine's C ABI on the demo GGUF and a tiny random Llama.
// Usage: engine_smoke <demo.gguf> <tmp dir> [T] [compile true|false] [steps] [learning rate]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "lorabeam_engine.h"
#include "mlx/mlx.h"

namespace mx = mlx::core;

static void check(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "%s failed: %s\n", what, lb_last_error());
    std::exit(1);
  }
}

static void write_tiny_llama(const std::string& dir) {
  std::filesystem::create_directories(dir);
  int V = 256, D = 64, L = 2, H = 4, KV = 2, hd = 16, F = 128;
  std::unordered_map<std::string, mx::array> w;
  auto n = [](mx::Shape s) { return mx::multiply(mx::random::normal(s), mx::array(0.05f)); };
  w.insert_or_assign("model.embed_tokens.weight", n({V, D}));
  w.insert_or_assign("model.norm.weight", mx::ones({D}));
  w.insert_or_assign("lm_head.weight", n({V, D}));
  for (int l = 0; l < L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    w.insert_or_assign(p + "self_attn.q_proj.weight", n({H * hd, D}));
    w.insert_or_assign(p + "self_attn.k_proj.weight", n({KV * hd, D}));
    w.insert_or_assign(p + "self_attn.v_proj.weight", n({KV * hd, D}));
    w.insert_or_assign(p + "self_attn.o_proj.weight", n({D, H * hd}));
    w.insert_or_assign(p + "mlp.gate_proj.weight", n({F, D}));
    w.insert_or_assign(p + "mlp.up_proj.weight", n({F, D}));
    w.insert_or_assign(p + "mlp.down_proj.weight", n({D, F}));
    w.insert_or_assign(p + "input_layernorm.weight", mx::ones({D}));
    w.insert_or_assign(p + "post_attention_layernorm.weight", mx::ones({D}));
  }
  mx::save_safetensors(dir + "/model.safetensors", w);
  FILE* f = std::fopen((dir + "/config.json").c_str(), "w");
  std::fprintf(f, "{\"model_type\":\"llama\",\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                  "\"num_key_value_heads\":2,\"intermediate_size\":128,\"vocab_size\":256,\"rms_norm_eps\":1e-5}");
  std::fclose(f);
}

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double lr = 1e-3;

static void train(lb_engine* e, int B, int T, int vocab, int steps, const char* label) {
  std::vector<int32_t> tok(B * (T + 1)), seg(B * T, 1);
  std::vector<float> w(B * T, 1.0f);
  for (size_t i = 0; i < tok.size(); i++) tok[i] = static_cast<int32_t>((i * 7 + 3) % vocab);
  double out[6];
  double t0 = now();
  lb_reset_peak_memory();
  for (int s = 0; s < steps; s++) {
    check(lb_engine_step(e, B, T, tok.data(), seg.data(), w.data(), lr, out), "step");
    if (s == 0) t0 = now();
    if (s % 10 == 0 || s == steps - 1) {
      std::printf("%s step %.0f loss %.5f gnorm %.4f active %.2f MB\n", label, out[0], out[1], out[4],
                  lb_active_memory() / 1e6);
    }
  }
  std::printf("%s: %.2f steps/s (after the first), peak memory %.1f MB\n", label, (steps - 1) / (now() - t0),
              lb_peak_memory() / 1e6);
}

int main(int argc, char** argv) {
  std::string gguf = argv[1], tmp = argv[2];
  int T = argc > 3 ? std::atoi(argv[3]) : 64;
  std::string compile = argc > 4 ? argv[4] : "true";
  int steps = argc > 5 ? std::atoi(argv[5]) : 6;
  if (argc > 6) lr = std::atof(argv[6]);
  int64_t before = lb_active_memory();
  const char* extra = std::getenv("LB_EXTRA");  // e.g. ,"gradCheckpoint":true
  std::string cfg = "{\"model\":\"" + gguf + "\",\"loraLayers\":-1,\"loraRank\":8,\"compile\":" + compile +
                    (extra ? extra : "") + "}";
  lb_engine* e = lb_engine_new(cfg.c_str());
  if (!e) return std::printf("open failed: %s\n", lb_last_error()), 1;
  int64_t info[8];
  check(lb_engine_model_info(e, info), "info");
  std::printf("gguf: vocab %ld layers %ld hidden %ld params %ld trainable %ld\n", info[0], info[1], info[2], info[6], info[7]);
  int32_t prompt[] = {504, 3575, 282, 4649, 314};  // "The capital of France is"
  int32_t gen[16];
  int n = 0;
  double t0 = now();
  check(lb_engine_generate(e, prompt, 5, 8, 0.0, 1.0, 0, nullptr, 0, gen, &n), "generate");
  std::printf("generated (%.2fs):", now() - t0);
  for (int i = 0; i < n; i++) std::printf(" %d", gen[i]);
  std::printf("  (7042 = \" Paris\")\n");
  train(e, 1, T, 49152, steps, "gguf");
  lb_engine_free(e);
  std::printf("active before %ld after %ld\n", before, lb_active_memory());

  write_tiny_llama(tmp + "/tiny");
  cfg = "{\"model\":\"" + tmp + "/tiny\",\"loraLayers\":-1,\"compile\":" + compile + "}";
  e = lb_engine_new(cfg.c_str());
  if (!e) return std::printf("open failed: %s\n", lb_last_error()), 1;
  train(e, 4, 32, 256, 60, "tiny");
  lb_engine_free(e);
  return 0;
}
