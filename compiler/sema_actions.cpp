// Semantic analysis of actions: reply texts, header edits, banners and link rewrites.
#include <algorithm>
#include <regex>

#include "compiler/sema.h"
#include "runtime/body_edit.h"
#include "runtime/identity.h"

namespace mp::compiler {

namespace {

bool is_terminal(lang::ActionKind kind) {
  using K = lang::ActionKind;
  return kind == K::Allow || kind == K::Reject || kind == K::Quarantine || kind == K::Discard ||
         kind == K::Tempfail;
}

bool valid_header_name(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 32 || c >= 127 || c == ':') return false;
  }
  return true;
}

// What is wrong with a reject or tempfail text, if anything: it must open with a reply
// code of its class (RFC 5321 4.2.1), and an enhanced status code after it must be
// whole and of the same class (RFC 3463 2): in "550 4.7.1" the two disagree, and the
// status would be sent as text after the default 5.7.1. A word of four parts after the
// code is an IP address, text.
struct ReplyMisfit {
  std::string message, label;
};

std::optional<ReplyMisfit> reply_misfit(const std::string& text, char reply_class) {
  const std::string kind = reply_class == '5' ? "reject" : "tempfail";
  static const std::regex code("^[0-9][0-9][0-9]( |$)");
  if (!std::regex_search(text, code) || text[0] != reply_class)
    return ReplyMisfit{kind + " text must start with a " + reply_class + "xx reply code",
                       std::string("no ") + reply_class + "xx code"};
  static const std::regex status("^[0-9]{3} ([0-9]\\.[0-9]+(\\.[0-9]+)?)( |$)");
  std::smatch m;
  if (!std::regex_search(text, m, status)) return std::nullopt;
  const std::string enhanced = m[1];
  if (!m[2].matched)
    return ReplyMisfit{kind + " text: `" + enhanced + "` is not a whole enhanced status code (RFC 3463 2)",
                       "class.subject.detail, e.g. " + std::string(1, reply_class) + ".7.1"};
  if (enhanced[0] != reply_class)
    return ReplyMisfit{kind + " text: the enhanced status code `" + enhanced + "` is of class " +
                           enhanced[0] + ", the reply code of class " + reply_class + " (RFC 3463 2)",
                       "must agree with the reply code"};
  return std::nullopt;
}

// Fields a message has at most one of (RFC 5322 3.6): `add header` would make a second.
bool single_field(const std::string& name) {
  static const char* const kSingle[] = {"Date", "From",       "Sender",      "Reply-To",   "To",     "Cc",
                                        "Bcc",  "Message-ID", "In-Reply-To", "References", "Subject"};
  return std::any_of(std::begin(kSingle), std::end(kSingle), [&](const char* field) {
    return runtime::ascii_lowercase(field) == runtime::ascii_lowercase(name);
  });
}

}  // namespace

// The text of a tag, banner or header: the string written, or the value of the const
// or option named (`banner anti_spoofing.external_banner`). An option left empty makes
// the action do nothing: check_actions drops it.
std::string Sema::text_of(const lang::Action& a) {
  if (a.text_name.empty()) return a.text;
  auto constant = find_name(consts_, a.text_name, a.text_name_span);
  if (constant == consts_.end()) {
    diagnostics_.error("E012", "unknown name `" + a.text_name + "`", a.text_name_span,
                       "no const or option of this name",
                       "write the text in quotes, or declare `const " + a.text_name + " = \"...\"`");
    return {};
  }
  used_names_.insert(constant->first);
  const lang::Literal& value = constant->second->value;
  if (value.kind != lang::LiteralKind::String && value.kind != lang::LiteralKind::Path) {
    diagnostics_.error("E021", "`" + a.text_name + "` is not text", a.text_name_span, "not a text value",
                       "a tag, banner or header value takes text: a string or a const/option holding one");
    return {};
  }
  return value.text;
}

// An entry of `rewrite urls … except DOMAINS`, folded; nullopt (reported) when it is
// not a host name. A bad line of a list file is skipped for lint to report, as in tests.
std::optional<std::string> Sema::skipped_domain(const ListItem& item) {
  const lang::Literal& l = item.literal;
  if (l.kind == lang::LiteralKind::Path && item.origin.empty() && l.text.find('.') == std::string::npos) {
    // Host names have dots: a bare word here is a list or const that does not exist.
    diagnostics_.error("E012", "unknown name `" + l.text + "`", l.span,
                       "no const, list or option of this name",
                       "declare it (`list " + l.text + " = [partner.example]`) or write the domains");
    return std::nullopt;
  }
  const bool textual = l.kind == lang::LiteralKind::Path || l.kind == lang::LiteralKind::String;
  if (textual && !l.text.empty() && l.text.find_first_of("@/: \t") == std::string::npos) {
    return runtime::fold_domain(l.text);
  }
  const std::string message = "`" + (item.option.empty() ? std::string("except") : item.option) +
                              "` takes the domains whose links stay; `" + l.text + "` is not one";
  const std::string hint = item.option.empty()
                               ? "write host names: `except [widget.com, partner.example]`"
                               : "write host names: `" + item.option + " = [partner.example]`";
  if (!item.origin.empty()) {
    skipped_entries_.push_back({message + " (" + item.origin + ")", l.span,
                                item.origin.substr(0, item.origin.rfind(':')), "except", hint});
  } else {
    diagnostics_.error("E021", message, l.span, "not a domain", hint);
  }
  return std::nullopt;
}

