// What the written form of a URL says about it, beyond where it goes: the tricks of
// phishing links (an IP address for a host, "paypal.com@evil.example", a punycode
// host, an odd port, a link whose text names another site). The policy language
// exposes them as `urls.flags` and `urls.text_domain` (docs/language.md, section 7).
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/message.h"

namespace mp::runtime {

enum class UrlFlag : uint8_t {
  IpLiteral,        // the host is an IP address (also bracketed IPv6, 3232235777, 0xC0A80001)
  Userinfo,         // "user@" or "user:password@" before the host
  Punycode,         // an internationalised host (xn-- labels, or written in Unicode)
  NonStandardPort,  // a port other than 80 and 443
  TextMismatch,     // the link text names a domain of another site (registrable domain)
};
inline constexpr size_t kUrlFlagCount = 5;

// "ip_literal", "userinfo", "punycode", "non_standard_port", "text_mismatch".
std::string_view url_flag_name(UrlFlag flag);

// The registrable domain of a folded domain (public suffix list, libpsl's built-in
// copy): "www.paypal.co.uk" → "paypal.co.uk". A public suffix, a single label or an
// IP address is its own registrable domain. Thread-safe.
std::string registrable_domain(std::string_view domain);

// The domain a link's visible text names, folded (lowercase, punycode), when the text
// is a URL ("https://www.paypal.com/login") or a domain alone ("PayPal.com"), whose last
// label is a known public suffix; "" when it names none ("Click here", "invoice.pdf").
std::string domain_named_by(std::string_view link_text);

// The flags of `url` (its text, domain and link text as the message model found them).
std::bitset<kUrlFlagCount> url_flags(const Url& url);

}  // namespace mp::runtime
