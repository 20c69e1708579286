// mailpolicy.h: programs, evaluators, envelopes and mp_evaluate.
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "api/handles.h"
#include "compiler/compiler.h"
#include "lang/diagnostics.h"
#include "runtime/body_edit.h"
#include "runtime/identity.h"
#include "runtime/message.h"
#include "state/lists.h"

namespace mp::api {

namespace {

std::string sha256_prefix(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

mp_program* load_image(const std::string& bytes, const std::string& name, mp_error* err) {
  try {
    auto program = vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    return new mp_program{std::move(program), sha256_prefix(bytes)};
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    fail(err, MP_ERR_BAD_IMAGE, name + e.what());
    return nullptr;
  }
}

// The whole file, or MP_ERR_IO. Read with stdio rather than a stream: a directory
// opens fine and fails on the first read (EISDIR), which std::ifstream turns into an
// exception (or, through rdbuf(), into an empty file).
mp_status read_file(const char* path, std::string& out, mp_error* err) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path, "rb"), &std::fclose);
  char buffer[65536];
  for (size_t n; file && (n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0;) out.append(buffer, n);
  if (file && !std::ferror(file.get())) return MP_OK;
  return fail(err, MP_ERR_IO, std::string("cannot read ") + path + ": " + std::strerror(errno));
}

// The first error of a compilation, one line: "file:line:col: error[E020]: text";
// MP_ERR_IO for a policy or list file that cannot be read (E050).
void compile_error(const compiler::Compilation& c, mp_error* err) {
  for (const lang::Diagnostic& d : c.diagnostics.items()) {
    if (d.severity != lang::Severity::Error) continue;
    fail(err, d.code == "E050" ? MP_ERR_IO : MP_ERR_COMPILE,
         c.sources.location(d.primary.span) + ": error[" + d.code + "]: " + d.message);
    return;
  }
  fail(err, MP_ERR_INTERNAL, "the compilation failed without an error");
}

// "<a@b>" → "a@b", "<>" → "" (the forms the milter protocol passes), surrounding blanks off.
std::string bare_address(const char* text) {
  return runtime::bare_path(text ? text : "");
}

// mp_recipient_class: the scoped rules that run for the recipient, and what its sender
// lists say of the envelope's sender and client, hashed; 0 when nothing depends on
// the recipient.
uint64_t recipient_class(mp_evaluator& evaluator, const runtime::Envelope& envelope,
                         const std::string& recipient) {
  const vm::Program& program = evaluator.evaluator.program();
  if (!program.per_recipient()) return 0;
  const std::string folded = runtime::fold_address(recipient);
  std::string key;
  for (uint32_t rule : program.rules_for_recipient(folded)) key += std::to_string(rule) + ",";
  const auto facts = program.facts_used();
  const bool lists = std::any_of(facts.begin(), facts.end(),
                                 [](const vm::FactUse& f) { return f.field == vm::FieldId::SenderList; });
  const auto& store = evaluator.fact_options.store;
  if (lists && store) {
    const auto scopes =
        state::recipient_scopes(folded, vm::recipient_groups(program.image().settings.groups, folded));
    const std::vector<std::string> sender = {runtime::fold_address(envelope.sender)};
    try {
      const auto match =
          state::find_listed(*store, scopes, state::sender_entries(sender, envelope.client_ip));
      key += "|" + std::string(match ? state::list_kind_name(match->kind) : "none");
    } catch (const state::StoreUnavailable&) {
      key += "|none";  // as the fact would read: no value
    }
  }
  return std::hash<std::string>{}(key) | 1;  // never 0, the class of "nothing per recipient"
}

template <class Body>
mp_status with_envelope(mp_envelope* envelope, mp_error* err, Body&& body) {
  return guarded(err, MP_ERR_INTERNAL, [&] {
    if (envelope == nullptr) return fail(err, MP_ERR_INVALID_ARGUMENT, "envelope is NULL");
    body(envelope->envelope);
    return MP_OK;
  });
}

}  // namespace

}  // namespace mp::api

