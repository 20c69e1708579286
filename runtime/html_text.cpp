// HTML to plain text and URL extraction for the message model. This is not an
// HTML parser: it is a single forward scan, linear in the input, that recovers the
// text a reader would see and the links a reader could follow, which is all the
// policy language asks of HTML. Hostile markup (unclosed tags, quotes, comments)
// can only make it drop text, never loop or recurse.
#include "runtime/html_text.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

namespace mp::runtime::detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, size_t pos, std::string_view prefix) {
  return pos <= text.size() && iequals(text.substr(pos, prefix.size()), prefix);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Index just past the first `terminator` at or after `from`; the end if none.
size_t end_of(std::string_view text, size_t from, std::string_view terminator) {
  const size_t found = text.find(terminator, from);
  return found == std::string_view::npos ? text.size() : found + terminator.size();
}

// ---- Character references -------------------------------------------------

void append_utf8(std::string& out, uint32_t code) {
  const bool valid = code != 0 && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
  if (!valid) code = 0xFFFD;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

struct NamedEntity {
  std::string_view name;
  uint32_t code;
};

// A non-breaking space becomes a plain one: policies match words, and spammers
// use &nbsp; to pad them apart.
constexpr NamedEntity kNamedEntities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122},  {"euro", 0x20AC},
    {"pound", 0xA3},   {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"laquo", 0xAB},    {"raquo", 0xBB},
    {"bull", 0x2022},  {"middot", 0xB7},
};

int digit_value(char c, bool hex) {
  if (is_digit(c)) return c - '0';
  if (hex && to_lower(c) >= 'a' && to_lower(c) <= 'f') return to_lower(c) - 'a' + 10;
  return -1;
}

// Decodes "&#NNN;" / "&#xHH;" at text[pos]; returns the length consumed, 0 if it is
// not one. The ';' is optional, as browsers accept it missing.
size_t decode_numeric_reference(std::string_view text, size_t pos, std::string& out) {
  size_t i = pos + 2;
  const bool hex = i < text.size() && to_lower(text[i]) == 'x';
  if (hex) ++i;
  const size_t digits_start = i;
  uint64_t code = 0;
  for (int digit; i < text.size() && (digit = digit_value(text[i], hex)) >= 0; ++i) {
    // Saturating keeps an absurdly long number invalid instead of wrapping to a
    // valid code point.
    code = std::min<uint64_t>(code * (hex ? 16 : 10) + digit, 0x110000);
  }
  if (i == digits_start) return 0;
  if (i < text.size() && text[i] == ';') ++i;
  append_utf8(out, static_cast<uint32_t>(code));
  return i - pos;
}

size_t decode_named_reference(std::string_view text, size_t pos, std::string& out) {
  // Only the longest name's worth of text is searched, so a run of '&' without ';'
  // stays linear.
  constexpr size_t kLongestName = [] {
    size_t longest = 0;
    for (const NamedEntity& entity : kNamedEntities) longest = std::max(longest, entity.name.size());
    return longest;
  }();
  const std::string_view candidate = text.substr(pos + 1, kLongestName + 1);
  const size_t semicolon = candidate.find(';');
  if (semicolon == std::string_view::npos) return 0;
  const std::string_view name = candidate.substr(0, semicolon);
  for (const NamedEntity& entity : kNamedEntities) {
    if (entity.name == name) {
      append_utf8(out, entity.code);
      return name.size() + 2;
    }
  }
  return 0;
}

// ---- Tags -----------------------------------------------------------------

struct Tag {
  std::string_view name;
  std::string_view attributes;  // everything between the name and the '>'
  bool closing = false;
  size_t end = 0;  // index just past the '>'
};

// Index of the '>' closing a tag whose attributes start at `pos`. A quote only
// opens a quoted value right after '=', as in browsers, so a stray apostrophe in
// an unquoted value does not swallow the rest of the document.
size_t find_tag_end(std::string_view html, size_t pos) {
  char quote = 0;
  bool after_equals = false;
  for (; pos < html.size(); ++pos) {
    const char c = html[pos];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '>') {
      return pos;
    } else if ((c == '"' || c == '\'') && after_equals) {
      quote = c;
    } else if (!is_space(c)) {
      after_equals = c == '=';
    }
  }
  return html.size();
}

