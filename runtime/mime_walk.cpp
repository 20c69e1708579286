// Walks a GMime message tree in document order to build the message model's body
// and attachment views. Multiparts are descended into; each leaf part is either
// inline text (body), an attachment, or both (an inline text part with a file name);
// an attached message/rfc822 is an attachment itself and is descended into for its
// own attachments, but its text is not the outer message's body. Header values
// are decoded here too, around a GMime bug with padded base64 encoded-words.
#include "runtime/mime_walk.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "runtime/gmime_util.h"
#include "runtime/html_text.h"

namespace mp::runtime::detail {
namespace {

// ---- Header values (GMime issue #133 workaround) ---------------------------

struct EncodedWord {
  size_t begin = 0;  // index of the "=?"
  size_t end = 0;    // index just past the "?="
  std::string_view charset;
  char encoding = 0;
  std::string_view text;
};

// RFC 2047 caps an encoded-word at 75 characters; bounding the search at a
// generous multiple keeps a hostile header linear.
constexpr size_t kMaxEncodedWord = 1024;

// The first "=?charset?e?text?=" at or after `from`.
std::optional<EncodedWord> find_encoded_word(std::string_view raw, size_t from) {
  for (size_t begin = raw.find("=?", from); begin != std::string_view::npos;
       begin = raw.find("=?", begin + 2)) {
    const std::string_view rest = raw.substr(begin + 2, kMaxEncodedWord);
    const size_t charset_end = rest.find('?');
    if (charset_end == std::string_view::npos || charset_end == 0 || charset_end + 2 >= rest.size() ||
        rest[charset_end + 2] != '?') {
      continue;
    }
    const size_t text_begin = charset_end + 3;
    const size_t text_end = rest.find("?=", text_begin);
    if (text_end == std::string_view::npos) continue;
    const std::string_view charset = rest.substr(0, charset_end);
    const std::string_view text = rest.substr(text_begin, text_end - text_begin);
    if (charset.find_first_of(" \t\r\n") != std::string_view::npos ||
        text.find_first_of(" \t\r\n") != std::string_view::npos) {
      continue;
    }
    return EncodedWord{begin, begin + 2 + text_end + 2, charset, rest[charset_end + 1], text};
  }
  return std::nullopt;
}

// The same bytes as a "Q" encoded-word, every byte hex-escaped.
std::string as_q_word(const EncodedWord& word) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  const std::string base64(word.text);
  gsize length = 0;
  GCharPtr bytes(reinterpret_cast<char*>(g_base64_decode(base64.c_str(), &length)));
  std::string q = "=?" + std::string(word.charset) + "?Q?";
  for (gsize i = 0; bytes && i < length; ++i) {
    const auto byte = static_cast<unsigned char>(bytes.get()[i]);
    q += '=';
    q += kHex[byte >> 4];
    q += kHex[byte & 0x0F];
  }
  return q + "?=";
}

}  // namespace

std::string raw_header_value(GMimeHeader* header) {
  const char* raw_text = g_mime_header_get_raw_value(header);
  const std::string_view raw = raw_text != nullptr ? raw_text : "";
  std::string rewritten;
  bool has_padded_word = false;
  size_t copied = 0;
  for (std::optional<EncodedWord> word = find_encoded_word(raw, 0); word;
       word = find_encoded_word(raw, word->end)) {
    if (g_ascii_tolower(word->encoding) != 'b') continue;
    has_padded_word = has_padded_word || word->text.find('=') != std::string_view::npos;
    rewritten.append(raw.substr(copied, word->begin - copied)).append(as_q_word(*word));
    copied = word->end;
  }
  if (!has_padded_word) return std::string(raw);
  return rewritten.append(raw.substr(copied));
}

std::string decode_header_value(GMimeHeader* header, GMimeParserOptions* options) {
  const std::string raw = raw_header_value(header);
  GCharPtr unfolded(g_mime_utils_header_unfold(raw.c_str()));
  GCharPtr decoded(g_mime_utils_header_decode_text(options, unfolded.get()));
  return decoded ? decoded.get() : "";
}

namespace {

// ---- The walk ------------------------------------------------------------

// Called for every leaf part, every message/rfc822 part and every multipart whose
// boundary matched nothing; `in_attached_message` tells whether the part belongs to
// a message attached to the outer one.
using PartVisitor = std::function<void(GMimeObject* part, bool in_attached_message)>;

struct Walk {
  const WalkContext& context;
  const PartVisitor& visit;
  mutable uint32_t parts = 0;  // entities counted so far (WalkContext::admit_part)

