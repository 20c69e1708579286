// The archive walk. Each archive is read from memory, one member after another, in
// the order stored; a member's first bytes go to libmagic, and a member that is
// itself an archive or an OLE2 document is read whole (within the byte budget) and
// examined in turn. Everything read counts against one budget per attachment, so a
// zip bomb or a hundred nested archives ends at a limit with Flag::ArchiveLimit.
#include "attach/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "attach/magic.h"
#include "attach/ole.h"
#include "attach/types.h"

namespace mp::attach::detail {

namespace {

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ReadFree>;

using Support = int (*)(archive*);

// The decompression filters libarchive has built in. Without its library (say libzstd)
// a filter falls back to running an external program and says so with ARCHIVE_WARN;
// such filters are left out, so that no message ever starts a process.
const std::vector<Support>& native_filters() {
  static const std::vector<Support> filters = [] {
    std::vector<Support> native;
    for (Support filter :
         {archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz,
          archive_read_support_filter_lzma, archive_read_support_filter_lzip,
          archive_read_support_filter_zstd, archive_read_support_filter_compress}) {
      ArchivePtr probe(archive_read_new());
      if (filter(probe.get()) == ARCHIVE_OK) native.push_back(filter);
    }
    return native;
  }();
  return filters;
}

// No format that reads plain text (mtree). `bare`: a compressed stream whose content
// may be one file rather than an archive.
ArchivePtr open_reader(std::string_view bytes, bool bare) {
  ArchivePtr a(archive_read_new());
  for (Support filter : native_filters()) filter(a.get());
  for (Support format : {archive_read_support_format_zip, archive_read_support_format_7zip,
                         archive_read_support_format_rar, archive_read_support_format_rar5,
                         archive_read_support_format_tar, archive_read_support_format_iso9660,
                         archive_read_support_format_cab, archive_read_support_format_cpio}) {
    format(a.get());
  }
  if (bare) archive_read_support_format_raw(a.get());  // bids last: a .tar.gz stays tar
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) return nullptr;
  return a;
}

// "report.pdf.gz" → "report.pdf": the name of the one file of a bare compressed stream.
std::string without_extension(std::string_view name) {
  const size_t slash = name.rfind('/');
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash) || dot == 0) {
    return name.empty() ? "data" : std::string(name);
  }
  return std::string(name.substr(0, dot));
}

// Office documents name their macros by path: OOXML's VBA project, Excel 4 macro
// sheets, OpenDocument Basic.
bool is_macro_path(std::string_view path) {
  std::string lower(path);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.ends_with("vbaproject.bin") || lower.starts_with("xl/macrosheets/") ||
         lower.starts_with("basic/");
}

class Walker {
 public:
  Walker(const Limits& limits, Report& report) : limits_(limits), report_(report) {}
  // Lists the archive `bytes`, whose members are at `depth`, below `parent` (the path
  // of the member it is, "" for the attachment).
  void walk(std::string_view bytes, std::string_view name, std::string_view type, uint32_t depth,
            const std::string& parent);

 private:
  void set(Flag flag) { report_.flags.set(static_cast<size_t>(flag)); }
  void stop_at_limit() {
    set(Flag::ArchiveLimit);
    stopped_ = true;
  }
  // An error reading the archive: a password it lacks, or damage.
  void read_error(archive* a) {
    set(archive_read_has_encrypted_entries(a) > 0 ? Flag::Encrypted : Flag::Corrupt);
  }
  uint64_t member(archive* a, archive_entry* entry, Member m, uint64_t allowance);
  bool read_data(archive* a, uint64_t allowance, Member& m, std::string& content, bool& complete);
  void examine_content(const Member& m, const std::string& content);

  const Limits& limits_;
  Report& report_;
  uint64_t bytes_read_ = 0;
  bool stopped_ = false;
  std::array<char, 64 * 1024> chunk_{};
};

