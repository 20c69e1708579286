// Semantic analysis, part 3: values. Expands the right side of a test (literals,
// consts, lists, list files) into values, checks each against the kind of the field it
// is compared with, rejects values a closed-vocabulary field never holds, and builds
// the `resembles` test (runtime/resemble.h).
#include <algorithm>
#include <cctype>

#include "compiler/sema.h"
#include "runtime/geoip.h"
#include "runtime/identity.h"
#include "runtime/resemble.h"
#include "vm/facts.h"

namespace mp::compiler {

namespace {

using lang::CompareOp;
using lang::LiteralKind;
using vm::FieldId;
using vm::ValueKind;

// `"Jane Doe" <jane@example.com>` as console exports write it: the address inside.
std::optional<std::string> angle_address(std::string_view text) {
  const size_t open = text.rfind('<');
  if (open == std::string_view::npos || !text.ends_with('>')) return std::nullopt;
  return std::string(text.substr(open + 1, text.size() - open - 2));
}

}  // namespace

void Sema::expand_value(const lang::Literal& l, std::vector<ListItem>& out, int depth) {
  if (l.kind == LiteralKind::List) {
    for (const auto& item : l.items) expand_value(item, out, depth);
    return;
  }
  if (l.kind == LiteralKind::Path && depth < 8) {
    if (auto c = find_name(consts_, l.text, l.span); c != consts_.end()) {
      used_names_.insert(c->first);
      expand_value(c->second->value, out, depth + 1);
      return;
    }
    if (auto list = find_name(lists_, l.text, l.span); list != lists_.end()) {
      used_names_.insert(list->first);
      const size_t first = out.size();
      out.insert(out.end(), list->second.begin(), list->second.end());
      if (list->first.starts_with(kOptionPrefix)) {
        for (size_t i = first; i < out.size(); ++i) out[i].option = l.text;
      }
      return;
    }
    if (misspelt_setting(l)) return;
  }
  out.push_back({l, {}});
}

std::vector<ListItem> Sema::values(const lang::Operand& rhs, bool want_list, const FieldRef* field) {
  std::vector<ListItem> out;
  if (rhs.kind != lang::OperandKind::Literal) {
    diagnostics_.error("E021", "expected a value here", rhs.span, "a field or function is not a value",
                       "compare a field with a literal, a const or a list");
    return out;
  }
  const lang::Literal& l = rhs.literal;
  bool declared = l.kind == LiteralKind::Path && (find_name(consts_, l.text, l.span) != consts_.end() ||
                                                  find_name(lists_, l.text, l.span) != lists_.end());
  if (l.kind == LiteralKind::Path && !declared) {
    if (field_by_path(l.text) || l.text == "received") {
      diagnostics_.error("E021", "`" + l.text + "` is a field; a test compares a field with values", l.span,
                         "a field, not a value",
                         "comparing two fields is not supported; quote the text if you meant it");
      return out;
    }
    // A closed-vocabulary field reads best with bare words (`spf is fail`,
    // `message.defects contains duplicate_from`); value_can_occur checks them.
    const bool vocabulary_word =
        field != nullptr && !vm::field_vocabulary(field->field).empty() && !want_list;
    if (l.text.find('.') == std::string::npos && !vocabulary_word) {
      std::string what = want_list ? "list" : "name";
      diagnostics_.error(
          "E012", "unknown " + what + " `" + l.text + "`", l.span, "no const or list of this name",
          want_list ? "declare it with `list " + l.text + " = file(\"...\")` or write a list: [a, b]"
                    : "quote text (\"" + l.text + "\"); bare words are allowed only inside [lists]");
      return out;
    }
  }
  expand_value(l, out, 0);
  // A dotted field name inside a list (`in [sender.domain]`) would otherwise read as a
  // domain or text of that spelling and never match.
  std::erase_if(out, [&](const ListItem& item) {
    const lang::Literal& v = item.literal;
    const bool field_name = item.origin.empty() && v.kind == LiteralKind::Path &&
                            v.text.find('.') != std::string::npos && field_by_path(v.text);
    if (field_name) {
      diagnostics_.error("E021", "`" + v.text + "` is a field; a list holds values", v.span,
                         "a field, not a value",
                         "to compare two fields write `" + (field ? field->display : std::string("FIELD")) +
                             " is " + v.text + "`; quote the text if you meant it");
    }
    return field_name;
  });
  return out;
}

std::optional<std::string> Sema::item_as(const ListItem& item, ValueKind kind, const FieldRef& field) {
  const lang::Literal& l = item.literal;
  std::string where = item.origin.empty() ? "" : " (" + item.origin + ")";
  auto mismatch = [&](const std::string& what, const std::string& hint) -> std::optional<std::string> {
    std::string message = "`" + field.display + "` is " + std::string(vm::kind_name(kind)) + ", but `" +
                          l.text + "` is " + what + where;
    if (!item.option.empty() && item.origin.empty()) {
      // Said once per entry, in the option's terms: the user set the option, the test
      // that reads it is a module's.
      if (!reported_option_items_.insert({l.span.file.value, l.span.begin}).second) return std::nullopt;
      diagnostics_.error("E021",
                         "`" + item.option + "` is compared with `" + field.display + "`, " +
                             std::string(vm::kind_name(kind)) + ", but `" + l.text + "` is " + what,
                         l.span, "wrong kind of value",
                         "each entry of `" + item.option + "` must be " + std::string(vm::kind_name(kind)) +
                             " (docs/stdlib.md lists what each option holds)");
      return std::nullopt;
    }
    if (!item.origin.empty()) {
      // A bad line in a list file (often maintained elsewhere) must not stop the build:
      // the entry is skipped and lint reports it (L011).
      skipped_entries_.push_back(
          {message, l.span, item.origin.substr(0, item.origin.rfind(':')), field.display, hint});
      return std::nullopt;
    }
    diagnostics_.error("E021", message, l.span, "wrong kind of value", hint);
    return std::nullopt;
  };
  if (l.kind == LiteralKind::List || l.kind == LiteralKind::Regex) return mismatch("a list", "");
  switch (kind) {
    case ValueKind::Text:
      // Extensions are stored without the dot; ".htm" is what people write.
      if ((field.field == FieldId::AttachmentExtension || field.field == FieldId::ArchiveMemberExtension) &&
          l.text.size() > 1 && l.text.starts_with('.')) {
        return l.text.substr(1);
      }
      return l.text;
    case ValueKind::Address:
      if (l.kind == LiteralKind::Ip || l.kind == LiteralKind::Number || l.kind == LiteralKind::Size) {
        return mismatch("not an email address", "");
      }
      if (l.kind == LiteralKind::String && l.text.empty()) return std::string();     // the null sender <>
      if (auto inner = angle_address(l.text)) return runtime::fold_address(*inner);  // "Name" <a@b>
      if (l.kind == LiteralKind::Path || l.text.find('@') == std::string::npos) {
        // A name with a space is a display name, anything else most likely a domain.
        const bool display_name = l.text.find(' ') != std::string::npos && field.display != "sender" &&
                                  !field.display.starts_with("recipient");
        std::string base = field.display.substr(0, field.display.find('.'));
        return mismatch("not an email address",
                        display_name ? "to test display names, use `" + base + ".display_name`"
                                     : "to test the domain, use `" + domain_field_for(field.display) + "`");
      }
      return runtime::fold_address(l.text);
    case ValueKind::Domain:
      if (l.kind == LiteralKind::Address || l.text.find('@') != std::string::npos) {
        return mismatch("an email address", "compare the whole address with the `.address` field");
      }
      // A HELO name or a link's host may be a bare IPv4 address (bots say `HELO
      // 192.0.2.1`, phishing links `http://192.0.2.7/`): the value is its text.
      if (l.kind == LiteralKind::Ip && l.text.find(':') == std::string::npos &&
          (field.field == FieldId::Helo || field.field == FieldId::UrlDomain ||
           field.field == FieldId::UrlTextDomain)) {
        return l.text;
      }
      if (l.kind == LiteralKind::Ip) {
        return mismatch("an IP address",
                        field.field == FieldId::Helo
                            ? "an IPv6 HELO is an address literal, written in quotes: `helo is \"[IPv6:" +
                                  l.text + "]\"`; the connecting address is `client.ip`"
                            : "this field holds names; the connecting address is `client.ip`, a link's host "
                              "`urls.domain` (which may be an IPv4 address)");
      }
      if (l.kind == LiteralKind::Number || l.kind == LiteralKind::Size) return mismatch("not a domain", "");
      // "http://x.example/", "x.example:25"; an address literal ("[IPv6:2001:db8::1]",
      // as HELO may be) is written in brackets.
      if (!l.text.starts_with('[') && l.text.find_first_of("/: \t") != std::string::npos) {
        return mismatch("not a domain", "write the host name alone: `" + field.display + " is example.com`");
      }
      if (l.text.find('*') != std::string::npos) {
        return mismatch("not a domain",
                        "a `*` is a wildcard only as the whole first label: "
                        "`*.example.com` is every subdomain of example.com");
      }
      return runtime::fold_domain(l.text);
    case ValueKind::Ip:
      if (!runtime::Cidr::parse(l.text)) {
        if (l.kind == LiteralKind::Ip) {
          diagnostics_.error("E022", "invalid IP address or CIDR prefix `" + l.text + "`" + where, l.span,
                             "not an IP address");
          return std::nullopt;
        }
        return mismatch(l.kind == LiteralKind::Address ? "an email address" : "not an IP address",
                        "IP tests take addresses and prefixes: 203.0.113.10, 198.51.100.0/24, 2001:db8::/32");
      }
      return l.text;
    case ValueKind::Number: return mismatch("not a number", "");
  }
  return std::nullopt;
}

namespace {

bool occurs_in(std::string_view word, std::string_view value, CompareOp op) {
  switch (op) {
    case CompareOp::Contains: return word.find(value) != std::string_view::npos;
    case CompareOp::StartsWith: return word.starts_with(value);
    case CompareOp::EndsWith: return word.ends_with(value);
    default: return word == value;
  }
}

std::string_view op_words(CompareOp op) {
  switch (op) {
    case CompareOp::Contains: return "contains";
    case CompareOp::StartsWith: return "starts with";
    case CompareOp::EndsWith: return "ends with";
    default: return "is";
  }
}

// The domain of an address is what follows its last @ (vm/field_values.cpp,
// runtime/message.cpp), so it never holds one.
bool after_the_at(FieldId field) {
  return field == FieldId::FromDomain || field == FieldId::ToDomain || field == FieldId::CcDomain ||
         field == FieldId::ReplyToDomain || field == FieldId::SenderDomain ||
         field == FieldId::RecipientDomain;
}

// The address field a domain field is part of: from.domain is part of from.address,
// sender.domain of sender.
std::string address_field_for(const std::string& domain_field) {
  const std::string base = domain_field.substr(0, domain_field.rfind('.'));
  return base == "sender" || base == "recipients" ? base : base + ".address";
}

struct Misfit {
  std::string message, hint;
};

// A value of the wrong shape for what the field holds (docs/language.md, section 7):
// an extension is the name's end after its last dot, a MIME type `type/subtype`
// without parameters, a link's domain the host alone. `whole`: `is`/`in`.
std::optional<Misfit> misshapen(FieldId field, std::string_view value, bool whole) {
  const bool extension = field == FieldId::AttachmentExtension || field == FieldId::ArchiveMemberExtension;
  const bool mime_type = field == FieldId::AttachmentType || field == FieldId::AttachmentTrueType ||
                         field == FieldId::ArchiveMemberType;
  const std::string shown(value);
  if (extension && value.find('/') != std::string_view::npos)
    return Misfit{"`" + shown + "` is a MIME type; an extension is what follows the name's last dot",
                  "test what the bytes are with `attachments.type`, or the declared type with "
                  "`attachments.content_type`"};
  const bool inner_dot = value.find('.') != std::string_view::npos && !value.starts_with('.');
  if (extension && (value.find('*') != std::string_view::npos || value.find('.') != std::string_view::npos))
    return Misfit{
        "an extension is what follows the name's last dot, so it never holds `" +
            std::string(value.find('*') != std::string_view::npos ? "*" : ".") + "`",
        inner_dot && value.find('*') == std::string_view::npos
            ? "an extension is the last part (`gz` of .tar.gz); test the name: "
              "`attachments.name ends with \"." +
                  shown + "\" nocase`"
            : "write the extension alone, without dot or `*`: `attachments.extension in [exe, scr]`"};
  const bool word = !value.empty() && std::all_of(value.begin(), value.end(),
                                                  [](unsigned char c) { return std::isalnum(c) != 0; });
  if (mime_type && (value.find_first_of("; \t=") != std::string_view::npos ||
                    (whole && value.find('/') == std::string_view::npos)))
    return Misfit{
        "`" + shown + "` is not a `type/subtype`, which is all this field holds",
        std::string(field == FieldId::AttachmentType ? "e.g. `attachments.content_type is "
                                                       "\"application/pdf\"`, without parameters"
                                                     : "e.g. `attachments.type is \"application/pdf\"`") +
            (word ? "; for the name's extension, `attachments.extension is " + shown + "`" : "")};
  if ((field == FieldId::UrlDomain || field == FieldId::UrlTextDomain) &&
      value.find('/') != std::string_view::npos)
    return Misfit{"a link's domain is its host alone and never holds `/`",
                  "test the whole link: `urls contains \"" + shown + "\"`"};
  return std::nullopt;
}

// Why a country value is not an ISO 3166-1 alpha-2 code, said for the usual slips.
std::string country_hint(const std::string& value) {
  if (value == "UK") return "ISO 3166 calls the United Kingdom GB: write `GB`";
  if (value == "EL") return "ISO 3166 calls Greece GR (EL is the EU's abbreviation): write `GR`";
  std::string upper = value;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper != value && runtime::is_country_code(upper))
    return "country codes are upper case: write `" + upper + "`";
  return "countries are ISO 3166-1 two-letter codes, upper case: US, DE, GB";
}

}  // namespace

