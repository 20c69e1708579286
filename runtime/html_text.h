// Private helpers for the message model's text views: HTML reduced to the text a
// reader sees, and URLs found in text and in HTML link/source attributes.
#pragma once

#include <functional>
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

// `text` with & < > " ' written as character references: safe as HTML text and as a
// quoted attribute value.
std::string html_escaped(std::string_view text);

// The authority of an absolute URL ("scheme://AUTHORITY/...", "//AUTHORITY" or a
// "www." one): userinfo, host and port as written; "" when the URL has none.
std::string_view url_authority(std::string_view url);

// The host part of an authority: without userinfo ("user@"), port and IPv6 brackets,
// trailing dots dropped; case kept.
std::string_view authority_host(std::string_view authority);

// Lowercased host of an absolute URL or a "www." one; "" when there is none.
std::string url_domain(std::string_view url);

// Calls `visit` with each http/https/ftp/www. URL of plain `text`, a view into it
// (trailing sentence punctuation left out), in order.
void for_each_text_url(std::string_view text, const std::function<void(std::string_view)>& visit);

// Calls `visit` with the value of each href attribute of an <a> or <area> tag of
// `html`, as written (character references not decoded, quotes left out), a view
// into `html`, in order. Empty values are not visited.
void for_each_link_href(std::string_view html, const std::function<void(std::string_view)>& visit);

// http/https/ftp/www. URLs in `text`, then those in href/src attributes of `html`,
// each once, in order of first appearance. The href of an <a> gets the text a reader
// sees inside it (Url::link_text).
std::vector<Url> find_urls(std::string_view text, std::string_view html);

}  // namespace mp::runtime::detail
