// Image serialisation: container (magic, version, SHA-256 checksum, section table)
// and one encoder/decoder pair per section.
#include "vm/image.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>

#include "vm/image_io.h"

namespace mp::vm {

namespace {

constexpr char kMagic[8] = {'M', 'P', 'O', 'L', 'I', 'C', 'Y', '\0'};
constexpr size_t kDigestSize = 32;
constexpr size_t kHeaderSize = sizeof kMagic + 4 + 4 + kDigestSize;
constexpr size_t kSectionEntrySize = 4 + 4 + 8 + 8;

enum class SectionKind : uint32_t {
  Code = 1,
  Constants,
  Patterns,
  Databases,
  Sets,
  Nets,
  Rules,
  Settings,
  LineTable
};

using Digest = std::array<uint8_t, kDigestSize>;

Digest sha256(const uint8_t* data, size_t size) {
  Digest out{};
  unsigned int length = 0;
  EVP_Digest(data, size, out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

void write_cidr(ByteWriter& w, const runtime::Cidr& c) {
  w.u8(c.base.v6 ? 1 : 0);
  w.raw(c.base.bytes.data(), c.base.bytes.size());
  w.u8(static_cast<uint8_t>(c.prefix_len));
}

runtime::Cidr read_cidr(ByteReader& r) {
  runtime::Cidr c;
  c.base.v6 = r.u8() != 0;
  for (auto& b : c.base.bytes) b = r.u8();
  c.prefix_len = r.u8();
  if (c.prefix_len > c.base.bit_width()) r.fail("prefix length out of range");
  return c;
}

void write_strings(ByteWriter& w, const std::vector<std::string>& v) {
  w.u32(static_cast<uint32_t>(v.size()));
  for (const auto& s : v) w.str(s);
}

std::vector<std::string> read_strings(ByteReader& r) {
  std::vector<std::string> v(r.count(4));
  for (auto& s : v) s = r.str();
  return v;
}

// Section encoders ---------------------------------------------------------------

void encode_code(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.code.size()));
  for (const auto& ins : im.code) {
    w.u8(static_cast<uint8_t>(ins.op));
    w.u8(ins.a);
    w.u16(ins.pad);
    w.u32(ins.b);
    w.u32(ins.c);
  }
}

void decode_code(ImageData& im, ByteReader& r) {
  im.code.resize(r.count(sizeof(Instruction)));
  for (auto& ins : im.code) {
    uint8_t op = r.u8();
    if (op >= kOpCount) r.fail("unknown opcode");
    ins.op = static_cast<Op>(op);
    ins.a = r.u8();
    ins.pad = r.u16();
    ins.b = r.u32();
    ins.c = r.u32();
  }
}

void encode_constants(const ImageData& im, ByteWriter& w) {
  write_strings(w, im.strings);
  w.u32(static_cast<uint32_t>(im.numbers.size()));
  for (double d : im.numbers) w.f64(d);
  write_strings(w, im.stages);
}

void decode_constants(ImageData& im, ByteReader& r) {
  im.strings = read_strings(r);
  im.numbers.resize(r.count(8));
  for (auto& d : im.numbers) d = r.f64();
  im.stages = read_strings(r);
}

FieldId read_field(ByteReader& r) {
  uint16_t f = r.u16();
  if (f >= kFieldCount) r.fail("unknown field");
  return static_cast<FieldId>(f);
}

void encode_patterns(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.patterns.size()));
  for (const auto& p : im.patterns) {
    w.u16(static_cast<uint16_t>(p.field));
    w.str(p.expression);
    w.u32(p.hs_flags);
    w.u8(static_cast<uint8_t>(p.engine));
    w.str(p.header_filter);
    w.u32(p.literal_length);
    w.str(p.source);
    w.str(p.prefilter);
  }
}

void decode_patterns(ImageData& im, ByteReader& r) {
  im.patterns.resize(r.count(2 + 4 + 4 + 1 + 4 + 4 + 4 + 4));
  for (auto& p : im.patterns) {
    p.field = read_field(r);
    p.expression = r.str();
    p.hs_flags = r.u32();
    const uint8_t engine = r.u8();
    if (engine >= kEngineCount) r.fail("unknown pattern engine");
    p.engine = static_cast<Engine>(engine);
    p.header_filter = r.str();
    p.literal_length = r.u32();
    p.source = r.str();
    p.prefilter = r.str();
    if (!p.prefilter.empty() && p.engine != Engine::Prefilter)
      r.fail("a prefilter for a pattern of another engine");
  }
}