// A value a closed-vocabulary field never holds (`spf is passs`, `spf is PASS`,
// `message.defects contains duplicate_form`, `country(client.ip) in [us]`) makes a
// test that can never be true: an error, never a rule that silently never fires. A
// typo is one under `not` too; `temperror` under tempfail is only where the test must
// hold (`spf is temperror`), not where it must not (`spf is not temperror`).
bool Sema::value_can_occur(const ListItem& item, const std::string& value, CompareOp op, bool negated,
                           const FieldRef& field) {
  if (item.origin.empty() && vm::field_info(field.field).kind == ValueKind::Text)
    text_values_.push_back({field.display, op, item.literal.text, item.literal.span});
  std::string hint;
  if (field.field == FieldId::Country) {
    if (op != CompareOp::In && op != CompareOp::Is) return true;
    if (runtime::is_country_code(value)) return true;
    hint = country_hint(value);
  } else if (value.empty() && (op == CompareOp::In || op == CompareOp::Is) &&
             (field.field == FieldId::Ptr || field.field == FieldId::DkimDomain ||
              field.field == FieldId::AvSignature)) {
    // A fact's names are never empty: without one the fact has no value.
    hint = field.field == FieldId::Ptr ? "a client without a reverse name has no `ptr`: test `fcrdns is none`"
           : field.field == FieldId::DkimDomain
               ? "a message no signature verifies has no `dkim.domains`: test `dkim is none`"
               : "a clean message has no `av.signature`: test `av is clean`";
  } else if (auto misfit = misshapen(field.field, value, op == CompareOp::In || op == CompareOp::Is)) {
    return never_matches(item, field, misfit->message, misfit->hint);
  } else if (after_the_at(field.field) && value.find('@') != std::string::npos) {
    const std::string domain = value.substr(value.rfind('@') + 1);
    return never_matches(
        item, field, "`" + field.display + "` is the part after the @ and never holds an @",
        "test the address: `" + address_field_for(field.display) + " " + std::string(op_words(op)) + " \"" +
            value + "\"`" +
            (domain.empty() ? "" : ", or the domain alone: `" + field.display + " is " + domain + "`"));
  } else if (field.field == FieldId::Relays) {
    // The whole text of a part of the path: "" or "[ ip=… ]" per relay.
    const bool whole = op == CompareOp::In || op == CompareOp::Is;
    if (!whole && op != CompareOp::StartsWith) return true;
    if (value.empty() || value.starts_with("[ ip=") ||
        (!whole && std::string_view("[ ip=").starts_with(value)))
      return true;
    hint =
        "its value is every relay of that part as `[ ip=… rdns=… helo=… … ]`, or \"\" for none; test one "
        "relay with `contains` or `matches`: `" +
        field.display + " contains \"ip=" + value + " \"`";
  } else {
    return vocabulary_admits(
        item, field, negated, [&](std::string_view word) { return occurs_in(word, value, op); },
        "`" + field.display + "` never has the value `" + value + "`", value);
  }
  return never_matches(
      item, field,
      "`" + field.display + "` never has the value " + (value.empty() ? "\"\"" : "`" + value + "`"), hint);
}

