// The lints over what a test names: a header field name one or two letters off a
// common one (L015), and a domain written as a suffix without its leading dot or @
// (L016). Both are tests that read as intended and do something else.
#include <algorithm>
#include <cctype>
#include <functional>

#include <fmt/format.h>

#include "compiler/lint_rules.h"
#include "compiler/tables.h"
#include "runtime/identity.h"
#include "vm/fields.h"

namespace mp::compiler {

namespace {

// Header fields mail commonly has (RFC 5322 3.6, RFC 2045, RFC 2369, RFC 8058,
// RFC 3834, RFC 6376, RFC 7208, RFC 8601, RFC 8617) and those that clients, gateways
// and bulk senders commonly add.
constexpr std::string_view kCommonHeaders[] = {
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Comments",
    "Keywords",
    "Received",
    "Return-Path",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Date",
    "Resent-Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
    "Content-Description",
    "Content-Language",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Post",
    "List-Help",
    "List-Subscribe",
    "List-Owner",
    "List-Archive",
    "Precedence",
    "Auto-Submitted",
    "Authentication-Results",
    "ARC-Authentication-Results",
    "ARC-Message-Signature",
    "ARC-Seal",
    "DKIM-Signature",
    "Received-SPF",
    "Delivered-To",
    "Errors-To",
    "Disposition-Notification-To",
    "Return-Receipt-To",
    "Importance",
    "Priority",
    "X-Priority",
    "X-MSMail-Priority",
    "Organization",
    "User-Agent",
    "X-Mailer",
    "X-Originating-IP",
    "X-Original-To",
    "X-Forwarded-To",
    "X-Forwarded-For",
    "X-Spam-Flag",
    "X-Spam-Status",
    "X-Spam-Score",
    "X-Spam-Level",
    "X-Virus-Scanned",
    "Thread-Topic",
    "Thread-Index",
    "Feedback-ID",
    "Sensitivity",
    "Archived-At",
};

void visit(const lang::Condition& c, const std::function<void(const lang::Condition&)>& f) {
  f(c);
  for (const auto& child : c.children) visit(*child, f);
}

// SpamAssassin's pseudo-headers (Mail::SpamAssassin::Conf, "header" rules): names its
// rules read that no message carries, and what reads the same here.
struct PseudoHeader {
  std::string_view name, instead;
};
constexpr PseudoHeader kPseudoHeaders[] = {
    {"ALL", "`header contains \"…\"`, with no name, reads every header field"},
    {"ALL-TRUSTED", "`header contains \"…\"` reads every header field"},
    {"ALL-UNTRUSTED", "`header contains \"…\"` reads every header field"},
    {"ToCc",
     "`to` and `cc` are the addresses of both fields; `header \"To\"` and `header \"Cc\"` their text"},
    {"EnvelopeFrom", "`sender` is the envelope sender (MAIL FROM)"},
    {"MESSAGEID", "`header \"Message-ID\"` (and `header \"Resent-Message-ID\"`)"},
    {"X-Spam-Relays-External", "`relays(\"external\")` is the same text"},
    {"X-Spam-Relays-Internal", "`relays(\"internal\")` is the same text"},
    {"X-Spam-Relays-Trusted", "`relays(\"trusted\")` is the same text"},
    {"X-Spam-Relays-Untrusted", "`relays(\"untrusted\")` is the same text"},
};

// `header "ToCc"`: a SpamAssassin pseudo-header, which mail does not carry.
bool check_pseudo_header(const lang::Operand& o, std::vector<lang::Diagnostic>& out) {
  for (const auto& p : kPseudoHeaders) {
    if (o.header_name != p.name) continue;
    out.push_back(lint_warning(
        "L015", "`" + o.header_name + "` is a SpamAssassin pseudo-header, not a field of the message", o.span,
        "no message has this field", std::string(p.instead)));
    return true;
  }
  return false;
}

// `header "Form"`: warns when the name is not a common field's but is one or two
// letters off one. Names under four letters are too short to tell a typo.
void check_header_name(const lang::Operand& o, std::vector<lang::Diagnostic>& out) {
  if (o.kind != lang::OperandKind::Header || check_pseudo_header(o, out) || o.header_name.size() < 4) return;
  static const std::vector<std::string> common = [] {
    std::vector<std::string> names;
    for (std::string_view name : kCommonHeaders) names.push_back(runtime::ascii_lowercase(name));
    return names;
  }();
  const std::string name = runtime::ascii_lowercase(o.header_name);
  if (std::find(common.begin(), common.end(), name) != common.end()) return;
  const std::string closest = lang::closest_name(name, common);
  if (closest.empty()) return;
  const std::string_view spelled =
      kCommonHeaders[std::find(common.begin(), common.end(), closest) - common.begin()];
  out.push_back(lint_warning("L015", "no common header field is named `" + o.header_name + "`", o.span,
                             "did you mean `" + std::string(spelled) + "`?",
                             "write header \"" + std::string(spelled) +
                                 "\"; for a field of your own by this name, add `# lint: allow(L015)`"));
}

// The text of a suffix test that names a whole domain without a leading `.` or `@`.
bool loose_suffix(const vm::PatternInfo& p, const std::string& text) {
  if (p.literal_length == 0 || !is_suffix_pattern(p) || is_prefix_pattern(p) || !p.header_filter.empty())
    return false;
  const vm::ValueKind kind = vm::field_info(p.field).kind;
  if (kind != vm::ValueKind::Domain && kind != vm::ValueKind::Address) return false;
  if (text.empty() || text.front() == '.' || text.find('.') == std::string::npos) return false;
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c >= 0x80; });
}

}  // namespace

