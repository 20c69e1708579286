// Private to auth/dkim_*.cpp, never installed: what DKIM verification (dkim_verify.cpp)
// and signing (dkim_sign.cpp) share, defined in dkim_common.cpp. The raw message cut
// into header fields and body, canonicalisation, the OpenSSL primitives, the
// algorithm table and tag-list parsing.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim.h"

namespace mp::auth::dkim_internal {

inline constexpr int kMinRsaBits = 1024;  // RFC 8301 3.2: shorter RSA keys are neither used nor accepted

// ---------------------------------------------------------------------------------
// Text

// `s` with ASCII letters lowercased.
std::string lowercase(std::string_view s);
// Whether `a` and `b` are the same but for ASCII case.
bool iequals(std::string_view a, std::string_view b);
// `s` with every FWS character (SP, HTAB, CR, LF) removed.
std::string without_fws(std::string_view s);
// The parts of a colon-separated list (h=, q=, and the key's h=, s=, t=), FWS trimmed.
std::vector<std::string_view> colon_list(std::string_view s);
// Whether `wanted` is a part of the colon-separated `list`, ignoring case.
bool list_contains(std::string_view list, std::string_view wanted);
// Whether d= or s= `text` is non-empty and only letters, digits, '-', '_', '.' and UTF-8.
bool valid_dns_text(std::string_view text);

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
  // Skips a leading mbox "From " line and reads bare LF as CRLF; any input is accepted.
  explicit RawMessage(std::string_view input);
  RawMessage(const RawMessage&) = delete;
  RawMessage& operator=(const RawMessage&) = delete;

  const std::vector<RawField>& fields() const { return fields_; }  // in header order
  std::string_view body() const { return body_; }                  // after the empty line

 private:
  // Fills fields_ and body_ from CRLF-terminated `text`.
  void split(std::string_view text);

  std::string crlf_text_;
  std::vector<RawField> fields_;
  std::string_view body_;
};

// ---------------------------------------------------------------------------------
// Canonicalisation (RFC 6376 3.4)

enum class Canon : uint8_t { Simple, Relaxed };

// One header field as received, canonicalised with its final CRLF (RFC 6376 3.4.1, 3.4.2).
std::string canonical_header(std::string_view field, Canon canon);
// The body after the empty line, canonicalised (RFC 6376 3.4.3, 3.4.4).
std::string canonical_body(std::string_view body, Canon canon);
// The fields the h= `names` select, in h= order, never `excluded` (RFC 6376 5.4.2).
std::vector<const RawField*> select_fields(const std::vector<RawField>& fields,
                                           const std::vector<std::string>& names, const RawField* excluded);
// The header hash input: `selected`, then `signature_field` (b= value removed) (RFC 6376 3.7).
std::string header_hash_input(const std::vector<const RawField*>& selected, std::string_view signature_field,
                              Canon canon);

// ---------------------------------------------------------------------------------
// OpenSSL

// Frees an OpenSSL object through `Free`, for std::unique_ptr.
template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;

// The octets of `s` as OpenSSL takes them.
const unsigned char* bytes_of(std::string_view s);
// The `md` digest of `data`, as raw octets.
std::string digest(const EVP_MD* md, std::string_view data);
// `data` in base64, padded, on one line.
std::string encode_base64(std::string_view data);
// Base64 `text` with FWS anywhere (RFC 6376 2.4) decoded; nullopt unless well-formed and padded.
std::optional<std::string> decode_base64(std::string_view text);

// ---------------------------------------------------------------------------------
// Algorithms (RFC 6376 3.3, RFC 8463 3)

enum class KeyType : uint8_t { Rsa, Ed25519 };

struct Algorithm {
  std::string_view name;  // a=
  KeyType key;
  std::string_view hash;  // as in the key record's h=
  const EVP_MD* (*md)();
};

extern const Algorithm kRsaSha256;      // what RSA keys sign with
extern const Algorithm kEd25519Sha256;  // what Ed25519 keys sign with (RFC 8463)

// The algorithm a= `name` names in any case (rsa-sha256, ed25519-sha256, rsa-sha1), or nullptr.
const Algorithm* find_algorithm(std::string_view name);
// The key record's k= for `type`: "rsa" or "ed25519" (RFC 6376 3.6.1, RFC 8463 4).
std::string_view key_type_name(KeyType type);
// Whether `signature` (b=, decoded) is `key`'s signature of `header_data` (RFC 6376 3.7).
bool signature_matches(EVP_PKEY* key, const Algorithm& algorithm, std::string_view header_data,
                       std::string_view signature);
// `key`'s signature of `header_data`, for b=; throws std::runtime_error if OpenSSL fails.
std::string sign_data(EVP_PKEY* key, const Algorithm& algorithm, std::string_view header_data);

// ---------------------------------------------------------------------------------
// Tag lists (RFC 6376 3.2), for signatures and key records

// Why a signature did not pass, thrown from any step of its check so that each
// check reads as one line; turned into the signature's result.
struct Failure {
  DkimStatus status;
  std::string reason;
};
// Throws Failure{PermError, reason}.
[[noreturn]] void perm_error(std::string reason);

struct Tag {
  std::string_view name;
  std::string_view value;      // FWS around it removed
  std::string_view raw_value;  // everything between '=' and ';', to remove b= exactly
};

// A tag-list's tags in order, as views into the text it was made from.
class TagList {
 public:
  // Throws a permerror Failure, its reason prefixed with `what` ("syntax error" or "key
  // syntax error"), on a tag without '=', a bad tag name or a duplicate tag.
  TagList(std::string_view text, std::string_view what);

  // The tag called `name` (case-sensitive), or nullptr.
  const Tag* find(std::string_view name) const;
  // The value of the tag called `name`, or nullopt.
  std::optional<std::string_view> value(std::string_view name) const;

 private:
  // Adds one "name=value" spec; an empty one is let pass.
  void add(std::string_view spec, std::string_view what);

  std::vector<Tag> tags_;
};

// The decimal value `text` of tag `tag`, UINT64_MAX if too large; permerror if not digits.
std::uint64_t parse_number(std::string_view text, std::string_view tag);

}  // namespace mp::auth::dkim_internal
