// NUL bytes in header lines. GMime keeps header values as C strings, so a NUL ends
// the value and hides what follows it ("Subject: before\0after", or a second
// mailbox after a NUL in From). The copy GMime parses gets a space instead; the
// length is unchanged, so every offset into the original bytes stays right.
#include <algorithm>

#include "runtime/mime_walk.h"

namespace mp::runtime::detail {
namespace {

bool is_blank_line(std::string_view line) {
  return line.empty() || line == "\r";
}

bool announces_message(std::string_view line) {
  std::string lowered(line.substr(0, 256));
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(g_ascii_tolower(c)); });
  return lowered.starts_with("content-type:") && lowered.find("message/rfc822") != std::string::npos;
}

}  // namespace

// Header lines are the top-level block, the lines after a "--" line (a boundary
// delimiter: a part's header block) up to the next empty line, and the block after a
// part that announces message/rfc822 (the attached message's own header). Lines of
// a binary body that merely look like that are rare, and a NUL read as a space
// there changes no size.
std::optional<std::string> header_nuls_as_spaces(std::string_view raw) {
  if (raw.find('\0') == std::string_view::npos) return std::nullopt;
  std::string copy(raw);
  bool in_header = true, next_block_is_header = false, replaced = false;
  for (size_t start = 0; start < copy.size();) {
    size_t end = copy.find('\n', start);
    if (end == std::string::npos) end = copy.size();
    std::string_view line(copy.data() + start, end - start);
    if (line.starts_with("--")) {
      in_header = true;
      next_block_is_header = false;
    } else if (in_header && is_blank_line(line)) {
      in_header = next_block_is_header;
      next_block_is_header = false;
    } else if (in_header) {
      next_block_is_header = next_block_is_header || announces_message(line);
      for (size_t i = start; i < end; ++i) {
        if (copy[i] == '\0') copy[i] = ' ', replaced = true;
      }
    }
    start = end + 1;
  }
  if (!replaced) return std::nullopt;
  return copy;
}

}  // namespace mp::runtime::detail
