// Recipients in rules: the org.groups setting, `user ADDRESS` and `group NAME` in a
// rule's scope, and the order they give rules within a stage (LANGUAGE.md: a narrower
// scope's rules come first).
#include <algorithm>
#include <cctype>

#include "compiler/sema.h"
#include "runtime/identity.h"
#include "runtime/ip.h"

namespace mp::compiler {

namespace {

bool is_group_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "alice@widget.com, bob@widget.com sales.widget.com" → the entries.
std::vector<std::string> split_members(std::string_view text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t begin = text.find_first_not_of(", \t", at);
    if (begin == std::string_view::npos) break;
    const size_t end = std::min(text.find_first_of(", \t", begin), text.size());
    out.emplace_back(text.substr(begin, end - begin));
    at = end;
  }
  return out;
}

// A domain as a group member: dot-separated labels of letters, digits, hyphens (or
// UTF-8, for IDN), none empty, none starting or ending with a hyphen, at least two.
bool is_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string_view::npos) return false;
  size_t at = 0;
  while (at <= domain.size()) {
    const size_t end = std::min(domain.find('.', at), domain.size());
    const std::string_view label = domain.substr(at, end - at);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (!(std::isalnum(u) || c == '-' || u >= 0x80)) return false;
    }
    at = end + 1;
  }
  return true;
}

// Why `member` cannot be a group member ("" when it can): an address or a domain.
std::string member_problem(std::string_view member) {
  if (runtime::IpAddress::parse(member)) return "an IP address is not a recipient";
  if (member.find('*') != std::string_view::npos)
    return "no wildcards: a domain stands for everyone at it (`widget.com`)";
  const size_t at = member.find('@');
  if (at == std::string_view::npos) return is_domain(member) ? "" : "not an address or a domain";
  if (member.find('@', at + 1) != std::string_view::npos) return "an address has one `@`";
  if (at == 0) return "the address has nothing before `@`";
  return is_domain(member.substr(at + 1)) ? "" : "the address's domain is not a domain";
}

constexpr const char* kGroupHint =
    "one group per line: `finance: alice@widget.com, bob@widget.com` (a domain stands for everyone at it)";

}  // namespace

// org.groups = file("groups.txt") or ["finance: alice@widget.com, bob@widget.com"].
// Lines naming the same group add to it.
std::vector<vm::RecipientGroup> Sema::group_setting(const lang::Setting& s) {
  std::vector<vm::RecipientGroup> groups;
  for (const ListItem& item : setting_items(s)) {
    const std::string& text = item.literal.text;
    const size_t colon = text.find(':');
    const std::string name = colon == std::string::npos ? std::string() : text.substr(0, colon);
    if (item.literal.kind != lang::LiteralKind::String || !is_group_name(name)) {
      diagnostics_.error(
          "E062", "`org.groups` entries are `GROUP: MEMBERS`", item.literal.span,
          item.origin.empty() ? "not a group line" : "line " + item.origin + " is not a group line",
          kGroupHint);
      continue;
    }
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.name == name; });
    if (group == groups.end()) group = groups.insert(groups.end(), vm::RecipientGroup{name, {}});
    for (const std::string& member : split_members(std::string_view(text).substr(colon + 1))) {
      if (const std::string problem = member_problem(member); !problem.empty()) {
        diagnostics_.error("E062", "`" + member + "` in group `" + name + "`: " + problem, item.literal.span,
                           item.origin.empty() ? "in this group" : "at " + item.origin, kGroupHint);
        continue;
      }
      const bool address = member.find('@') != std::string::npos;
      group->members.push_back(address ? runtime::fold_address(member) : runtime::fold_domain(member));
    }
  }
  for (const auto& group : groups) {
    if (group.members.empty())
      diagnostics_.error("E062", "group `" + group.name + "` has no members", s.span, "in org.groups",
                         "rules for an empty group never run; " + std::string(kGroupHint));
  }
  return groups;
}

// The users and groups of a rule's scope, checked: users are addresses (or consts and
// lists of them), groups are declared in org.groups.
void Sema::check_scope(const lang::Rule& rule, IrRule& out) {
  for (const lang::ScopeTerm& scope : rule.terms) {
    if (scope.kind == "user") {
      std::vector<ListItem> items;
      expand_value(scope.value, items, 0);
      for (const ListItem& item : items) {
        const std::string& text = item.literal.text;
        const size_t at = text.find('@');
        if (at == std::string::npos || at == 0 || at + 1 == text.size()) {
          diagnostics_.error("E063", "`user` takes an email address", item.literal.span, "not an address",
                             "e.g. `rule vip (user ceo@widget.com): …`; for many, a list of them");
          continue;
        }
        out.scope_users.push_back(runtime::fold_address(text));
      }
    } else if (scope.kind == "group") {
      std::vector<std::string> names;
      for (const auto& g : settings.groups) names.push_back(g.name);
      const std::string& name = scope.value.text;
      // `group finance` or `group "finance"`: the name either way.
      if ((scope.value.kind == lang::LiteralKind::Path || scope.value.kind == lang::LiteralKind::String) &&
          std::find(names.begin(), names.end(), name) != names.end()) {
        out.scope_groups.push_back(name);
        continue;
      }
      const std::string near = lang::closest_name(name, names);
      diagnostics_.error("E063", "unknown group `" + name + "`", scope.value.span, "not in org.groups",
                         !near.empty()   ? "did you mean `" + near + "`?"
                         : names.empty() ? "declare it: `settings { org.groups = file(\"groups.txt\") }`"
                                         : "the groups are: " + fmt_names(names));
    } else if (scope.kind == "until") {
      const auto expires = vm::expiry_of_date(scope.value.text);
      const bool textual =
          scope.value.kind == lang::LiteralKind::Path || scope.value.kind == lang::LiteralKind::String;
      if (!textual || !expires) {
        diagnostics_.error(
            "E063", "`until` takes a date", scope.value.span, "not a date (YYYY-MM-DD)",
            "e.g. `rule promo_exception (inbound, until 2026-12-31): …`; the rule runs through "
            "that day (UTC)");
      } else if (out.expires > 0) {
        diagnostics_.error("E063", "a rule has one `until` date", scope.value.span, "second date",
                           "keep the date the exception really ends");
      } else {
        out.expires = *expires;
      }
    } else {
      diagnostics_.error(
          "E063", "unknown scope `" + scope.kind + "`", scope.kind_span, "not a scope",
          "a rule's scope takes `inbound`, `outbound`, `internal`, `user ADDRESS`, `group NAME` "
          "and `until DATE`");
    }
  }
}

std::string Sema::fmt_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Within a stage: rules for users first, then rules for groups, then the rest, each in
// written order.
void order_by_scope(std::vector<IrRule>::iterator begin, std::vector<IrRule>::iterator end) {
  auto rank = [](const IrRule& r) { return !r.scope_users.empty() ? 0 : !r.scope_groups.empty() ? 1 : 2; };
  std::stable_sort(begin, end, [&](const IrRule& a, const IrRule& b) { return rank(a) < rank(b); });
}

}  // namespace mp::compiler
