// DKIM (RFC 6376) with Ed25519 keys (RFC 8463): verifying every DKIM-Signature of a
// message, and signing one. The caller does the DNS, so that the VM can run all the
// lookups of a message in parallel:
//
//   for (const std::string& name : dkim_key_queries(raw)) resolver.query(name, RrType::Txt, ...);
//   resolver.run_until_idle(deadline);
//   DkimVerification v = dkim_verify(raw, [&](const std::string& name) {
//     return resolver.resolve(name, dns::RrType::Txt);  // answered from the cache
//   }, std::time(nullptr));
//   if (v.overall() == DkimStatus::Pass) ... v.passing_domains() ...
//
// Both work on the raw message bytes (a leading mbox "From " line is skipped, bare LF
// line ends count as CRLF), never on a parsed message: "simple" canonicalisation
// hashes header fields exactly as received.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"

namespace mp::auth {

// The result names of Authentication-Results (RFC 8601 2.7.1).
enum class DkimStatus : uint8_t { None, Pass, Fail, Neutral, TempError, PermError };
std::string_view dkim_status_name(DkimStatus status);  // "none", "pass", "fail", "neutral", ...

// The outcome for one DKIM-Signature field.
//   fail      the signature was checked and does not hold: "body hash mismatch",
//             "signature did not verify", "l= exceeds the body length", or "signature
//             expired" (x= more than 5 minutes past)
//   permerror it cannot be checked, and never will be: a syntax error ("syntax error:
//             missing b="), an unsupported algorithm, a key that is missing ("no key
//             record"), revoked ("key revoked"), too short ("key too short (512 bits)")
//             or otherwise unusable, or "signature timestamp in the future" (t= more
//             than 5 minutes ahead: a bad signer clock is not the message's fault, but
//             such a signature is not evidence either)
//   temperror the key could not be fetched now ("DNS timeout"): a retry may pass
//   neutral   not checked because the message has more than 10 signatures
// A pass has an empty reason, except rsa-sha1, which passes with a note (RFC 8301).
struct DkimResult {
  DkimStatus status = DkimStatus::None;
  std::string domain;            // d=, lowercased
  std::string selector;          // s=
  std::string algorithm;         // a=, lowercased
  std::string identity;          // i=, or "@" + d= when there is none
  std::string signature_prefix;  // the first 8 characters of b= (RFC 8601 header.b)
  std::string reason;            // why it did not pass; "" for a plain pass
  bool testing = false;          // the key has t=y: the signer is testing DKIM
};

struct DkimVerification {
  std::vector<DkimResult> signatures;  // in header order

  // Pass if any signature passed. Otherwise the most telling failure, in the order
  // temperror > fail > permerror > neutral > none: a temporary error comes first
  // because a retry may still pass. None when the message has no signature.
  DkimStatus overall() const;
  // d= of every passing signature, each once, in header order.
  std::vector<std::string> passing_domains() const;
};

// Fetches the TXT record set at `query_name` ("<s>._domainkey.<d>").
using KeyLookup = std::function<dns::Answer(const std::string& query_name)>;

// The key names dkim_verify() may look up for this message, each once, in header order
// (signatures too malformed to need a key are left out), for prefetching.
std::vector<std::string> dkim_key_queries(std::string_view raw_message);

// Checks every DKIM-Signature field (at most 10; later ones are reported neutral).
// `now` decides t= and x=. Calls `lookup` at most once per key name.
DkimVerification dkim_verify(std::string_view raw_message, const KeyLookup& lookup, std::time_t now);

struct DkimSigner {
  std::string domain;           // d=
  std::string selector;         // s=
  std::string private_key_pem;  // RSA (at least 1024 bits) or Ed25519, unencrypted PEM
  // The fields to sign, each as often as it occurs in the message; absent ones are
  // left out of h=. From is always signed (RFC 6376 5.4).
  std::vector<std::string> headers = {"from",       "to",           "subject",     "date",
                                      "message-id", "mime-version", "content-type"};
  bool relaxed_header = true;
  bool relaxed_body = true;
  std::time_t expire_after = 0;  // seconds from signing to x=; 0 for no x=
  // l= covering the whole body: the signature then survives an appended footer, and so
  // does anything else appended (RFC 6376 8.2). Off unless a mailing list needs it.
  bool body_length = false;
};

// The "DKIM-Signature: ..." field to prepend to the message: folded, its lines joined
// with "\r\n\t" and no CRLF at the end (add one before the message). The algorithm
// follows the key: rsa-sha256 or ed25519-sha256. Throws std::runtime_error on a key
// OpenSSL cannot read, an RSA key under 1024 bits, or an empty or malformed d= / s=.
std::string dkim_sign(std::string_view raw_message, const DkimSigner& signer, std::time_t now);

// The TXT record to publish at "<selector>._domainkey.<domain>" for this private key:
// "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<raw key>".
// Throws std::runtime_error when the key cannot be read.
std::string dkim_public_key_record(std::string_view private_key_pem);

// The canonical forms (RFC 6376 3.4), exposed for tests and for explaining a body
// hash mismatch. `field` is one header field as received, continuation lines and
// final CRLF included; `body` is everything after the empty line.
std::string dkim_canonical_header(std::string_view field, bool relaxed);
std::string dkim_canonical_body(std::string_view body, bool relaxed);

}  // namespace mp::auth