bool Sema::vocabulary_admits(const ListItem& item, const FieldRef& field, bool negated,
                             const std::function<bool(std::string_view)>& occurs, const std::string& message,
                             const std::string& closest_to) {
  const auto& vocabulary = vm::field_vocabulary(field.field);
  if (vocabulary.empty()) return true;
  // A status fact reads "temperror" only when its lookup failed (auth/facts.cpp), and
  // under tempfail the evaluation stops at the test that reads it (vm/field_values.cpp).
  const bool failure_stops =
      vm::is_fact(field.field) &&
      (vm::is_state_fact(field.field) ? settings.state_on_error : settings.on_temperror) ==
          vm::TempErrorPolicy::Tempfail;
  if (std::any_of(vocabulary.begin(), vocabulary.end(), [&](std::string_view word) {
        return occurs(word) && !(failure_stops && word == "temperror");
      }))
    return true;
  // `spf not in [temperror, permerror]` says what it means under either setting.
  if (occurs("temperror") && negated) return true;
  if (occurs("temperror")) {
    const std::string setting = vm::is_state_fact(field.field) ? "state.on_error" : "facts.on_temperror";
    return never_matches(
        item, field,
        "`" + field.display + "` is `temperror` only when its lookup failed, and then " +
            "the evaluation stops before this test (" + setting + " = tempfail)",
        "with `" + setting + " = ignore` a failed lookup reads `temperror` and the rules go on");
  }
  std::vector<std::string> words(vocabulary.begin(), vocabulary.end());
  const std::string closest =
      closest_to.empty() ? std::string() : lang::closest_name(runtime::ascii_lowercase(closest_to), words);
  std::string all;
  for (const auto& word : words) all += (all.empty() ? "" : ", ") + word;
  return never_matches(
      item, field, message,
      closest.empty() ? "`" + field.display + "` is one of: " + all : "did you mean `" + closest + "`?");
}

