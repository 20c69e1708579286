// Folding of domains and addresses to the canonical form identity comparisons
// use: ASCII lowercase, internationalised domains in punycode (UTS #46
// non-transitional processing via libidn2, as browsers and registries do).
#include "runtime/identity.h"

#include <idn2.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace mp::runtime {
std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

namespace {

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Converts a Unicode domain to punycode; nullopt when libidn2 rejects it.
std::optional<std::string> to_punycode(const std::string& domain) {
  char* converted = nullptr;
  if (idn2_to_ascii_8z(domain.c_str(), &converted, IDN2_NONTRANSITIONAL) != IDN2_OK) {
    return std::nullopt;
  }
  std::unique_ptr<char, decltype(&idn2_free)> owner(converted, &idn2_free);
  return std::string(converted);
}

std::string_view strip_angle_brackets(std::string_view address) {
  while (!address.empty() && address.front() == ' ') address.remove_prefix(1);
  while (!address.empty() && address.back() == ' ') address.remove_suffix(1);
  if (address.starts_with('<') && address.ends_with('>')) {
    address = address.substr(1, address.size() - 2);
  }
  return address;
}

}  // namespace

std::string fold_domain(std::string_view domain) {
  if (domain.ends_with('.')) domain.remove_suffix(1);
  std::string lowered = ascii_lowercase(domain);
  // ASCII domains are already in their final form; this skips libidn2 for the
  // overwhelmingly common case.
  if (is_ascii(lowered)) return lowered;
  return ascii_lowercase(to_punycode(lowered).value_or(lowered));
}

std::string fold_address(std::string_view address) {
  address = strip_angle_brackets(address);
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return ascii_lowercase(address);
  return ascii_lowercase(address.substr(0, at)) + "@" + fold_domain(address.substr(at + 1));
}

}  // namespace mp::runtime
