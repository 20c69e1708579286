// The MIME types libmagic (5.44, Debian 12) gives, sorted into what inspection does
// with them. A trailing '*' in an entry matches any rest: "text/*".
#include "attach/types.h"

#include <algorithm>
#include <array>
#include <initializer_list>

namespace mp::attach::detail {

namespace {

bool matches(std::string_view pattern, std::string_view type) {
  if (pattern.ends_with('*')) return type.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == type;
}

bool any_of(std::initializer_list<std::string_view> patterns, std::string_view type) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [type](std::string_view p) { return matches(p, type); });
}

const std::initializer_list<std::string_view> kOleTypes = {
    "application/msword",        "application/vnd.ms-excel",  "application/vnd.ms-powerpoint",
    "application/vnd.ms-office", "application/x-ole-storage", "application/cdfv2",
    "application/vnd.ms-outlook"};

const std::initializer_list<std::string_view> kOoxmlTypes = {
    "application/vnd.openxmlformats-officedocument.*", "application/vnd.ms-word*",
    "application/vnd.ms-excel*", "application/vnd.ms-powerpoint*", "application/zip"};

// What a file's extension claims, and the types its bytes may have. Only types with
// an unmistakable signature are here, so that a near miss (.txt read as text/x-c, a
// .doc saved as RTF) is not a mismatch; an extension not listed claims nothing.
struct Claim {
  std::initializer_list<std::string_view> extensions;
  std::initializer_list<std::string_view> types;
};

const std::array<Claim, 14> kClaims = {{
    {{"pdf"}, {"application/pdf"}},
    {{"jpg", "jpeg", "jpe"}, {"image/jpeg"}},
    {{"png"}, {"image/png"}},
    {{"gif"}, {"image/gif"}},
    {{"bmp"}, {"image/bmp", "image/x-ms-bmp"}},
    {{"tif", "tiff"}, {"image/tiff"}},
    {{"doc", "dot", "xls", "xlt", "ppt", "pps", "msg"}, kOleTypes},
    {{"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "pptx", "pptm", "ppsx"}, kOoxmlTypes},
    {{"odt", "ods", "odp"}, {"application/vnd.oasis.opendocument.*", "application/zip"}},
    {{"zip"}, {"application/zip"}},
    {{"rar"}, {"application/x-rar", "application/vnd.rar"}},
    {{"7z"}, {"application/x-7z-compressed"}},
    {{"gz", "tgz"}, {"application/gzip", "application/x-gzip"}},
    {{"txt", "csv", "htm", "html", "xml", "ics", "vcf"}, {"text/*"}},
}};

}  // namespace

bool is_executable_type(std::string_view type) {
  return any_of({"application/x-dosexec", "application/vnd.microsoft.portable-executable",
                 "application/x-msdownload", "application/x-executable", "application/x-pie-executable",
                 "application/x-sharedlib", "application/x-mach-binary", "application/x-msi",
                 "application/x-ms-shortcut", "application/java-archive", "application/x-java-applet",
                 "text/x-shellscript", "text/x-msdos-batch", "text/x-script.*", "text/x-perl"},
                type);
}

bool is_compressed_type(std::string_view type) {
  return any_of({"application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz",
                 "application/x-lzma", "application/zstd", "application/x-lzip", "application/x-compress"},
                type);
}

bool is_archive_type(std::string_view type) {
  return is_compressed_type(type) ||
         any_of(
             {"application/zip", "application/java-archive", "application/x-7z-compressed",
              "application/x-rar", "application/vnd.rar", "application/x-tar", "application/x-iso9660-image",
              "application/vnd.ms-cab-compressed", "application/x-cpio", "application/epub+zip",
              "application/vnd.openxmlformats-officedocument.*", "application/vnd.oasis.opendocument.*",
              "application/vnd.ms-word.*", "application/vnd.ms-excel.*", "application/vnd.ms-powerpoint.*"},
             type);
}

bool is_ole_type(std::string_view type) {
  return any_of(kOleTypes, type);
}

bool contradicts(std::string_view extension, std::string_view type) {
  if (type == "application/x-empty" || type == "inode/x-empty") return false;
  for (const Claim& claim : kClaims) {
    if (std::find(claim.extensions.begin(), claim.extensions.end(), extension) != claim.extensions.end()) {
      return !any_of(claim.types, type);
    }
  }
  return false;
}

}  // namespace mp::attach::detail
