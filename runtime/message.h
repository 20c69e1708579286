// The message model: one RFC 5322 message parsed with GMime, exposed as the typed,
// lazily decoded fields the policy language tests (headers, addresses, subject,
// decoded body text, HTML, URLs, attachments). Parsing never fails: a malformed
// message yields whatever could be recovered plus a list of defects.
//
// A Message is used by one thread at a time; body text, HTML, URLs and attachments
// are decoded on first access and cached, so a policy that never looks at the body
// never pays for decoding it.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/api_export.h"

namespace mp::runtime {

// An RFC 5322 mailbox. `address` is "local@domain" as written (domain part lowercased
// and converted to Unicode when it was punycode); empty for a group or an unparsable
// entry that still had a display name.
struct MP_API Address {
  std::string display_name;
  std::string address;

  std::string_view local() const;   // part before the last '@'
  std::string_view domain() const;  // part after the last '@' (empty if none)
};

struct HeaderField {
  std::string name;   // as written, e.g. "Received"
  std::string value;  // unfolded, RFC 2047 decoded to UTF-8
  // The field body as received (RFC 5322 2.2): everything after the colon, the
  // whitespace after it and the folding line breaks (as LF) included, encoded words
  // not decoded; without the line break that ends the field. SpamAssassin's `:raw`.
  std::string raw;
};

struct Attachment {
  std::string name;          // RFC 2231 / RFC 2047 decoded file name ("" if none)
  std::string extension;     // lowercased text after the last '.', "" if none
  std::string content_type;  // lowercased "type/subtype"
  uint64_t size = 0;         // decoded content size in bytes
};

// Structural defects (runtime/defects.def), so a policy can act on mail whose
// structure is abnormal: `message.defects contains duplicate_from`.
enum class DefectKind : uint8_t {
#define MP_DEFECT(id, name, meaning) id,
#include "runtime/defects.def"
#undef MP_DEFECT
};
inline constexpr size_t kDefectKindCount = 0
#define MP_DEFECT(id, name, meaning) +1
#include "runtime/defects.def"
#undef MP_DEFECT
    ;
MP_API std::string_view defect_name(DefectKind kind);  // "duplicate_from"
std::string_view defect_meaning(DefectKind kind);  // one line for docs and --explain
std::optional<DefectKind> defect_kind(std::string_view name);

struct Defect {
  DefectKind kind;
  std::string text;  // what was found, with the offending item ("duplicated header: From")
};

// Limits on what parsing examines; the defaults suit a gateway. Past each, the message
// is examined up to it and gets a defect the policy can read (settings of the same
// names, docs/language.md section 4; docs/reliability.md).
struct ParseOptions {
  // Levels of multipart / message/rfc822 nesting examined; parts below are not
  // examined and the message gets DefectKind::MimeDepthExceeded (mime.max_depth).
  int max_mime_depth = 64;
  // MIME entities examined, counted in document order: multiparts, leaf parts,
  // attached messages and their parts. Later ones are not examined (no body text,
  // attachment or part header from them): DefectKind::MimePartsExceeded (mime.max_parts).
  uint32_t max_mime_parts = 1000;
  // Fields of each header block examined, in order (the message's, each attached
  // message's); later fields are not (not in headers(), addresses(), mime_headers(), nor
  // in From/To/Cc/Reply-To/Subject): DefectKind::HeaderFieldsExceeded
  // (header.max_fields). RFC 5322 sets no count; real mail has well under a hundred.
  uint32_t max_header_fields = 1000;
  // Bytes of one header field's value (and of its raw body) that tests read; a longer
  // field is cut at a UTF-8 character boundary: DefectKind::HeaderFieldTooLong
  // (header.max_field_bytes). Postfix's header_size_limit has the same default.
  uint64_t max_header_field_bytes = 102400;
  // URLs taken from the text and HTML, in order; later ones are not examined:
  // DefectKind::UrlsExceeded (urls.max_count).
  uint32_t max_urls = 1000;

