// DKIM signing and verification over the raw message bytes. The message is cut into
// header fields (kept byte for byte, continuation lines included) and a body; each
// DKIM-Signature is checked in the order of RFC 6376 6.1: its tags, its times, its key
// record, the body hash, then the signature over the selected header fields. Hashing
// and public-key operations go through OpenSSL's EVP interface.
#include "auth/dkim.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace mp::auth {
namespace {

constexpr size_t kMaxCheckedSignatures = 10;  // each may cost a DNS query and an RSA check
constexpr std::uint64_t kClockSkew = 300;     // seconds a signer's clock may be off (t=, x=)
constexpr int kMinRsaBits = 1024;             // RFC 8301 3.2
constexpr size_t kMaxLine = 78;               // RFC 5322 2.1.1, for the field dkim_sign writes

// ---------------------------------------------------------------------------------
// Text

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

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

std::string without_fws(std::string_view s) {
  std::string out;
  std::copy_if(s.begin(), s.end(), std::back_inserter(out), [](char c) { return !is_fws(c); });
  return out;
}

// The parts of a colon-separated list (h=, q=, and the key's h=, s=, t=), FWS trimmed.
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

// ---------------------------------------------------------------------------------
// The raw message

struct RawField {
  std::string_view name;   // before the colon, WSP before it dropped; "" if there is no colon
  std::string_view bytes;  // the whole field as received, continuation lines and CRLF included
};

// A message cut into header fields and body. Views into the input, or into a copy with
// bare LF turned into CRLF, so neither copy nor move.
class RawMessage {
 public:
  explicit RawMessage(std::string_view input) {
    std::string_view text = skip_mbox_from_line(input);
    if (has_bare_lf(text)) {
      crlf_text_ = with_crlf(text);
      text = crlf_text_;
    }
    split(text);
  }
  RawMessage(const RawMessage&) = delete;
  RawMessage& operator=(const RawMessage&) = delete;

  const std::vector<RawField>& fields() const { return fields_; }
  std::string_view body() const { return body_; }

