// extern "C" body of lorabeam_fuse.h, guarded so no exception reaches the JVM.
#include <stdexcept>
#include <string>

#include "engine/fuse.h"
#include "errors.h"
#include "lorabeam_fuse.h"

extern "C" {

const char* lb_fuse(const char* config_json) {
  thread_local std::string report;  // backs the returned pointer
  int rc = lorabeam::guarded([&] {
    if (!config_json) throw std::invalid_argument("fuse config is null");
    report = lorabeam::fuse_model(lorabeam::parse_fuse_config(config_json));
    mlx::core::clear_cache();
  });
  return rc == 0 ? report.c_str() : nullptr;
}

}  // extern "C"
