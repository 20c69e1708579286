// stdlib/: the standard pipeline, written in the policy language (stdlib/*.mp) and
// compiled into policyc and libmailpolicy, so `import stdlib` needs no path and always
// matches the compiler it runs with. The same files are installed to
// share/mailpolicy/stdlib for reading (docs/stdlib.md).
#pragma once

#include <span>
#include <string_view>

namespace mp::stdlib {

struct Module {
  std::string_view name;  // "stdlib", "stdlib.anti_spoofing"
  std::string_view path;  // "stdlib/anti_spoofing.mp": how diagnostics and verdicts name it
  std::string_view text;  // the source
};

// Every module, sorted by name.
std::span<const Module> modules();
// The module `import NAME` means, or nullptr.
const Module* find(std::string_view name);

}  // namespace mp::stdlib