  bool operator==(const ParseOptions&) const = default;
};

struct Url {
  std::string text;    // as found in the text or HTML (href values and bare URLs)
  std::string domain;  // lowercased host name (no port, no userinfo)
  // For the href of an HTML <a>: the text a reader sees as the link (tags dropped,
  // entities decoded, whitespace collapsed, at most a few hundred bytes); "" for
  // other URLs. What the link *claims* to be, next to where it goes.
  std::string link_text;
};

class MP_API Message {
 public:
  // Parses raw RFC 5322 bytes. A leading mbox "From " line is skipped. A NUL byte
  // in a header line (the message's, a MIME part's or an attached message's) is read
  // as a space, so text after it stays visible; raw() keeps the bytes as received.
  static Message parse(std::string bytes, const ParseOptions& options = {});

  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  ~Message();

  const std::vector<HeaderField>& headers() const;
  // First header with this name (case-insensitive), decoded.
  std::optional<std::string_view> header(std::string_view name) const;

  // Mailboxes of every field of that name, in order (a second From field counts as
  // much as the first); group members in place of their group; an empty group
  // ("undisclosed-recipients:;") yields no mailbox.
  const std::vector<Address>& from() const;
  const std::vector<Address>& to() const;
  const std::vector<Address>& cc() const;
  const std::vector<Address>& reply_to() const;
  // The mailboxes of every header field named `name` (case-insensitive), read from
  // its field body as From's are (RFC 5322 3.4: groups flattened, the address part
  // without angle brackets) — SpamAssassin's NAME:addr. A field with no mailbox in
  // it ("Return-Path: <>", free text) yields none. Parsed anew on each call.
  std::vector<Address> addresses(std::string_view name) const;
  const std::string& subject() const;

  // Decoded text of all text/* parts (charset converted to UTF-8, HTML turned to
  // text), joined with newlines. Attachments are not included. A multipart whose
  // boundary matches no delimiter line contributes its whole text, as SpamAssassin
  // does, so content cannot be hidden by a broken structure.
  const std::string& body_text() const;
  // The decoded HTML of all text/html parts, joined.
  const std::string& html() const;
  // Bytes after the header block, undecoded.
  std::string_view raw_body() const;
  const std::vector<Url>& urls() const;
  // Every attachment a mail client would show, at any depth: MIME parts with a file
  // name or non-text content, attached messages (also when sent base64-encoded) and
  // their own attachments, and uuencoded files inline in a text part.
  const std::vector<Attachment>& attachments() const;
  // The header fields of every MIME entity (SpamAssassin's mimeheader view), one list
  // per entity in document order: the message's own header block first, then each
  // part at every depth (multiparts and attached messages included); parts nested
  // deeper than ParseOptions::max_mime_depth are left out. Computed on first use.
  const std::vector<std::vector<HeaderField>>& mime_headers() const;
  // The decoded bytes of attachments()[index]: the transfer encoding undone (no
  // charset conversion), an attached message as its RFC 5322 text, a uuencoded file
  // decoded; "" for an index out of range. Decoded anew on each call and not kept, so
  // only a caller that inspects content pays for it (memory: one attachment).
  std::string attachment_content(size_t index) const;

  uint64_t size() const;  // raw message size in bytes
  std::string_view raw() const;
  // Problems met while parsing so far (the body views add theirs when first used);
  // the texts are capped at a few dozen, the kinds are never dropped.
  const std::vector<Defect>& defects() const;
  // Every kind of defect the message has, after examining the whole message.
  std::bitset<kDefectKindCount> defect_kinds() const;

 private:
  struct Impl;
  explicit Message(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Length in bytes of a leading mbox "From " line, its newline included; 0 when `raw`
// does not start with "From ".
MP_API size_t mbox_from_line_length(std::string_view raw);

// Splits an mbox file into messages (on lines starting with "From "). A file that
// does not start with "From " is returned as a single message.
MP_API std::vector<std::string> split_mbox(std::string_view bytes);

}  // namespace mp::runtime