 private:
  // An mbox "From sender date" line, but not a "From : ..." field (WSP before the
  // colon is obsolete syntax, still legal).
  static std::string_view skip_mbox_from_line(std::string_view text) {
    if (!text.starts_with("From ")) return text;
    const size_t after_spaces = text.find_first_not_of(" \t", 5);
    if (after_spaces != std::string_view::npos && text[after_spaces] == ':') return text;
    const size_t newline = text.find('\n');
    return newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  static bool has_bare_lf(std::string_view text) {
    for (size_t at = text.find('\n'); at != std::string_view::npos; at = text.find('\n', at + 1)) {
      if (at == 0 || text[at - 1] != '\r') return true;
    }
    return false;
  }
  // On-disk .eml files end lines with LF; every verifier reads that as CRLF.
  static std::string with_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
      out += text[i];
    }
    return out;
  }
  static std::string_view field_name(std::string_view first_line) {
    const size_t colon = first_line.find(':');
    if (colon == std::string_view::npos) return {};
    std::string_view name = first_line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    return name;
  }
  // The header block ends at the first empty line; without one, all is header.
  void split(std::string_view text) {
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

  std::string crlf_text_;
  std::vector<RawField> fields_;
  std::string_view body_;
};

// ---------------------------------------------------------------------------------
// Canonicalisation (RFC 6376 3.4)

enum class Canon : uint8_t { Simple, Relaxed };

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

std::string canonical_header(std::string_view field, Canon canon) {
  return canon == Canon::Simple ? std::string(field) : relaxed_header(field);
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

std::string canonical_body(std::string_view body, Canon canon) {
  std::string out = canon == Canon::Simple ? std::string(body) : relaxed_body_lines(body);
  // Empty lines at the end are not part of either form, and a non-empty body ends
  // with CRLF. An empty body is CRLF for simple and nothing for relaxed (RFC 4871
  // erratum 1376).
  while (out.ends_with("\r\n")) out.resize(out.size() - 2);
  if (!out.empty() || canon == Canon::Simple) out += "\r\n";
  return out;
}

// The fields h= names, in h= order; each name takes the next occurrence counting from
// the bottom (RFC 6376 5.4.2), and a name listed more often than it occurs selects
// nothing more, so adding such a field later breaks the signature (over-signing).
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

// What the header hash covers: the selected fields, then the DKIM-Signature field with
// its b= value already removed, canonicalised but without its final CRLF (RFC 6376 3.7).
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

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

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

// Base64 with FWS anywhere (RFC 6376 2.4); nullopt unless it is well-formed and padded.
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

PkeyPtr read_private_key(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A callback that refuses, so an encrypted key fails instead of prompting on a tty.
  auto no_passphrase = [](char*, int, int, void*) { return -1; };
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) throw std::runtime_error("DKIM: cannot read the private key (unencrypted PEM expected)");
  return key;
}

// ---------------------------------------------------------------------------------
// Algorithms (RFC 6376 3.3, RFC 8463 3)

enum class KeyType : uint8_t { Rsa, Ed25519 };

struct Algorithm {
  std::string_view name;  // a=
  KeyType key;
  std::string_view hash;  // as in the key record's h=
  const EVP_MD* (*md)();
};

const Algorithm kRsaSha256{"rsa-sha256", KeyType::Rsa, "sha256", EVP_sha256};
const Algorithm kEd25519Sha256{"ed25519-sha256", KeyType::Ed25519, "sha256", EVP_sha256};
const Algorithm kRsaSha1{"rsa-sha1", KeyType::Rsa, "sha1", EVP_sha1};  // verified, never signed (RFC 8301)
const Algorithm* const kAlgorithms[] = {&kRsaSha256, &kEd25519Sha256, &kRsaSha1};

std::string_view key_type_name(KeyType type) {
  return type == KeyType::Rsa ? "rsa" : "ed25519";
}

// Ed25519 signs the SHA-256 hash of the header data (RFC 8463 3), as PureEdDSA, so
// OpenSSL gets no digest; RSA signs the data itself with the digest of a=.
std::string signed_input(const Algorithm& algorithm, std::string_view header_data) {
  return algorithm.key == KeyType::Ed25519 ? digest(EVP_sha256(), header_data) : std::string(header_data);
}
const EVP_MD* signing_md(const Algorithm& algorithm) {
  return algorithm.key == KeyType::Ed25519 ? nullptr : algorithm.md();
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
// Tag lists (RFC 6376 3.2), for signatures and key records

// Why a signature did not pass, thrown from any step of its check so that each
// check reads as one line; turned into the signature's result.
struct Failure {
  DkimStatus status;
  std::string reason;
};
[[noreturn]] void perm_error(std::string reason) {
  throw Failure{DkimStatus::PermError, std::move(reason)};
}
[[noreturn]] void fail(std::string reason) {
  throw Failure{DkimStatus::Fail, std::move(reason)};
}

struct Tag {
  std::string_view name;
  std::string_view value;      // FWS around it removed
  std::string_view raw_value;  // everything between '=' and ';', to remove b= exactly
};

class TagList {
 public:
  // `what` prefixes syntax errors: "syntax error" or "key syntax error".
  TagList(std::string_view text, std::string_view what) {
    for (size_t start = 0; start <= text.size();) {
      const size_t end = std::min(text.find(';', start), text.size());
      add(text.substr(start, end - start), what);
      start = end + 1;
    }
  }

  const Tag* find(std::string_view name) const {
    auto it = std::find_if(tags_.begin(), tags_.end(), [&](const Tag& t) { return t.name == name; });
    return it == tags_.end() ? nullptr : &*it;
  }
  std::optional<std::string_view> value(std::string_view name) const {
    const Tag* tag = find(name);
    return tag ? std::optional(tag->value) : std::nullopt;
  }

 private:
  static bool valid_name(std::string_view name) {
    return !name.empty() && is_alpha(name.front()) && std::all_of(name.begin(), name.end(), [](char c) {
      return is_alpha(c) || is_digit(c) || c == '_';
    });
  }
  // Empty specs (";;", a final ";") are let pass: harmless, and some signers write them.
  void add(std::string_view spec, std::string_view what) {
    if (trim_fws(spec).empty()) return;
    const size_t equals = spec.find('=');
    if (equals == std::string_view::npos) perm_error(std::string(what) + ": tag without '='");
    const std::string_view name = trim_fws(spec.substr(0, equals));
    if (!valid_name(name)) perm_error(std::string(what) + ": bad tag name '" + std::string(name) + "'");
    if (find(name)) perm_error(std::string(what) + ": duplicate " + std::string(name) + "=");
    const std::string_view raw_value = spec.substr(equals + 1);
    tags_.push_back({name, trim_fws(raw_value), raw_value});
  }

  std::vector<Tag> tags_;
};

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

// d= and s= become a DNS name; anything but letters, digits, '-', '_', '.' and UTF-8
// would make a different query than the signer meant.
bool valid_dns_text(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.' ||
           static_cast<unsigned char>(c) >= 0x80;
  });
}

