// MLX distributed glue: the group, the one-message all-reduce of the update, and lb_distributed_*.
#include "engine/distributed.h"

#include <cstring>
#include <stdexcept>

#include "errors.h"
#include "lorabeam_distributed.h"
#include "mlx/distributed/ops.h"

namespace lorabeam {

namespace {

std::optional<mx::distributed::Group> joined;  // the group lb_distributed_all_gather talks over

const std::vector<std::string> kBackends = {"ring", "mpi", "jaccl", "nccl", "any"};

void require_known(const std::string& backend) {
  for (const auto& b : kBackends) {
    if (b == backend) return;
  }
  throw std::invalid_argument("distributed backend must be off, ring, mpi, jaccl, nccl or any, got \"" + backend +
                              "\"");
}

}  // namespace

mx::distributed::Group join_group(const std::string& backend) {
  require_known(backend);
  if (!mx::distributed::is_available(backend)) {
    throw std::runtime_error("distributed backend \"" + backend + "\" is not in this MLX build (lorabeam doctor lists "
                             "the ones it has; ring is in every Linux and macOS build)");
  }
  joined = mx::distributed::init(true, backend);
  return *joined;
}

const mx::distributed::Group& joined_group() {
  if (!joined) throw std::logic_error("lb_distributed_init was not called: there is no group to gather over");
  return *joined;
}

std::optional<mx::distributed::Group> training_group(const std::string& backend) {
  if (backend.empty() || backend == "off") return std::nullopt;
  mx::distributed::Group g = join_group(backend);
  if (g.size() == 1) return std::nullopt;
  return g;
}

std::vector<mx::array> all_sum_flat(const std::vector<mx::array>& arrays, const mx::distributed::Group& group) {
  std::vector<mx::array> flat;
  for (const auto& a : arrays) flat.push_back(mx::flatten(mx::astype(a, mx::float32)));
  mx::array summed = mx::distributed::all_sum(mx::concatenate(flat, 0), group);  // (Σ sizes,)
  std::vector<mx::array> out;
  int offset = 0;
  for (const auto& a : arrays) {
    int n = static_cast<int>(a.size());
    out.push_back(mx::reshape(mx::slice(summed, {offset}, {offset + n}), a.shape()));
    offset += n;
  }
  return out;
}

}  // namespace lorabeam

using lorabeam::guarded;

extern "C" {

int lb_distributed_is_available(const char* backend) {
  int out = -1;
  guarded([&] {
    std::string bk = backend ? backend : "";
    out = mlx::core::distributed::is_available(bk) ? 1 : 0;
  });
  return out;
}

int lb_distributed_init(const char* backend, int* out) {
  return guarded([&] {
    if (!out) throw std::invalid_argument("distributed init output buffer is null");
    mlx::core::distributed::Group g = lorabeam::join_group(backend ? backend : "");
    out[0] = g.rank();
    out[1] = g.size();
  });
}

int lb_distributed_all_gather(const int64_t* mine, int n, int64_t* out) {
  return guarded([&] {
    if (!mine || !out || n < 1) throw std::invalid_argument("all-gather needs n >= 1 values and an output buffer");
    const mlx::core::distributed::Group& g = lorabeam::joined_group();
    mlx::core::array rows = mlx::core::distributed::all_gather(mlx::core::array(mine, {1, n}, mlx::core::int64), g);
    mlx::core::eval(rows);  // (size, n)
    std::memcpy(out, rows.data<int64_t>(), sizeof(int64_t) * static_cast<size_t>(n) * g.size());
  });
}

}  // extern "C"
