// A unified diff of two texts by lines (for `policyc fmt --check`).
#pragma once

#include <string>

namespace mp::tools {

std::string unified_diff(const std::string& before, const std::string& after, const std::string& before_name,
                         const std::string& after_name, size_t context = 3);

}  // namespace mp::tools
