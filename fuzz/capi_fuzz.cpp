// libFuzzer target: the C API's evaluate path (mailpolicy.h) with random envelopes,
// over the example policy (examples/widget/policy.mp, compiled once) with facts off.
// The input is six lines, then the message:
//
//   client IP | HELO | sender | recipients (space-separated) | auth user | TLS version
//
// (a missing line is empty). Every getter and mp_verdict_json is read, their
// documented promises are checked (a broken one aborts), and every handle is freed.
// Linked to the static mp_api: the shared library is not built with fuzzer flags.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "api/mailpolicy.h"

namespace {

void check(bool promise) {
  if (!promise) std::abort();
}

// The next line of `input` (without its '\n'), consumed.
std::string next_line(std::string_view& input) {
  size_t end = input.find('\n');
  std::string line(input.substr(0, end));
  input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  return line;
}

mp_evaluator* evaluator() {
  static mp_evaluator* const shared = [] {
    mp_error err;
    mp_program* program = mp_program_compile_file(MP_SOURCE_DIR "/examples/widget/policy.mp", &err);
    mp_config* config = mp_config_new();
    check(program != nullptr && config != nullptr);
    check(mp_config_set(config, "facts", "off", &err) == MP_OK);
    check(mp_config_set(config, "trace", "on", &err) == MP_OK);  // trace and defects in the JSON too
    mp_evaluator* made = mp_evaluator_new(program, config, &err);
    mp_program_free(program);  // the evaluator keeps what it needs
    mp_config_free(config);
    check(made != nullptr);
    return made;
  }();
  return shared;
}

// The envelope of the input's first six lines; setters may refuse (a bad IP): the
// envelope then keeps what it had, which is what an MTA would go on with.
mp_envelope* envelope(std::string_view& input) {
  mp_envelope* env = mp_envelope_new();
  check(env != nullptr);
  mp_error err;
  mp_status ip = mp_envelope_set_client_ip(env, next_line(input).c_str(), &err);
  check(ip == MP_OK || (ip == MP_ERR_INVALID_ARGUMENT && err.code == ip && err.message[0] != '\0'));
  check(mp_envelope_set_helo(env, next_line(input).c_str(), &err) == MP_OK);
  check(mp_envelope_set_sender(env, next_line(input).c_str(), &err) == MP_OK);
  std::string recipients = next_line(input);
  for (size_t start = 0; start < recipients.size();) {
    size_t end = std::min(recipients.find(' ', start), recipients.size());
    check(mp_envelope_add_recipient(env, recipients.substr(start, end - start).c_str(), &err) == MP_OK);
    start = end + 1;
  }
  check(mp_envelope_set_auth_user(env, next_line(input).c_str(), &err) == MP_OK);
  check(mp_envelope_set_tls_version(env, next_line(input).c_str(), &err) == MP_OK);
  return env;
}

void read_reply(const mp_verdict* v) {
  mp_action action = mp_verdict_action(v);
  check(action >= MP_ACTION_DELIVER && action <= MP_ACTION_TEMPFAIL && mp_action_name(action)[0] != '\0');
  int code = mp_verdict_smtp_code(v);
  const char* status = mp_verdict_smtp_status(v);
  if (action == MP_ACTION_REJECT)
    check(code >= 500 && code < 600 && status[0] == '5');
  else if (action == MP_ACTION_TEMPFAIL)
    check(code >= 400 && code < 500 && status[0] == '4');
  else
    check(code == 250 && std::strcmp(status, "2.0.0") == 0 && mp_verdict_smtp_text(v)[0] == '\0');
  check(mp_verdict_text(v) != nullptr);
  const char* rule = mp_verdict_rule(v);
  check((rule == nullptr) == (mp_verdict_stage(v) == nullptr) &&
        (rule == nullptr) == (mp_verdict_location(v) == nullptr));
  check(mp_verdict_fact(v) == nullptr);  // facts are off: none can fail
  check(mp_verdict_direction(v)[0] != '\0');
  check(mp_verdict_score(v) == mp_verdict_score(v));  // not NaN
  check(mp_verdict_seconds(v) >= 0);
}

void read_lists(const mp_verdict* v) {
  mp_contribution c;
  for (size_t i = 0; i < mp_verdict_contribution_count(v); ++i)
    check(mp_verdict_contribution(v, i, &c) == MP_OK);
  check(mp_verdict_contribution(v, mp_verdict_contribution_count(v), &c) == MP_ERR_INVALID_ARGUMENT);
  for (size_t i = 0; i < mp_verdict_tag_count(v); ++i) check(mp_verdict_tag(v, i) != nullptr);
  check(mp_verdict_tag(v, mp_verdict_tag_count(v)) == nullptr);
  mp_header h;
  for (size_t i = 0; i < mp_verdict_added_header_count(v); ++i)
    check(mp_verdict_added_header(v, i, &h) == MP_OK);
  for (size_t i = 0; i < mp_verdict_removed_header_count(v); ++i)
    check(mp_verdict_removed_header(v, i) != nullptr);
  check(mp_verdict_result_header_count(v) >= 2);  // X-Policy-Verdict, X-Policy-Score
  for (size_t i = 0; i < mp_verdict_result_header_count(v); ++i)
    check(mp_verdict_result_header(v, i, &h) == MP_OK);
  mp_fact f;
  for (size_t i = 0; i < mp_verdict_fact_count(v); ++i) check(mp_verdict_fact_at(v, i, &f) == MP_OK);
  const char* json = mp_verdict_json(v);
  check(json[0] == '{' && json == mp_verdict_json(v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mp_envelope* env = envelope(input);
  mp_error err;
  mp_verdict* v = mp_evaluate(evaluator(), input.data(), input.size(), env, &err);
  check(v != nullptr && err.code == MP_OK);  // any bytes are a message to judge
  read_reply(v);
  read_lists(v);
  mp_verdict_free(v);
  mp_envelope_free(env);
  return 0;
}