// ---------------------------------------------------------------------------------
// DKIM-Signature fields (RFC 6376 3.5, 6.1.1)

struct Signature {
  const Algorithm* algorithm = nullptr;
  Canon header_canon = Canon::Simple;
  Canon body_canon = Canon::Simple;
  std::string domain;  // lowercased
  std::string selector;
  std::string identity;                   // i=, or "@" + domain
  std::vector<std::string> signed_names;  // h=, lowercased
  std::optional<std::uint64_t> body_length, timestamp, expiry;
  std::string body_hash, signature;  // decoded bh=, b=
  std::string field_without_b;       // the field as received with the b= value removed

  std::string key_name() const { return selector + "._domainkey." + domain; }
};

std::string_view field_value(const RawField& field) {
  return field.bytes.substr(std::min(field.bytes.find(':') + 1, field.bytes.size()));
}

std::string_view required(const TagList& tags, std::string_view name) {
  const auto value = tags.value(name);
  if (!value) perm_error("syntax error: missing " + std::string(name) + "=");
  return *value;
}

const Algorithm& parse_algorithm(std::string_view text) {
  for (const Algorithm* algorithm : kAlgorithms) {
    if (iequals(algorithm->name, text)) return *algorithm;
  }
  perm_error("unsupported algorithm a=" + std::string(text));
}

Canon parse_canon(std::string_view text, std::string_view whole) {
  if (iequals(text, "simple")) return Canon::Simple;
  if (iequals(text, "relaxed")) return Canon::Relaxed;
  perm_error("unsupported canonicalization c=" + std::string(whole));
}

void parse_canonicalization(std::string_view text, Signature& sig) {
  const size_t slash = text.find('/');
  sig.header_canon = parse_canon(text.substr(0, slash), text);
  if (slash != std::string_view::npos) sig.body_canon = parse_canon(text.substr(slash + 1), text);
}

std::string decode_tag(std::string_view value, std::string_view tag) {
  auto decoded = decode_base64(value);
  if (!decoded || decoded->empty()) perm_error("syntax error: " + std::string(tag) + "= is not base64");
  return *std::move(decoded);
}

std::string_view domain_of_identity(std::string_view identity) {
  const size_t at = identity.rfind('@');
  if (at == std::string_view::npos) perm_error("syntax error: i= has no '@'");
  return identity.substr(at + 1);
}

bool within_domain(std::string_view sub, std::string_view domain) {
  return iequals(sub, domain) || (sub.size() > domain.size() && sub[sub.size() - domain.size() - 1] == '.' &&
                                  iequals(sub.substr(sub.size() - domain.size()), domain));
}

std::string without_b_value(const RawField& field, const Tag& b) {
  const size_t begin = static_cast<size_t>(b.raw_value.data() - field.bytes.data());
  std::string out(field.bytes.substr(0, begin));
  return out.append(field.bytes.substr(begin + b.raw_value.size()));
}

std::optional<std::uint64_t> optional_number(const TagList& tags, std::string_view name) {
  const auto value = tags.value(name);
  return value ? std::optional(parse_number(*value, name)) : std::nullopt;
}