// E023, or for an entry of a named list a skipped entry (the list is shared).
bool Sema::never_matches(const ListItem& item, const FieldRef& field, const std::string& message,
                         const std::string& hint) {
  if (!item.origin.empty()) {
    skipped_entries_.push_back({message + " (" + item.origin + ")", item.literal.span,
                                item.origin.substr(0, item.origin.rfind(':')), field.display, hint});
    return false;
  }
  diagnostics_.error("E023", message, item.literal.span, "can never match", hint);
  return false;
}

// `from.display_name resembles executives`: the entries become resemblance keys here,
// once; the VM computes the keys of the message's values and compares (IrOp::Resembles).
IrNode Sema::resembles_test(const lang::Condition& c, const FieldRef& field) {
  const ValueKind kind = vm::field_info(field.field).kind;
  if (kind != ValueKind::Text && kind != ValueKind::Address && kind != ValueKind::Domain) {
    diagnostics_.error("E020",
                       "`" + field.display + "` is " + std::string(vm::kind_name(kind)) +
                           "; `resembles` compares names, addresses and domains",
                       c.op_span, "not applicable here",
                       "e.g. `from.display_name resembles executives`, `from.domain resembles org.domains`");
    return IrNode::constant(false, c.span);
  }
  std::vector<std::string> keys;
  for (const auto& item : values(c.rhs, true, &field)) {
    auto value = item_as(item, kind, field);
    if (!value) continue;
    std::string key = runtime::resemblance_key(*value, vm::resemble_kind(field.field));
    if (key.empty()) {
      diagnostics_.error("E023",
                         "`" + item.literal.text + "` has nothing left to compare" +
                             (item.origin.empty() ? "" : " (" + item.origin + ")"),
                         item.literal.span, "can never match",
                         "titles, initials, punctuation and bracketed remarks are ignored by `resembles`");
      continue;
    }
    keys.push_back(std::move(key));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) return IrNode::constant(false, c.span);
  IrNode n;
  n.op = IrOp::Resembles;
  n.span = c.span;
  n.field = field.field;
  n.bound = field.bound;
  n.index = sets.add(vm::SetInfo{field.field, vm::Fold::Resemble, field.header_filter, std::move(keys),
                                 source_of(c.op_span, c.span)});
  return n;
}

