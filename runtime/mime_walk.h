// Private interface between Message and the GMime-facing code: turns a parsed
// GMime message into the decoded body (text and HTML) and the attachment list,
// and decodes header values.
#pragma once

#include <gmime/gmime.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/gmime_util.h"
#include "runtime/message.h"

namespace mp::runtime::detail {

struct BodyContent {
  std::string text;  // inline text parts, with HTML parts converted to text
  std::string html;  // inline text/html parts, decoded
};

// Every walk stops at `max_depth` levels of multipart/message nesting, so a hostile
// message cannot exhaust the stack, and after `max_parts` MIME entities in document
// order, so it cannot buy unbounded work with thousands of tiny parts; each records
// its defect. The walks count alike, so they stop at the same entity.
struct WalkContext {
  GMimeParserOptions* options;
  int max_depth;
  uint32_t max_parts;
  uint64_t max_field_bytes;  // of one header field (cut_field)
  uint32_t max_fields;       // of one message's header block (header_block)
  DefectList& defects;

  // Counts one more entity of a walk (`seen`, the walk's own count): whether it may be
  // examined. Past the limit it is not, and the message gets MimePartsExceeded.
  bool admit_part(uint32_t& seen) const;
};

// Cuts `field`'s value and raw body to `context.max_field_bytes` (at a UTF-8
// character boundary) when longer, with the defect HeaderFieldTooLong.
void cut_field(HeaderField& field, const WalkContext& context);

BodyContent collect_body(GMimeMessage* message, const WalkContext& context);

// Where an attachment's bytes are, so that they are decoded only when asked for
// (Message::attachment_content): its MIME part (a leaf or a message/rfc822 part,
// owned by the parsed message), or the "begin … end" text of a uuencoded file.
struct AttachmentSource {
  GMimeObject* part = nullptr;
  std::string uuencoded;
};
struct AttachmentList {
  std::vector<Attachment> attachments;
  std::vector<AttachmentSource> sources;  // one per attachment
};
AttachmentList collect_attachments(GMimeMessage* message, const WalkContext& context);
// The decoded bytes of an attachment: transfer encoding undone (no charset
// conversion), an attached message as GMime writes it, a uuencoded file decoded.
std::string attachment_bytes(const AttachmentSource& source);

// A text/* leaf part shown inline (not a Content-Disposition attachment).
bool is_inline_text(GMimeObject* object);
bool is_html_part(GMimeObject* object);  // text/html
// A part's content with the transfer encoding undone, converted to UTF-8 from its
// declared charset (or guessed), NULs and CRs dropped: what the body views read.
std::string decoded_text(GMimePart* part, GMimeParserOptions* options);

struct UuencodedFile {
  std::string name;   // as written on the "begin" line
  uint64_t size = 0;  // decoded bytes
  std::string block;  // the text from "begin" to "end"
};
// Files uuencoded in text ("begin 644 NAME" … "end"), in order.
std::vector<UuencodedFile> uuencoded_files(std::string_view text);
// The file a "begin … end" block holds.
std::string uudecoded(std::string_view block);

// The raw message with every NUL byte in a header line replaced by a space (same
// length), or nullopt when no header line holds a NUL.
std::optional<std::string> header_nuls_as_spaces(std::string_view raw);

// GMime 3.2.13 decodes a run of same-charset base64 encoded-words as one stream
// and loses everything after a word that ends in '=' padding (GMime issue #133;
// Debian 12 ships 3.2.13), e.g. the tail of a folded Japanese subject. This
// is a header's raw value with every "B" encoded-word rewritten as the
// equivalent "Q" word when it holds a padded one, which GMime decodes correctly;
// otherwise the raw value unchanged. Parse or decode headers from this.
std::string raw_header_value(GMimeHeader* header);
// What g_mime_header_get_value computes (unfolded, RFC 2047 decoded to UTF-8),
// but from raw_header_value.
std::string decode_header_value(GMimeHeader* header, GMimeParserOptions* options);

// A message's header block as written: GMime hands the Content-* fields of the
// top-level block to the body part and keeps the rest on the message; merged by input
// offset (part_headers.cpp). Only the first `context.max_fields` are returned, with the
// defect HeaderFieldsExceeded past them: every reader of a header block (the message's
// fields, addresses, an attached message's fields in mime_header) sees the same ones.
std::vector<GMimeHeader*> header_block(GMimeMessage* message, const WalkContext& context);
// A field's name, decoded value and field body as received (HeaderField).
HeaderField decode_field(GMimeHeader* field, GMimeParserOptions* options);
// Every MIME entity's header fields, in document order, as SpamAssassin's mimeheader
// sees the parts: the message (its header block), then each part at every depth,
// multiparts included, and for an attached message/rfc822 its part's own fields, then
// its header block and its parts. Stops below `context.max_depth` levels.
std::vector<std::vector<HeaderField>> part_headers(GMimeMessage* message, const WalkContext& context);

// Makes undecoded text valid UTF-8: NULs dropped, CRLF turned into LF, and bytes of
// an unknown charset guessed with the parser's fallback charsets.
std::string to_valid_utf8(std::string_view bytes, GMimeParserOptions* options);

}  // namespace mp::runtime::detail