// Every check that needs neither the clock, the key nor the message body.
Signature parse_signature(const RawField& field, const TagList& tags) {
  Signature sig;
  for (std::string_view name : {"v", "a", "b", "bh", "d", "h", "s"}) required(tags, name);
  if (required(tags, "v") != "1") perm_error("unsupported version v=" + std::string(*tags.value("v")));
  sig.algorithm = &parse_algorithm(required(tags, "a"));
  if (const auto c = tags.value("c")) parse_canonicalization(*c, sig);
  if (const auto q = tags.value("q"); q && !list_contains(*q, "dns/txt")) {
    perm_error("unsupported query method q=" + std::string(*q));
  }
  sig.domain = lowercase(required(tags, "d"));
  sig.selector = required(tags, "s");
  if (!valid_dns_text(sig.domain)) perm_error("syntax error: bad d=");
  if (!valid_dns_text(sig.selector)) perm_error("syntax error: bad s=");
  sig.identity = tags.value("i") ? std::string(*tags.value("i")) : "@" + sig.domain;
  if (!within_domain(domain_of_identity(sig.identity), sig.domain)) perm_error("i= is not within d=");
  for (std::string_view name : colon_list(required(tags, "h"))) {
    if (name.empty()) perm_error("syntax error: empty name in h=");
    sig.signed_names.push_back(lowercase(name));
  }
  if (std::find(sig.signed_names.begin(), sig.signed_names.end(), "from") == sig.signed_names.end()) {
    perm_error("h= does not include From");
  }
  sig.body_length = optional_number(tags, "l");
  sig.timestamp = optional_number(tags, "t");
  sig.expiry = optional_number(tags, "x");
  if (sig.timestamp && sig.expiry && *sig.expiry < *sig.timestamp) perm_error("x= is before t=");
  sig.body_hash = decode_tag(required(tags, "bh"), "bh");
  sig.signature = decode_tag(required(tags, "b"), "b");
  sig.field_without_b = without_b_value(field, *tags.find("b"));
  return sig;
}

// A signer's clock a little ahead, or a message a little late, is not held against it.
void check_times(const Signature& sig, std::time_t now) {
  const auto current = static_cast<std::uint64_t>(std::max<std::time_t>(now, 0));
  if (sig.timestamp && *sig.timestamp > current + kClockSkew) perm_error("signature timestamp in the future");
  if (sig.expiry && *sig.expiry < current && current - *sig.expiry > kClockSkew) fail("signature expired");
}

// ---------------------------------------------------------------------------------
// Key records (RFC 6376 3.6.1, 6.1.2)

struct PublicKey {
  PkeyPtr key;
  bool testing = false;  // t=y
};

PkeyPtr rsa_public_key(std::string_view der) {
  const unsigned char* cursor = bytes_of(der);
  PkeyPtr key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (!key) {
    // Some publish the bare RSAPublicKey (PKCS#1) instead of SubjectPublicKeyInfo.
    cursor = bytes_of(der);
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, static_cast<long>(der.size())));
  }
  ERR_clear_error();
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    perm_error("key syntax error: p= is not an RSA key");
  }
  const int bits = EVP_PKEY_get_bits(key.get());
  if (bits < kMinRsaBits) perm_error("key too short (" + std::to_string(bits) + " bits)");
  return key;
}

PkeyPtr ed25519_public_key(std::string_view raw) {
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(raw), raw.size()));
  ERR_clear_error();
  if (!key) perm_error("key syntax error: p= is not a 32-byte Ed25519 key");
  return key;
}

void check_key_flags(const TagList& tags, const Signature& sig) {
  if (const auto v = tags.value("v"); v && *v != "DKIM1") {
    perm_error("unsupported key version v=" + std::string(*v));
  }
  if (const auto h = tags.value("h"); h && !list_contains(*h, sig.algorithm->hash)) {
    perm_error("key does not allow " + std::string(sig.algorithm->hash));
  }
  if (const auto s = tags.value("s"); s && !list_contains(*s, "*") && !list_contains(*s, "email")) {
    perm_error("key is not for email (s=" + std::string(*s) + ")");
  }
  if (const auto t = tags.value("t");
      t && list_contains(*t, "s") && !iequals(domain_of_identity(sig.identity), sig.domain)) {
    perm_error("i= domain is not d= (key t=s)");
  }
  const std::string_view type = tags.value("k").value_or("rsa");
  if (!iequals(type, "rsa") && !iequals(type, "ed25519")) {
    perm_error("unsupported key type k=" + std::string(type));
  }
  if (!iequals(type, key_type_name(sig.algorithm->key))) {
    perm_error("key type " + lowercase(type) + " does not match a=" + std::string(sig.algorithm->name));
  }
}

