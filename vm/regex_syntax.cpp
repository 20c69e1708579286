// PCRE2 pattern syntax read without compiling (vm/regex_syntax.h).
#include "vm/regex_syntax.h"

namespace mp::vm {
namespace {

bool posix_opener(std::string_view s, size_t i) {
  return i + 1 < s.size() && s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '.' || s[i + 1] == '=');
}

}  // namespace

size_t posix_item_end(std::string_view s, size_t at) {
  if (!posix_opener(s, at)) return std::string_view::npos;
  const char terminator = s[at + 1];
  for (size_t i = at + 2; i + 1 < s.size(); ++i) {
    if (s[i] == '\\' && (s[i + 1] == ']' || s[i + 1] == '\\')) {
      ++i;
    } else if ((s[i] == '[' && s[i + 1] == terminator) || s[i] == ']') {
      return std::string_view::npos;
    } else if (s[i] == terminator && s[i + 1] == ']') {
      return i + 2;
    }
  }
  return std::string_view::npos;
}

size_t class_end(std::string_view s, size_t open) {
  size_t i = open + 1;
  if (i < s.size() && s[i] == '^') ++i;
  if (i < s.size() && s[i] == ']') ++i;  // a leading `]` is a member
  while (i < s.size() && s[i] != ']') {
    if (s[i] == '\\') {
      i += 2;
    } else if (const size_t end = posix_item_end(s, i); end != std::string_view::npos) {
      i = end;
    } else {
      ++i;
    }
  }
  return i < s.size() ? i + 1 : std::string_view::npos;
}

}  // namespace mp::vm
