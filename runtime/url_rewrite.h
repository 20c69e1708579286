// Private to runtime/body_edit: the link rewriting of URL defense (the `rewrite urls`
// action) over the decoded text of one part.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/body_edit.h"

namespace mp::runtime::detail {

// What the link `url` (as a browser takes it: character references decoded, spaces
// trimmed) becomes, or nullopt when it is left alone: not http, https or "www.", no
// host, a host under one of the skip domains, or the target's own host.
std::optional<std::string> rewritten_url(std::string_view url, const UrlRewrite& rewrite);

// `text` with each URL written in it (runtime/html_text.h, for_each_text_url)
// rewritten; adds the number rewritten to `count`.
std::string rewrite_text_urls(std::string_view text, const UrlRewrite& rewrite, size_t& count);

// `html` with the href of each <a> and <area> tag rewritten, the new value
// HTML-escaped; adds the number rewritten to `count`. Everything else keeps its bytes.
std::string rewrite_html_links(std::string_view html, const UrlRewrite& rewrite, size_t& count);

}  // namespace mp::runtime::detail