mp_evaluator::mp_evaluator(mp::vm::ProgramPtr program, const mp_config& c)
    : evaluator(std::move(program)), config(c) {
  evaluator.set_trace(c.trace);
  if (c.facts) {
    resolver = std::make_unique<mp::dns::Resolver>(mp::dns::ResolverOptions{
        .servers = c.dns_servers, .timeout_ms = c.dns_timeout_ms, .tries = 2, .cache = c.dns_cache});
  }
  fact_options.budget = std::chrono::milliseconds(c.facts_budget_ms);
  fact_options.max_queries = c.facts_max_queries;
  fact_options.authserv_id = c.authserv_id;
  fact_options.geoip = c.geoip;
  fact_options.clamd = c.clamd;
  const mp::vm::Settings& settings = evaluator.program().image().settings;
  fact_options.trusted_relays = settings.trusted_relays;
  fact_options.store = c.store;
  fact_options.spamtraps = settings.spamtraps;
  fact_options.groups = settings.groups;
  fact_options.auto_learn = settings.bayes_auto_learn;
  fact_options.auto_learn_spam = settings.auto_learn_spam;
  fact_options.auto_learn_ham = settings.auto_learn_ham;
  fact_options.state_tempfail = settings.state_on_error == mp::vm::TempErrorPolicy::Tempfail;
  fact_options.reputation.half_life = settings.reputation_half_life;
}

using mp::api::fail;
using mp::api::guarded;

