// What DKIM verification and signing both stand on (auth/dkim_internal.h): the raw
// message cut into header fields (kept byte for byte, continuation lines included) and
// a body, canonicalisation, hashing and public-key operations through OpenSSL's EVP
// interface, the algorithm table and tag-list parsing. In one place so that both
// halves hash and sign the same bytes in the same way.
#include "auth/dkim_internal.h"

#include <openssl/err.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <stdexcept>
#include <unordered_map>

namespace mp::auth::dkim_internal {

// ---------------------------------------------------------------------------------
// Text

namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
bool is_fws(char c) {
  return is_wsp(c) || c == '\r' || c == '\n';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

std::string without_fws(std::string_view s) {
  std::string out;
  std::copy_if(s.begin(), s.end(), std::back_inserter(out), [](char c) { return !is_fws(c); });
  return out;
}

std::vector<std::string_view> colon_list(std::string_view s) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t colon = s.find(':', start);
    parts.push_back(trim_fws(s.substr(start, colon - start)));
    if (colon == std::string_view::npos) return parts;
    start = colon + 1;
  }
}

bool list_contains(std::string_view list, std::string_view wanted) {
  const auto parts = colon_list(list);
  return std::any_of(parts.begin(), parts.end(), [&](std::string_view p) { return iequals(p, wanted); });
}

// d= and s= become a DNS name; anything but letters, digits, '-', '_', '.' and UTF-8
// would make a different query than the signer meant.
bool valid_dns_text(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.' ||
           static_cast<unsigned char>(c) >= 0x80;
  });
}

// ---------------------------------------------------------------------------------
// The raw message

namespace {

// An mbox "From sender date" line, but not a "From : ..." field (WSP before the
// colon is obsolete syntax, still legal).
std::string_view skip_mbox_from_line(std::string_view text) {
  if (!text.starts_with("From ")) return text;
  const size_t after_spaces = text.find_first_not_of(" \t", 5);
  if (after_spaces != std::string_view::npos && text[after_spaces] == ':') return text;
  const size_t newline = text.find('\n');
  return newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
}

bool has_bare_lf(std::string_view text) {
  for (size_t at = text.find('\n'); at != std::string_view::npos; at = text.find('\n', at + 1)) {
    if (at == 0 || text[at - 1] != '\r') return true;
  }
  return false;
}

// On-disk .eml files end lines with LF; every verifier reads that as CRLF.
std::string with_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

std::string_view field_name(std::string_view first_line) {
  const size_t colon = first_line.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view name = first_line.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  return name;
}

}  // namespace

RawMessage::RawMessage(std::string_view input) {
  std::string_view text = skip_mbox_from_line(input);
  if (has_bare_lf(text)) {
    crlf_text_ = with_crlf(text);
    text = crlf_text_;
  }
  split(text);
}

// The header block ends at the first empty line; without one, all is header.
void RawMessage::split(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t eol = std::min(text.find("\r\n", pos), text.size());
    const size_t next = std::min(eol + 2, text.size());
    if (eol == pos) {
      body_ = text.substr(next);
      return;
    }
    const std::string_view line = text.substr(pos, next - pos);
    if (is_wsp(line.front()) && !fields_.empty()) {
      std::string_view& field = fields_.back().bytes;
      field = std::string_view(field.data(), field.size() + line.size());
    } else {
      fields_.push_back({field_name(line), line});
    }
    pos = next;
  }
}

// ---------------------------------------------------------------------------------
// Canonicalisation (RFC 6376 3.4)

namespace {

// Appends `text` with every CRLF removed (unfolding) and every run of WSP as one SP,
// leaving out WSP at the end and, when `drop_leading`, at the start.
void append_collapsed(std::string& out, std::string_view text, bool drop_leading) {
  bool pending_space = false;
  bool at_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    if (is_wsp(text[i])) {
      pending_space = true;
      continue;
    }
    if (pending_space && !(drop_leading && at_start)) out += ' ';
    pending_space = false;
    at_start = false;
    out += text[i];
  }
}