  void object(GMimeObject* object, int depth, bool in_attached_message) const;
  void message(GMimeMessage* message, int depth) const;
  void encoded_message(GMimePart* part, int depth) const;
};

bool is_type(GMimeObject* part, const char* type, const char* subtype) {
  return g_mime_content_type_is_type(g_mime_object_get_content_type(part), type, subtype);
}

// A message/rfc822 part sent base64 or quoted-printable encoded (RFC 2046 5.2.1
// forbids it, mail clients show it anyway) is a plain part to GMime's parser.
bool is_encoded_message(GMimeObject* object) {
  if (!GMIME_IS_PART(object) || !is_type(object, "message", "rfc822")) return false;
  const GMimeContentEncoding encoding = g_mime_part_get_content_encoding(GMIME_PART(object));
  return encoding == GMIME_CONTENT_ENCODING_BASE64 || encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
         encoding == GMIME_CONTENT_ENCODING_UUENCODE;
}

void Walk::object(GMimeObject* object, int depth, bool in_attached_message) const {
  if (object == nullptr) return;
  if (depth > context.max_depth) {
    context.defects.add(DefectKind::MimeDepthExceeded, "MIME nesting deeper than " +
                                                           std::to_string(context.max_depth) +
                                                           " levels; deeper parts not examined");
    return;
  }
  if (!context.admit_part(parts)) return;
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* multipart = GMIME_MULTIPART(object);
    const int count = g_mime_multipart_get_count(multipart);
    if (count == 0) {
      context.defects.add(DefectKind::BrokenBoundary, "multipart whose boundary matches no delimiter line");
      visit(object, in_attached_message);
    }
    for (int i = 0; i < count; ++i) {
      this->object(g_mime_multipart_get_part(multipart, i), depth + 1, in_attached_message);
    }
    return;
  }
  visit(object, in_attached_message);
  if (GMIME_IS_MESSAGE_PART(object)) {
    message(g_mime_message_part_get_message(GMIME_MESSAGE_PART(object)), depth + 1);
  } else if (is_encoded_message(object)) {
    encoded_message(GMIME_PART(object), depth + 1);
  }
}

void Walk::message(GMimeMessage* inner, int depth) const {
  if (inner != nullptr) object(g_mime_message_get_mime_part(inner), depth, true);
}

void Walk::encoded_message(GMimePart* part, int depth) const {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return;
  GObjectPtr<GMimeStream> decoded(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, decoded.get());
  g_mime_stream_reset(decoded.get());
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(decoded.get()));
  GObjectPtr<GMimeMessage> inner(g_mime_parser_construct_message(parser.get(), context.options));
  message(inner.get(), depth);
}

// A cut inside a multibyte character would leave invalid UTF-8 for the patterns.
void cut_utf8(std::string& s, uint64_t max_bytes) {
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  s.resize(end);
}

void walk_message(GMimeMessage* message, const WalkContext& context, const PartVisitor& visit) {
  Walk{context, visit}.object(g_mime_message_get_mime_part(message), 0, false);
}

// ---- Body text -----------------------------------------------------------

bool is_text(GMimeObject* part) {
  return is_type(part, "text", "*");
}

bool is_html(GMimeObject* part) {
  return is_type(part, "text", "html");
}

// A NUL would cut the text short in any C API it meets (the 8-bit charset
// guesser among them), and one kind of line end keeps "$" in patterns simple.
std::string without_nuls_and_crs(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\0') continue;
    if (c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') continue;
    out += c;
  }
  return out;
}

// Already-Unicode charsets need no conversion, and skipping the filter keeps 8-bit
// bytes that a mislabelled "us-ascii" part really contains for the fallback guess.
bool needs_charset_conversion(const char* charset) {
  if (charset == nullptr || *charset == '\0') return false;
  for (const char* unicode : {"utf-8", "utf8", "us-ascii", "ascii"}) {
    if (g_ascii_strcasecmp(charset, unicode) == 0) return false;
  }
  return true;
}

// Text labelled ISO-8859-1 is read as windows-1252, its superset, as browsers do
// (WHATWG Encoding): the C1 range of real "latin1" mail holds €, curly quotes
// and dashes, not control characters.
const char* effective_charset(const char* declared) {
  const char* canonical = g_mime_charset_canon_name(declared);
  if (g_ascii_strcasecmp(canonical, "iso-8859-1") == 0 || g_ascii_strcasecmp(canonical, "latin1") == 0) {
    return "windows-1252";
  }
  return declared;
}

// What a GMimeStreamMem holds.
std::string stream_bytes(GMimeStream* mem) {
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// The part's content with its transfer encoding undone and, when the declared
// charset is known to iconv, converted to UTF-8.
std::string decoded_content(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return {};
  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  GObjectPtr<GMimeStream> filtered(g_mime_stream_filter_new(sink.get()));
  const char* charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  if (needs_charset_conversion(charset)) {
    GObjectPtr<GMimeFilter> converter(g_mime_filter_charset_new(effective_charset(charset), "UTF-8"));
    if (converter) g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), converter.get());
  }
  g_mime_data_wrapper_write_to_stream(content, filtered.get());
  g_mime_stream_flush(filtered.get());
  return stream_bytes(sink.get());
}

