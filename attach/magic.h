// attach-internal: libmagic, one cookie per thread.
#pragma once

#include <string>
#include <string_view>

namespace mp::attach::detail {

// How many leading bytes libmagic is shown: the signatures it knows sit near the
// start, and its text analysis grows with the input.
inline constexpr size_t kMagicBytes = 64 * 1024;

// libmagic's MIME type ("application/pdf"), lowercased, of the first kMagicBytes of `bytes`;
// "application/octet-stream" when libmagic fails on this input. Throws
// std::runtime_error when this thread's cookie cannot load the magic database.
std::string mime_type(std::string_view bytes);

}  // namespace mp::attach::detail
