// DKIM verification (RFC 6376 6): every DKIM-Signature of the raw message is checked
// in the order of RFC 6376 6.1: its tags, its times, its key record, the body hash,
// then the signature over the selected header fields. A check that fails throws a
// Failure, which becomes that signature's result. The DNS is the caller's (KeyLookup),
// so that dkim_key_queries() can let it prefetch every key first.
#include "auth/dkim.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <optional>

#include "auth/dkim_internal.h"

namespace mp::auth {
using namespace dkim_internal;
namespace {

constexpr size_t kMaxCheckedSignatures = 10;  // each may cost a DNS query and an RSA check
constexpr std::uint64_t kClockSkew = 300;     // seconds a signer's clock may be off (t=, x=)

// Throws Failure{Fail, reason}: the signature was checked and does not hold.
[[noreturn]] void fail(std::string reason) {
  throw Failure{DkimStatus::Fail, std::move(reason)};
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
  const Algorithm* algorithm = find_algorithm(text);
  if (!algorithm) perm_error("unsupported algorithm a=" + std::string(text));
  return *algorithm;
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

}  // namespace

// ---------------------------------------------------------------------------------
// Public interface

std::string_view dkim_status_name(DkimStatus status) {
  switch (status) {
    case DkimStatus::None: return "none";
    case DkimStatus::Pass: return "pass";
    case DkimStatus::Fail: return "fail";
    case DkimStatus::Neutral: return "neutral";
    case DkimStatus::TempError: return "temperror";
    case DkimStatus::PermError: return "permerror";
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

}  // namespace mp::auth
