// Semantic analysis, part 2: conditions. Resolves the left side of each test to a
// field, checks the operator against the field's kind, resolves the right side to
// values of that kind, and emits IR with pattern/set/net ids.
#include <hs/hs.h>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "compiler/sema.h"
#include "runtime/identity.h"
#include "vm/facts.h"
#include "vm/pcre.h"

namespace mp::compiler {

namespace {

using lang::CompareOp;
using lang::LiteralKind;
using vm::FieldId;
using vm::ValueKind;

const std::map<std::string, std::string>& path_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"from", "from.address"},
      {"to", "to.address"},
      {"cc", "cc.address"},
      {"reply_to", "reply_to.address"},
      {"sender.address", "sender"},
      {"recipient", "recipients"},
      {"recipient.address", "recipients"},
      {"recipients.address", "recipients"},
      {"recipient.domain", "recipients.domain"},
      {"url", "urls"},
      {"url.domain", "urls.domain"},
      {"url.text_domain", "urls.text_domain"},
      {"url.flags", "urls.flags"},
      {"attachment.name", "attachments.name"},
      {"attachment.extension", "attachments.extension"},
      {"attachment.content_type", "attachments.content_type"},
      {"attachment.size", "attachments.size"},
      {"attachment.type", "attachments.type"},
      {"attachment.flags", "attachments.flags"},
  };
  return aliases;
}

// Other products' words for this language's fields and their parts (`envelope.from`,
// `cc.addr`, `from.email`, `attachment.filename`): the hint of E010 names ours.
std::vector<std::string> other_names(const std::string& path) {
  static const std::map<std::string, std::string> wholes = {
      {"envelope.from", "sender"},
      {"envelope.sender", "sender"},
      {"envelope_from", "sender"},
      {"mail_from", "sender"},
      {"mailfrom", "sender"},
      {"return_path", "sender"},
      {"envelope.to", "recipients"},
      {"envelope.rcpt", "recipients"},
      {"envelope_to", "recipients"},
      {"rcpt", "recipients"},
      {"rcpt_to", "recipients"},
      {"ip", "client.ip"},
      {"client_ip", "client.ip"},
      {"remote_ip", "client.ip"},
      {"sender_ip", "client.ip"},
      {"client.address", "client.ip"},
      {"ehlo", "helo"},
      {"client.helo", "helo"},
      {"rdns", "ptr"},
      {"client.ptr", "ptr"},
      {"client.hostname", "ptr"},
      {"message.size", "size"},
      {"attachment", "attachments"},
      {"url", "urls"},
  };
  static const std::map<std::string, std::string> parts = {
      {"email", "address"},
      {"addr", "address"},
      {"mail", "address"},
      {"mailbox", "address"},
      {"localpart", "local"},
      {"local_part", "local"},
      {"user", "local"},
      {"username", "local"},
      {"name", "display_name"},
      {"display", "display_name"},
      {"displayname", "display_name"},
      {"host", "domain"},
      {"hostname", "domain"},
      {"filename", "name"},
      {"ext", "extension"},
      {"mime_type", "content_type"},
      {"mimetype", "content_type"},
  };
  auto mapped = [](const std::map<std::string, std::string>& table, const std::string& word) {
    auto it = table.find(word);
    return it == table.end() ? word : it->second;
  };
  std::vector<std::string> out{mapped(wholes, path)};
  if (const size_t dot = path.rfind('.'); dot != std::string::npos) {
    out.push_back(mapped(wholes, path.substr(0, dot)) + "." + mapped(parts, path.substr(dot + 1)));
  }
  return out;
}

// The name members take inside `any C (...)`: "attachments" for attachments, etc.
std::string member_root(vm::Collection c) {
  std::string_view names = vm::collection_names(c);
  return std::string(names.substr(0, names.find(' ')));
}

