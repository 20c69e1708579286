// Body edits through GMime: the message is parsed again (Message stays immutable and
// shareable), the target parts get their new text, and only the body is written back
// out; the header block is kept byte for byte apart from the fields the edit changed.
#include "runtime/body_edit.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "runtime/gmime_util.h"
#include "runtime/html_text.h"
#include "runtime/mime_walk.h"
#include "runtime/url_rewrite.h"

namespace mp::runtime {
namespace {

using detail::GObjectPtr;

// Defects that mean GMime's tree is not exactly the message: writing it back could
// drop or move content, so such a message is left as received.
constexpr std::array kUnsafeDefects = {DefectKind::NoHeaderBlock, DefectKind::NoHeaderSeparator,
                                       DefectKind::BrokenBoundary, DefectKind::TruncatedMessage,
                                       DefectKind::MimeDepthExceeded};

// The top-level fields an edit can change; compared before and after.
constexpr std::array<const char*, 2> kContentFields = {"Content-Type", "Content-Transfer-Encoding"};

// Deep enough for any real message; the parse already refused deeper ones.
constexpr int kMaxDepth = 64;

bool is_multipart(GMimeObject* object, const char* subtype) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  return type != nullptr && g_mime_content_type_is_type(type, "multipart", subtype);
}

bool is_plain_or_html(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  return type != nullptr && (g_mime_content_type_is_type(type, "text", "plain") ||
                             g_mime_content_type_is_type(type, "text", "html"));
}

struct Target {
  GMimeTextPart* part = nullptr;
  bool shown = false;  // shown as the message's text: where banners go
};

struct Targets {
  std::vector<Target> parts;
  std::string blocked;  // why a branch was not entered
};

// Every inline text/plain and text/html part; `shown` marks the top-level one, the
// alternatives of a multipart/alternative and the first part of other multiparts.
void find_targets(GMimeObject* object, int depth, bool shown, Targets& targets) {
  if (object == nullptr || depth > kMaxDepth) return;
  if (GMIME_IS_MULTIPART_SIGNED(object) || GMIME_IS_MULTIPART_ENCRYPTED(object) ||
      is_multipart(object, "signed") || is_multipart(object, "encrypted")) {
    targets.blocked = "signed or encrypted multipart: an edit would break it (RFC 1847)";
    return;
  }
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* multipart = GMIME_MULTIPART(object);
    const bool alternative = is_multipart(object, "alternative");
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
      find_targets(g_mime_multipart_get_part(multipart, i), depth + 1, shown && (alternative || i == 0),
                   targets);
    }
    return;
  }
  if (GMIME_IS_TEXT_PART(object) && detail::is_inline_text(object) && is_plain_or_html(object)) {
    targets.parts.push_back({GMIME_TEXT_PART(object), shown});
  }
}

std::string plain_banner(const std::vector<std::string>& banners) {
  std::string out;
  for (const std::string& banner : banners) out += banner + "\n\n";
  return out;
}

std::string html_banner(const std::vector<std::string>& banners) {
  std::string out;
  for (const std::string& banner : banners) {
    out +=
        "<div style=\"border:1px solid #c00;background:#fff4e5;color:#000;padding:6px 8px;margin:0 0 8px 0;"
        "font-family:sans-serif;font-size:13px\">" +
        detail::html_escaped(banner) + "</div>\n";
  }
  return out;
}

// Just after the opening <body …> tag (ASCII case-insensitive), else after <html …>,
// else at the start: where a browser starts to render.
size_t html_insertion_point(std::string_view html) {
  std::string lower(html);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return g_ascii_tolower(c); });
  for (const char* tag : {"<body", "<html"}) {
    const size_t open = lower.find(tag);
    if (open == std::string::npos) continue;
    const size_t close = lower.find('>', open);
    if (close != std::string::npos) return close + 1;
  }
  return 0;
}

// True for the charsets in which 7-bit text means US-ASCII.
bool is_ascii_superset(const std::string& charset) {
  std::string canonical = g_mime_charset_canon_name(charset.c_str());
  for (char& c : canonical) c = g_ascii_tolower(c);
  return canonical == "utf-8" || canonical.starts_with("iso-8859-") || canonical.starts_with("windows-125");
}

