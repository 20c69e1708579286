// The envelope's addresses as given (envelope.h).
#include "runtime/envelope.h"

namespace mp::runtime {

std::string bare_path(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  text = text.substr(first, text.find_last_not_of(" \t") + 1 - first);
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  return std::string(text);
}

}  // namespace mp::runtime
