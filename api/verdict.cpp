// mailpolicy.h: the verdict getters, and the SMTP reply and result headers a verdict
// is turned into once, right after evaluation.
#include <cctype>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include "api/handles.h"
#include "report/report.h"
#include "runtime/identity.h"

namespace mp::api {

namespace {

// "550 5.7.1 Refused" → (550, "5.7.1", "Refused"); the language guarantees the code
// (E061); a text without an enhanced status (RFC 3463) gets `fallback_status`.
void split_reply(const std::string& text, int fallback_code, const char* fallback_status, mp_verdict& v) {
  std::string_view rest = text;
  v.smtp_code = fallback_code;
  if (rest.size() >= 3 && std::isdigit(static_cast<unsigned char>(rest[0])) &&
      std::isdigit(static_cast<unsigned char>(rest[1])) &&
      std::isdigit(static_cast<unsigned char>(rest[2])) && (rest.size() == 3 || rest[3] == ' ')) {
    v.smtp_code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    rest.remove_prefix(std::min<size_t>(4, rest.size()));
  }
  // x.y.z with x the class digit of the code (RFC 3463 2: 2, 4 or 5).
  size_t space = rest.find(' ');
  std::string_view word = rest.substr(0, space);
  bool status = word.size() >= 5 && word[0] == static_cast<char>('0' + v.smtp_code / 100) && word[1] == '.' &&
                word.find_first_not_of("0123456789.") == std::string_view::npos &&
                std::count(word.begin(), word.end(), '.') == 2;
  if (status) {
    v.smtp_status = std::string(word);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  } else {
    v.smtp_status = fallback_status;
  }
  v.smtp_text = std::string(rest);
}

template <class T>
const T* at(const std::vector<T>& items, size_t i) {
  return i < items.size() ? &items[i] : nullptr;
}

mp_status header_at(const std::vector<std::pair<std::string, std::string>>& headers, size_t i,
                    mp_header* out) {
  if (out == nullptr || i >= headers.size()) return MP_ERR_INVALID_ARGUMENT;
  *out = {headers[i].first.c_str(), headers[i].second.c_str()};
  return MP_OK;
}

}  // namespace

void finish_verdict(mp_verdict& v, const auth::MessageFacts* facts) {
  using vm::Action;
  switch (v.verdict.action) {
    case Action::Reject: split_reply(v.verdict.text, 550, "5.7.1", v); break;
    case Action::Tempfail: split_reply(v.verdict.text, 451, "4.7.1", v); break;
    default: v.smtp_code = 250, v.smtp_status = "2.0.0"; break;
  }
  // verdict_headers ends with the policy's own added headers: those are the "added"
  // list, not results (whatever their names, X-Policy-Note included).
  report::HeaderList headers = report::verdict_headers(v.verdict);
  headers.resize(headers.size() - v.verdict.added_headers.size());
  v.result_headers = std::move(headers);
  if (facts != nullptr) {
    v.auth = facts->auth_summary();
    if (!v.auth.empty())
      v.result_headers.emplace_back("Authentication-Results", facts->authentication_results());
  }
}

void edit_body(mp_verdict& v, const runtime::Message& message) {
  const vm::Action action = v.verdict.action;
  const bool passed_on =
      action == vm::Action::Deliver || action == vm::Action::Allow || action == vm::Action::Quarantine;
  const runtime::BodyEdits edits = vm::body_edits(v.verdict);
  if (edits.empty() || !passed_on) return;
  v.body = runtime::edit_body(message, edits);
}

void split_verdict(mp_verdict& v, const runtime::Message& message, const runtime::Envelope& envelope,
                   const auth::MessageFacts* facts) {
  for (const auto& r : envelope.recipients) v.recipients.push_back(runtime::fold_address(r));
  for (vm::RecipientVerdict& outcome : v.verdict.per_recipient) {
    auto part = std::make_unique<mp_verdict>();
    part->verdict = outcome.verdict;
    part->recipients = outcome.recipients;
    finish_verdict(*part, facts);
    edit_body(*part, message);
    v.split.push_back(std::move(part));
  }
  if (!v.split.empty()) v.recipients = v.split.front()->recipients;
}

}  // namespace mp::api

