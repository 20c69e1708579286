// Private helpers for the message model's text views: HTML reduced to the text a
// reader sees, and URLs found in text and in HTML link/source attributes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/message.h"

namespace mp::runtime::detail {

// Drops tags, comments and script/style contents, decodes character references,
// collapses whitespace and turns block-level tags into line breaks.
std::string html_to_text(std::string_view html);

// Decodes named (&amp; &lt; &gt; &quot; &apos; &nbsp; and a few typographic ones)
// and numeric (&#NNN; &#xHH;) character references; unknown ones are kept as is.
std::string decode_html_entities(std::string_view text);

// The authority of an absolute URL ("scheme://AUTHORITY/...", "//AUTHORITY" or a
// "www." one): userinfo, host and port as written; "" when the URL has none.
std::string_view url_authority(std::string_view url);

// The host part of an authority: without userinfo ("user@"), port and IPv6 brackets,
// trailing dots dropped; case kept.
std::string_view authority_host(std::string_view authority);

// Lowercased host of an absolute URL or a "www." one; "" when there is none.
std::string url_domain(std::string_view url);

// http/https/ftp/www. URLs in `text`, then those in href/src attributes of `html`,
// each once, in order of first appearance. The href of an <a> gets the text a reader
// sees inside it (Url::link_text).
std::vector<Url> find_urls(std::string_view text, std::string_view html);

}  // namespace mp::runtime::detail
