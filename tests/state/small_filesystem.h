// A small tmpfs for the tests of a full disk under a store (root only: mount(2)
// needs CAP_SYS_ADMIN; error() says why it could not be made, for GTEST_SKIP).
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace mp::state_test {

// Mounted at `at` with tmpfs's size option `size` ("1m"), unmounted at the end.
class SmallFilesystem {
 public:
  SmallFilesystem(const std::filesystem::path& at, const std::string& size) : path_(at) {
    std::filesystem::create_directories(at);
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0)
      error_ = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
  }
  ~SmallFilesystem() {
    if (error_.empty()) ::umount2(path_.c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;
  const std::string& error() const { return error_; }
  // Writes a file until the filesystem has no room left.
  void fill() {
    std::ofstream filler(path_ / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
    }
  }
  void free() { std::filesystem::remove(path_ / "filler"); }

 private:
  std::filesystem::path path_;
  std::string error_;
};

}  // namespace mp::state_test