// A DNS list zone: dotted labels of letters, digits, '-' and '_', short enough to
// leave room for the reversed client address in front (RFC 5782).
bool dns_zone_ok(std::string_view zone) {
  if (zone.empty() || zone.size() > 180 || zone.find('.') == std::string_view::npos || zone.front() == '.' ||
      zone.back() == '.' || zone.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(zone.begin(), zone.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

IrNode negate_if(bool negated, IrNode node) {
  if (!negated) return node;
  if (node.is_constant()) return IrNode::constant(node.op == IrOp::False, node.span);
  IrNode n;
  n.op = IrOp::Not;
  n.span = node.span;
  n.children.push_back(std::move(node));
  return n;
}

// n-ary and/or with constant folding.
IrNode junction(IrOp op, std::vector<IrNode> parts, lang::Span span) {
  bool is_and = op == IrOp::And;
  IrNode n;
  n.op = op;
  n.span = span;
  for (auto& p : parts) {
    if (p.is_constant()) {
      bool value = p.op == IrOp::True;
      if (value != is_and) return IrNode::constant(value, span);  // false in and, true in or
      continue;
    }
    n.children.push_back(std::move(p));
  }
  if (n.children.empty()) return IrNode::constant(is_and, span);
  if (n.children.size() == 1) return std::move(n.children[0]);
  return n;
}

// An or-tree of tests on the items of `c` only.
bool is_item_test_tree(const IrNode& n, vm::Collection c) {
  if (n.op == IrOp::Or) {
    return std::all_of(n.children.begin(), n.children.end(),
                       [c](const IrNode& child) { return is_item_test_tree(child, c); });
  }
  // `text_domain is urls.domain` pairs two values of one item: it needs the loop.
  if (n.op == IrOp::SameValue && vm::field_info(static_cast<vm::FieldId>(n.index)).collection == c)
    return false;
  return is_field_test(n.op) && vm::field_info(n.field).collection == c;
}

void unbind(IrNode& n) {
  n.bound = false;
  for (auto& child : n.children) unbind(child);
}

// `*@example.com` and `@example.com` (SpamAssassin whitelist_from, console exports)
// mean every address at that domain.
std::optional<std::string> domain_wildcard(const lang::Literal& l) {
  if (l.kind != LiteralKind::String && l.kind != LiteralKind::Address && l.kind != LiteralKind::Path) {
    return std::nullopt;
  }
  std::string_view text = l.text;
  if (text.starts_with("*@")) text.remove_prefix(1);
  if (!text.starts_with('@') || text.size() < 2 || text.find('@', 1) != std::string_view::npos)
    return std::nullopt;
  return runtime::fold_domain(text.substr(1));
}

// `*.example.com` (console exports, safe-sender lists) means every subdomain of
// example.com, not example.com itself: ".example.com", folded, for `ends with`.
std::optional<std::string> subdomain_wildcard(const lang::Literal& l) {
  if (l.kind != LiteralKind::String && l.kind != LiteralKind::Path) return std::nullopt;
  std::string_view text = l.text;
  if (!text.starts_with("*.") || text.size() < 3 ||
      text.find_first_of("*@/: \t", 1) != std::string_view::npos)
    return std::nullopt;
  return "." + runtime::fold_domain(text.substr(2));
}

// Well-known DNS lists of domains (RHSBL, URI lists), under their public names or a
// subscriber's prefix (`KEY.dbl.dq.spamhaus.net`): asked about an IP address they
// answer with an error code, such as Spamhaus DBL's 127.0.1.255.
bool lists_domains(std::string_view zone) {
  static constexpr std::string_view kDomainLists[] = {
      "dbl.spamhaus.org",
      "zrd.spamhaus.org",
      "dbl.dq.spamhaus.net",
      "zrd.dq.spamhaus.net",
      "multi.uribl.com",
      "black.uribl.com",
      "grey.uribl.com",
      "red.uribl.com",
      "multi.surbl.org",
      "uribl.spameatingmonkey.net",
      "fresh.spameatingmonkey.net",
      "rhsbl.sorbs.net",
      "dbl.0spam.org",
  };
  return std::any_of(std::begin(kDomainLists), std::end(kDomainLists), [&](std::string_view list) {
    return zone == list ||
           (zone.size() > list.size() && zone.ends_with(list) && zone[zone.size() - list.size() - 1] == '.');
  });
}

bool is_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](unsigned char c) { return c > ' ' && c < 0x7F && c != ':'; });
}

ValueKind kind_of(const FieldRef& field) {
  return vm::field_info(field.field).kind;
}

// Converts every complete non-ASCII label of a domain fragment (".рф", "пример.")
// to punycode, the form domain values are compared in.
std::string fold_labels(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find_first_of(".@", start);
    std::string label = text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool ascii = std::all_of(label.begin(), label.end(), [](unsigned char ch) { return ch < 0x80; });
    out += ascii ? label : runtime::fold_domain(label);
    if (dot == std::string::npos) break;
    out += text[dot];
    start = dot + 1;
  }
  return out;
}

}  // namespace

std::string domain_field_for(const std::string& address_field) {
  std::string base = address_field;
  if (base.ends_with(".address")) base.erase(base.size() - 8);
  return base + ".domain";
}

bool field_is_caseless(FieldId field) {
  ValueKind kind = vm::field_info(field).kind;
  if (kind == ValueKind::Address || kind == ValueKind::Domain) return true;
  std::string_view name = vm::field_info(field).name;
  return field == FieldId::AttachmentName || field == FieldId::AttachmentExtension ||
         field == FieldId::AttachmentType || field == FieldId::ArchiveMemberName ||
         field == FieldId::AttachmentTrueType || field == FieldId::ArchiveMemberExtension ||
         field == FieldId::ArchiveMemberType || field == FieldId::Precedence || name.ends_with(".local");
}

