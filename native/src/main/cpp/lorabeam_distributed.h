/*
 * lorabeam_distributed.h — data-parallel training across processes and hosts (MLX distributed).
 *
 * One process per rank, started by mlx.launch (or with the environment it sets: MLX_RANK,
 * MLX_HOSTFILE, MLX_WORLD_SIZE, ...). lb_distributed_init joins the group once per process; an
 * engine opened afterwards with "distributed" set to the same backend all-sums its gradients,
 * Σ w·CE, Σ w and N inside its compiled update, so every rank applies the identical step.
 * Conventions (return codes, lb_last_error): see lorabeam.h.
 */
#ifndef LORABEAM_DISTRIBUTED_H
#define LORABEAM_DISTRIBUTED_H

#include <stdint.h>

#include "lorabeam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this MLX build has the backend ("ring", "mpi", "jaccl", "nccl", "any"), else 0; -1 on error. */
LB_API int lb_distributed_is_available(const char* backend);
/* Joins the group of backend (strict: fails with the backend's reason instead of falling back to a
 * world of one). out[2] = rank, size. Calling it again returns the same group. */
LB_API int lb_distributed_init(const char* backend, int* out);
/* All-gather of n int64 values per rank over the group lb_distributed_init joined: out receives
 * size x n values, rank r's in row r. Every rank must call it with the same n. */
LB_API int lb_distributed_all_gather(const int64_t* mine, int n, int64_t* out);

#ifdef __cplusplus
}
#endif

#endif /* LORABEAM_DISTRIBUTED_H */
