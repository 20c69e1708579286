// Private interface between Message and the MIME tree walker: turns a parsed
// GMime message into the decoded body (text and HTML) and the attachment list.
#pragma once

#include <gmime/gmime.h>

#include <string>
#include <vector>

#include "runtime/message.h"

namespace mp::runtime::detail {

struct BodyContent {
  std::string text;  // inline text parts, with HTML parts converted to text
  std::string html;  // inline text/html parts, decoded
};

// Both walks stop at kMaxMimeDepth levels of multipart/message nesting and record
// a defect, so a hostile message cannot exhaust the stack.
inline constexpr int kMaxMimeDepth = 64;

BodyContent collect_body(GMimeMessage* message, GMimeParserOptions* options,
                         std::vector<std::string>& defects);
std::vector<Attachment> collect_attachments(GMimeMessage* message,
                                            std::vector<std::string>& defects);

// Makes undecoded text valid UTF-8: NULs dropped, CRLF turned into LF, and bytes of
// an unknown charset guessed with the parser's fallback charsets.
std::string to_valid_utf8(std::string bytes, GMimeParserOptions* options);

}  // namespace mp::runtime::detail
