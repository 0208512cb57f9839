// Files the engine writes (adapters, optimizer state, adapter_config.json, fused weights). A failed
// write (a full disk: ENOSPC) throws one message naming the file, errno, the bytes written and
// needed and the bytes free, and leaves no partial file behind; MLX's own FileWriter only says
// "Unable to write N bytes to file".
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "mlx/mlx.h"

namespace lorabeam {

namespace mx = mlx::core;

// Writes arrays to `file` as safetensors through a writer that reports errno; on failure the file
// is removed and the exception names it.
void save_safetensors_checked(const std::string& file, const std::unordered_map<std::string, mx::array>& arrays,
                              const std::unordered_map<std::string, std::string>& metadata);

// Writes `bytes` to `file` (created or truncated) with the same checks.
void write_file_checked(const std::string& file, const std::string& bytes);

// Test hook (lb_fault_fail_write): the nth write() from now on fails as if ::write had set errno
// `err` (28 = ENOSPC); n = 0 turns it off. Counts every write of every checked file, process-wide.
void fail_nth_write(int64_t nth, int err);

}  // namespace lorabeam
