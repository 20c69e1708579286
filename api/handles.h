// The structs behind mailpolicy.h's opaque handles, and the error plumbing every
// C entry point uses so that no C++ exception crosses the C boundary (api/ internal).
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api/mailpolicy.h"
#include "auth/facts.h"
#include "dns/resolver.h"
#include "runtime/body_edit.h"
#include "runtime/envelope.h"
#include "runtime/geoip.h"
#include "vm/vm.h"

struct mp_program {
  mp::vm::ProgramPtr program;
  std::string id;  // first 16 hex digits of the image's SHA-256
};

struct mp_config {
  std::vector<std::string> dns_servers;  // empty: /etc/resolv.conf
  int dns_timeout_ms = 2000;
  bool facts = true;
  int facts_budget_ms = 10000;
  uint32_t facts_max_queries = 200;
  std::shared_ptr<const mp::runtime::GeoIp> geoip;
  mp::av::ClamdOptions clamd;  // address "": no virus scanner (av has no value)
  // The state store (key `state`: lmdb:PATH or redis://HOST:PORT): shared by every
  // evaluator made from this config (stores are thread-safe); none: state facts have
  // no value and nothing is learned.
  std::shared_ptr<mp::state::Store> store;
  std::string authserv_id = "mailpolicy";
  size_t max_message_bytes = size_t{64} << 20;
  bool trace = false;
  // Shared by every evaluator made from this config (dns::Cache is thread-safe).
  std::shared_ptr<mp::dns::Cache> dns_cache = std::make_shared<mp::dns::Cache>();
};

struct mp_evaluator {
  mp_evaluator(mp::vm::ProgramPtr program, const mp_config& config);
  mp::vm::Evaluator evaluator;
  mp_config config;                             // a copy: later mp_config_set calls do not reach it
  std::unique_ptr<mp::dns::Resolver> resolver;  // null when facts are off
  mp::auth::FactOptions fact_options;
};

struct mp_envelope {
  mp::runtime::Envelope envelope;
};

struct mp_verdict {
  mp::vm::Verdict verdict;
  int smtp_code = 250;
  std::string smtp_status, smtp_text;
  std::vector<std::pair<std::string, std::string>> result_headers;
  std::vector<std::pair<std::string, std::string>> auth;  // ("spf", "pass"), …
  double seconds = 0;
  mp_state_errors state_errors{0, 0};
  // The banners put into the body, for a message that is passed on (deliver, allow,
  // quarantine); `edited` false otherwise.
  mp::runtime::EditedMessage body;
  mutable std::string json;  // made on the first mp_verdict_json call
  // The recipients this verdict is for (folded); when the recipients got different
  // verdicts, `split` holds one per outcome (vm::Verdict::per_recipient) and this one
  // is the first's.
  std::vector<std::string> recipients;
  std::vector<std::unique_ptr<mp_verdict>> split;
};

namespace mp::api {

// Fills `err` (when not null) and returns `code`.
mp_status fail(mp_error* err, mp_status code, const std::string& message);
inline void clear(mp_error* err) {
  if (err) {
    err->code = MP_OK;
    err->message[0] = '\0';
  }
}

// Runs `body` (which returns R); any exception becomes MP_ERR_INTERNAL (bad_alloc
// included: the caller's fail-safe decides) and `failed` is returned.
template <class R, class Body>
R guarded(mp_error* err, R failed, Body&& body) noexcept {
  try {
    clear(err);
    return std::forward<Body>(body)();
  } catch (const std::bad_alloc&) {
    fail(err, MP_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    fail(err, MP_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    fail(err, MP_ERR_INTERNAL, "internal error");
  }
  return failed;
}

// Fills the SMTP reply fields and result headers of a verdict from its action/text.
void finish_verdict(mp_verdict& v, const mp::auth::MessageFacts* facts);
// Puts the verdict's banners into the body of `message` when the message is passed on
// (deliver, allow, quarantine); v.body says what came of it.
void edit_body(mp_verdict& v, const mp::runtime::Message& message);
// The reply, headers and body of each per-recipient outcome (v.split), and the
// recipients of each; call after finish_verdict and edit_body of v.
void split_verdict(mp_verdict& v, const mp::runtime::Message& message, const mp::runtime::Envelope& envelope,
                   const mp::auth::MessageFacts* facts);

}  // namespace mp::api