IrNode Sema::condition(const lang::Condition& c) {
  switch (c.kind) {
    case lang::CondKind::Not: {
      under_not_ = !under_not_;
      IrNode inner = condition(*c.children[0]);
      under_not_ = !under_not_;
      return negate_if(true, std::move(inner));
    }
    case lang::CondKind::And:
    case lang::CondKind::Or: {
      std::vector<IrNode> parts;
      for (const auto& child : c.children) parts.push_back(condition(*child));
      return junction(c.kind == lang::CondKind::And ? IrOp::And : IrOp::Or, std::move(parts), c.span);
    }
    case lang::CondKind::Quantified: return quantified(c);
    case lang::CondKind::Compare:
      if (auto each = call_per_argument(c)) return std::move(*each);
      return compare(c);
    case lang::CondKind::Bool:
      if (auto each = call_per_argument(c)) return std::move(*each);
      return bool_condition(c);
    case lang::CondKind::Sum: return sum_condition(c);
  }
  return IrNode::constant(false, c.span);
}

// `dnsbl(reputation.dnsbl_zones)`: a call whose argument names a list (a const, list
// or option) is the test once per entry, any of them: the stdlib's zones come from
// an option. An empty list makes the test false, and no DNS question is asked.
std::optional<IrNode> Sema::call_per_argument(const lang::Condition& c) {
  const lang::Operand& call = c.lhs;
  if (call.kind != lang::OperandKind::Call || call.args.size() != 1) return std::nullopt;
  const lang::Literal& name = call.args[0].literal;
  if (call.args[0].kind != lang::OperandKind::Literal || name.kind != LiteralKind::Path ||
      (find_name(consts_, name.text, name.span) == consts_.end() &&
       find_name(lists_, name.text, name.span) == lists_.end())) {
    return std::nullopt;
  }
  std::vector<ListItem> entries;
  expand_value(name, entries, 0);
  std::vector<IrNode> tests;
  for (const ListItem& entry : entries) {
    lang::Condition one = c;
    one.negated = false;
    one.lhs.args[0].literal = entry.literal;
    one.lhs.args[0].literal.kind = LiteralKind::String;  // a zone or header name, as if quoted
    one.lhs.args[0].span = entry.literal.span;
    tests.push_back(c.kind == lang::CondKind::Bool ? bool_condition(one) : compare(one));
  }
  return negate_if(c.negated, junction(IrOp::Or, std::move(tests), c.span));
}

IrNode Sema::bool_condition(const lang::Condition& c) {
  const lang::Operand& o = c.lhs;
  if (o.kind == lang::OperandKind::Literal && o.literal.kind == LiteralKind::Bool) {
    return IrNode::constant(o.literal.number != 0, c.span);
  }
  if (o.kind == lang::OperandKind::Literal && o.literal.kind == LiteralKind::Path) {
    auto constant = find_name(consts_, o.literal.text, o.literal.span);
    if (constant != consts_.end() && constant->second->value.kind == LiteralKind::Bool) {
      used_names_.insert(constant->first);
      return IrNode::constant(constant->second->value.number != 0, c.span);
    }
    auto def = find_name(defs_, o.literal.text, o.literal.span);
    if (def != defs_.end()) {
      used_names_.insert(def->first);
      if (!defs_in_progress_.insert(def->first).second) {
        diagnostics_.error("E051", "`" + def->first + "` refers to itself", c.span, "recursive use");
        return IrNode::constant(false, c.span);
      }
      IrNode body = condition(*def->second->condition);
      defs_in_progress_.erase(def->first);
      return body;
    }
  }
  if (o.kind == lang::OperandKind::Call) {
    // dnsbl("Z") / dnswl("Z") alone: the address is listed (any answer at all).
    auto call = call_field(o, true);
    if (!call) return IrNode::constant(false, c.span);
    if (vm::field_info(call->field).kind != ValueKind::Ip) {
      diagnostics_.error("E020", "`" + o.name + "(...)` is not a condition by itself", c.span,
                         "compare it with something", "e.g. `" + o.name + "(...) is \"...\"`");
      return IrNode::constant(false, c.span);
    }
    IrNode n;
    n.op = IrOp::InNet;
    n.span = c.span;
    n.field = call->field;
    std::vector<runtime::Cidr> any = {*runtime::Cidr::parse("0.0.0.0/0"), *runtime::Cidr::parse("::/0")};
    n.index = nets.add(vm::NetInfo{std::move(any), "is listed", call->header_filter});
    return n;
  }
  if (o.kind == lang::OperandKind::Count || resolve_field(o, false)) {
    diagnostics_.error("E020", "a field is not a condition by itself", c.span,
                       "compare this field with something",
                       "e.g. `subject contains \"invoice\"` or `from.domain is example.com`");
  } else {
    std::string text(sources_.slice(o.span));
    diagnostics_.error("E012", "unknown name `" + text + "`", o.span, "not a def, field or constant",
                       suggest_field(text));
  }
  return IrNode::constant(false, c.span);
}

