/*
 * lorabeam_engine.h — the training engine's C ABI (conventions: see lorabeam.h).
 *
 * An lb_engine owns one model, its LoRA adapters and AdamW state. Batches cross as flat arrays:
 *   tokens   int32  rows x (seq_len + 1)   inputs = tokens[:, :-1], targets = tokens[:, 1:]
 *   segments int32  rows x seq_len         1-based document id per input position, 0 = padding
 *   weights  float  rows x seq_len         loss weight of each target, 0 = not trained
 * Attention is causal within a segment. A step's loss is sum(w * CE) / N, N = number of targets with
 * w > 0 in the whole step, so weights are absolute (a weight-3 target counts 3x whatever its batch).
 * One call per optimizer step; inside it the engine evaluates each of the gradAccumulation
 * micro-batches once (gradients accumulated between them), then the update once.
 */
#ifndef LORABEAM_ENGINE_H
#define LORABEAM_ENGINE_H

#include <stdint.h>

#include "lorabeam.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lb_engine lb_engine;

/* Opens an engine from a JSON config whose keys are dev.lorabeam.engine.EngineConfig's components:
 * model, computeDtype, quantizeBits, loraRank, loraScale, loraDropout, loraLayers, targetModules (array),
 * adamBeta1, adamBeta2, adamEps, weightDecay, biasCorrection, maxGradNorm, gradAccumulation,
 * gradCheckpoint, seed, and optionally compile (default true) and distributed ("off" by default; a backend
 * joined with lb_distributed_init makes the update all-sum over the ranks, see lorabeam_distributed.h).
 * NULL on failure (see lb_last_error). */
LB_API lb_engine* lb_engine_new(const char* config_json);
/* Frees every array the engine holds. NULL is ignored. */
LB_API void lb_engine_free(lb_engine* engine);

/* ints: vocab, layers, hidden, heads, kv_heads, head_dim, total_params, trainable_params (8 values). */
LB_API int lb_engine_model_info(lb_engine* engine, int64_t* ints);
/* "llama", "mistral", "qwen2"; and the base quantization ("none", "q4_g64", "gguf", ...). */
LB_API const char* lb_engine_architecture(lb_engine* engine);
LB_API const char* lb_engine_quantization(lb_engine* engine);

/* One AdamW step over rows = gradAccumulation x micro-batch rows. out[6] = step, loss (sum(w * CE) / N, before
 * the update), weight_sum, trained_tokens N, grad_norm (before clipping), MLX peak memory of the step in bytes
 * (the peak is reset when the step starts). */
LB_API int lb_engine_step(lb_engine* engine, int rows, int seq_len, const int32_t* tokens, const int32_t* segments,
                          const float* weights, double learning_rate, double* out);
/* Plain cross-entropy averaged over the targets with w > 0 (weights count as 0/1), without gradients.
 * out[3] = loss, weight_sum, trained_tokens. */
LB_API int lb_engine_eval_loss(lb_engine* engine, int rows, int seq_len, const int32_t* tokens,
                               const int32_t* segments, const float* weights, double* out);
/* Per-position cross-entropy (rows x seq_len), 0 where the weight is 0. */
LB_API int lb_engine_token_losses(lb_engine* engine, int rows, int seq_len, const int32_t* tokens,
                                  const int32_t* segments, const float* weights, float* out);

/* Checkpoint files, each written atomically (temp file + rename). */
LB_API int lb_engine_save_adapters(lb_engine* engine, const char* dir);
LB_API int lb_engine_load_adapters(lb_engine* engine, const char* dir);
LB_API int lb_engine_save_optimizer(lb_engine* engine, const char* file);
LB_API int lb_engine_load_optimizer(lb_engine* engine, const char* file);

/* Generates up to max_tokens after the prompt (temperature 0 = greedy), stopping after any stop token.
 * out must hold max_tokens ids; *out_len receives the count. */
LB_API int lb_engine_generate(lb_engine* engine, const int32_t* prompt, int prompt_len, int max_tokens,
                              double temperature, double top_p, int64_t seed, const int32_t* stop, int stop_len,
                              int32_t* out, int* out_len);

/* Test hooks. LoRA parameters flattened in file order (a then b, per layer and key). */
LB_API int64_t lb_engine_lora_size(lb_engine* engine);
LB_API int lb_engine_lora_get(lb_engine* engine, float* out);
LB_API int lb_engine_lora_set(lb_engine* engine, const float* values);
/* AdamW's first moment m, flattened like the LoRA parameters. With adamBeta1 = 0 it equals the gradient
 * the last step applied (after normalisation and clipping), computed by the compiled step itself. */
LB_API int lb_engine_first_moment(lb_engine* engine, float* out);

#ifdef __cplusplus
}
#endif

#endif /* LORABEAM_ENGINE_H */