// `rewrite urls TARGET except DOMAINS`: the target must be a URL a link can become
// (runtime::url_rewrite_target_error; reported where its text is written, the user's
// setting for an option), the domains go into a set of urls.domain.
bool Sema::check_rewrite(const lang::Action& a, IrAction& action) {
  if (const std::string why = runtime::url_rewrite_target_error(action.text); !why.empty()) {
    lang::Span at = a.span;
    if (auto named = find_name(consts_, a.text_name, a.text_name_span);
        !a.text_name.empty() && named != consts_.end())
      at = named->second->value.span;
    diagnostics_.error("E061", "`" + action.text + "` cannot be a link rewrite target: " + why, at,
                       "not a rewrite target",
                       "write the click-checking URL with {url} where the original link goes, e.g. "
                       "\"https://urldefense.example/v1?u={url}\"");
    return false;
  }
  const std::string source =
      a.except ? "except " + source_of(a.except->span, a.except->span) : "rewrite urls";
  action.set =
      sets.add(vm::SetInfo{vm::FieldId::UrlDomain, vm::Fold::Domain, "", skipped_domains(a), source});
  return true;
}

// The `except` domains of a `rewrite urls`, folded, sorted, once each; wrong entries
// reported (also while the rewrite is off: the option is wrong all the same).
std::vector<std::string> Sema::skipped_domains(const lang::Action& a) {
  std::vector<std::string> domains;
  if (!a.except) return domains;
  std::vector<ListItem> items;
  expand_value(*a.except, items, 0);
  for (const ListItem& item : items) {
    if (auto domain = skipped_domain(item)) domains.push_back(std::move(*domain));
  }
  std::sort(domains.begin(), domains.end());
  domains.erase(std::unique(domains.begin(), domains.end()), domains.end());
  return domains;
}

void Sema::check_reply(const lang::Action& a) {
  const bool reject = a.kind == lang::ActionKind::Reject;
  if (!a.has_text || (!reject && a.kind != lang::ActionKind::Tempfail)) return;
  const auto misfit = reply_misfit(a.text, reject ? '5' : '4');
  if (!misfit) return;
  const bool no_code = misfit->label.starts_with("no ");
  const std::string example = no_code
                                  ? (reject ? "550 " : "451 ") + a.text
                                  : (reject ? "550 5.7.1 Refused by policy" : "451 4.7.1 Try again later");
  diagnostics_.error("E061", misfit->message, a.span, misfit->label,
                     "write e.g. `" + std::string(reject ? "reject" : "tempfail") + " \"" + example + "\"`");
}

// Header names, and a field a message has one of added by a rule that does not also
// remove it (removals are applied first, so remove + add replaces it).
void Sema::check_header_edit(const lang::Action& a, const lang::Rule& rule) {
  if (a.kind != lang::ActionKind::AddHeader && a.kind != lang::ActionKind::RemoveHeader) return;
  if (!valid_header_name(a.header)) {
    diagnostics_.error("E061", "`" + a.header + "` is not a valid header name", a.span, "invalid header name",
                       "header names are printable ASCII without spaces or ':'");
    return;
  }
  if (a.kind != lang::ActionKind::AddHeader || !single_field(a.header)) return;
  const bool removed = std::any_of(rule.actions.begin(), rule.actions.end(), [&](const lang::Action& other) {
    return other.kind == lang::ActionKind::RemoveHeader &&
           runtime::ascii_lowercase(other.header) == runtime::ascii_lowercase(a.header);
  });
  if (removed) return;
  const bool subject = runtime::ascii_lowercase(a.header) == "subject";
  diagnostics_.error("E061",
                     "a message has at most one `" + a.header + "` field (RFC 5322 3.6): this adds a second",
                     a.span, "second " + a.header + " field",
                     std::string(subject ? "to mark the subject, `tag \"[EXTERNAL]\"` with policyd's `tags = "
                                           "subject` (docs/gateway.md); "
                                         : "") +
                         "to replace the field, also write `remove header " + a.header + "` in this rule");
}

std::vector<IrAction> Sema::check_actions(const lang::Rule& rule) {
  std::vector<IrAction> plain;
  std::optional<IrAction> terminal;
  for (const auto& a : rule.actions) {
    IrAction action{a.kind, a.span, text_of(a), a.has_text, a.score, a.header};
    if (!a.text_name.empty() && action.text.empty()) {
      if (a.kind == lang::ActionKind::RewriteUrls) skipped_domains(a);
      continue;
    }
    if (a.kind == lang::ActionKind::RewriteUrls && !check_rewrite(a, action)) continue;
    check_reply(a);
    check_header_edit(a, rule);
    if (a.kind == lang::ActionKind::Banner && a.text_name.empty() &&
        a.text.find_first_not_of(" \t") == std::string::npos) {
      diagnostics_.error("E061", "a banner needs a text to show", a.span, "empty banner",
                         "write e.g. `banner \"CAUTION: this message comes from outside the organisation\"`");
    }
    if (!is_terminal(a.kind)) {
      plain.push_back(std::move(action));
    } else if (terminal) {
      lang::Diagnostic d{lang::Severity::Error,
                         "E061",
                         "a rule can have only one terminal action",
                         {a.span, "second terminal action"},
                         {{terminal->span, "first one here"}},
                         "allow, reject, quarantine, discard and tempfail each end evaluation"};
      diagnostics_.add(std::move(d));
    } else {
      terminal = std::move(action);
    }
  }
  if (terminal) {
    if (!terminal->has_text) {
      terminal->has_text =
          terminal->kind != lang::ActionKind::Allow && terminal->kind != lang::ActionKind::Discard;
      terminal->text = terminal->kind == lang::ActionKind::Reject     ? "550 5.7.1 Message rejected by policy"
                       : terminal->kind == lang::ActionKind::Tempfail ? "451 4.7.1 Try again later"
                                                                      : "rule " + rule.name;
    }
    plain.push_back(std::move(*terminal));
  }
  return plain;
}

}  // namespace mp::compiler