IrNode Sema::quantified(const lang::Condition& c) {
  auto collection = vm::collection_by_name(c.collection);
  if (!collection) {
    diagnostics_.error(
        "E060", "`" + c.collection + "` is not a collection", c.collection_span, "cannot range over this",
        "collections: attachments, archive_members, urls, recipients, from, to, cc, reply_to, headers");
    return IrNode::constant(false, c.span);
  }
  bound_.push_back(*collection);
  IrNode body = condition(*c.children[0]);
  bound_.pop_back();
  if (body.is_constant()) {
    // any over no items is false and all over no items is true, whatever the body.
    if ((c.quantifier == lang::Quantifier::Any) == (body.op == IrOp::True)) {
      IrNode count;
      count.op = IrOp::NumCompare;
      count.span = c.span;
      count.cmp = body.op == IrOp::True ? vm::CmpOp::Gt : vm::CmpOp::Eq;
      count.lhs.kind = IrNumber::Kind::Count;
      count.lhs.collection = *collection;
      return count;  // any(true) ⇔ count > 0; all(false) ⇔ count == 0
    }
    return IrNode::constant(body.op == IrOp::True, c.span);
  }
  // `any C (t1 or t2 …)` over single-item tests is the same as testing any item:
  // drop the loop and let each test look at every item (one bit test each).
  if (c.quantifier == lang::Quantifier::Any && is_item_test_tree(body, *collection)) {
    unbind(body);
    return body;
  }
  IrNode n;
  n.op = IrOp::Loop;
  n.span = c.span;
  n.loop = c.quantifier == lang::Quantifier::Any ? vm::LoopKind::Any : vm::LoopKind::All;
  n.collection = *collection;
  n.children.push_back(std::move(body));
  return n;
}

bool Sema::is_bound(vm::Collection c) const {
  return std::find(bound_.begin(), bound_.end(), c) != bound_.end();
}

std::optional<FieldId> Sema::field_by_path(const std::string& path) const {
  auto alias = path_aliases().find(path);
  const std::string& name = alias == path_aliases().end() ? path : alias->second;
  for (size_t i = 0; i < vm::kFieldCount; ++i) {
    auto id = static_cast<FieldId>(i);
    if (id != FieldId::HeaderValue && id != FieldId::HeaderLine && vm::field_info(id).name == name) return id;
  }
  return std::nullopt;
}

std::string Sema::suggest_field(const std::string& path) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < vm::kFieldCount; ++i)
    names.emplace_back(vm::field_info(static_cast<FieldId>(i)).name);
  for (const auto& [alias, target] : path_aliases()) names.push_back(alias);
  for (const auto& [name, def] : defs_) {
    if (name.find(':') == std::string::npos) names.push_back(name);  // the policy's own
  }
  if (std::string best = lang::closest_name(path, names); !best.empty())
    return "did you mean `" + best + "`?";
  for (const auto& other : other_names(path)) {
    if (other != path && field_by_path(other)) return "did you mean `" + other + "`?";
  }
  // Too far for a typo, but a field's start or its last part: `from.display` (for
  // from.display_name), `display_name` (for from.display_name, to.display_name, …).
  std::vector<std::string> related;
  for (const auto& n : names) {
    const bool extends =
        n.size() > path.size() && n.starts_with(path) && (n[path.size()] == '_' || n[path.size()] == '.');
    if ((extends || n.ends_with("." + path)) && std::find(related.begin(), related.end(), n) == related.end())
      related.push_back(n);
  }
  if (related.empty() || related.size() > 6) return "see docs/language.md for the list of fields";
  std::string hint = "did you mean ";
  for (size_t i = 0; i < related.size(); ++i)
    hint += (i == 0 ? "" : i + 1 == related.size() ? " or " : ", ") + ("`" + related[i] + "`");
  return hint + "?";
}