std::string charset_of(GMimeObject* object) {
  const char* charset = g_mime_object_get_content_type_parameter(object, "charset");
  return charset == nullptr ? std::string() : std::string(charset);
}

// The part's text with the edits made; `rewritten` grows by the links rewritten.
std::string edited_text(const Target& target, const std::string& text, const BodyEdits& edits,
                        size_t& rewritten) {
  const bool html = detail::is_html_part(GMIME_OBJECT(target.part));
  std::string out = text;
  if (edits.url_rewrite) {
    out = html ? detail::rewrite_html_links(out, *edits.url_rewrite, rewritten)
               : detail::rewrite_text_urls(out, *edits.url_rewrite, rewritten);
  }
  // A banner the part already shows (the message passed the gateway before) is not
  // added again.
  std::vector<std::string> banners;
  for (const std::string& banner : edits.banners) {
    if (out.find(html ? detail::html_escaped(banner) : banner) == std::string::npos)
      banners.push_back(banner);
  }
  if (target.shown && !banners.empty()) {
    out.insert(html ? html_insertion_point(out) : 0, html ? html_banner(banners) : plain_banner(banners));
  }
  return out;
}

// The transfer encoding for the new text: the part's own (base64 stays base64, 8bit
// stays 8bit) unless the text no longer fits it (8 bits in 7bit text, lines over 998
// bytes), then the best one within the same limit.
GMimeContentEncoding encoding_for(GMimePart* part, GMimeContentEncoding before) {
  if (before == GMIME_CONTENT_ENCODING_DEFAULT || before == GMIME_CONTENT_ENCODING_7BIT) {
    return g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT);
  }
  if (before == GMIME_CONTENT_ENCODING_8BIT) {
    return g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_8BIT);
  }
  return before;
}

void set_text(GMimeTextPart* part, const std::string& text) {
  GMimePart* mime_part = GMIME_PART(part);
  const GMimeContentEncoding before = g_mime_part_get_content_encoding(mime_part);
  const std::string declared = charset_of(GMIME_OBJECT(part));
  g_mime_text_part_set_text(part, text.c_str());
  // GMime labels 7-bit text "us-ascii"; the declared charset says the same and keeps
  // Content-Type unchanged.
  if (!declared.empty() && g_ascii_strcasecmp(charset_of(GMIME_OBJECT(part)).c_str(), "us-ascii") == 0 &&
      is_ascii_superset(declared)) {
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", declared.c_str());
  }
  g_mime_part_set_content_encoding(mime_part, encoding_for(mime_part, before));
}

std::vector<std::string> unique(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const std::string& text : texts) {
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
  }
  return out;
}

// A field GMime wrote for an absent one that says what absence means (RFC 2045 5.2,
// 6.1): no need to add it.
bool is_implied(const char* name, const std::string& value) {
  const char* implied =
      g_ascii_strcasecmp(name, "Content-Type") == 0 ? "text/plain; charset=us-ascii" : "7bit";
  return g_ascii_strcasecmp(value.c_str(), implied) == 0;
}

