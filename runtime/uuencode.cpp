// Files uuencoded inline in a text part ("begin 644 invoice.exe" … "end"), as old
// mailers and some malware droppers still send them; mail clients show them as
// attachments, so the message model must list them. Decoding is GMime's.
#include <cctype>

#include "runtime/mime_walk.h"

namespace mp::runtime::detail {
namespace {

// "begin MODE NAME" with a three or four digit octal mode (POSIX uuencode).
std::optional<std::string> begin_line_name(std::string_view line) {
  if (!line.starts_with("begin ")) return std::nullopt;
  line.remove_prefix(6);
  const size_t mode_end = line.find(' ');
  if (mode_end < 3 || mode_end > 4 || mode_end == std::string_view::npos) return std::nullopt;
  for (char c : line.substr(0, mode_end)) {
    if (c < '0' || c > '7') return std::nullopt;
  }
  std::string_view name = line.substr(mode_end + 1);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  return std::string(name);
}

bool is_end_line(std::string_view line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
  return line == "end";
}

void uudecode(std::string_view block, GMimeStream* sink) {
  GObjectPtr<GMimeStream> filtered(g_mime_stream_filter_new(sink));
  GObjectPtr<GMimeFilter> decoder(g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_UUENCODE, FALSE));
  g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), decoder.get());
  g_mime_stream_write(filtered.get(), block.data(), block.size());
  g_mime_stream_flush(filtered.get());
}

uint64_t uudecoded_size(std::string_view block) {
  GObjectPtr<GMimeStream> counter(g_mime_stream_null_new());
  uudecode(block, counter.get());
  return GMIME_STREAM_NULL(counter.get())->written;
}

std::string_view line_at(std::string_view text, size_t start, size_t& next) {
  size_t end = text.find('\n', start);
  next = end == std::string_view::npos ? text.size() : end + 1;
  std::string_view line = text.substr(start, next - start);
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

}  // namespace

std::string uudecoded(std::string_view block) {
  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  uudecode(block, sink.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

std::vector<UuencodedFile> uuencoded_files(std::string_view text) {
  std::vector<UuencodedFile> files;
  size_t next = 0;
  for (size_t start = 0; start < text.size(); start = next) {
    const std::optional<std::string> name = begin_line_name(line_at(text, start, next));
    if (!name) continue;
    // A block without its "end" line (a truncated message) still counts: the file is
    // whatever arrived.
    size_t block_end = text.size();
    for (size_t line = next, after = 0; line < text.size(); line = after) {
      if (is_end_line(line_at(text, line, after))) {
        block_end = after;
        break;
      }
    }
    const std::string_view block = text.substr(start, block_end - start);
    files.push_back(UuencodedFile{*name, uudecoded_size(block), std::string(block)});
    next = block_end;
  }
  return files;
}

}  // namespace mp::runtime::detail