std::optional<FieldRef> Sema::resolve_field(const lang::Operand& o, bool report) {
  FieldRef ref;
  ref.span = o.span;
  ref.display = std::string(sources_.slice(o.span));
  if (o.kind == lang::OperandKind::Header || o.kind == lang::OperandKind::AnyHeader) {
    bool named = o.kind == lang::OperandKind::Header;
    ref.field = named ? FieldId::HeaderValue : FieldId::HeaderLine;
    ref.header_filter = named ? runtime::ascii_lowercase(o.header_name) : "";
    ref.bound = is_bound(vm::Collection::Headers);
    if (named && report && !is_field_name(o.header_name)) {
      // RFC 5322 3.6.8: a field name is printable ASCII without ':' or spaces; any
      // other name never matches a header.
      std::string fixed = o.header_name.substr(0, o.header_name.find(':'));
      std::replace_if(
          fixed.begin(), fixed.end(), [](unsigned char c) { return c <= ' '; }, '-');
      diagnostics_.error(
          "E023", "no header field is named `" + o.header_name + "`", o.span, "can never match",
          "a field name has no colon or spaces: header \"" + (fixed.empty() ? "Subject" : fixed) + "\"");
      return std::nullopt;
    }
    return ref;
  }
  if (o.kind == lang::OperandKind::Call) return call_field(o, report);
  if (o.kind != lang::OperandKind::Literal || o.literal.kind != LiteralKind::Path) {
    if (report) diagnostics_.error("E010", "expected a field on the left of the test", o.span, "not a field");
    return std::nullopt;
  }
  const std::string& path = o.literal.text;
  if (path == "received") {
    ref.field = FieldId::HeaderValue;
    ref.header_filter = "received";
    ref.bound = is_bound(vm::Collection::Headers);
    return ref;
  }
  std::optional<FieldId> field;
  // Inside `any C (...)`, a bare member name refers to C's current item.
  for (auto it = bound_.rbegin(); it != bound_.rend() && !field; ++it) {
    field = field_by_path(member_root(*it) + "." + path);
  }
  if (!field) field = field_by_path(path);
  if (!field) {
    if (report)
      diagnostics_.error("E010", "unknown field `" + path + "`", o.span, "no such field",
                         suggest_field(path));
    return std::nullopt;
  }
  ref.field = *field;
  ref.bound = is_bound(vm::field_info(*field).collection);
  return ref;
}

// The facts written as calls. The argument becomes the test's filter, as the header
// name does for header "X": dnsbl("zen.example") → (Dnsbl, "zen.example").
std::optional<FieldRef> Sema::call_field(const lang::Operand& o, bool report) {
  static const std::map<std::string, FieldId, std::less<>> kFunctions = {
      {"dnsbl", FieldId::Dnsbl},
      {"dnswl", FieldId::Dnswl},
      {"mx", FieldId::Mx},
      {"country", FieldId::Country},
      {"header_number", FieldId::HeaderNumber},
      {"header_address", FieldId::HeaderAddress},
      {"first_header", FieldId::FirstHeader},
      {"last_header", FieldId::LastHeader},
      {"raw_header", FieldId::HeaderRaw},
      {"mime_header", FieldId::MimeHeader},
      {"relays", FieldId::Relays},
      {"reputation", FieldId::Reputation},
      {"net_reputation", FieldId::NetReputation},
      {"rate", FieldId::Rate},
      {"rate_surge", FieldId::RateSurge}};
  auto function = kFunctions.find(o.name);
  if (function == kFunctions.end()) {
    if (report) {
      diagnostics_.error(
          "E011", "unknown function `" + o.name + "`", o.name_span, "no such function",
          "functions: country(IP-FIELD), dnsbl(\"ZONE\"), dnswl(\"ZONE\"), first_header(\"NAME\"), "
          "header_address(\"NAME\"), last_header(\"NAME\"), "
          "header_number(\"NAME\"), mime_header(\"NAME\"), mx(DOMAIN-FIELD), net_reputation(IP-FIELD), "
          "rate(KEY-FIELD, WINDOW), rate_surge(KEY-FIELD, WINDOW), raw_header(\"NAME\"), "
          "relays(\"KIND\"), reputation(IP-FIELD)");
    }
    return std::nullopt;
  }
  FieldRef ref;
  ref.field = function->second;
  ref.span = o.span;
  ref.display = std::string(sources_.slice(o.span));
  if (ref.field == FieldId::Rate || ref.field == FieldId::RateSurge)
    return rate_field(o, std::move(ref), report);
  const lang::Operand* arg = o.args.size() == 1 ? &o.args[0] : nullptr;
  bool zone = ref.field == FieldId::Dnsbl || ref.field == FieldId::Dnswl;
  const bool header = ref.field == FieldId::HeaderNumber || ref.field == FieldId::HeaderRaw ||
                      ref.field == FieldId::MimeHeader || ref.field == FieldId::HeaderAddress ||
                      ref.field == FieldId::FirstHeader || ref.field == FieldId::LastHeader;
  if (header && arg && arg->kind == lang::OperandKind::Literal && arg->literal.kind == LiteralKind::String &&
      is_field_name(arg->literal.text)) {
    ref.header_filter = runtime::ascii_lowercase(arg->literal.text);
    ref.bound = ref.field == FieldId::HeaderRaw && is_bound(vm::Collection::Headers);
    return ref;
  }
  // relays("KIND"), KIND in any case: SpamAssassin's names are X-Spam-Relays-Trusted, ….
  const bool relays = ref.field == FieldId::Relays;
  const std::string kind =
      arg && arg->kind == lang::OperandKind::Literal && arg->literal.kind == LiteralKind::String
          ? runtime::ascii_lowercase(arg->literal.text)
          : "";
  if (relays && (kind == "trusted" || kind == "untrusted" || kind == "internal" || kind == "external")) {
    ref.header_filter = kind;
    return ref;
  }
  if (zone && arg && arg->kind == lang::OperandKind::Literal && arg->literal.kind == LiteralKind::String &&
      dns_zone_ok(arg->literal.text)) {
    ref.header_filter = runtime::ascii_lowercase(arg->literal.text);
    if (report && lists_domains(ref.header_filter)) {
      diagnostics_.error(
          "E015", "`" + arg->literal.text + "` lists domains, not client addresses", arg->span,
          "asked about client.effective_ip, it answers with an error code read as \"listed\"",
          "ask an address list (zen.spamhaus.org, bl.spamcop.net) here; domain lists (Spamhaus "
          "DBL, URIBL, SURBL) are for the domains of links and senders");
      return std::nullopt;
    }
    return ref;
  }
  const bool ip_argument = ref.field == FieldId::Country || ref.field == FieldId::Reputation ||
                           ref.field == FieldId::NetReputation;
  if (!zone && !header && !relays && arg && arg->kind == lang::OperandKind::Literal &&
      arg->literal.kind == LiteralKind::Path) {
    auto field = field_by_path(arg->literal.text);
    if (field && vm::fact_argument_ok(ref.field, vm::field_info(*field).name)) {
      ref.header_filter = std::string(vm::field_info(*field).name);
      return ref;
    }
  }
  if (report) {
    std::string expected = zone     ? "one zone name in quotes, e.g. `" + o.name + "(\"zen.spamhaus.org\")`"
                           : header ? "one header name in quotes, e.g. `" + o.name + "(\"X-Spam-Score\")`"
                           : relays ? std::string(
                                          "one part of the path in quotes: \"trusted\", \"untrusted\", "
                                          "\"internal\" or \"external\"")
                           : ip_argument ? "one IP field, e.g. `" + o.name + "(client.ip)` or `" + o.name +
                                               "(client.effective_ip)`"
                                         : "one domain field, e.g. `mx(sender.domain)` or `mx(helo)`";
    diagnostics_.error("E015", "bad argument to `" + o.name + "`", arg ? arg->span : o.span,
                       "not accepted here", "`" + o.name + "` takes " + expected);
  }
  return std::nullopt;
}

