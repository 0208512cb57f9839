/*
 * lorabeam.h — the C ABI between the JVM and the MLX engine.
 *
 * Conventions (mlx-c / JavaCPP style):
 *  - functions return 0 on success and -1 on failure; the failure's message is then
 *    available from lb_last_error() on the same thread until the next failing call;
 *  - no C++ exception ever leaves a function declared here;
 *  - memory sizes are bytes, as int64_t;
 *  - objects are opaque handles with a _new/_free pair (see lorabeam_engine.h).
 */
#ifndef LORABEAM_H
#define LORABEAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LB_API __declspec(dllexport)
#else
#define LB_API __attribute__((visibility("default")))
#endif

/* Message of the last failure on this thread ("" when none). Valid until the next call. */
LB_API const char* lb_last_error(void);

/* MLX's version string, e.g. "0.32.4". */
LB_API const char* lb_mlx_version(void);

/* Default device and what MLX knows of it, as one JSON object. NULL on failure. */
LB_API const char* lb_device_info_json(void);

/* out(m,n) = a(m,k) · b(kb,n) in float32 on the default device. kb != k fails with MLX's message. */
LB_API int lb_matmul_f32(const float* a, int m, int k, const float* b, int kb, int n, float* out);

/* Times `iters` float32 n×n matrix products after one warm-up; writes GFLOP/s. */
LB_API int lb_gemm_gflops(int n, int iters, double* gflops);

/* One exp-based op over x (rows, cols) float32 on the CPU device, by the engine's own kernel (fast = 1)
 * or MLX's op (fast = 0), for tests that compare the two. op: "exp", "sigmoid", "softmax",
 * "causal_softmax" (row i sees columns j <= i + cols - rows) or "logsumexp". Writes the op's output
 * (rows·cols floats; rows for logsumexp) to out and, unless grad is NULL, the VJP of Σ cotangent ⊙ out
 * (cotangent shaped like out) to grad (rows·cols). "exp" has no VJP here. */
LB_API int lb_cpu_kernel(const char* op, int fast, const float* x, int rows, int cols, const float* cotangent,
                         float* out, float* grad);

/* MLX memory statistics and limits. Getters return -1 on failure. */
LB_API int64_t lb_active_memory(void);
LB_API int64_t lb_peak_memory(void);
LB_API int64_t lb_cache_memory(void);
LB_API int lb_reset_peak_memory(void);
LB_API int lb_clear_cache(void);
/* Each setter writes the previous limit into *previous. */
LB_API int lb_set_memory_limit(int64_t limit, int64_t* previous);
LB_API int64_t lb_get_memory_limit(void);
LB_API int lb_set_cache_limit(int64_t limit, int64_t* previous);

/* Test hook: the nth write() of the engine's file writers from now on fails with errno err_number
 * (28 = ENOSPC, a full disk), as ::write would; nth = 0 turns it off. Fires once. */
LB_API int lb_fault_fail_write(int64_t nth, int err_number);

#ifdef __cplusplus
}
#endif

#endif /* LORABEAM_H */
