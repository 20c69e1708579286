// The private directory of a fuzz target whose code under test reads or serves files
// (list_fuzz, mptest_fuzz, milter_fuzz): made once per process, so that parallel runs
// do not collide, and removed at exit (libFuzzer ends with exit()) so that smoke runs
// leave nothing behind. A crash leaves it, next to the crash's input.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace mp::fuzz {

// "/dev/shm/NAME.XXXXXX" (memory: files are rewritten for every input), else /tmp.
// Traps when neither can be made: the target is useless without it.
inline std::string private_directory(const std::string& name) {
  static std::string made_path;
  std::string pattern = "/dev/shm/" + name + ".XXXXXX";
  std::string fallback = "/tmp/" + name + ".XXXXXX";
  const char* made = mkdtemp(pattern.data());
  if (!made) made = mkdtemp(fallback.data());
  if (!made) __builtin_trap();
  made_path = made;
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(made_path, ignored);
  });
  return made_path;
}

}  // namespace mp::fuzz
