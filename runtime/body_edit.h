// Changes a verdict makes to a message's body — the warning banners of the `banner`
// action and the links rewritten by `rewrite urls` — applied to the MIME structure with GMime,
// so the result is a valid message and every part the edit does not touch keeps its
// bytes. The result is shaped for a milter (libmilter's smfi_replacebody and
// smfi_chgheader): a new body plus the few top-level header fields that must change
// with it, and the whole new message for tools that write files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/api_export.h"
#include "runtime/message.h"

namespace mp::runtime {

// URL defense (the `rewrite urls` action, PIPELINE.md stage 8): each http or https
// link of the message's text is replaced by `target`, in which "{url}" stands for the
// original URL percent-encoded (RFC 3986 section 2.1: every byte but the unreserved
// ones), so a click goes through the click-time checker first.
struct UrlRewrite {
  std::string target;  // "https://urldefense.example/v1?u={url}"
  // Lowercase domains whose links are left as they are, subdomains included.
  std::vector<std::string> skip_domains;
};

// Why `target` cannot be a UrlRewrite target, "" when it can: it must be an absolute
// http or https URL with a host, holding "{url}" exactly once after the host, without
// spaces or control characters.
MP_API std::string url_rewrite_target_error(std::string_view target);

struct BodyEdits {
  // Plain-text warnings shown at the top of the message's text: as paragraphs of a
  // text/plain part, as a <div> after <body> of a text/html part (HTML-escaped).
  // Repeated texts are shown once.
  std::vector<std::string> banners;
  std::optional<UrlRewrite> url_rewrite;

  bool empty() const { return banners.empty() && !url_rewrite; }
};

struct EditedMessage {
  // False when nothing could be changed; `not_edited` then says why, e.g. "no inline
  // text part", "multipart/signed: a banner would break the signature", "broken MIME
  // structure (broken_boundary): left as received".
  bool edited = false;
  std::string not_edited;
  // Links replaced by the URL rewrite, counted once per place they appear.
  size_t urls_rewritten = 0;
  // Everything after the header block's empty line, with the message's line ends
  // (CRLF when its header block uses CRLF).
  std::string body;
  // Top-level fields that change with the body (Content-Type when the charset changes,
  // Content-Transfer-Encoding, MIME-Version when the message had none): name and the
  // new unfolded value. A milter applies them with smfi_chgheader / smfi_addheader.
  std::vector<std::pair<std::string, std::string>> changed_headers;
  // The whole new message: the original header block (a leading mbox "From " line
  // dropped) with the changed fields replaced in place or added at its end, then the
  // empty line and `body`.
  std::string message;
};

// Where banners go: a text/plain or text/html part shown as the message's text — the
// top-level part, every alternative of a multipart/alternative, the first part of any
// other multipart (mixed, related), recursively. Attachments, attached messages and
// other text types are left alone; signed or encrypted multiparts are not entered
// (RFC 1847: changing them breaks the signature).
// Where links are rewritten: every inline text/plain and text/html part outside
// signed or encrypted multiparts and attached messages; URLs written in plain text
// (http://, https://, www.) and the href of HTML <a> and <area> tags. Other schemes
// (mailto:, tel:), relative links, links to a skipped domain and links already
// pointing at the target's host are left alone, so rewriting twice changes nothing.
// A message whose MIME structure could not be read exactly (broken boundary,
// truncated, too deep, no header block) is not edited, so an edit can never lose
// content. Edited parts are re-encoded in UTF-8 (or a smaller charset that holds the
// text) keeping their transfer encoding, except 7bit or 8bit text that no longer fits
// it (8 bits, or lines over 998 bytes), which becomes quoted-printable.
// Never throws for a malformed message; std::bad_alloc may escape.
MP_API EditedMessage edit_body(const Message& message, const BodyEdits& edits);

}  // namespace mp::runtime