// `rate(KEY-FIELD, WINDOW)`: a field with one value (its value is the key whose messages
// are counted) and a window of whole seconds, minutes, hours, days or weeks (`90s`,
// `30m`, `1h`, `7d`, `1w`). The filter is "FIELD/SECONDS". `rate_surge` takes the same,
// with a window of at most half its week's baseline (3.5 days).
std::optional<FieldRef> Sema::rate_field(const lang::Operand& o, FieldRef ref, bool report) {
  std::optional<std::string> argument;
  if (o.args.size() == 2 && o.args[0].kind == lang::OperandKind::Literal &&
      o.args[0].literal.kind == LiteralKind::Path && o.args[1].kind == lang::OperandKind::Literal) {
    const auto field = field_by_path(o.args[0].literal.text);
    if (field) argument = vm::rate_argument(ref.field, vm::field_info(*field).name, o.args[1].literal.text);
  }
  if (argument) {
    ref.header_filter = std::move(*argument);
    return ref;
  }
  if (report)
    diagnostics_.error("E015", "bad argument to `" + o.name + "`", o.span, "not accepted here",
                       vm::rate_argument_rules(ref.field));
  return std::nullopt;
}

std::string Sema::source_of(lang::Span from, lang::Span to) const {
  return std::string(sources_.slice(lang::Span{from.file, from.begin, std::max(from.begin, to.end)}));
}

