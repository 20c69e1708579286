// Walks a GMime message tree in document order to build the message model's body
// and attachment views. Multiparts are descended into; each leaf part is either
// inline text (body), an attachment, or both (an inline text part with a file name);
// an attached message/rfc822 is an attachment itself and is descended into for its
// own attachments, but its text is not the outer message's body.
#include "runtime/mime_walk.h"

#include <functional>

#include "runtime/gmime_util.h"
#include "runtime/html_text.h"

namespace mp::runtime::detail {
namespace {

// Called for every leaf part and every message/rfc822 part; `in_attached_message`
// tells whether the part belongs to a message attached to the outer one.
using PartVisitor = std::function<void(GMimeObject* part, bool in_attached_message)>;

void walk(GMimeObject* object, int depth, bool in_attached_message, const PartVisitor& visit,
          std::vector<std::string>& defects) {
  if (object == nullptr) return;
  if (depth > kMaxMimeDepth) {
    add_defect(defects, "MIME nesting deeper than " + std::to_string(kMaxMimeDepth) +
                            " levels; deeper parts ignored");
    return;
  }
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* multipart = GMIME_MULTIPART(object);
    const int count = g_mime_multipart_get_count(multipart);
    for (int i = 0; i < count; ++i) {
      walk(g_mime_multipart_get_part(multipart, i), depth + 1, in_attached_message, visit,
           defects);
    }
    return;
  }
  visit(object, in_attached_message);
  if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    if (inner != nullptr) {
      walk(g_mime_message_get_mime_part(inner), depth + 1, true, visit, defects);
    }
  }
}

void walk_message(GMimeMessage* message, const PartVisitor& visit,
                  std::vector<std::string>& defects) {
  walk(g_mime_message_get_mime_part(message), 0, false, visit, defects);
}

bool is_text(GMimeObject* part) {
  return g_mime_content_type_is_type(g_mime_object_get_content_type(part), "text", "*");
}

bool is_html(GMimeObject* part) {
  return g_mime_content_type_is_type(g_mime_object_get_content_type(part), "text", "html");
}

std::string lowercase_mime_type(GMimeObject* part) {
  GCharPtr mime_type(g_mime_content_type_get_mime_type(g_mime_object_get_content_type(part)));
  std::string result = mime_type ? mime_type.get() : "application/octet-stream";
  for (char& c : result) c = g_ascii_tolower(c);
  return result;
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
  if (g_ascii_strcasecmp(canonical, "iso-8859-1") == 0 ||
      g_ascii_strcasecmp(canonical, "latin1") == 0) {
    return "windows-1252";
  }
  return declared;
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
    GObjectPtr<GMimeFilter> converter(
        g_mime_filter_charset_new(effective_charset(charset), "UTF-8"));
    if (converter) g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), converter.get());
  }
  g_mime_data_wrapper_write_to_stream(content, filtered.get());
  g_mime_stream_flush(filtered.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

void append_paragraph(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out += '\n';
  out += text;
}

void add_body_part(GMimeObject* object, GMimeParserOptions* options, BodyContent& body) {
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

std::string lowercase_extension(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string extension(name.substr(dot + 1));
  for (char& c : extension) c = g_ascii_tolower(c);
  return extension;
}

// Same lookup as g_mime_part_get_filename, which only accepts a GMimePart.
const char* declared_filename(GMimeObject* object) {
  const char* name = g_mime_object_get_content_disposition_parameter(object, "filename");
  return name != nullptr ? name : g_mime_object_get_content_type_parameter(object, "name");
}

std::string attached_message_name(GMimeObject* object, GMimeMessage* inner) {
  if (const char* name = declared_filename(object); name != nullptr && *name != '\0') return name;
  const char* subject = inner != nullptr ? g_mime_message_get_subject(inner) : nullptr;
  if (subject != nullptr && *subject != '\0') return subject;
  return "message.eml";
}

Attachment describe_attached_message(GMimeObject* object) {
  GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
  Attachment attachment;
  attachment.name = attached_message_name(object, inner);
  attachment.size = serialized_size(inner);
  return attachment;
}

bool is_attachment_part(GMimePart* part) {
  const char* filename = g_mime_part_get_filename(part);
  return g_mime_part_is_attachment(part) || (filename != nullptr && *filename != '\0') ||
         !is_text(GMIME_OBJECT(part));
}

Attachment describe_part(GMimePart* part) {
  Attachment attachment;
  const char* filename = g_mime_part_get_filename(part);
  attachment.name = filename != nullptr ? filename : "";
  attachment.size = decoded_size(part);
  return attachment;
}

void add_attachment(GMimeObject* object, std::vector<Attachment>& attachments) {
  Attachment attachment;
  if (GMIME_IS_MESSAGE_PART(object)) {
    attachment = describe_attached_message(object);
  } else if (GMIME_IS_PART(object) && is_attachment_part(GMIME_PART(object))) {
    attachment = describe_part(GMIME_PART(object));
  } else {
    return;
  }
  attachment.extension = lowercase_extension(attachment.name);
  attachment.content_type = lowercase_mime_type(object);
  attachments.push_back(std::move(attachment));
}

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

}  // namespace

BodyContent collect_body(GMimeMessage* message, GMimeParserOptions* options,
                         std::vector<std::string>& defects) {
  BodyContent body;
  walk_message(
      message,
      [&](GMimeObject* part, bool in_attached_message) {
        if (!in_attached_message) add_body_part(part, options, body);
      },
      defects);
  return body;
}

std::vector<Attachment> collect_attachments(GMimeMessage* message,
                                            std::vector<std::string>& defects) {
  std::vector<Attachment> attachments;
  walk_message(
      message, [&](GMimeObject* part, bool) { add_attachment(part, attachments); }, defects);
  return attachments;
}

std::string to_valid_utf8(std::string bytes, GMimeParserOptions* options) {
  std::string text = without_nuls_and_crs(bytes);
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) return text;
  // decode_8bit picks whichever fallback charset converts the text best.
  GCharPtr guessed(g_mime_utils_decode_8bit(options, text.data(), text.size()));
  return guessed ? std::string(guessed.get()) : std::string();
}

}  // namespace mp::runtime::detail