PublicKey parse_key_record(std::string_view record, const Signature& sig) {
  const TagList tags(record, "key syntax error");
  check_key_flags(tags, sig);
  const auto p = tags.value("p");
  if (!p) perm_error("key syntax error: missing p=");
  if (without_fws(*p).empty()) perm_error("key revoked");
  const auto der = decode_base64(*p);
  if (!der) perm_error("key syntax error: p= is not base64");
  PublicKey key;
  key.key = sig.algorithm->key == KeyType::Rsa ? rsa_public_key(*der) : ed25519_public_key(*der);
  key.testing = tags.value("t") && list_contains(*tags.value("t"), "y");
  return key;
}

std::string key_record_text(const dns::Answer& answer) {
  if (answer.temp_error()) {
    throw Failure{DkimStatus::TempError,
                  "DNS " + (answer.reason.empty() ? std::string("error") : answer.reason)};
  }
  // Several TXT records at one selector are undefined (RFC 6376 3.6.2.2): the first counts.
  if (answer.status == dns::Status::NxDomain || answer.records.empty()) perm_error("no key record");
  return answer.records.front().text();
}

// ---------------------------------------------------------------------------------
// Verification

// The fields filled in from the tags even when the signature turns out unusable.
void describe(const TagList& tags, DkimResult& result) {
  result.domain = lowercase(tags.value("d").value_or(""));
  result.selector = tags.value("s").value_or("");
  result.algorithm = lowercase(tags.value("a").value_or(""));
  result.identity = tags.value("i") ? std::string(*tags.value("i")) : "@" + result.domain;
  result.signature_prefix = without_fws(tags.value("b").value_or("")).substr(0, 8);
}

bool is_signature_field(const RawField& field) {
  return iequals(field.name, "DKIM-Signature");
}

class Verifier {
 public:
  Verifier(std::string_view raw_message, const KeyLookup& lookup, std::time_t now)
      : message_(raw_message), lookup_(lookup), now_(now) {}

  DkimVerification run() {
    DkimVerification verification;
    for (const RawField& field : message_.fields()) {
      if (!is_signature_field(field)) continue;
      verification.signatures.push_back(
          verification.signatures.size() < kMaxCheckedSignatures ? check(field) : unchecked(field));
    }
    return verification;
  }

 private:
  DkimResult check(const RawField& field) {
    DkimResult result;
    try {
      const TagList tags(field_value(field), "syntax error");
      describe(tags, result);
      const Signature sig = parse_signature(field, tags);
      check_times(sig, now_);
      const PublicKey key = parse_key_record(key_record_text(key_answer(sig.key_name())), sig);
      result.testing = key.testing;
      check_body_hash(sig);
      const std::string data = header_hash_input(select_fields(message_.fields(), sig.signed_names, &field),
                                                 sig.field_without_b, sig.header_canon);
      if (!signature_matches(key.key.get(), *sig.algorithm, data, sig.signature)) {
        fail("signature did not verify");
      }
      result.status = DkimStatus::Pass;
      if (sig.algorithm->hash == "sha1") result.reason = "rsa-sha1 is deprecated (RFC 8301)";
    } catch (const Failure& failure) {
      result.status = failure.status;
      result.reason = failure.reason;
    }
    return result;
  }

  static DkimResult unchecked(const RawField& field) {
    DkimResult result;
    try {
      describe(TagList(field_value(field), "syntax error"), result);
    } catch (const Failure&) {
      // Unparsable: reported with whatever describe() got to.
    }
    result.status = DkimStatus::Neutral;
    result.reason = "not checked: more than " + std::to_string(kMaxCheckedSignatures) + " signatures";
    return result;
  }

  void check_body_hash(const Signature& sig) {
    const std::string& body = canonical_body_of(sig.body_canon);
    const std::uint64_t length = sig.body_length.value_or(body.size());
    if (length > body.size()) fail("l= exceeds the body length");
    const std::string_view signed_part = std::string_view(body).substr(0, static_cast<size_t>(length));
    if (digest(sig.algorithm->md(), signed_part) != sig.body_hash) fail("body hash mismatch");
  }