std::string relaxed_header(std::string_view field) {
  const size_t colon = field.find(':');
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  std::string out = lowercase(name) + ':';
  if (colon != std::string_view::npos) append_collapsed(out, field.substr(colon + 1), /*drop_leading=*/true);
  return out + "\r\n";
}

std::string relaxed_body_lines(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t pos = 0; pos < body.size();) {
    const size_t eol = std::min(body.find("\r\n", pos), body.size());
    append_collapsed(out, body.substr(pos, eol - pos), /*drop_leading=*/false);
    out += "\r\n";
    pos = eol + 2;
  }
  return out;
}

}  // namespace

std::string canonical_header(std::string_view field, Canon canon) {
  return canon == Canon::Simple ? std::string(field) : relaxed_header(field);
}

std::string canonical_body(std::string_view body, Canon canon) {
  std::string out = canon == Canon::Simple ? std::string(body) : relaxed_body_lines(body);
  // Empty lines at the end are not part of either form, and a non-empty body ends
  // with CRLF. An empty body is CRLF for simple and nothing for relaxed (RFC 4871
  // erratum 1376).
  while (out.ends_with("\r\n")) out.resize(out.size() - 2);
  if (!out.empty() || canon == Canon::Simple) out += "\r\n";
  return out;
}

// Each name takes the next occurrence counting from the bottom, and a name listed more
// often than it occurs selects nothing more, so adding such a field later breaks the
// signature (over-signing).
std::vector<const RawField*> select_fields(const std::vector<RawField>& fields,
                                           const std::vector<std::string>& names, const RawField* excluded) {
  std::unordered_map<std::string, size_t> next_above;  // per name: index to search below of
  std::vector<const RawField*> selected;
  for (const std::string& name : names) {
    size_t& index = next_above.try_emplace(name, fields.size()).first->second;
    while (index > 0) {
      const RawField& field = fields[--index];
      if (&field != excluded && iequals(field.name, name)) {
        selected.push_back(&field);
        break;
      }
    }
  }
  return selected;
}

// The DKIM-Signature field comes canonicalised but without its final CRLF.
std::string header_hash_input(const std::vector<const RawField*>& selected, std::string_view signature_field,
                              Canon canon) {
  std::string data;
  for (const RawField* field : selected) data += canonical_header(field->bytes, canon);
  std::string signature = canonical_header(signature_field, canon);
  if (signature.ends_with("\r\n")) signature.resize(signature.size() - 2);
  return data + signature;
}

// ---------------------------------------------------------------------------------
// OpenSSL

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string digest(const EVP_MD* md, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &size, md, nullptr);
  out.resize(size);
  return out;
}

std::string encode_base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes_of(data),
                                   static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(size));
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  const std::string compact = without_fws(text);
  const size_t data_end = compact.find_last_not_of('=') + 1;  // 0 for "" and "===="
  const size_t padding = compact.size() - data_end;
  const bool alphabet_only =
      std::all_of(compact.begin(), compact.begin() + static_cast<long>(data_end),
                  [](char c) { return is_alpha(c) || is_digit(c) || c == '+' || c == '/'; });
  if (compact.size() % 4 != 0 || padding > 2 || !alphabet_only) return std::nullopt;
  std::string out(compact.size() / 4 * 3, '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes_of(compact),
                                   static_cast<int>(compact.size()));
  if (size < 0) return std::nullopt;
  out.resize(static_cast<size_t>(size) - padding);
  return out;
}

// ---------------------------------------------------------------------------------
// Algorithms (RFC 6376 3.3, RFC 8463 3)

const Algorithm kRsaSha256{"rsa-sha256", KeyType::Rsa, "sha256", EVP_sha256};
const Algorithm kEd25519Sha256{"ed25519-sha256", KeyType::Ed25519, "sha256", EVP_sha256};