// Two fields compared: true when some value of the left equals some value of the
// right. Addresses and domains are folded at extraction, so equality is exact.
std::optional<IrNode> Sema::same_value_test(const lang::Condition& c, const FieldRef& field) {
  const lang::Operand& rhs = c.rhs;
  if (rhs.kind != lang::OperandKind::Literal || rhs.literal.kind != LiteralKind::Path) return std::nullopt;
  const lang::Literal& l = rhs.literal;
  if (find_name(consts_, l.text, l.span) != consts_.end() ||
      find_name(lists_, l.text, l.span) != lists_.end()) {
    return std::nullopt;
  }
  auto other = field_by_path(l.text);
  if (!other) return std::nullopt;
  const ValueKind kind = vm::field_info(field.field).kind, other_kind = vm::field_info(*other).kind;
  std::string problem;
  if (kind != other_kind) {
    problem = "`" + field.display + "` is " + std::string(vm::kind_name(kind)) + ", `" + l.text + "` is " +
              std::string(vm::kind_name(other_kind));
  } else if (kind == ValueKind::Number) {
    problem = "numbers are compared with ==";
  } else if (!field.header_filter.empty() || vm::takes_argument(*other)) {
    problem = "fields with an argument (header \"NAME\", dnsbl(...)) cannot be compared with a field";
  } else if (c.nocase && kind == ValueKind::Text) {
    problem = "`nocase` is not supported between two fields";
  }
  if (!problem.empty()) {
    diagnostics_.error("E021", "these two fields cannot be compared", rhs.span, problem,
                       "compare two fields of the same kind: `reply_to.domain is from.domain`");
    return IrNode::constant(false, c.span);
  }
  IrNode n;
  n.op = IrOp::SameValue;
  n.span = c.span;
  n.field = field.field;
  n.bound = field.bound;
  n.index = static_cast<uint32_t>(*other);
  return n;
}

}  // namespace mp::compiler