// The tag at html[pos] == '<', or nullopt when the '<' is plain text ("a < b").
std::optional<Tag> read_tag(std::string_view html, size_t pos) {
  Tag tag;
  size_t i = pos + 1;
  if (i < html.size() && html[i] == '/') {
    tag.closing = true;
    ++i;
  }
  if (i >= html.size() || !is_alpha(html[i])) return std::nullopt;
  const size_t name_start = i;
  while (i < html.size() && (is_alnum(html[i]) || html[i] == '-' || html[i] == ':')) ++i;
  tag.name = html.substr(name_start, i - name_start);
  const size_t close = find_tag_end(html, i);
  tag.attributes = html.substr(i, close - i);
  tag.end = std::min(close + 1, html.size());
  return tag;
}

bool is_any_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view candidate : names) {
    if (iequals(name, candidate)) return true;
  }
  return false;
}

bool is_block_tag(std::string_view name) {
  return is_any_of(name, {"address",  "article",    "aside",  "blockquote", "br",   "dd",   "div", "dl", "dt",
                          "fieldset", "figcaption", "figure", "footer",     "form", "h1",   "h2",  "h3", "h4",
                          "h5",       "h6",         "header", "hr",         "li",   "main", "nav", "ol", "p",
                          "pre",      "section",    "table",  "title",      "tr",   "ul"});
}

bool is_cell_tag(std::string_view name) {
  return is_any_of(name, {"td", "th"});
}

// Elements whose content is code, not text.
bool is_raw_text_tag(std::string_view name) {
  return is_any_of(name, {"script", "style"});
}

// Index past the "</name ...>" that ends a raw-text element opened before `from`.
size_t skip_raw_text(std::string_view html, size_t from, std::string_view name) {
  for (size_t i = html.find("</", from); i != std::string_view::npos; i = html.find("</", i + 2)) {
    if (istarts_with(html, i + 2, name)) return end_of(html, i, ">");
  }
  return html.size();
}

void for_each_attribute(std::string_view attributes,
                        const std::function<void(std::string_view, std::string_view)>& visit) {
  size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < attributes.size() && is_space(attributes[i])) ++i;
  };
  while (i < attributes.size()) {
    skip_spaces();
    const size_t name_start = i;
    while (i < attributes.size() && !is_space(attributes[i]) && attributes[i] != '=') ++i;
    const std::string_view name = attributes.substr(name_start, i - name_start);
    skip_spaces();
    std::string_view value;
    if (i < attributes.size() && attributes[i] == '=') {
      ++i;
      skip_spaces();
      const char quote = i < attributes.size() ? attributes[i] : 0;
      const bool quoted = quote == '"' || quote == '\'';
      const size_t value_start = quoted ? i + 1 : i;
      size_t value_end = value_start;
      while (value_end < attributes.size() &&
             (quoted ? attributes[value_end] != quote : !is_space(attributes[value_end]))) {
        ++value_end;
      }
      value = attributes.substr(value_start, value_end - value_start);
      i = std::min(value_end + (quoted ? 1 : 0), attributes.size());
    }
    if (!name.empty()) visit(name, value);
  }
}

// ---- Text -----------------------------------------------------------------

// Accumulates visible text the way a browser lays it out: runs of whitespace
// become one space, and block boundaries become one line break.
class TextBuilder {
 public:
  void add_text(std::string_view text) {
    for (char c : text) {
      if (is_space(c)) {
        pending_space_ = true;
        continue;
      }
      if (pending_space_ && !out_.empty() && out_.back() != '\n') out_ += ' ';
      pending_space_ = false;
      out_ += c;
    }
  }
  void separate_words() { pending_space_ = true; }
  void break_line() {
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    pending_space_ = false;
  }
  std::string finish() {
    while (!out_.empty() && out_.back() == '\n') out_.pop_back();
    return std::move(out_);
  }

