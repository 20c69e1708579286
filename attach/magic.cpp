// libmagic behind a thread-local cookie: magic_load reads the whole database (slow, so
// once per thread), and a cookie must not be used by two threads at once.
#include "attach/magic.h"

#include <magic.h>

#include <algorithm>
#include <stdexcept>

namespace mp::attach::detail {

namespace {

class Cookie {
 public:
  Cookie() : handle_(magic_open(MAGIC_MIME_TYPE)) {
    if (handle_ == nullptr) throw std::runtime_error("libmagic: magic_open failed");
    if (magic_load(handle_, nullptr) != 0) {
      std::string error = magic_error(handle_) ? magic_error(handle_) : "unknown error";
      magic_close(handle_);
      throw std::runtime_error("libmagic: cannot load the magic database: " + error);
    }
  }
  ~Cookie() { magic_close(handle_); }
  Cookie(const Cookie&) = delete;
  Cookie& operator=(const Cookie&) = delete;
  magic_t get() const { return handle_; }

 private:
  magic_t handle_;
};

}  // namespace

std::string mime_type(std::string_view bytes) {
  thread_local Cookie cookie;
  const char* type = magic_buffer(cookie.get(), bytes.data(), std::min(bytes.size(), kMagicBytes));
  std::string lowered = type != nullptr ? type : "application/octet-stream";
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

}  // namespace mp::attach::detail