void for_each_condition(const lang::Policy& policy, const std::function<void(const lang::Condition&)>& f) {
  for (const auto& stage : policy.stages) {
    for (const auto& rule : stage.rules) {
      if (rule.condition) visit(*rule.condition, f);
    }
  }
  for (const auto& def : policy.defs) {
    if (def.condition) visit(*def.condition, f);
  }
  for (const auto& assertion : policy.assertions) {
    if (assertion.condition) visit(*assertion.condition, f);
  }
}

void header_names(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for_each_condition(in.policy, [&](const lang::Condition& c) { check_header_name(c.lhs, out); });
}

// `size > 5`, `attachments.size > 10`: a size compared with a bare number under 1024,
// bytes where a unit was meant (a size literal carries its unit: 5MB, 10KB, 512B).
void size_units(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for_each_condition(in.policy, [&](const lang::Condition& c) {
    using Op = lang::CompareOp;
    const bool numeric = c.op == Op::Lt || c.op == Op::Le || c.op == Op::Gt || c.op == Op::Ge ||
                         c.op == Op::Eq || c.op == Op::Ne;
    if (c.kind != lang::CondKind::Compare || !numeric || c.lhs.kind != lang::OperandKind::Literal ||
        c.rhs.kind != lang::OperandKind::Literal || c.rhs.literal.kind != lang::LiteralKind::Number)
      return;
    const std::string& field = c.lhs.literal.text;
    const double n = c.rhs.literal.number;
    if ((field != "size" && !field.ends_with(".size")) || n <= 0 || n >= 1024) return;
    const std::string written = c.rhs.literal.text.empty() ? fmt::format("{:g}", n) : c.rhs.literal.text;
    out.push_back(lint_warning(
        "L022", "`" + field + "` is compared with " + written + " bytes", c.rhs.span,
        "a number without a unit is bytes",
        "give the size a unit: `" + written + "MB`, `" + written + "KB`; for bytes, `" + written + "B`"));
  });
}

void loose_domain_suffixes(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const auto& table = in.sema.patterns.patterns();
  for (uint32_t id = 0; id < table.size(); ++id) {
    const vm::PatternInfo& p = table[id];
    const std::string text = literal_text(p);
    if (!loose_suffix(p, text)) continue;
    const std::string field(vm::field_info(p.field).name);
    const bool domain = vm::field_info(p.field).kind == vm::ValueKind::Domain;
    const std::string domains = domain ? field : domain_field_for(field);
    const std::string whole = "`" + domains + " in [" + text + ", \"*." + text + "\"]`";
    out.push_back(lint_warning(
        "L016",
        "`" + field + " ends with \"" + text + "\"` is also true for " + (domain ? "" : "x@") + "evil" + text,
        in.sema.patterns.first_use(id), "also matches other domains",
        domain ? "for " + text + " and its subdomains write " + whole
               : "for addresses at " + text + " write `ends with \"@" + text + "\"`; with its subdomains, " +
                     whole));
  }
}

}  // namespace mp::compiler