extern "C" {

const char* mp_version(void) {
  return MP_VERSION;
}
int mp_api_version(void) {
  return MP_API_VERSION;
}

mp_program* mp_program_load(const void* image, size_t size, mp_error* err) {
  return guarded(err, static_cast<mp_program*>(nullptr), [&]() -> mp_program* {
    if (image == nullptr && size > 0) return fail(err, MP_ERR_INVALID_ARGUMENT, "image is NULL"), nullptr;
    return mp::api::load_image(std::string(static_cast<const char*>(image), size), "", err);
  });
}

mp_program* mp_program_load_file(const char* path, mp_error* err) {
  return guarded(err, static_cast<mp_program*>(nullptr), [&]() -> mp_program* {
    std::string bytes;
    if (path == nullptr) return fail(err, MP_ERR_INVALID_ARGUMENT, "path is NULL"), nullptr;
    if (mp::api::read_file(path, bytes, err) != MP_OK) return nullptr;
    return mp::api::load_image(bytes, std::string(path) + ": ", err);
  });
}

mp_program* mp_program_compile_file(const char* path, mp_error* err) {
  return guarded(err, static_cast<mp_program*>(nullptr), [&]() -> mp_program* {
    std::string text;
    if (path == nullptr) return fail(err, MP_ERR_INVALID_ARGUMENT, "path is NULL"), nullptr;
    if (mp::api::read_file(path, text, err) != MP_OK) return nullptr;
    mp::compiler::Compilation c = mp::compiler::compile_source(path, std::move(text));
    if (!c.ok()) return mp::api::compile_error(c, err), nullptr;
    return mp::api::load_image(mp::vm::write_image(*c.image), std::string(path) + ": ", err);
  });
}

const char* mp_program_id(const mp_program* program) {
  return program ? program->id.c_str() : "";
}
void mp_program_free(mp_program* program) {
  delete program;
}

mp_evaluator* mp_evaluator_new(const mp_program* program, const mp_config* config, mp_error* err) {
  return guarded(err, static_cast<mp_evaluator*>(nullptr), [&]() -> mp_evaluator* {
    if (program == nullptr) return fail(err, MP_ERR_INVALID_ARGUMENT, "program is NULL"), nullptr;
    static const mp_config defaults;
    return new mp_evaluator(program->program, config ? *config : defaults);
  });
}

void mp_evaluator_free(mp_evaluator* evaluator) {
  delete evaluator;
}

mp_envelope* mp_envelope_new(void) {
  try {
    return new mp_envelope();
  } catch (...) {
    return nullptr;
  }
}

mp_status mp_envelope_set_client_ip(mp_envelope* envelope, const char* ip, mp_error* err) {
  if (ip == nullptr || *ip == '\0')
    return mp::api::with_envelope(envelope, err, [](auto& e) { e.client_ip.reset(); });
  auto parsed = mp::runtime::IpAddress::parse(ip);
  if (!parsed) return fail(err, MP_ERR_INVALID_ARGUMENT, std::string("`") + ip + "` is not an IP address");
  return mp::api::with_envelope(envelope, err, [&](auto& e) { e.client_ip = parsed; });
}

mp_status mp_envelope_set_helo(mp_envelope* envelope, const char* helo, mp_error* err) {
  return mp::api::with_envelope(envelope, err, [&](auto& e) { e.helo = helo ? helo : ""; });
}

mp_status mp_envelope_set_sender(mp_envelope* envelope, const char* sender, mp_error* err) {
  return mp::api::with_envelope(envelope, err, [&](auto& e) { e.sender = mp::api::bare_address(sender); });
}

mp_status mp_envelope_add_recipient(mp_envelope* envelope, const char* recipient, mp_error* err) {
  if (recipient == nullptr) return fail(err, MP_ERR_INVALID_ARGUMENT, "recipient is NULL");
  return mp::api::with_envelope(envelope, err,
                                [&](auto& e) { e.recipients.push_back(mp::api::bare_address(recipient)); });
}

mp_status mp_envelope_set_auth_user(mp_envelope* envelope, const char* user, mp_error* err) {
  return mp::api::with_envelope(envelope, err, [&](auto& e) { e.auth_user = user ? user : ""; });
}

mp_status mp_envelope_set_tls_version(mp_envelope* envelope, const char* version, mp_error* err) {
  return mp::api::with_envelope(envelope, err, [&](auto& e) { e.tls_version = version ? version : ""; });
}

mp_status mp_envelope_reset_transaction(mp_envelope* envelope, mp_error* err) {
  return mp::api::with_envelope(envelope, err, [](auto& e) {
    e.sender.clear();
    e.recipients.clear();
  });
}

void mp_envelope_free(mp_envelope* envelope) {
  delete envelope;
}

mp_verdict* mp_evaluate(mp_evaluator* evaluator, const void* message, size_t size,
                        const mp_envelope* envelope, mp_error* err) {
  return guarded(err, static_cast<mp_verdict*>(nullptr), [&]() -> mp_verdict* {
    if (evaluator == nullptr || envelope == nullptr || (message == nullptr && size > 0))
      return fail(err, MP_ERR_INVALID_ARGUMENT, "evaluator, envelope and message must not be NULL"), nullptr;
    if (size > evaluator->config.max_message_bytes) {
      return fail(err, MP_ERR_TOO_LARGE,
                  "message of " + std::to_string(size) + " bytes is over limits.max_message_bytes (" +
                      std::to_string(evaluator->config.max_message_bytes) + ")"),
             nullptr;
    }
    const auto start = std::chrono::steady_clock::now();
    const mp::vm::Program& program = evaluator->evaluator.program();
    auto parsed = mp::runtime::Message::parse(std::string(static_cast<const char*>(message), size),
                                              program.parse_options());
    auto verdict = std::make_unique<mp_verdict>();
    std::optional<mp::auth::MessageFacts> facts;
    if (evaluator->resolver)
      facts.emplace(*evaluator->resolver, parsed, envelope->envelope, evaluator->fact_options);
    const mp::auth::MessageFacts* facts_seen = facts ? &*facts : nullptr;
    verdict->verdict = evaluator->evaluator.evaluate(parsed, envelope->envelope, facts ? &*facts : nullptr);
    mp::api::finish_verdict(*verdict, facts_seen);
    if (facts) {
      const std::string not_learned = facts->learn(verdict->verdict);
      if (!not_learned.empty()) verdict->verdict.logs.push_back(not_learned);
      verdict->state_errors = {facts->store_errors().facts, facts->store_errors().learning};
    }
    mp::api::edit_body(*verdict, parsed);
    mp::api::split_verdict(*verdict, parsed, envelope->envelope, facts_seen);
    verdict->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return verdict.release();
  });
}

mp_status mp_recipient_class(mp_evaluator* evaluator, const mp_envelope* envelope, const char* recipient,
                             uint64_t* out, mp_error* err) {
  return guarded(err, MP_ERR_INTERNAL, [&] {
    if (evaluator == nullptr || envelope == nullptr || recipient == nullptr || out == nullptr)
      return fail(err, MP_ERR_INVALID_ARGUMENT, "evaluator, envelope, recipient and out must not be NULL");
    *out = mp::api::recipient_class(*evaluator, envelope->envelope, mp::api::bare_address(recipient));
    return MP_OK;
  });
}

}  // extern "C"