void Walker::walk(std::string_view bytes, std::string_view name, std::string_view type, uint32_t depth,
                  const std::string& parent) {
  if (depth > limits_.max_depth) return stop_at_limit();
  ArchivePtr a = open_reader(bytes, is_compressed_type(type));
  if (!a) return set(Flag::Corrupt);
  const uint64_t ratio_cap =
      std::max<uint64_t>(limits_.ratio_floor, uint64_t{limits_.max_ratio} * bytes.size());
  uint64_t unpacked = 0;  // by this archive's own members
  archive_entry* entry = nullptr;
  while (!stopped_) {
    const int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN) {
      read_error(a.get());
      break;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    if (report_.members.size() >= limits_.max_members) return stop_at_limit();
    const char* path = archive_entry_pathname_utf8(entry);
    if (path == nullptr) path = archive_entry_pathname(entry);
    const bool raw = archive_format(a.get()) == ARCHIVE_FORMAT_RAW;
    Member m;
    m.name = raw ? without_extension(name) : std::string(path ? path : "");
    m.depth = depth;
    m.path = parent.empty() ? m.name : parent + " → " + m.name;
    unpacked += member(a.get(), entry, std::move(m), ratio_cap - std::min(unpacked, ratio_cap));
  }
  if (archive_read_has_encrypted_entries(a.get()) > 0) set(Flag::Encrypted);
}

// Lists one member, reading at most `allowance` bytes of it (what its archive may
// still unpack before its ratio is a bomb's); returns its size.
uint64_t Walker::member(archive* a, archive_entry* entry, Member m, uint64_t allowance) {
  m.extension = extension_of(m.name);
  if (is_macro_path(m.name)) set(Flag::Macros);
  const uint64_t declared =
      archive_entry_size_is_set(entry) ? static_cast<uint64_t>(archive_entry_size(entry)) : 0;
  std::string content;
  bool complete = false;
  if (archive_entry_is_data_encrypted(entry)) {
    set(Flag::Encrypted);
    m.size = declared;
  } else if (!read_data(a, declared > allowance ? 0 : allowance, m, content, complete)) {
    set(Flag::Corrupt);
  }
  m.size = std::max(m.size, declared);
  if (is_executable_type(m.type)) set(Flag::ContainsExecutable);
  report_.members.push_back(m);
  if (complete) examine_content(m, content);
  return m.size;
}

// Reads the member's data: the head for libmagic, then the rest, kept when the member
// must be examined whole and only counted otherwise; past `allowance` bytes only the
// head is read, and the limit is flagged. `complete`: content holds all of it. False
// on a read error.
bool Walker::read_data(archive* a, uint64_t allowance, Member& m, std::string& content, bool& complete) {
  bool typed = false, keep = true;
  for (;;) {
    const la_ssize_t n = archive_read_data(a, chunk_.data(), chunk_.size());
    if (n < 0) return false;
    m.size += static_cast<uint64_t>(n);
    if ((bytes_read_ += static_cast<uint64_t>(n)) > limits_.max_bytes ||
        m.size > std::max(allowance, kMagicBytes)) {
      if (!typed) m.type = mime_type(content.append(chunk_.data(), static_cast<size_t>(n)));
      stop_at_limit();
      return true;
    }
    if (keep) content.append(chunk_.data(), static_cast<size_t>(n));
    if (!typed && (content.size() >= kMagicBytes || n == 0)) {
      m.type = mime_type(content);
      typed = true;
      keep = is_archive_type(m.type) || is_ole_type(m.type);
      if (!keep) content.clear();
    }
    if (n == 0) break;
  }
  complete = keep;
  return true;
}

void Walker::examine_content(const Member& m, const std::string& content) {
  if (is_ole_type(m.type) && has_vba_project(content)) set(Flag::Macros);
  if (is_archive_type(m.type)) walk(content, m.name, m.type, m.depth + 1, m.path);
}

}  // namespace

void list_archive(std::string_view bytes, std::string_view name, std::string_view type, const Limits& limits,
                  Report& report) {
  if (!is_archive_type(type)) return;
  Walker(limits, report).walk(bytes, name, type, 1, "");
}

}  // namespace mp::attach::detail