// `OPTION is WORD`, `OPTION in [A, B]` (or a const): decided when the policy is
// compiled, so a module can branch on its settings (stdlib: antivirus.on_error).
std::optional<IrNode> Sema::setting_test(const lang::Condition& c) {
  const lang::Operand& lhs = c.lhs;
  if (lhs.kind != lang::OperandKind::Literal || lhs.literal.kind != LiteralKind::Path) return std::nullopt;
  if (field_by_path(lhs.literal.text)) return std::nullopt;  // a field keeps its meaning
  auto constant = find_name(consts_, lhs.literal.text, lhs.literal.span);
  if (constant == consts_.end()) return std::nullopt;
  const lang::Literal& value = constant->second->value;
  used_names_.insert(constant->first);
  if ((c.op != CompareOp::Is && c.op != CompareOp::In) || value.kind == LiteralKind::List) {
    diagnostics_.error("E020",
                       "`" + lhs.literal.text + "` is a setting; it can only be tested with `is` or `in`",
                       c.op_span, "not applicable to a setting", "write `" + lhs.literal.text + " is VALUE`");
    return IrNode::constant(false, c.span);
  }
  // A word and a string with the same text are the same value (`on_error is "tempfail"`:
  // action names are keywords, so a test quotes them).
  const auto textual = [](LiteralKind k) { return k == LiteralKind::Path || k == LiteralKind::String; };
  bool found = false;
  for (const ListItem& item : values(c.rhs, c.op == CompareOp::In)) {
    const bool same_kind =
        item.literal.kind == value.kind || (textual(item.literal.kind) && textual(value.kind));
    found |= same_kind && item.literal.text == value.text && item.literal.number == value.number;
  }
  return IrNode::constant(found != c.negated, c.span);
}

IrNode Sema::compare(const lang::Condition& c) {
  if (auto decided = setting_test(c)) return std::move(*decided);
  bool relational = c.op == CompareOp::Lt || c.op == CompareOp::Le || c.op == CompareOp::Gt ||
                    c.op == CompareOp::Ge || c.op == CompareOp::Eq || c.op == CompareOp::Ne;
  bool count = c.lhs.kind == lang::OperandKind::Count;
  auto field = count ? std::nullopt : resolve_field(c.lhs, true);
  if (!count && !field) return IrNode::constant(false, c.span);
  bool number = count || vm::field_info(field->field).kind == ValueKind::Number;
  if (number && (relational || c.op == CompareOp::Is)) return negate_if(c.negated, numeric_test(c));
  if (number) {
    std::string what = count ? std::string("count(...)") : "`" + field->display + "`";
    diagnostics_.error("E020", what + " is a number; this operator does not apply to numbers", c.op_span,
                       "not applicable to a number", "compare numbers with <, <=, >, >=, == or is");
    return IrNode::constant(false, c.span);
  }
  if (relational) return negate_if(c.negated, numeric_test(c));  // reports the non-number side
  ValueKind kind = vm::field_info(field->field).kind;
  bool content = c.op == CompareOp::Contains || c.op == CompareOp::StartsWith ||
                 c.op == CompareOp::EndsWith || c.op == CompareOp::Matches;
  if (content && kind == ValueKind::Ip) {
    diagnostics_.error("E020", "`" + field->display + "` is an IP address; this test needs text", c.op_span,
                       "not applicable to an IP address",
                       "test IP addresses with `is` or `in` and CIDR prefixes");
    return IrNode::constant(false, c.span);
  }
  if (auto same = c.op == CompareOp::Is ? same_value_test(c, *field) : std::nullopt) {
    return negate_if(c.negated, std::move(*same));
  }
  IrNode test = content                        ? content_test(c, *field)
                : c.op == CompareOp::Resembles ? resembles_test(c, *field)
                                               : membership_test(c, *field);
  return negate_if(c.negated, std::move(test));
}

// A regex no word of a closed vocabulary matches (`spf matches /^passs$/`) is E023, as
// a literal is: PCRE2 runs it on each word as the VM would on the value.
void Sema::regex_can_match(const lang::Condition& c, const FieldRef& field, const std::string& expression,
                           uint32_t flags) {
  if (vm::field_vocabulary(field.field).empty()) return;
  vm::Pcre2Code code = vm::compile_pcre2(expression, flags, nullptr);
  if (!code) return;  // the pattern table reports it
  vm::Pcre2MatchData data = vm::make_match_data();
  auto occurs = [&](std::string_view word) {
    return vm::match_pcre2(code.get(), data.get(), word).match.has_value();
  };
  ListItem pattern;
  pattern.literal.span = c.rhs.span;
  pattern.literal.text = c.regex;
  vocabulary_admits(pattern, field, c.negated != under_not_, occurs,
                    "`" + field.display + "` never has a value that /" + c.regex + "/ matches", "");
}

