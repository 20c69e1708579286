// Verdicts as policyc prints them: one JSON object per line, or readable text with
// an optional explanation of every fired rule.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vm/vm.h"

namespace mp::tools {

// `auth`: the authentication results computed for the message ("spf" → "pass", …),
// printed as "auth": {…} when there are any.
std::string verdict_json(const std::string& file, const vm::Verdict& v,
                         const std::vector<std::pair<std::string, std::string>>& auth = {});
std::string verdict_text(const std::string& file, const vm::Verdict& v, bool explain);
std::string error_json(const std::string& file, const std::string& error);

}  // namespace mp::tools