 private:
  std::string out_;
  bool pending_space_ = false;
};

// Handles the markup at html[pos] == '<' and returns where text resumes.
size_t skip_markup(std::string_view html, size_t pos, TextBuilder& text) {
  if (istarts_with(html, pos, "<!--")) return end_of(html, pos + 4, "-->");
  if (istarts_with(html, pos, "<!") || istarts_with(html, pos, "<?")) {
    return end_of(html, pos, ">");
  }
  const std::optional<Tag> tag = read_tag(html, pos);
  if (!tag) {
    text.add_text("<");
    return pos + 1;
  }
  if (is_block_tag(tag->name)) text.break_line();
  if (is_cell_tag(tag->name)) text.separate_words();
  if (!tag->closing && is_raw_text_tag(tag->name)) {
    return skip_raw_text(html, tag->end, tag->name);
  }
  return tag->end;
}

// ---- URLs -----------------------------------------------------------------

constexpr std::string_view kUrlPrefixes[] = {"http://", "https://", "ftp://", "www."};

bool has_url_prefix(std::string_view text, size_t pos) {
  for (std::string_view prefix : kUrlPrefixes) {
    if (istarts_with(text, pos, prefix)) return true;
  }
  return false;
}

// "xwww.a.com" or "user@www.a.com" are not URLs starting at the "www".
bool at_word_start(std::string_view text, size_t pos) {
  if (pos == 0) return true;
  const char before = text[pos - 1];
  return !is_alnum(before) && before != '.' && before != '-' && before != '_' && before != '/' &&
         before != '@';
}

bool is_url_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte <= 0x20 || byte == 0x7F) return false;
  return std::string_view("<>\"'`{}|\\^").find(c) == std::string_view::npos;
}

// Sentence punctuation after a URL in prose is not part of it.
std::string_view trim_trailing_punctuation(std::string_view url) {
  while (!url.empty() && std::string_view(".,;:!?)]}*").find(url.back()) != std::string_view::npos) {
    url.remove_suffix(1);
  }
  return url;
}

class UrlCollector {
 public:
  // A URL seen again keeps its first place; the link text of a later <a> to it is
  // kept when the first sighting had none (a bare URL in the text, then its link).
  void add(std::string_view text, std::string link_text = {}) {
    std::string domain = url_domain(text);
    if (domain.empty()) return;
    auto [seen, fresh] = index_.emplace(text, urls_.size());
    if (fresh) {
      urls_.push_back(Url{std::string(text), std::move(domain), std::move(link_text)});
    } else if (urls_[seen->second].link_text.empty()) {
      urls_[seen->second].link_text = std::move(link_text);
    }
  }
  std::vector<Url> take() { return std::move(urls_); }

 private:
  std::vector<Url> urls_;
  std::unordered_map<std::string, size_t> index_;
};

// What a reader sees as the link that opens at `from` (just past an <a> tag): the
// text up to the next </a>, reduced like any HTML. Bounded, so an unclosed <a>
// costs a few kilobytes of scanning, not the rest of the document.
std::string link_text_at(std::string_view html, size_t from) {
  constexpr size_t kMaxLinkMarkup = 4096;
  constexpr size_t kMaxLinkText = 256;
  std::string_view inside = html.substr(from, kMaxLinkMarkup);
  for (size_t lt = inside.find('<'); lt != std::string_view::npos; lt = inside.find('<', lt + 1)) {
    if (istarts_with(inside, lt, "</a") || istarts_with(inside, lt, "<a ")) {
      inside = inside.substr(0, lt);
      break;
    }
  }
  std::string text(trim(html_to_text(inside)));
  if (text.size() > kMaxLinkText) text.resize(kMaxLinkText);
  return text;
}

// Every tag of `html`, in order; plain-text '<'s are skipped.
void for_each_tag(std::string_view html, const std::function<void(const Tag&)>& visit) {
  for (size_t pos = html.find('<'); pos != std::string_view::npos;) {
    const std::optional<Tag> tag = read_tag(html, pos);
    if (!tag) {
      pos = html.find('<', pos + 1);
      continue;
    }
    visit(*tag);
    pos = html.find('<', tag->end);
  }
}