  const std::string& canonical_body_of(Canon canon) {
    auto& cached = canon == Canon::Simple ? simple_body_ : relaxed_body_;
    if (!cached) cached = canonical_body(message_.body(), canon);
    return *cached;
  }

  const dns::Answer& key_answer(const std::string& name) {
    auto it = answers_.find(name);
    if (it == answers_.end()) it = answers_.emplace(name, lookup_(name)).first;
    return it->second;
  }

  RawMessage message_;
  const KeyLookup& lookup_;
  std::time_t now_;
  std::optional<std::string> simple_body_, relaxed_body_;
  std::map<std::string, dns::Answer> answers_;
};

// ---------------------------------------------------------------------------------
// Signing

// Lays out a header field in lines of at most kMaxLine octets joined with "\r\n\t",
// breaking only where FWS may stand: between tags, around ':' in h=, inside base64.
class FieldFolder {
 public:
  explicit FieldFolder(std::string_view start) : text_(start), line_(start.size()) {}

  // Appends `word`, on a new line if it does not fit on this one; `spaced` puts a
  // space before it when it stays.
  void word(std::string_view word, bool spaced) {
    const size_t needed = word.size() + (spaced ? 1 : 0);
    if (line_ + needed > kMaxLine && line_ > 1) {
      new_line();
    } else if (spaced) {
      text_ += ' ';
      ++line_;
    }
    text_ += word;
    line_ += word.size();
  }
  // Appends `text` filling each line to the limit.
  void breakable(std::string_view text) {
    while (!text.empty()) {
      if (line_ >= kMaxLine) new_line();
      const size_t room = std::min(kMaxLine - line_, text.size());
      text_.append(text.substr(0, room));
      line_ += room;
      text.remove_prefix(room);
    }
  }
  void new_line() {
    text_ += "\r\n\t";
    line_ = 1;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  size_t line_;  // octets on the current line
};

KeyType key_type(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return KeyType::Rsa;
    case EVP_PKEY_ED25519:
      return KeyType::Ed25519;
    default:
      throw std::runtime_error("DKIM: the key is neither RSA nor Ed25519");
  }
}

const Algorithm& signing_algorithm(EVP_PKEY* key) {
  if (key_type(key) == KeyType::Ed25519) return kEd25519Sha256;
  if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
    throw std::runtime_error("DKIM: RSA key too short (" + std::to_string(EVP_PKEY_get_bits(key)) + " bits)");
  }
  return kRsaSha256;
}

// From, then signer.headers, each name once and repeated as often as the message has
// it. From is signed even when absent, so that none can be added (RFC 6376 5.4).
std::vector<std::string> names_to_sign(const RawMessage& message, const std::vector<std::string>& wanted) {
  std::vector<std::string> unique = {"from"};
  for (const std::string& name : wanted) {
    std::string lower = lowercase(name);
    if (std::find(unique.begin(), unique.end(), lower) == unique.end()) unique.push_back(std::move(lower));
  }
  std::vector<std::string> names;
  for (const std::string& name : unique) {
    const std::ptrdiff_t occurrences =
        std::count_if(message.fields().begin(), message.fields().end(),
                      [&](const RawField& f) { return iequals(f.name, name); });
    names.insert(names.end(), name == "from" ? std::max<std::ptrdiff_t>(occurrences, 1) : occurrences, name);
  }
  return names;
}

}  // namespace

// ---------------------------------------------------------------------------------
// Public interface

std::string_view dkim_status_name(DkimStatus status) {
  switch (status) {
    case DkimStatus::None:
      return "none";
    case DkimStatus::Pass:
      return "pass";
    case DkimStatus::Fail:
      return "fail";
    case DkimStatus::Neutral:
      return "neutral";
    case DkimStatus::TempError:
      return "temperror";
    case DkimStatus::PermError:
      return "permerror";
  }
  return "none";
}

DkimStatus DkimVerification::overall() const {
  auto rank = [](DkimStatus status) {
    constexpr DkimStatus kOrder[] = {DkimStatus::None, DkimStatus::Neutral,   DkimStatus::PermError,
                                     DkimStatus::Fail, DkimStatus::TempError, DkimStatus::Pass};
    return std::find(std::begin(kOrder), std::end(kOrder), status) - std::begin(kOrder);
  };
  DkimStatus best = DkimStatus::None;
  for (const DkimResult& result : signatures) {
    if (rank(result.status) > rank(best)) best = result.status;
  }
  return best;
}