void encode_databases(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.databases.size()));
  for (const auto& db : im.databases) {
    w.u16(static_cast<uint16_t>(db.field));
    w.u32(static_cast<uint32_t>(db.pattern_ids.size()));
    for (uint32_t id : db.pattern_ids) w.u32(id);
    w.str(db.serialized);
  }
}

void decode_databases(ImageData& im, ByteReader& r) {
  im.databases.resize(r.count(2 + 4 + 4));
  for (auto& db : im.databases) {
    db.field = read_field(r);
    db.pattern_ids.resize(r.count(4));
    for (auto& id : db.pattern_ids) id = r.u32();
    db.serialized = r.str();
  }
}

void encode_sets(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.sets.size()));
  for (const auto& s : im.sets) {
    w.u16(static_cast<uint16_t>(s.field));
    w.u8(static_cast<uint8_t>(s.fold));
    w.str(s.header_filter);
    write_strings(w, s.entries);
    w.str(s.source);
  }
}

void decode_sets(ImageData& im, ByteReader& r) {
  im.sets.resize(r.count(2 + 1 + 4 + 4 + 4));
  for (auto& s : im.sets) {
    s.field = read_field(r);
    uint8_t fold = r.u8();
    if (fold >= kFoldCount) r.fail("unknown fold");
    s.fold = static_cast<Fold>(fold);
    s.header_filter = r.str();
    s.entries = read_strings(r);
    s.source = r.str();
  }
}

void encode_nets(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.nets.size()));
  for (const auto& n : im.nets) {
    w.u32(static_cast<uint32_t>(n.prefixes.size()));
    for (const auto& c : n.prefixes) write_cidr(w, c);
    w.str(n.source);
    w.str(n.argument);
  }
}

void decode_nets(ImageData& im, ByteReader& r) {
  im.nets.resize(r.count(4 + 4 + 4));
  for (auto& n : im.nets) {
    n.prefixes.resize(r.count(18));
    for (auto& c : n.prefixes) c = read_cidr(r);
    n.source = r.str();
    n.argument = r.str();
  }
}

void encode_rules(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.rules.size()));
  for (const auto& rule : im.rules) {
    w.str(rule.name);
    w.u32(rule.stage);
    w.str(rule.file);
    w.u32(rule.line);
    w.u32(rule.column);
    w.u8(rule.directions);
    w.u32(rule.code_begin);
    w.u32(rule.code_end);
    w.u8(static_cast<uint8_t>(rule.guard_kind));
    w.u32(rule.guard);
    write_strings(w, rule.scope_users);
    write_strings(w, rule.scope_groups);
    w.f64(rule.expires);
  }
}

void decode_rules(ImageData& im, ByteReader& r) {
  im.rules.resize(r.count(4 + 4 + 4 + 4 + 4 + 1 + 4 + 4 + 1 + 4 + 4 + 4 + 8));
  for (auto& rule : im.rules) {
    rule.name = r.str();
    rule.stage = r.u32();
    rule.file = r.str();
    rule.line = r.u32();
    rule.column = r.u32();
    rule.directions = r.u8();
    rule.code_begin = r.u32();
    rule.code_end = r.u32();
    uint8_t guard_kind = r.u8();
    if (guard_kind > static_cast<uint8_t>(GuardKind::Set)) r.fail("unknown guard kind");
    rule.guard_kind = static_cast<GuardKind>(guard_kind);
    rule.guard = r.u32();
    rule.scope_users = read_strings(r);
    rule.scope_groups = read_strings(r);
    rule.expires = r.f64();
    if (!(rule.expires >= 0)) r.fail("rule expiry out of range");
  }
}