void find_attribute_urls(std::string_view html, UrlCollector& urls) {
  for_each_tag(html, [&](const Tag& tag) {
    const bool link = !tag.closing && iequals(tag.name, "a");
    for_each_attribute(tag.attributes, [&](std::string_view name, std::string_view value) {
      const bool href = iequals(name, "href");
      if (!href && !iequals(name, "src")) return;
      const std::string decoded = decode_html_entities(value);
      const std::string_view url = trim(decoded);
      if (!has_url_prefix(url, 0) && !url.starts_with("//")) return;
      urls.add(url, link && href ? link_text_at(html, tag.end) : std::string());
    });
  });
}

// Length of the "scheme" in "scheme://...", 0 when the URL does not start with one
// (a "://" further on, as in "www.a.com/?u=http://b", is not a scheme).
size_t scheme_length(std::string_view url) {
  const size_t end = url.find("://");
  if (end == std::string_view::npos || end == 0 || !is_alpha(url[0])) return 0;
  for (char c : url.substr(0, end)) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return end;
}

}  // namespace

std::string decode_html_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) {
      out += text.substr(pos);
      break;
    }
    out += text.substr(pos, amp - pos);
    const bool numeric = amp + 1 < text.size() && text[amp + 1] == '#';
    const size_t consumed =
        numeric ? decode_numeric_reference(text, amp, out) : decode_named_reference(text, amp, out);
    if (consumed == 0) out += '&';
    pos = amp + std::max<size_t>(consumed, 1);
  }
  return out;
}

std::string html_to_text(std::string_view html) {
  TextBuilder text;
  size_t pos = 0;
  while (pos < html.size()) {
    if (html[pos] == '<') {
      pos = skip_markup(html, pos, text);
      continue;
    }
    const size_t next = std::min(html.find('<', pos), html.size());
    text.add_text(decode_html_entities(html.substr(pos, next - pos)));
    pos = next;
  }
  return text.finish();
}

std::string html_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string_view url_authority(std::string_view url) {
  size_t start = 0;
  if (const size_t scheme_end = scheme_length(url); scheme_end > 0) {
    start = scheme_end + 3;
  } else if (url.starts_with("//")) {
    start = 2;
  } else if (!istarts_with(url, 0, "www.")) {
    return {};
  }
  const std::string_view authority = url.substr(start);
  return authority.substr(0, authority.find_first_of("/?#\\"));
}

std::string_view authority_host(std::string_view authority) {
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority.starts_with('[') ? authority.substr(1, authority.find(']') - 1)
                                                     : authority.substr(0, authority.find(':'));
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

std::string url_domain(std::string_view url) {
  const std::string_view host = authority_host(url_authority(url));
  // A bare "www." is a word ending a sentence, not a host.
  if (istarts_with(url, 0, "www.") && host.size() <= 4) return {};
  std::string domain(host);
  for (char& c : domain) c = to_lower(c);
  return domain;
}

void for_each_text_url(std::string_view text, const std::function<void(std::string_view)>& visit) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (!at_word_start(text, pos) || !has_url_prefix(text, pos)) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && is_url_char(text[end])) ++end;
    visit(trim_trailing_punctuation(text.substr(pos, end - pos)));
    pos = end;
  }
}

void for_each_link_href(std::string_view html, const std::function<void(std::string_view)>& visit) {
  for_each_tag(html, [&](const Tag& tag) {
    if (tag.closing || !is_any_of(tag.name, {"a", "area"})) return;
    for_each_attribute(tag.attributes, [&](std::string_view name, std::string_view value) {
      if (iequals(name, "href") && !value.empty()) visit(value);
    });
  });
}

std::vector<Url> find_urls(std::string_view text, std::string_view html) {
  UrlCollector urls;
  for_each_text_url(text, [&](std::string_view url) { urls.add(url); });
  find_attribute_urls(html, urls);
  return urls.take();
}

}  // namespace mp::runtime::detail
