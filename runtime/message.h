// The message model: one RFC 5322 message parsed with GMime, exposed as the typed,
// lazily decoded fields the policy language tests (headers, addresses, subject,
// decoded body text, HTML, URLs, attachments). Parsing never fails: a malformed
// message yields whatever could be recovered plus a list of defects.
//
// A Message is used by one thread at a time; body text, HTML, URLs and attachments
// are decoded on first access and cached, so a policy that never looks at the body
// never pays for decoding it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::runtime {

// An RFC 5322 mailbox. `address` is "local@domain" as written (domain part lowercased
// and converted to Unicode when it was punycode); empty for a group or an unparsable
// entry that still had a display name.
struct Address {
  std::string display_name;
  std::string address;

  std::string_view local() const;   // part before the last '@'
  std::string_view domain() const;  // part after the last '@' (empty if none)
};

struct HeaderField {
  std::string name;   // as written, e.g. "Received"
  std::string value;  // unfolded, RFC 2047 decoded to UTF-8
};

struct Attachment {
  std::string name;          // RFC 2231 / RFC 2047 decoded file name ("" if none)
  std::string extension;     // lowercased text after the last '.', "" if none
  std::string content_type;  // lowercased "type/subtype"
  uint64_t size = 0;         // decoded content size in bytes
};

struct Url {
  std::string text;    // as found in the text or HTML (href values and bare URLs)
  std::string domain;  // lowercased host name (no port, no userinfo)
};

class Message {
 public:
  // Parses raw RFC 5322 bytes. A leading mbox "From " line is skipped.
  static Message parse(std::string bytes);

  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  ~Message();

  const std::vector<HeaderField>& headers() const;
  // First header with this name (case-insensitive), decoded.
  std::optional<std::string_view> header(std::string_view name) const;

  const std::vector<Address>& from() const;
  const std::vector<Address>& to() const;
  const std::vector<Address>& cc() const;
  const std::vector<Address>& reply_to() const;
  const std::string& subject() const;

  // Decoded text of all text/* parts (charset converted to UTF-8, HTML turned to
  // text), joined with newlines. Attachments are not included.
  const std::string& body_text() const;
  // The decoded HTML of all text/html parts, joined.
  const std::string& html() const;
  // Bytes after the header block, undecoded.
  std::string_view raw_body() const;
  const std::vector<Url>& urls() const;
  const std::vector<Attachment>& attachments() const;

  uint64_t size() const;  // raw message size in bytes
  std::string_view raw() const;
  // Problems met while parsing (e.g. "no header/body separator"); informational.
  const std::vector<std::string>& defects() const;

 private:
  struct Impl;
  explicit Message(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits an mbox file into messages (on lines starting with "From "). A file that
// does not start with "From " is returned as a single message.
std::vector<std::string> split_mbox(std::string_view bytes);

}  // namespace mp::runtime
