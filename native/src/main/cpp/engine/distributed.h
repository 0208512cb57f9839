// The process's MLX distributed group, shared by lb_distributed_* and every engine of the process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mlx/distributed/distributed.h"
#include "mlx/mlx.h"

namespace lorabeam {

namespace mx = mlx::core;

// Joins backend's group ("ring", "mpi", "jaccl", "nccl" or "any"), strictly: a backend that cannot
// start throws with MLX's reason. MLX caches the group, so later calls return the same one.
mx::distributed::Group join_group(const std::string& backend);

// The group join_group joined last; throws when none was.
const mx::distributed::Group& joined_group();

// The group an engine all-reduces over: none for "off" or a world of one.
std::optional<mx::distributed::Group> training_group(const std::string& backend);

// Concatenates the flattened float32 arrays, all_sums them over group in one collective and splits
// them back into their shapes: one message per step instead of one per tensor (latency-bound links).
std::vector<mx::array> all_sum_flat(const std::vector<mx::array>& arrays, const mx::distributed::Group& group);

}  // namespace lorabeam