void append_paragraph(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out += '\n';
  out += text;
}

// A multipart whose boundary matched nothing kept all its content as prologue:
// what a broken structure would hide is read as text (SpamAssassin does the same).
std::string unparsed_multipart_text(GMimeMultipart* multipart) {
  std::string text;
  for (const char* piece :
       {g_mime_multipart_get_prologue(multipart), g_mime_multipart_get_epilogue(multipart)}) {
    if (piece != nullptr) append_paragraph(text, piece);
  }
  return text;
}

void add_body_part(GMimeObject* object, GMimeParserOptions* options, BodyContent& body) {
  if (GMIME_IS_MULTIPART(object)) {
    append_paragraph(body.text, to_valid_utf8(unparsed_multipart_text(GMIME_MULTIPART(object)), options));
    return;
  }
  if (!GMIME_IS_PART(object) || !is_text(object)) return;
  GMimePart* part = GMIME_PART(object);
  if (g_mime_part_is_attachment(part)) return;
  std::string text = to_valid_utf8(decoded_content(part), options);
  if (is_html(object)) {
    append_paragraph(body.text, html_to_text(text));
    append_paragraph(body.html, text);
  } else {
    append_paragraph(body.text, text);
  }
}

// ---- Attachments ---------------------------------------------------------

uint64_t decoded_size(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return 0;
  GObjectPtr<GMimeStream> counter(g_mime_stream_null_new());
  g_mime_data_wrapper_write_to_stream(content, counter.get());
  return GMIME_STREAM_NULL(counter.get())->written;
}

// An attached message has no transfer-decoded content of its own; its size is
// that of the message as GMime writes it back out, which for a parsed message is
// its original bytes.
uint64_t serialized_size(GMimeMessage* message) {
  if (message == nullptr) return 0;
  GObjectPtr<GMimeStream> counter(g_mime_stream_null_new());
  g_mime_object_write_to_stream(GMIME_OBJECT(message), nullptr, counter.get());
  return GMIME_STREAM_NULL(counter.get())->written;
}

std::string lowercase_mime_type(GMimeObject* part) {
  GCharPtr mime_type(g_mime_content_type_get_mime_type(g_mime_object_get_content_type(part)));
  std::string result = mime_type ? mime_type.get() : "application/octet-stream";
  for (char& c : result) c = g_ascii_tolower(c);
  return result;
}

std::string lowercase_extension(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string extension(name.substr(dot + 1));
  for (char& c : extension) c = g_ascii_tolower(c);
  return extension;
}

std::string disposition_filename(GMimeHeader* header, GMimeParserOptions* options) {
  const std::string raw = raw_header_value(header);
  GObjectPtr<GMimeContentDisposition> disposition(g_mime_content_disposition_parse(options, raw.c_str()));
  const char* name =
      disposition ? g_mime_content_disposition_get_parameter(disposition.get(), "filename") : nullptr;
  return name != nullptr ? name : "";
}

std::string content_type_name(GMimeHeader* header, GMimeParserOptions* options) {
  const std::string raw = raw_header_value(header);
  GObjectPtr<GMimeContentType> content_type(g_mime_content_type_parse(options, raw.c_str()));
  const char* name = content_type ? g_mime_content_type_get_parameter(content_type.get(), "name") : nullptr;
  return name != nullptr ? name : "";
}

// The lookup of g_mime_part_get_filename (disposition "filename", else type
// "name", RFC 2231 and 2047 decoded), but re-parsed from raw_header_value so that
// GMime issue #133 cannot truncate the name.
std::string declared_filename(GMimeObject* object, GMimeParserOptions* options) {
  GMimeHeaderList* headers = g_mime_object_get_header_list(object);
  std::string name;
  if (GMimeHeader* header = g_mime_header_list_get_header(headers, "Content-Disposition")) {
    name = disposition_filename(header, options);
  }
  if (GMimeHeader* header = g_mime_header_list_get_header(headers, "Content-Type");
      name.empty() && header != nullptr) {
    name = content_type_name(header, options);
  }
  return name;
}

std::string subject_of(GMimeMessage* message, GMimeParserOptions* options) {
  if (message == nullptr) return {};
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message));
  GMimeHeader* subject = g_mime_header_list_get_header(headers, "Subject");
  return subject != nullptr ? decode_header_value(subject, options) : "";
}

