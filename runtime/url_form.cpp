// URL flags and the domain a link's text names; see url_form.h.
#include "runtime/url_form.h"

#include <libpsl.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "runtime/html_text.h"
#include "runtime/identity.h"
#include "runtime/ip.h"

namespace mp::runtime {

namespace {

constexpr std::array<std::string_view, kUrlFlagCount> kUrlFlagNames = {"ip_literal", "userinfo", "punycode",
                                                                       "non_standard_port", "text_mismatch"};

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A label a browser reads as part of an IPv4 address: decimal, octal or 0x hex.
bool numeric_label(std::string_view label) {
  if (label.size() > 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
    label.remove_prefix(2);
    for (char c : label) {
      if (!is_hex(c)) return false;
    }
    return true;
  }
  if (label.empty()) return false;
  for (char c : label) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// 192.0.2.1, 3232235777, 0xC0.0xA8.0.1 (browsers accept all of them), or IPv6.
bool ip_literal(std::string_view host) {
  if (host.empty()) return false;
  if (host.find(':') != std::string_view::npos) return IpAddress::parse(host).has_value();
  size_t labels = 0;
  for (size_t start = 0; start <= host.size(); ++labels) {
    const size_t dot = std::min(host.find('.', start), host.size());
    if (!numeric_label(host.substr(start, dot - start))) return false;
    start = dot + 1;
  }
  return labels <= 4;
}

bool has_punycode_label(std::string_view folded) {
  return folded.starts_with("xn--") || folded.find(".xn--") != std::string_view::npos;
}

bool non_standard_port(std::string_view authority) {
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    return false;
  }
  if (authority.find('@', colon) != std::string_view::npos) return false;  // "user:pw@host"
  const std::string_view port = authority.substr(colon + 1);
  return !port.empty() && port != "80" && port != "443";
}

// "paypal.com", "www.paypal.com/login", "PayPal.com." — one word that reads as a host.
std::string_view host_word(std::string_view text) {
  if (text.find_first_of(" \t\r\n") != std::string_view::npos) return {};
  text = text.substr(0, text.find_first_of("/?#"));
  while (!text.empty() && std::string_view(".,;:!?)").find(text.back()) != std::string_view::npos) {
    text.remove_suffix(1);
  }
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80 && !std::isalnum(byte) && c != '-' && c != '.') return {};
  }
  return text;
}

// At least two labels, none empty, and the last one a suffix the public suffix list
// names outright (com, co.uk's uk, …), so "invoice.pdf" and "e.g" name no domain.
bool plausible_domain(const std::string& folded) {
  const size_t dot = folded.rfind('.');
  if (dot == std::string::npos || dot == 0 || folded.find("..") != std::string::npos) return false;
  const std::string tld = folded.substr(dot + 1);
  return !tld.empty() &&
         psl_is_public_suffix2(psl_builtin(), tld.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

}  // namespace

std::string_view url_flag_name(UrlFlag flag) {
  return kUrlFlagNames[static_cast<size_t>(flag)];
}

std::string registrable_domain(std::string_view domain) {
  const std::string folded = fold_domain(domain);
  if (folded.empty() || ip_literal(folded)) return folded;
  // NULL when the name is itself a public suffix: then it is its own registrable domain.
  const char* registrable = psl_registrable_domain(psl_builtin(), folded.c_str());
  return registrable ? registrable : folded;
}

std::string domain_named_by(std::string_view link_text) {
  const std::string_view host = link_text.find("://") != std::string_view::npos
                                    ? detail::authority_host(detail::url_authority(link_text))
                                    : host_word(link_text);
  std::string folded = fold_domain(host);
  return plausible_domain(folded) ? folded : std::string();
}

std::bitset<kUrlFlagCount> url_flags(const Url& url) {
  std::bitset<kUrlFlagCount> flags;
  const std::string_view authority = detail::url_authority(url.text);
  const std::string folded = fold_domain(url.domain);
  flags[static_cast<size_t>(UrlFlag::IpLiteral)] = ip_literal(url.domain);
  flags[static_cast<size_t>(UrlFlag::Userinfo)] = authority.find('@') != std::string_view::npos;
  flags[static_cast<size_t>(UrlFlag::Punycode)] = has_punycode_label(folded);
  flags[static_cast<size_t>(UrlFlag::NonStandardPort)] = non_standard_port(authority);
  const std::string named = domain_named_by(url.link_text);
  flags[static_cast<size_t>(UrlFlag::TextMismatch)] =
      !named.empty() && registrable_domain(named) != registrable_domain(folded);
  return flags;
}

}  // namespace mp::runtime