namespace {

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;

const Algorithm kRsaSha1{"rsa-sha1", KeyType::Rsa, "sha1", EVP_sha1};  // verified, never signed (RFC 8301)
const Algorithm* const kAlgorithms[] = {&kRsaSha256, &kEd25519Sha256, &kRsaSha1};

// Ed25519 signs the SHA-256 hash of the header data (RFC 8463 3), as PureEdDSA, so
// OpenSSL gets no digest; RSA signs the data itself with the digest of a=.
std::string signed_input(const Algorithm& algorithm, std::string_view header_data) {
  return algorithm.key == KeyType::Ed25519 ? digest(EVP_sha256(), header_data) : std::string(header_data);
}
const EVP_MD* signing_md(const Algorithm& algorithm) {
  return algorithm.key == KeyType::Ed25519 ? nullptr : algorithm.md();
}

}  // namespace

const Algorithm* find_algorithm(std::string_view name) {
  for (const Algorithm* algorithm : kAlgorithms) {
    if (iequals(algorithm->name, name)) return algorithm;
  }
  return nullptr;
}

std::string_view key_type_name(KeyType type) {
  return type == KeyType::Rsa ? "rsa" : "ed25519";
}

bool signature_matches(EVP_PKEY* key, const Algorithm& algorithm, std::string_view header_data,
                       std::string_view signature) {
  const std::string input = signed_input(algorithm, header_data);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool matches =
      EVP_DigestVerifyInit(ctx.get(), nullptr, signing_md(algorithm), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(input), input.size()) == 1;
  ERR_clear_error();
  return matches;
}

std::string sign_data(EVP_PKEY* key, const Algorithm& algorithm, std::string_view header_data) {
  const std::string input = signed_input(algorithm, header_data);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t size = 0;
  std::string signature;
  if (EVP_DigestSignInit(ctx.get(), nullptr, signing_md(algorithm), nullptr, key) == 1 &&
      EVP_DigestSign(ctx.get(), nullptr, &size, bytes_of(input), input.size()) == 1) {
    signature.resize(size);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, bytes_of(input),
                       input.size()) != 1) {
      size = 0;
    }
  }
  ERR_clear_error();
  if (size == 0) throw std::runtime_error("DKIM: signing failed");
  signature.resize(size);
  return signature;
}

// ---------------------------------------------------------------------------------
// Tag lists (RFC 6376 3.2)

namespace {

bool valid_tag_name(std::string_view name) {
  return !name.empty() && is_alpha(name.front()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

}  // namespace

void perm_error(std::string reason) {
  throw Failure{DkimStatus::PermError, std::move(reason)};
}

TagList::TagList(std::string_view text, std::string_view what) {
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find(';', start), text.size());
    add(text.substr(start, end - start), what);
    start = end + 1;
  }
}

const Tag* TagList::find(std::string_view name) const {
  auto it = std::find_if(tags_.begin(), tags_.end(), [&](const Tag& t) { return t.name == name; });
  return it == tags_.end() ? nullptr : &*it;
}

std::optional<std::string_view> TagList::value(std::string_view name) const {
  const Tag* tag = find(name);
  return tag ? std::optional(tag->value) : std::nullopt;
}

// Empty specs (";;", a final ";") are let pass: harmless, and some signers write them.
void TagList::add(std::string_view spec, std::string_view what) {
  if (trim_fws(spec).empty()) return;
  const size_t equals = spec.find('=');
  if (equals == std::string_view::npos) perm_error(std::string(what) + ": tag without '='");
  const std::string_view name = trim_fws(spec.substr(0, equals));
  if (!valid_tag_name(name)) perm_error(std::string(what) + ": bad tag name '" + std::string(name) + "'");
  if (find(name)) perm_error(std::string(what) + ": duplicate " + std::string(name) + "=");
  const std::string_view raw_value = spec.substr(equals + 1);
  tags_.push_back({name, trim_fws(raw_value), raw_value});
}

std::uint64_t parse_number(std::string_view text, std::string_view tag) {
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || end != text.data() + text.size() ||
      (error != std::errc() && error != std::errc::result_out_of_range)) {
    perm_error("syntax error: " + std::string(tag) + "= is not a number");
  }
  // A number too large for 64 bits counts as the largest: such an l= exceeds any body,
  // such a t= or x= lies in the far future.
  return error == std::errc::result_out_of_range ? UINT64_MAX : number;
}

}  // namespace mp::auth::dkim_internal