// Named as declared, else after its subject, else generically.
std::string attached_message_name(GMimeObject* object, GMimeMessage* inner, GMimeParserOptions* options) {
  if (std::string declared = declared_filename(object, options); !declared.empty()) {
    return declared;
  }
  if (std::string subject = subject_of(inner, options); !subject.empty()) return subject;
  return "message.eml";
}

Attachment describe_attached_message(GMimeObject* object, GMimeParserOptions* options) {
  GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
  Attachment attachment;
  attachment.name = attached_message_name(object, inner, options);
  attachment.size = serialized_size(inner);
  return attachment;
}

bool is_attachment_part(GMimePart* part, const std::string& filename) {
  return g_mime_part_is_attachment(part) || !filename.empty() || !is_text(GMIME_OBJECT(part));
}

void add_attachment(GMimeObject* object, GMimeParserOptions* options, AttachmentList& list) {
  Attachment attachment;
  if (GMIME_IS_MESSAGE_PART(object)) {
    attachment = describe_attached_message(object, options);
  } else if (GMIME_IS_PART(object)) {
    attachment.name = declared_filename(object, options);
    if (!is_attachment_part(GMIME_PART(object), attachment.name)) return;
    attachment.size = decoded_size(GMIME_PART(object));
  } else {
    return;
  }
  attachment.extension = lowercase_extension(attachment.name);
  attachment.content_type = lowercase_mime_type(object);
  list.attachments.push_back(std::move(attachment));
  list.sources.push_back({object, {}});
}

// Inline text parts are where a uuencoded file hides; attachment parts are already
// listed whole.
void add_uuencoded_files(GMimeObject* object, AttachmentList& list) {
  if (!GMIME_IS_PART(object) || !is_text(object) || g_mime_part_is_attachment(GMIME_PART(object))) return;
  for (UuencodedFile& file : uuencoded_files(decoded_content(GMIME_PART(object)))) {
    Attachment attachment;
    attachment.extension = lowercase_extension(file.name);
    attachment.name = std::move(file.name);
    attachment.content_type = "application/octet-stream";
    attachment.size = file.size;
    list.attachments.push_back(std::move(attachment));
    list.sources.push_back({object, std::move(file.block)});
  }
}

}  // namespace

bool WalkContext::admit_part(uint32_t& seen) const {
  if (++seen <= max_parts) return true;
  defects.add(DefectKind::MimePartsExceeded,
              "more than " + std::to_string(max_parts) + " MIME parts; later parts not examined");
  return false;
}

void cut_field(HeaderField& field, const WalkContext& context) {
  const uint64_t max = context.max_field_bytes;
  if (field.value.size() <= max && field.raw.size() <= max) return;
  context.defects.add(DefectKind::HeaderFieldTooLong,
                      field.name + " field of " +
                          std::to_string(std::max(field.value.size(), field.raw.size())) +
                          " bytes; tests read its first " + std::to_string(max));
  if (field.value.size() > max) cut_utf8(field.value, max);
  if (field.raw.size() > max) cut_utf8(field.raw, max);
}

BodyContent collect_body(GMimeMessage* message, const WalkContext& context) {
  BodyContent body;
  walk_message(message, context, [&](GMimeObject* part, bool in_attached_message) {
    if (!in_attached_message) add_body_part(part, context.options, body);
  });
  return body;
}

bool is_inline_text(GMimeObject* object) {
  return GMIME_IS_PART(object) && is_text(object) && !g_mime_part_is_attachment(GMIME_PART(object));
}

bool is_html_part(GMimeObject* object) {
  return is_html(object);
}

std::string decoded_text(GMimePart* part, GMimeParserOptions* options) {
  return to_valid_utf8(decoded_content(part), options);
}

AttachmentList collect_attachments(GMimeMessage* message, const WalkContext& context) {
  AttachmentList list;
  walk_message(message, context, [&](GMimeObject* part, bool) {
    add_attachment(part, context.options, list);
    add_uuencoded_files(part, list);
  });
  return list;
}

std::string attachment_bytes(const AttachmentSource& source) {
  if (!source.uuencoded.empty()) return uudecoded(source.uuencoded);
  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  if (GMIME_IS_MESSAGE_PART(source.part)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(source.part));
    if (inner != nullptr) g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, sink.get());
  } else if (GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(source.part))) {
    g_mime_data_wrapper_write_to_stream(content, sink.get());
  }
  return stream_bytes(sink.get());
}

std::string to_valid_utf8(std::string_view bytes, GMimeParserOptions* options) {
  std::string text = without_nuls_and_crs(bytes);
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) return text;
  // decode_8bit picks whichever fallback charset converts the text best.
  GCharPtr guessed(g_mime_utils_decode_8bit(options, text.data(), text.size()));
  return guessed ? std::string(guessed.get()) : std::string();
}

}  // namespace mp::runtime::detail