std::vector<std::string> DkimVerification::passing_domains() const {
  std::vector<std::string> domains;
  for (const DkimResult& result : signatures) {
    if (result.status == DkimStatus::Pass &&
        std::find(domains.begin(), domains.end(), result.domain) == domains.end()) {
      domains.push_back(result.domain);
    }
  }
  return domains;
}

std::vector<std::string> dkim_key_queries(std::string_view raw_message) {
  const RawMessage message(raw_message);
  std::vector<std::string> names;
  size_t signatures = 0;
  for (const RawField& field : message.fields()) {
    if (!is_signature_field(field)) continue;
    if (signatures++ == kMaxCheckedSignatures) break;
    try {
      const std::string name = parse_signature(field, TagList(field_value(field), "syntax error")).key_name();
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    } catch (const Failure&) {
      // Fails before any lookup.
    }
  }
  return names;
}

DkimVerification dkim_verify(std::string_view raw_message, const KeyLookup& lookup, std::time_t now) {
  return Verifier(raw_message, lookup, now).run();
}

std::string dkim_sign(std::string_view raw_message, const DkimSigner& signer, std::time_t now) {
  const PkeyPtr key = read_private_key(signer.private_key_pem);
  const Algorithm& algorithm = signing_algorithm(key.get());
  if (!valid_dns_text(signer.domain) || !valid_dns_text(signer.selector)) {
    throw std::runtime_error("DKIM: bad signing domain or selector");
  }
  const RawMessage message(raw_message);
  const Canon header_canon = signer.relaxed_header ? Canon::Relaxed : Canon::Simple;
  const Canon body_canon = signer.relaxed_body ? Canon::Relaxed : Canon::Simple;
  const std::string body = canonical_body(message.body(), body_canon);
  const std::vector<std::string> names = names_to_sign(message, signer.headers);

  FieldFolder folder("DKIM-Signature:");
  auto tag = [&](std::string_view name, const std::string& value) {
    folder.word(std::string(name) + "=" + value + ";", true);
  };
  tag("v", "1");
  tag("a", std::string(algorithm.name));
  tag("c", std::string(signer.relaxed_header ? "relaxed/" : "simple/") +
               (signer.relaxed_body ? "relaxed" : "simple"));
  tag("d", signer.domain);
  tag("s", signer.selector);
  tag("t", std::to_string(now));
  if (signer.expire_after > 0) tag("x", std::to_string(now + signer.expire_after));
  if (signer.body_length) tag("l", std::to_string(body.size()));
  for (size_t i = 0; i < names.size(); ++i) {
    folder.word((i == 0 ? "h=" : "") + names[i] + (i + 1 == names.size() ? ";" : ":"), i == 0);
  }
  tag("bh", encode_base64(digest(algorithm.md(), body)));
  folder.new_line();
  folder.word("b=", false);

  const std::string data =
      header_hash_input(select_fields(message.fields(), names, nullptr), folder.text(), header_canon);
  folder.breakable(encode_base64(sign_data(key.get(), algorithm, data)));
  return folder.text();
}

std::string dkim_public_key_record(std::string_view private_key_pem) {
  const PkeyPtr key = read_private_key(private_key_pem);
  const KeyType type = key_type(key.get());
  std::string public_key;
  if (type == KeyType::Rsa) {
    public_key.resize(static_cast<size_t>(i2d_PUBKEY(key.get(), nullptr)));
    auto* cursor = reinterpret_cast<unsigned char*>(public_key.data());
    i2d_PUBKEY(key.get(), &cursor);
  } else {
    size_t size = 32;
    public_key.resize(size);
    EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_key.data()), &size);
  }
  return "v=DKIM1; k=" + std::string(key_type_name(type)) + "; p=" + encode_base64(public_key);
}

std::string dkim_canonical_header(std::string_view field, bool relaxed) {
  return canonical_header(field, relaxed ? Canon::Relaxed : Canon::Simple);
}

std::string dkim_canonical_body(std::string_view body, bool relaxed) {
  return canonical_body(body, relaxed ? Canon::Relaxed : Canon::Simple);
}

}  // namespace mp::auth