void encode_settings(const ImageData& im, ByteWriter& w) {
  write_strings(w, im.settings.org_domains);
  w.u32(static_cast<uint32_t>(im.settings.sending_servers.size()));
  for (const auto& c : im.settings.sending_servers) write_cidr(w, c);
  w.u32(static_cast<uint32_t>(im.settings.trusted_relays.size()));
  for (const auto& c : im.settings.trusted_relays) write_cidr(w, c);
  w.f64(im.settings.quarantine_threshold);
  w.f64(im.settings.reject_threshold);
  w.u8(static_cast<uint8_t>(im.settings.on_temperror));
  const runtime::ParseOptions& p = im.settings.parse_limits;
  w.u32(static_cast<uint32_t>(p.max_mime_depth));
  w.u32(p.max_mime_parts);
  w.u32(p.max_header_fields);
  w.u64(p.max_header_field_bytes);
  w.u32(p.max_urls);
  write_strings(w, im.settings.spamtraps);
  w.u8(static_cast<uint8_t>(im.settings.state_on_error));
  w.f64(im.settings.reputation_half_life);
  w.u32(static_cast<uint32_t>(im.settings.groups.size()));
  for (const auto& g : im.settings.groups) {
    w.str(g.name);
    write_strings(w, g.members);
  }
  w.u8(im.settings.bayes_auto_learn ? 1 : 0);
  w.f64(im.settings.auto_learn_spam);
  w.f64(im.settings.auto_learn_ham);
  const attach::Limits& a = im.settings.archive_limits;
  w.u32(a.max_depth);
  w.u32(a.max_members);
  w.u64(a.max_bytes);
  w.u32(a.max_ratio);
  w.u32(im.settings.regex_limits.match_limit);
  w.u32(im.settings.regex_limits.budget_ms);
}

void decode_settings(ImageData& im, ByteReader& r) {
  im.settings.org_domains = read_strings(r);
  im.settings.sending_servers.resize(r.count(18));
  for (auto& c : im.settings.sending_servers) c = read_cidr(r);
  im.settings.trusted_relays.resize(r.count(18));
  for (auto& c : im.settings.trusted_relays) c = read_cidr(r);
  im.settings.quarantine_threshold = r.f64();
  im.settings.reject_threshold = r.f64();
  uint8_t on_temperror = r.u8();
  if (on_temperror > static_cast<uint8_t>(TempErrorPolicy::Ignore)) r.fail("unknown facts.on_temperror");
  im.settings.on_temperror = static_cast<TempErrorPolicy>(on_temperror);
  runtime::ParseOptions& p = im.settings.parse_limits;
  const uint32_t depth = r.u32();
  p.max_mime_depth = static_cast<int>(std::min(depth, kMaxMimeDepthSetting + 1));
  p.max_mime_parts = r.u32();
  p.max_header_fields = r.u32();
  p.max_header_field_bytes = r.u64();
  p.max_urls = r.u32();
  if (!parse_limits_valid(p)) r.fail("message limits (mime.*, header.*, urls.*) out of range");
  im.settings.spamtraps = read_strings(r);
  const uint8_t state_on_error = r.u8();
  if (state_on_error > static_cast<uint8_t>(TempErrorPolicy::Ignore)) r.fail("unknown state.on_error");
  im.settings.state_on_error = static_cast<TempErrorPolicy>(state_on_error);
  im.settings.reputation_half_life = r.f64();
  if (!(im.settings.reputation_half_life >= 1)) r.fail("state.reputation.half_life out of range");
  im.settings.groups.resize(r.count(4 + 4));
  for (auto& g : im.settings.groups) {
    g.name = r.str();
    g.members = read_strings(r);
  }
  im.settings.bayes_auto_learn = r.u8() != 0;
  im.settings.auto_learn_spam = r.f64();
  im.settings.auto_learn_ham = r.f64();
  if (!(im.settings.auto_learn_ham < im.settings.auto_learn_spam))
    r.fail("bayes.auto_learn thresholds out of order");
  attach::Limits& a = im.settings.archive_limits;
  a.max_depth = r.u32();
  a.max_members = r.u32();
  a.max_bytes = r.u64();
  a.max_ratio = r.u32();
  if (!archive_limits_valid(a)) r.fail("archive limits out of range");
  im.settings.regex_limits.match_limit = r.u32();
  im.settings.regex_limits.budget_ms = r.u32();
  if (!regex_limits_valid(im.settings.regex_limits)) r.fail("regex limits out of range");
}

void encode_lines(const ImageData& im, ByteWriter& w) {
  w.u32(static_cast<uint32_t>(im.code_lines.size()));
  for (uint32_t line : im.code_lines) w.u32(line);
}

void decode_lines(ImageData& im, ByteReader& r) {
  im.code_lines.resize(r.count(4));
  for (auto& line : im.code_lines) line = r.u32();
}

struct SectionCodec {
  SectionKind kind;
  void (*encode)(const ImageData&, ByteWriter&);
  void (*decode)(ImageData&, ByteReader&);
  const char* name;
};

