/*
 * lorabeam_fuse.h — fusing LoRA adapters into a model and exporting it (conventions: see lorabeam.h).
 */
#ifndef LORABEAM_FUSE_H
#define LORABEAM_FUSE_H

#include "lorabeam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fuses and writes the model described by a JSON config: model, adapters ("" = none), output (directory),
 * dtype (float32 | float16 | bfloat16), dequantize, quantizeBits (0 | 4 | 8), shardBytes, gguf ("" = none),
 * ggufMetadata (a JSON string of typed GGUF keys, see fuse_write.cpp). Writes model.safetensors (or shards +
 * model.safetensors.index.json) into output and the GGUF file; returns a JSON report (hyper-parameters under
 * config.json names, quantization, files, bytes) valid until the next call on this thread, or NULL on
 * failure (see lb_last_error). */
LB_API const char* lb_fuse(const char* config_json);

#ifdef __cplusplus
}
#endif

#endif /* LORABEAM_FUSE_H */
