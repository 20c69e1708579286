// DKIM signing (RFC 6376 5): dkim_sign() hashes the canonical body, lays out the
// DKIM-Signature field with its tags folded to RFC 5322 line lengths, and signs the
// selected header fields followed by that field with an empty b=. The algorithm
// follows the private key: rsa-sha256 or ed25519-sha256 (RFC 8463). Also the key
// record to publish for a private key, and the canonical forms for tests.
#include "auth/dkim.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <stdexcept>

#include "auth/dkim_internal.h"

namespace mp::auth {
using namespace dkim_internal;
namespace {

constexpr size_t kMaxLine = 78;  // RFC 5322 2.1.1, for the field dkim_sign writes

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

PkeyPtr read_private_key(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A callback that refuses, so an encrypted key fails instead of prompting on a tty.
  auto no_passphrase = [](char*, int, int, void*) { return -1; };
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) throw std::runtime_error("DKIM: cannot read the private key (unencrypted PEM expected)");
  return key;
}

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
    case EVP_PKEY_RSA: return KeyType::Rsa;
    case EVP_PKEY_ED25519: return KeyType::Ed25519;
    default: throw std::runtime_error("DKIM: the key is neither RSA nor Ed25519");
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