IrNode Sema::content_test(const lang::Condition& c, const FieldRef& field) {
  bool caseless = c.nocase || field_is_caseless(field.field);
  if (c.op == CompareOp::Matches) {
    uint32_t flags = 0;
    bool extended = false;  // `x`: Perl's free spacing, as the inline (?x) both engines read
    for (char f : c.regex_flags) {
      if (f == 'i')
        flags |= HS_FLAG_CASELESS;
      else if (f == 's')
        flags |= HS_FLAG_DOTALL;
      else if (f == 'm')
        flags |= HS_FLAG_MULTILINE;
      else if (f == 'x')
        extended = true;
      else
        diagnostics_.error("E030", std::string("unknown regex flag `") + f + "`", c.rhs.span,
                           "flags are i, s, m and x");
    }
    if (caseless) flags |= HS_FLAG_CASELESS;
    IrNode n;
    n.op = IrOp::Match;
    n.span = c.span;
    n.field = field.field;
    n.bound = field.bound;
    const std::string expression = (extended ? "(?x)" : "") + c.regex;
    n.index = patterns.add_regex(field.field, expression, flags, field.header_filter,
                                 source_of(c.op_span, c.span), c.rhs.span);
    regex_can_match(c, field, expression, flags);
    return n;
  }
  std::vector<IrNode> alternatives;
  for (const auto& item : values(c.rhs, false, &field)) {
    auto text = item_as(item, ValueKind::Text, field);
    if (!text || !value_can_occur(item, caseless ? runtime::ascii_lowercase(*text) : *text, c.op,
                                  c.negated != under_not_, field))
      continue;
    if (kind_of(field) == ValueKind::Domain || kind_of(field) == ValueKind::Address) {
      *text = fold_labels(*text);  // values are punycode: compare like with like
    }
    alternatives.push_back(literal_match(c, field, *text, caseless, item.literal.span));
  }
  return junction(IrOp::Or, std::move(alternatives), c.span);
}

IrNode Sema::literal_match(const lang::Condition& c, const FieldRef& field, const std::string& text,
                           bool caseless, lang::Span span) {
  IrNode n;
  n.op = IrOp::Match;
  n.span = c.span;
  n.field = field.field;
  n.bound = field.bound;
  const bool suffix = c.op == CompareOp::EndsWith || c.op == CompareOp::In || c.op == CompareOp::Is;
  n.index = patterns.add_literal(field.field, text, c.op == CompareOp::StartsWith, suffix, caseless,
                                 field.header_filter, source_of(c.op_span, c.span), span);
  return n;
}

IrNode Sema::membership_test(const lang::Condition& c, const FieldRef& field) {
  ValueKind kind = vm::field_info(field.field).kind;
  // Address and domain values are folded at extraction; other caseless fields
  // (extensions, content types, local parts) and `nocase` compare lowercased.
  bool lowercase = kind == ValueKind::Text && (c.nocase || field_is_caseless(field.field));
  std::vector<std::string> entries, wildcard_domains;
  std::vector<runtime::Cidr> prefixes;
  std::vector<IrNode> alternatives;
  for (const auto& item : values(c.rhs, c.op == CompareOp::In, &field)) {
    if (auto domain = kind == ValueKind::Address ? domain_wildcard(item.literal) : std::nullopt) {
      wildcard_domains.push_back(*domain);
      continue;
    }
    if (auto suffix = kind == ValueKind::Domain ? subdomain_wildcard(item.literal) : std::nullopt) {
      alternatives.push_back(literal_match(c, field, *suffix, true, item.literal.span));
      continue;
    }
    auto value = item_as(item, kind, field);
    if (!value || !value_can_occur(item, c.nocase ? runtime::ascii_lowercase(*value) : *value, c.op,
                                   c.negated != under_not_, field))
      continue;
    if (kind == ValueKind::Ip)
      prefixes.push_back(*runtime::Cidr::parse(*value));
    else
      entries.push_back(lowercase ? runtime::ascii_lowercase(*value) : *value);
  }
  IrNode n;
  n.span = c.span;
  n.field = field.field;
  n.bound = field.bound;
  if (kind == ValueKind::Ip) {
    n.op = IrOp::InNet;
    n.index = nets.add(vm::NetInfo{std::move(prefixes), source_of(c.op_span, c.span), field.header_filter});
    return n;
  }
  if (IrNode set = set_test(c, field, std::move(entries), lowercase); !set.is_constant()) {
    alternatives.push_back(std::move(set));
  }
  if (!wildcard_domains.empty()) {
    const std::optional<FieldId> domain_field = field_by_path(domain_field_for(field.display));
    if (domain_field) {
      FieldRef domains = field;
      domains.field = *domain_field;
      alternatives.push_back(set_test(c, domains, std::move(wildcard_domains), false));
    }
  }
  return junction(IrOp::Or, std::move(alternatives), c.span);
}

IrNode Sema::set_test(const lang::Condition& c, const FieldRef& field, std::vector<std::string> entries,
                      bool lowercase) {
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  if (entries.empty()) return IrNode::constant(false, c.span);
  IrNode n;
  n.span = c.span;
  n.field = field.field;
  n.bound = field.bound;
  vm::SetInfo set{field.field, lowercase ? vm::Fold::Lower : vm::Fold::Exact, field.header_filter,
                  std::move(entries), source_of(c.op_span, c.span)};
  n.op = IrOp::InSet;
  n.index = sets.add(std::move(set));
  return n;
}

}  // namespace mp::compiler