constexpr SectionCodec kSections[] = {
    {SectionKind::Code, encode_code, decode_code, "code section"},
    {SectionKind::Constants, encode_constants, decode_constants, "constants section"},
    {SectionKind::Patterns, encode_patterns, decode_patterns, "patterns section"},
    {SectionKind::Databases, encode_databases, decode_databases, "databases section"},
    {SectionKind::Sets, encode_sets, decode_sets, "sets section"},
    {SectionKind::Nets, encode_nets, decode_nets, "nets section"},
    {SectionKind::Rules, encode_rules, decode_rules, "rules section"},
    {SectionKind::Settings, encode_settings, decode_settings, "settings section"},
    {SectionKind::LineTable, encode_lines, decode_lines, "line table section"},
};
constexpr uint32_t kSectionCount = sizeof kSections / sizeof kSections[0];

}  // namespace

std::string write_image(const ImageData& image) {
  std::vector<std::string> payloads;
  for (const auto& codec : kSections) {
    ByteWriter w;
    codec.encode(image, w);
    payloads.push_back(std::move(w.bytes()));
  }
  ByteWriter body;  // everything after the checksum
  uint64_t offset = kHeaderSize + kSectionEntrySize * kSectionCount;
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    body.u32(static_cast<uint32_t>(kSections[i].kind));
    body.u32(0);
    body.u64(offset);
    body.u64(payloads[i].size());
    offset += payloads[i].size();
  }
  for (const auto& p : payloads) body.raw(p.data(), p.size());

  ByteWriter out;
  out.raw(kMagic, sizeof kMagic);
  out.u32(kImageVersion);
  out.u32(kSectionCount);
  Digest digest = sha256(reinterpret_cast<const uint8_t*>(body.bytes().data()), body.bytes().size());
  out.raw(digest.data(), digest.size());
  out.raw(body.bytes().data(), body.bytes().size());
  return std::move(out.bytes());
}

ImageData read_image(std::span<const uint8_t> bytes) {
  ByteReader header(bytes, "image header");
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw ImageError("not a mailpolicy image (bad magic)");
  }
  for (size_t i = 0; i < sizeof kMagic; ++i) header.u8();
  uint32_t version = header.u32();
  if (version != kImageVersion) {
    throw ImageError("image format version " + std::to_string(version) + " is not supported (expected " +
                     std::to_string(kImageVersion) + ")");
  }
  uint32_t section_count = header.u32();
  Digest stored{};
  for (auto& b : stored) b = header.u8();
  if (sha256(bytes.data() + kHeaderSize, bytes.size() - kHeaderSize) != stored) {
    throw ImageError("image checksum mismatch: the file is corrupt or was modified");
  }
  if (section_count != kSectionCount) throw ImageError("unexpected number of sections");

  ImageData image;
  for (uint32_t i = 0; i < section_count; ++i) {
    auto kind = static_cast<SectionKind>(header.u32());
    header.u32();
    uint64_t offset = header.u64();
    uint64_t size = header.u64();
    const SectionCodec& codec = kSections[i];
    if (kind != codec.kind) throw ImageError("sections out of order");
    if (offset > bytes.size() || size > bytes.size() - offset) {
      throw ImageError(std::string(codec.name) + " lies outside the file");
    }
    ByteReader section(bytes.subspan(offset, size), codec.name);
    codec.decode(image, section);
    if (!section.done()) section.fail("trailing bytes");
  }
  return image;
}

std::optional<double> expiry_of_date(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  int year = 0, month = 0, day = 0;
  if (std::sscanf(std::string(date).c_str(), "%4d-%2d-%2d", &year, &month, &day) != 3) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  const time_t start = timegm(&tm);
  std::tm back{};
  // timegm normalises 2026-02-30 to March 2nd: a day that is not in the calendar does not come back.
  if (year < 1970 || start < 0 || gmtime_r(&start, &back) == nullptr || back.tm_year != year - 1900 ||
      back.tm_mon != month - 1 || back.tm_mday != day)
    return std::nullopt;
  return static_cast<double>(start) + 86400;
}

std::string date_of_expiry(double expires) {
  const auto last_day = static_cast<time_t>(expires) - 86400;
  std::tm tm{};
  gmtime_r(&last_day, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::vector<std::string> recipient_groups(std::span<const RecipientGroup> groups,
                                          std::string_view recipient) {
  const std::string_view domain = recipient.substr(recipient.rfind('@') + 1);
  std::vector<std::string> out;
  for (const RecipientGroup& g : groups) {
    if (std::find(g.members.begin(), g.members.end(), recipient) != g.members.end() ||
        std::find(g.members.begin(), g.members.end(), domain) != g.members.end())
      out.push_back(g.name);
  }
  return out;
}

}  // namespace mp::vm
