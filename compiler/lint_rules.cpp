// Lints over rule logic, on the checked IR: conditions are compared as conjunctions
// of atoms (lint_logic.h), so `sender is x` is seen to imply `sender in [x, y]`.
#include "compiler/lint_rules.h"

#include <algorithm>
#include <chrono>

#include "compiler/lint_logic.h"
#include "runtime/identity.h"
#include "vm/image.h"

namespace mp::compiler {

namespace {

using lint_logic::Atom;

const IrAction* terminal_action(const IrRule& rule) {
  if (rule.actions.empty()) return nullptr;
  const IrAction& last = rule.actions.back();
  using K = lang::ActionKind;
  bool terminal = last.kind == K::Allow || last.kind == K::Reject || last.kind == K::Quarantine ||
                  last.kind == K::Discard || last.kind == K::Tempfail;
  return terminal ? &last : nullptr;
}

std::string rule_label(const IrModule& m, const IrRule& r) {
  return m.stages[r.stage] + "." + r.name;
}

lang::Diagnostic rule_warning(std::string code, std::string message, const IrRule& rule, std::string label,
                              std::string hint) {
  return lang::Diagnostic{
      lang::Severity::Warning, std::move(code), std::move(message), {rule.name_span, std::move(label)}, {},
      std::move(hint)};
}

// Every atom of `earlier` is implied by some atom of `later`: `later` ⇒ `earlier`.
bool covers(const std::vector<Atom>& earlier, const std::vector<Atom>& later,
            const std::vector<vm::SetInfo>& sets) {
  return std::all_of(earlier.begin(), earlier.end(), [&](const Atom& a) {
    return std::any_of(later.begin(), later.end(),
                       [&](const Atom& b) { return lint_logic::implies(b, a, sets); });
  });
}

bool same_scope(const IrRule& a, const IrRule& b) {
  return a.scope_users == b.scope_users && a.scope_groups == b.scope_groups && a.expires == b.expires;
}

// Whether `a` runs for every recipient, on every day, that `b` runs for: it has no
// recipient scope and no expiry, or the same ones.
bool runs_wherever(const IrRule& a, const IrRule& b) {
  return same_scope(a, b) || (a.scope_users.empty() && a.scope_groups.empty() && a.expires == 0);
}

void shadowed_and_duplicates(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const auto& rules = in.module.rules;
  const auto& sets = in.sema.sets.sets();
  std::vector<std::optional<std::vector<Atom>>> conj;
  for (const auto& r : rules) conj.push_back(lint_logic::conjunction(r.condition));
  for (size_t later = 0; later < rules.size(); ++later) {
    const IrRule& b = rules[later];
    for (size_t earlier = 0; earlier < later; ++earlier) {
      const IrRule& a = rules[earlier];
      bool same_directions = a.directions == b.directions && same_scope(a, b);
      if (same_directions && lint_logic::same_node(a.condition, b.condition)) {
        lang::Diagnostic d = rule_warning(
            "L003", "rule `" + rule_label(in.module, b) + "` duplicates `" + rule_label(in.module, a) + "`",
            b, "same condition as an earlier rule", "merge the two rules or delete one");
        d.secondary.push_back({a.name_span, "first written here"});
        out.push_back(std::move(d));
        break;
      }
      bool a_covers_directions = (a.directions & b.directions) == b.directions && runs_wherever(a, b);
      if (terminal_action(a) && a_covers_directions && conj[earlier] && conj[later] &&
          covers(*conj[earlier], *conj[later], sets) && !b.condition.is_constant()) {
        lang::Diagnostic d = rule_warning(
            "L001",
            "rule `" + rule_label(in.module, b) + "` is shadowed by `" + rule_label(in.module, a) + "`", b,
            "never decides: the earlier rule fires first on every message this one fires on",
            "move this rule before `" + a.name + "`, or narrow `" + a.name + "`");
        d.secondary.push_back({a.name_span, "this rule decides first"});
        out.push_back(std::move(d));
        break;
      }
    }
  }
}

void never_fires(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const auto& sets = in.sema.sets.sets();
  for (const auto& r : in.module.rules) {
    if (r.condition.op == IrOp::False) {
      out.push_back(rule_warning("L002", "rule `" + r.name + "` can never fire", r,
                                 "its condition is always false", "check the condition"));
      continue;
    }
    auto atoms = lint_logic::conjunction(r.condition);
    if (!atoms) continue;
    for (size_t i = 0; i < atoms->size(); ++i) {
      for (size_t j = i + 1; j < atoms->size(); ++j) {
        if (!lint_logic::contradict((*atoms)[i], (*atoms)[j], sets)) continue;
        lang::Diagnostic d =
            rule_warning("L002", "rule `" + r.name + "` can never fire", r,
                         "two of its tests cannot both be true", "one of the two tests is wrong");
        d.secondary.push_back({(*atoms)[i].test->span, "this test"});
        d.secondary.push_back({(*atoms)[j].test->span, "contradicts this one"});
        out.push_back(std::move(d));
        i = atoms->size();
        break;
      }
    }
  }
}

// Spoofable-allow analysis -----------------------------------------------------------

bool identity_field(vm::FieldId f) {
  using F = vm::FieldId;
  switch (f) {
    case F::Sender:
    case F::SenderDomain:
    case F::SenderLocal:
    case F::FromAddress:
    case F::FromDomain:
    case F::FromLocal:
    case F::FromDisplayName:
    case F::ReplyToAddress:
    case F::ReplyToDomain:
    case F::ReplyToLocal:
    case F::ReplyToDisplayName:
    case F::HeaderLine: return true;
    default: return false;
  }
}

bool domain_of_entry_in(const std::string& entry, const std::vector<std::string>& domains) {
  std::string domain = entry.substr(entry.rfind('@') == std::string::npos ? 0 : entry.rfind('@') + 1);
  return std::find(domains.begin(), domains.end(), domain) != domains.end();
}

const std::vector<std::string>& freemail_domains() {
  static const std::vector<std::string> domains = {
      "gmail.com", "googlemail.com", "yahoo.com", "ymail.com",  "hotmail.com", "outlook.com",
      "live.com",  "msn.com",        "aol.com",   "icloud.com", "me.com",      "mail.com",
      "gmx.com",   "gmx.de",         "gmx.net",   "web.de",     "yandex.ru",   "yandex.com",
      "mail.ru",   "protonmail.com", "proton.me", "zoho.com",   "qq.com",      "163.com"};
  return domains;
}

struct AllowFacts {
  bool identity = false;    // rests on something a sender writes
  bool own_domain = false;  // an identity set holds one of org.domains
  bool freemail = false;    // an identity set holds a whole freemail domain
};

bool tests_received(const IrNode& n, const LintInput& in) {
  if (n.op == IrOp::Match) return in.sema.patterns.patterns()[n.index].header_filter == "received";
  return n.op == IrOp::InSet && in.sema.sets.sets()[n.index].header_filter == "received";
}

// Is the condition true only for mail from a known place: the client IP (as seen or
// as walked back past our relays), or a Received hop? An `and` needs one anchored
// operand, an `or` needs all of them; HELO is the client's word, so it is no anchor.
bool anchored(const IrNode& n, const LintInput& in) {
  switch (n.op) {
    case IrOp::And:
      return std::any_of(n.children.begin(), n.children.end(),
                         [&](const IrNode& c) { return anchored(c, in); });
    case IrOp::Or:
      return std::all_of(n.children.begin(), n.children.end(),
                         [&](const IrNode& c) { return anchored(c, in); });
    case IrOp::Match:
    case IrOp::InSet:
    case IrOp::InNet:
    case IrOp::Resembles:
      return n.field == vm::FieldId::ClientIp || n.field == vm::FieldId::EffectiveClientIp ||
             tests_received(n, in);
    default: return false;
  }
}

void collect(const IrNode& n, const LintInput& in, AllowFacts& facts, bool negated) {
  if (n.op == IrOp::Not) return collect(n.children[0], in, facts, !negated);
  for (const auto& child : n.children) collect(child, in, facts, negated);
  if (!is_field_test(n.op) || negated) return;
  bool received = tests_received(n, in);
  // Any header a sender writes, decoded, as received or in a MIME part.
  const bool header_value = (n.field == vm::FieldId::HeaderValue || n.field == vm::FieldId::HeaderRaw ||
                             n.field == vm::FieldId::MimeHeader) &&
                            !received;
  if (!identity_field(n.field) && !header_value) return;
  facts.identity = true;
  if (n.op != IrOp::InSet) return;
  for (const auto& entry : in.sema.sets.sets()[n.index].entries) {
    if (domain_of_entry_in(entry, in.sema.settings.org_domains)) facts.own_domain = true;
    bool domain_entry = entry.find('@') == std::string::npos;
    if (domain_entry && domain_of_entry_in(entry, freemail_domains())) facts.freemail = true;
  }
}

void spoofable_allows(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for (const auto& r : in.module.rules) {
    const IrAction* t = terminal_action(r);
    if (!t || t->kind != lang::ActionKind::Allow) continue;
    if (!(r.directions & vm::kInbound)) continue;  // outbound/internal imply one of our servers
    AllowFacts facts;
    collect(r.condition, in, facts, false);
    if (!facts.identity || anchored(r.condition, in)) continue;
    if (facts.own_domain) {
      out.push_back(
          rule_warning("L006", "`" + r.name + "` allows mail that only claims to be from our own domain", r,
                       "turns off anti-spoofing for this rule",
                       "add `client.ip in [...]` (our servers) or a `header \"Received\" contains` test "
                       "for the known relay"));
    } else if (facts.freemail) {
      out.push_back(rule_warning("L007", "`" + r.name + "` allows a whole freemail domain", r,
                                 "anyone can register an address there",
                                 "allow individual addresses instead"));
    } else {
      out.push_back(
          rule_warning("L005", "`" + r.name + "` allows on identity a sender can forge", r,
                       "no check of the client IP, the direction or a Received hop",
                       "add `client.ip in [...]`, a `header \"Received\" contains` test, or limit the "
                       "rule to (outbound)"));
    }
  }
}

// Vacuous `all` ------------------------------------------------------------------------

// Whether the atom, true, says the collection has an item: `any C (…)`, a test of an
// item field outside a loop (`attachments.extension is pdf`), `count(C) >= 1`.
bool says_nonempty(const Atom& atom, vm::Collection c) {
  if (atom.negated) return false;
  const IrNode& n = *atom.test;
  if (n.op == IrOp::Loop) return n.loop == vm::LoopKind::Any && n.collection == c;
  if (is_field_test(n.op)) return !n.bound && vm::field_info(n.field).collection == c;
  if (n.op != IrOp::NumCompare || n.lhs.kind != IrNumber::Kind::Count || n.lhs.collection != c ||
      n.rhs.kind != IrNumber::Kind::Const || !n.children.empty())
    return false;
  const double v = n.rhs.value;
  return (n.cmp == vm::CmpOp::Gt && v >= 0) || (n.cmp == vm::CmpOp::Ge && v >= 1) ||
         (n.cmp == vm::CmpOp::Eq && v >= 1);
}

// `if all attachments (attachments.type is "application/pdf") then allow`: also true for
// a message with no attachments at all. The envelope always has a recipient and a
// message headers, so `all recipients` and `all headers` are left alone.
void vacuous_all(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for (const auto& r : in.module.rules) {
    auto atoms = lint_logic::conjunction(r.condition);
    if (!atoms) continue;
    for (const Atom& a : *atoms) {
      const IrNode& n = *a.test;
      if (a.negated || n.op != IrOp::Loop || n.loop != vm::LoopKind::All ||
          n.collection == vm::Collection::Recipients || n.collection == vm::Collection::Headers)
        continue;
      if (std::any_of(atoms->begin(), atoms->end(),
                      [&](const Atom& b) { return says_nonempty(b, n.collection); }))
        continue;
      const std::string name(
          vm::collection_names(n.collection).substr(0, vm::collection_names(n.collection).find(' ')));
      out.push_back(lint_warning("L021", "`all " + name + "` is also true when there are no " + name, n.span,
                                 "true for a message without " + name,
                                 "if the rule needs one, add `and count(" + name + ") >= 1`"));
    }
  }
}

// A temporary exception whose day has passed (`until 2026-12-31`).
void expired_rules(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& r : in.module.rules) {
    if (r.expires == 0 || now < r.expires) continue;
    const std::string date = vm::date_of_expiry(r.expires);
    out.push_back(rule_warning("L014", "rule `" + r.name + "` expired on " + date, r,
                               "ran until " + date + " (UTC)",
                               "delete it, or move the date if the exception still holds"));
  }
}

}  // namespace

void lint_rules(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  expired_rules(in, out);
  shadowed_and_duplicates(in, out);
  never_fires(in, out);
  spoofable_allows(in, out);
  vacuous_all(in, out);
}

}  // namespace mp::compiler
