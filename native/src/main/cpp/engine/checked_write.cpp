// A POSIX-file mx::io::Writer whose failures carry errno, path and byte counts (see checked_write.h).
#include "engine/checked_write.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "mlx/io/load.h"

namespace lorabeam {

namespace fs = std::filesystem;

namespace {

std::atomic<int64_t> writes_until_failure{0};  // 0 = no fault injected
std::atomic<int> injected_errno{0};

// errno of this write: the injected one when the countdown reaches it, else what ::write set.
ssize_t write_some(int fd, const char* data, size_t n) {
  int64_t left = writes_until_failure.load();
  if (left > 0 && writes_until_failure.fetch_sub(1) == 1) {
    errno = injected_errno.load();
    return -1;
  }
  return ::write(fd, data, n);
}

std::string free_bytes_of(const fs::path& file) {
  std::error_code ec;
  fs::space_info s = fs::space(file.has_parent_path() ? file.parent_path() : fs::path("."), ec);
  return ec ? "free space unknown" : std::to_string(s.available) + " bytes free on its file system";
}

class CheckedFileWriter : public mx::io::Writer {
 public:
  CheckedFileWriter(std::string path, uint64_t needed) : path_(std::move(path)), needed_(needed) {
    fd_ = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd_ < 0) fail("cannot create it", errno);
  }
  ~CheckedFileWriter() override { close_fd(); }

  bool is_open() const override { return fd_ >= 0; }
  bool good() const override { return fd_ >= 0; }
  size_t tell() override { return static_cast<size_t>(::lseek(fd_, 0, SEEK_CUR)); }
  void seek(int64_t off, std::ios_base::seekdir way) override {
    ::lseek(fd_, off, way == std::ios_base::beg ? SEEK_SET : way == std::ios_base::end ? SEEK_END : SEEK_CUR);
  }
  std::string label() const override { return "file " + path_; }

  void write(const char* data, size_t n) override {
    while (n > 0) {
      ssize_t m = write_some(fd_, data, std::min(n, static_cast<size_t>(INT32_MAX)));
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) fail("cannot write " + std::to_string(n) + " more bytes", m < 0 ? errno : EIO);
      data += m;
      n -= static_cast<size_t>(m);
      written_ += static_cast<uint64_t>(m);
    }
  }

  // Closes the file; close() can be where a network or quota file system first reports the error.
  void finish() {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close it", errno);
  }

  [[noreturn]] void fail(const std::string& what, int err) {
    close_fd();
    std::error_code ignored;
    fs::remove(path_, ignored);  // never leave a partial file
    std::ostringstream msg;
    msg << path_ << ": " << what << ": " << std::strerror(err) << " (errno " << err << ") after " << written_
        << " of " << needed_ << " bytes; " << free_bytes_of(path_) << "; the partial file was removed";
    throw std::runtime_error(msg.str());
  }

 private:
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string path_;
  uint64_t needed_;
  uint64_t written_ = 0;
  int fd_ = -1;
};

}  // namespace

void save_safetensors_checked(const std::string& file, const std::unordered_map<std::string, mx::array>& arrays,
                              const std::unordered_map<std::string, std::string>& metadata) {
  uint64_t needed = 8 + 128 * arrays.size();  // length prefix + a JSON header entry per tensor (about)
  for (const auto& [name, a] : arrays) needed += a.nbytes();
  auto writer = std::make_shared<CheckedFileWriter>(file, needed);
  mx::save_safetensors(writer, arrays, metadata);
  writer->finish();
}

void write_file_checked(const std::string& file, const std::string& bytes) {
  CheckedFileWriter writer(file, bytes.size());
  writer.write(bytes.data(), bytes.size());
  writer.finish();
}

void fail_nth_write(int64_t nth, int err) {
  injected_errno.store(err);
  writes_until_failure.store(nth > 0 ? nth : 0);
}

}  // namespace lorabeam