namespace {

const char* rule_field(const mp_verdict* v, const std::string mp::vm::Verdict::*member) {
  if (v == nullptr || (!v->verdict.rule && v->verdict.fact.empty())) return nullptr;
  return (v->verdict.*member).c_str();
}

}  // namespace

extern "C" {

mp_action mp_verdict_action(const mp_verdict* v) {
  return v ? static_cast<mp_action>(v->verdict.action) : MP_ACTION_DELIVER;
}

const char* mp_action_name(mp_action action) {
  // A C caller may pass any value of the enum's underlying type; in C++, reading such
  // a value as the enum is undefined (clang's UBSan says so), so its bytes are read.
  std::underlying_type_t<mp_action> value;
  std::memcpy(&value, &action, sizeof value);
  if (std::cmp_less(value, static_cast<int>(MP_ACTION_DELIVER)) ||
      std::cmp_greater(value, static_cast<int>(MP_ACTION_TEMPFAIL)))
    return "";
  return mp::vm::action_name(static_cast<mp::vm::Action>(value)).data();
}

int mp_verdict_smtp_code(const mp_verdict* v) {
  return v ? v->smtp_code : 0;
}
const char* mp_verdict_smtp_status(const mp_verdict* v) {
  return v ? v->smtp_status.c_str() : "";
}
const char* mp_verdict_smtp_text(const mp_verdict* v) {
  return v ? v->smtp_text.c_str() : "";
}
const char* mp_verdict_text(const mp_verdict* v) {
  return v ? v->verdict.text.c_str() : "";
}
const char* mp_verdict_stage(const mp_verdict* v) {
  return rule_field(v, &mp::vm::Verdict::stage_name);
}
const char* mp_verdict_rule(const mp_verdict* v) {
  return rule_field(v, &mp::vm::Verdict::rule_name);
}
const char* mp_verdict_location(const mp_verdict* v) {
  return rule_field(v, &mp::vm::Verdict::location);
}
const char* mp_verdict_fact(const mp_verdict* v) {
  return v && !v->verdict.fact.empty() ? v->verdict.fact.c_str() : nullptr;
}
const char* mp_verdict_direction(const mp_verdict* v) {
  return v ? mp::vm::direction_name(v->verdict.direction).data() : "";
}
double mp_verdict_score(const mp_verdict* v) {
  return v ? v->verdict.score : 0;
}

size_t mp_verdict_contribution_count(const mp_verdict* v) {
  return v ? v->verdict.contributions.size() : 0;
}
mp_status mp_verdict_contribution(const mp_verdict* v, size_t i, mp_contribution* out) {
  const auto* c = v ? mp::api::at(v->verdict.contributions, i) : nullptr;
  if (c == nullptr || out == nullptr) return MP_ERR_INVALID_ARGUMENT;
  *out = {c->stage.c_str(), c->rule.c_str(), c->delta, c->reason.c_str()};
  return MP_OK;
}

size_t mp_verdict_tag_count(const mp_verdict* v) {
  return v ? v->verdict.tags.size() : 0;
}
const char* mp_verdict_tag(const mp_verdict* v, size_t i) {
  const auto* t = v ? mp::api::at(v->verdict.tags, i) : nullptr;
  return t ? t->c_str() : nullptr;
}

size_t mp_verdict_banner_count(const mp_verdict* v) {
  return v ? v->verdict.banners.size() : 0;
}
const char* mp_verdict_banner(const mp_verdict* v, size_t i) {
  const auto* t = v ? mp::api::at(v->verdict.banners, i) : nullptr;
  return t ? t->c_str() : nullptr;
}
const char* mp_verdict_body(const mp_verdict* v, size_t* size) {
  if (size) *size = 0;
  if (v == nullptr || !v->body.edited) return nullptr;
  if (size) *size = v->body.body.size();
  return v->body.body.data();
}
size_t mp_verdict_changed_header_count(const mp_verdict* v) {
  return v ? v->body.changed_headers.size() : 0;
}
mp_status mp_verdict_changed_header(const mp_verdict* v, size_t i, mp_header* out) {
  return v ? mp::api::header_at(v->body.changed_headers, i, out) : MP_ERR_INVALID_ARGUMENT;
}
const char* mp_verdict_body_note(const mp_verdict* v) {
  return v && !mp::vm::body_edits(v->verdict).empty() && !v->body.edited ? v->body.not_edited.c_str() : "";
}
const char* mp_verdict_url_rewrite(const mp_verdict* v) {
  return v && v->verdict.url_rewrite ? v->verdict.url_rewrite->target.c_str() : nullptr;
}
size_t mp_verdict_urls_rewritten(const mp_verdict* v) {
  return v && v->body.edited ? v->body.urls_rewritten : 0;
}
mp_state_errors mp_verdict_state_errors(const mp_verdict* v) {
  return v ? v->state_errors : mp_state_errors{0, 0};
}

size_t mp_verdict_split_count(const mp_verdict* v) {
  return v ? v->split.size() : 0;
}
const mp_verdict* mp_verdict_split(const mp_verdict* v, size_t i) {
  return v && i < v->split.size() ? v->split[i].get() : nullptr;
}
size_t mp_verdict_recipient_count(const mp_verdict* v) {
  return v ? v->recipients.size() : 0;
}
const char* mp_verdict_recipient(const mp_verdict* v, size_t i) {
  return v && i < v->recipients.size() ? v->recipients[i].c_str() : nullptr;
}

size_t mp_verdict_added_header_count(const mp_verdict* v) {
  return v ? v->verdict.added_headers.size() : 0;
}
mp_status mp_verdict_added_header(const mp_verdict* v, size_t i, mp_header* out) {
  return v ? mp::api::header_at(v->verdict.added_headers, i, out) : MP_ERR_INVALID_ARGUMENT;
}
size_t mp_verdict_removed_header_count(const mp_verdict* v) {
  return v ? v->verdict.removed_headers.size() : 0;
}
const char* mp_verdict_removed_header(const mp_verdict* v, size_t i) {
  const auto* h = v ? mp::api::at(v->verdict.removed_headers, i) : nullptr;
  return h ? h->c_str() : nullptr;
}
size_t mp_verdict_result_header_count(const mp_verdict* v) {
  return v ? v->result_headers.size() : 0;
}
mp_status mp_verdict_result_header(const mp_verdict* v, size_t i, mp_header* out) {
  return v ? mp::api::header_at(v->result_headers, i, out) : MP_ERR_INVALID_ARGUMENT;
}

size_t mp_verdict_fact_count(const mp_verdict* v) {
  return v ? v->verdict.facts.size() : 0;
}
mp_status mp_verdict_fact_at(const mp_verdict* v, size_t i, mp_fact* out) {
  const auto* f = v ? mp::api::at(v->verdict.facts, i) : nullptr;
  if (f == nullptr || out == nullptr) return MP_ERR_INVALID_ARGUMENT;
  *out = {f->name.c_str(), f->value.c_str(), f->detail.c_str(), f->temp_error ? 1 : 0, f->seconds};
  return MP_OK;
}

const char* mp_verdict_json(const mp_verdict* v) {
  if (v == nullptr) return "";
  try {
    if (v->json.empty()) v->json = mp::report::verdict_json("", v->verdict, v->auth);
  } catch (...) {
    return "";  // out of memory: documented as "" rather than an exception
  }
  return v->json.c_str();
}

double mp_verdict_seconds(const mp_verdict* v) {
  return v ? v->seconds : 0;
}
void mp_verdict_free(mp_verdict* v) {
  delete v;
}

}  // extern "C"
