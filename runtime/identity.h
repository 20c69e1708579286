// Canonical forms for identity comparisons: address and domain tests in the policy
// language are case-insensitive and IDN-aware, so both the compiled literals and the
// message's values are folded the same way before they meet.
#pragma once

#include <string>
#include <string_view>

#include "runtime/api_export.h"

namespace mp::runtime {

// ASCII letters lowercased, every other byte (UTF-8 included) kept as it is.
MP_API std::string ascii_lowercase(std::string_view text);

// Lowercases and converts an internationalised domain to its ASCII (punycode) form;
// a trailing dot is dropped. Input that is not a valid IDN is just lowercased.
std::string fold_domain(std::string_view domain);
// Lowercases the local part (ASCII) and folds the domain part; strips "<>" brackets.
std::string fold_address(std::string_view address);

}  // namespace mp::runtime