std::string field_value(GMimeObject* object, const char* name) {
  const char* value = g_mime_object_get_header(object, name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string write_content(GMimeObject* object, bool crlf) {
  GMimeFormatOptions* format = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(format,
                                           crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  g_mime_object_write_content_to_stream(object, format, sink.get());
  g_mime_format_options_free(format);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

bool field_named(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         g_ascii_strncasecmp(line.data(), std::string(name).c_str(), name.size()) == 0;
}

// The header block (its final empty line excluded) with each changed field's first
// occurrence replaced, continuation lines included, and the others appended.
std::string replace_fields(std::string_view block,
                           const std::vector<std::pair<std::string, std::string>>& changed,
                           std::string_view newline) {
  std::string out;
  std::vector<bool> done(changed.size(), false);
  bool skipping = false;
  for (size_t pos = 0; pos < block.size();) {
    const size_t end = std::min(block.find('\n', pos), block.size() - 1) + 1;
    const std::string_view line = block.substr(pos, end - pos);
    pos = end;
    if (skipping && (line[0] == ' ' || line[0] == '\t')) continue;
    skipping = false;
    for (size_t i = 0; i < changed.size() && !skipping; ++i) {
      if (done[i] || !field_named(line, changed[i].first)) continue;
      out += changed[i].first + ": " + changed[i].second + std::string(newline);
      done[i] = skipping = true;
    }
    if (!skipping) out += line;
  }
  for (size_t i = 0; i < changed.size(); ++i) {
    if (!done[i]) out += changed[i].first + ": " + changed[i].second + std::string(newline);
  }
  return out;
}

std::optional<std::string> unsafe_structure(const Message& message) {
  const auto kinds = message.defect_kinds();
  for (const DefectKind kind : kUnsafeDefects) {
    if (kinds.test(static_cast<size_t>(kind))) {
      return "broken MIME structure (" + std::string(defect_name(kind)) + "): left as received";
    }
  }
  return std::nullopt;
}

EditedMessage not_edited(std::string why) {
  EditedMessage result;
  result.not_edited = std::move(why);
  return result;
}

}  // namespace

EditedMessage edit_body(const Message& message, const BodyEdits& edits) {
  if (edits.empty()) return not_edited("no edits");
  if (auto why = unsafe_structure(message)) return not_edited(*why);
  const std::string_view raw = message.raw();
  const size_t start = mbox_from_line_length(raw);
  const size_t body_offset = static_cast<size_t>(message.raw_body().data() - raw.data());
  const std::string_view header_block = raw.substr(start, body_offset - start);

  detail::init_gmime_once();
  detail::DefectList defects;
  detail::ParserOptionsPtr options = detail::new_parser_options(&defects);
  const std::string_view input = raw.substr(start);
  const std::optional<std::string> cleaned = detail::header_nuls_as_spaces(input);
  const std::string_view parsed = cleaned ? std::string_view(*cleaned) : input;
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(parsed.data(), parsed.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjectPtr<GMimeMessage> tree(g_mime_parser_construct_message(parser.get(), options.get()));
  GMimeObject* top = tree ? g_mime_message_get_mime_part(tree.get()) : nullptr;
  if (top == nullptr) return not_edited("no MIME body");

  Targets targets;
  find_targets(top, 0, true, targets);
  if (targets.parts.empty())
    return not_edited(targets.blocked.empty() ? "no inline text part" : targets.blocked);

  std::vector<std::string> before;
  for (const char* name : kContentFields) before.push_back(field_value(top, name));
  BodyEdits unique_edits = edits;
  unique_edits.banners = unique(edits.banners);
  EditedMessage result;
  for (const Target& target : targets.parts) {
    const std::string text = detail::decoded_text(GMIME_PART(target.part), options.get());
    std::string edited = edited_text(target, text, unique_edits, result.urls_rewritten);
    if (edited == text) continue;
    set_text(target.part, edited);
    result.edited = true;
  }
  if (!result.edited)
    return not_edited(edits.banners.empty() ? "no link to rewrite" : "no part shown as text");
  for (size_t i = 0; i < kContentFields.size(); ++i) {
    std::string now = field_value(top, kContentFields[i]);
    const bool added_implied = before[i].empty() && is_implied(kContentFields[i], now);
    if (now != before[i] && !now.empty() && !added_implied)
      result.changed_headers.emplace_back(kContentFields[i], std::move(now));
  }
  if (!result.changed_headers.empty() && !message.header("MIME-Version")) {
    result.changed_headers.emplace_back("MIME-Version", "1.0");
  }
  const bool crlf = header_block.find("\r\n") != std::string_view::npos;
  const std::string_view newline = crlf ? "\r\n" : "\n";
  result.body = write_content(top, crlf);
  // The block ends with its empty line; the fields are everything before it.
  const size_t fields_end = header_block.ends_with("\r\n\r\n") ? header_block.size() - 2
                            : header_block.ends_with("\n\n")   ? header_block.size() - 1
                                                               : header_block.size();
  result.message = replace_fields(header_block.substr(0, fields_end), result.changed_headers, newline);
  result.message += newline;
  result.message += result.body;
  return result;
}

}  // namespace mp::runtime
