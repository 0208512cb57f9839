// Thread-local last-error plumbing shared by every extern "C" body.
#pragma once

#include <exception>
#include <string>

namespace lorabeam {

void set_last_error(const std::string& message);
void clear_last_error();

// Runs body; any exception becomes the thread's last error and the return value -1.
template <typename F>
int guarded(F&& body) {
  try {
    clear_last_error();
    body();
    return 0;
  } catch (const std::exception& e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown C++ exception");
  }
  return -1;
}

}  // namespace lorabeam
