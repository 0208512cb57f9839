// Developer tool: does mx::compile of the training step pay on this machine?
// Writes a small random Llama (hidden 256, 4 layers, vocab 2048), then alternates engines with
// compile on/off and prints the first step's time (tracing + JIT) and steady steps/s.
// Usage: compile_bench <tmp dir> [T] [B] [steps] [rounds]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "lorabeam_engine.h"
#include "mlx/mlx.h"

namespace mx = mlx::core;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static void write_model(const std::string& dir, int V, int D, int L, int F) {
  std::filesystem::create_directories(dir);
  std::unordered_map<std::string, mx::array> w;
  auto n = [](mx::Shape s) { return mx::multiply(mx::random::normal(s), mx::array(0.02f)); };
  w.insert_or_assign("model.embed_tokens.weight", n({V, D}));
  w.insert_or_assign("model.norm.weight", mx::ones({D}));
  for (int l = 0; l < L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    for (const char* k : {"self_attn.q_proj", "self_attn.o_proj"}) w.insert_or_assign(p + k + ".weight", n({D, D}));
    for (const char* k : {"self_attn.k_proj", "self_attn.v_proj"}) w.insert_or_assign(p + k + ".weight", n({D / 2, D}));
    for (const char* k : {"mlp.gate_proj", "mlp.up_proj"}) w.insert_or_assign(p + k + ".weight", n({F, D}));
    w.insert_or_assign(p + "mlp.down_proj.weight", n({D, F}));
    w.insert_or_assign(p + "input_layernorm.weight", mx::ones({D}));
    w.insert_or_assign(p + "post_attention_layernorm.weight", mx::ones({D}));
  }
  mx::save_safetensors(dir + "/model.safetensors", w);
  FILE* f = std::fopen((dir + "/config.json").c_str(), "w");
  std::fprintf(f, "{\"model_type\":\"llama\",\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":8,"
                  "\"num_key_value_heads\":4,\"intermediate_size\":%d,\"vocab_size\":%d,\"tie_word_embeddings\":true}",
               D, L, F, V);
  std::fclose(f);
}

int main(int argc, char** argv) {
  std::string dir = std::string(argv[1]) + "/bench_model";
  int T = argc > 2 ? std::atoi(argv[2]) : 128, B = argc > 3 ? std::atoi(argv[3]) : 4;
  int steps = argc > 4 ? std::atoi(argv[4]) : 20, rounds = argc > 5 ? std::atoi(argv[5]) : 2;
  write_model(dir, 2048, 256, 4, 768);
  std::vector<int32_t> tok(B * (T + 1)), seg(B * T, 1);
  std::vector<float> w(B * T, 1.0f);
  for (size_t i = 0; i < tok.size(); i++) tok[i] = static_cast<int32_t>((i * 31 + 7) % 2048);
  for (int r = 0; r < rounds; r++) {
    for (const char* compile : {"true", "false"}) {
      std::string cfg = "{\"model\":\"" + dir + "\",\"loraLayers\":-1,\"compile\":" + compile + "}";
      lb_engine* e = lb_engine_new(cfg.c_str());
      if (!e) return std::printf("%s\n", lb_last_error()), 1;
      double out[6], t0 = now();
      lb_engine_step(e, B, T, tok.data(), seg.data(), w.data(), 1e-4, out);
      double first = now() - t0;
      t0 = now();
      for (int s = 1; s < steps; s++) lb_engine_step(e, B, T, tok.data(), seg.data(), w.data(), 1e-4, out);
      double rate = (steps - 1) / (now() - t0);
      std::printf("compile=%-5s first step %.2fs, then %.2f steps/s (%.0f tokens/s), loss %.4f\n", compile, first, rate,
                  rate * B * T, out[1]);
      lb_engine_free(e);
    }
  }
}
