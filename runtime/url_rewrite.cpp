// URL defense's link rewriting. The links are found by the same scans that give the
// `urls` field (runtime/html_text), so a policy's view of a message's links and what
// gets rewritten agree; the percent-encoding is GLib's (g_uri_escape_string).
#include "runtime/url_rewrite.h"

#include <glib.h>

#include <memory>
#include <vector>

#include "runtime/html_text.h"

namespace mp::runtime {
namespace detail {
namespace {

constexpr std::string_view kPlaceholder = "{url}";

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && g_ascii_strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

bool under(const std::string& host, const std::string& domain) {
  return host == domain || (host.size() > domain.size() && host.ends_with(domain) &&
                            host[host.size() - domain.size() - 1] == '.');
}

std::string_view trimmed(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  return text.substr(start, text.find_last_not_of(" \t\r\n") - start + 1);
}

// The absolute form a click-time checker needs: "www.a.com" → "http://www.a.com",
// "//a.com/x" → "https://a.com/x"; "" for a link that is not http(s).
std::string absolute_http(std::string_view url) {
  if (istarts_with(url, "http://") || istarts_with(url, "https://")) return std::string(url);
  if (url.starts_with("//")) return "https:" + std::string(url);
  if (istarts_with(url, "www.")) return "http://" + std::string(url);
  return {};
}

std::string percent_encoded(const std::string& url) {
  std::unique_ptr<char, decltype(&g_free)> escaped(g_uri_escape_string(url.c_str(), nullptr, FALSE), &g_free);
  return escaped.get();
}

struct Splice {
  std::string_view old_text;  // a view into the text being rewritten
  std::string new_text;
};

std::string spliced(std::string_view text, const std::vector<Splice>& splices) {
  std::string out;
  size_t pos = 0;
  for (const Splice& s : splices) {
    const auto start = static_cast<size_t>(s.old_text.data() - text.data());
    out.append(text.substr(pos, start - pos));
    out += s.new_text;
    pos = start + s.old_text.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

std::optional<std::string> rewritten_url(std::string_view url, const UrlRewrite& rewrite) {
  const std::string absolute = absolute_http(trimmed(url));
  const std::string host = url_domain(absolute);
  if (host.empty() || host == url_domain(rewrite.target)) return std::nullopt;
  for (const std::string& domain : rewrite.skip_domains) {
    if (under(host, domain)) return std::nullopt;
  }
  std::string out = rewrite.target;
  const size_t at = out.find(kPlaceholder);
  if (at == std::string::npos) return std::nullopt;
  out.replace(at, kPlaceholder.size(), percent_encoded(absolute));
  return out;
}

std::string rewrite_text_urls(std::string_view text, const UrlRewrite& rewrite, size_t& count) {
  std::vector<Splice> splices;
  for_each_text_url(text, [&](std::string_view url) {
    if (auto to = rewritten_url(url, rewrite)) splices.push_back({url, std::move(*to)});
  });
  count += splices.size();
  return spliced(text, splices);
}

std::string rewrite_html_links(std::string_view html, const UrlRewrite& rewrite, size_t& count) {
  std::vector<Splice> splices;
  for_each_link_href(html, [&](std::string_view value) {
    if (auto to = rewritten_url(decode_html_entities(value), rewrite)) {
      splices.push_back({value, html_escaped(*to)});
    }
  });
  count += splices.size();
  return spliced(html, splices);
}

}  // namespace detail

std::string url_rewrite_target_error(std::string_view target) {
  for (const char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return "it has a space or a control character";
  }
  if (!detail::istarts_with(target, "http://") && !detail::istarts_with(target, "https://")) {
    return "it is not an http:// or https:// URL";
  }
  if (detail::url_domain(target).empty()) return "it has no host";
  const size_t at = target.find(detail::kPlaceholder);
  if (at == std::string_view::npos) return "it has no {url} for the original link";
  if (target.find(detail::kPlaceholder, at + 1) != std::string_view::npos) return "it has {url} twice";
  const std::string_view authority = detail::url_authority(target);
  if (at < static_cast<size_t>(authority.data() - target.data()) + authority.size()) {
    return "{url} must come after the host";
  }
  return {};
}

}  // namespace mp::runtime
