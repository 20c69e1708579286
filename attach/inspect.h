// attach/: what an attachment really is, from its decoded bytes rather than from
// the name and Content-Type its sender chose. libmagic names the true type;
// libarchive lists what is inside archives (zip, 7z, rar, tar, cab, iso, cpio, and
// gzip/bzip2/xz/zstd/lzip compressed ones, nested ones recursively); libgsf reads the
// directory of OLE2 documents to find a VBA project. The VM calls inspect() lazily,
// once per attachment, only for a policy that reads attachments.type,
// attachments.flags or attachments.archive.* (vm/field_values.cpp).
//
// Thread safety: inspect() may run on many threads at once; each thread loads its
// own libmagic database on its first call (magic_load is slow, a cookie is not
// thread-safe), and nothing else is shared.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mp::attach {

// What inspect() found about an attachment; several may hold at once. The names
// (flag_name) are the values of the language field attachments.flags.
enum class Flag : uint8_t {
  Encrypted,           // an archive, or a member of one, needs a password
  Macros,              // an Office document with a VBA project or Excel 4 macro sheets, itself or inside
  TypeMismatch,        // the extension claims a type the bytes contradict (kClaims in types.cpp)
  Executable,          // a program by its content: PE, ELF, Mach-O, MSI, a shebang script, …
  ContainsExecutable,  // an archive with such a program inside, at any depth
  ArchiveLimit,        // a limit of Limits was reached: what is inside was not all examined
  Corrupt,             // an archive that could not be read to its end (truncated, damaged)
};
inline constexpr size_t kFlagCount = 7;
std::string_view flag_name(Flag flag);  // "type_mismatch"

// The bounds of one attachment's inspection, all levels of nesting together. When one
// is reached, inspection stops where it is and the attachment gets Flag::ArchiveLimit;
// what was listed so far stays listed.
struct Limits {
  uint32_t max_depth = 8;                   // archive nesting levels opened (members of the attachment: 1)
  uint32_t max_members = 1000;              // members listed
  uint64_t max_bytes = 100 * 1024 * 1024;   // bytes decompressed, in total
  uint32_t max_ratio = 100;                 // unpacked : packed size of one archive …
  uint64_t ratio_floor = 10 * 1024 * 1024;  // … once it unpacks to more than this (a zip bomb)
};

// A file inside an archive (directories and links are not listed).
struct Member {
  std::string name;       // its path inside the archive that holds it: "payload/run.exe"
  std::string extension;  // lowercased text after the last '.' of the last path part; "" if none
  // The MIME type libmagic gives its first bytes, lowercased ("application/x-dosexec"); "" when its
  // data could not be read (encrypted, damaged).
  std::string type;
  uint64_t size = 0;   // unpacked bytes: as read, or as its archive declares when not read to the end
  uint32_t depth = 1;  // 1: in the attachment itself; 2: in an archive inside it; …
  // The archives it is in, from the attachment down, and its own name:
  // "inner.zip → payload/run.exe" (just `name` at depth 1).
  std::string path;
};

struct Report {
  std::string type;  // libmagic's MIME type of the attachment's bytes, lowercased ("application/pdf")
  std::bitset<kFlagCount> flags;
  std::vector<Member> members;  // every member at every depth, in the order read
  bool has(Flag flag) const { return flags.test(static_cast<size_t>(flag)); }
};

// Examines one attachment: `bytes` its decoded content, `name` the file name it was
// sent under (its extension is the claim type_mismatch checks; "" when unnamed).
// Never throws for hostile or damaged content (those are flags); throws
// std::runtime_error only when libmagic cannot load its database.
Report inspect(std::string_view bytes, std::string_view name, const Limits& limits = {});

// Lowercased text after the last '.' of the last '/'-separated part of `name`.
std::string extension_of(std::string_view name);

}  // namespace mp::attach
