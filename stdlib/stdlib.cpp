// The module table over the sources embedded at build time (embed.cmake writes
// modules.inc from stdlib/*.mp).
#include "stdlib/stdlib.h"

#include <algorithm>
#include <array>

namespace mp::stdlib {
namespace {

#include "stdlib/modules.inc"

}  // namespace

std::span<const Module> modules() {
  return kModules;
}

const Module* find(std::string_view name) {
  const auto it = std::lower_bound(kModules.begin(), kModules.end(), name,
                                   [](const Module& m, std::string_view n) { return m.name < n; });
  return it != kModules.end() && it->name == name ? &*it : nullptr;
}

}  // namespace mp::stdlib
