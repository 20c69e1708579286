// Safe and blocked senders in the store (lists.h).
#include "state/lists.h"

#include <algorithm>

#include "runtime/identity.h"

namespace mp::state {

namespace {

constexpr std::string_view kPrefix = "list:";
constexpr std::string_view kMarker = "1";

}  // namespace

std::string_view list_kind_name(ListKind kind) {
  return kind == ListKind::Safe ? "safe" : "blocked";
}

std::optional<ListKind> list_kind_by_name(std::string_view name) {
  if (name == "safe") return ListKind::Safe;
  if (name == "blocked") return ListKind::Blocked;
  return std::nullopt;
}

std::string group_scope(std::string_view group) {
  return "group:" + std::string(group);
}

std::string user_scope(std::string_view address) {
  return "user:" + runtime::fold_address(address);
}

std::optional<std::string> list_entry(std::string_view text) {
  if (text.empty() || text.find_first_of(" \t\r\n/") != std::string_view::npos) return std::nullopt;
  if (auto ip = runtime::IpAddress::parse(text)) return ip->str();
  if (text.find(':') != std::string_view::npos) return std::nullopt;  // the keys' separator
  const size_t at = text.find('@');
  if (at != std::string_view::npos) {
    if (at == 0 || at + 1 == text.size() || text.find('@', at + 1) != std::string_view::npos)
      return std::nullopt;
    return runtime::fold_address(text);
  }
  if (text.find('.') == std::string_view::npos || text.front() == '.' || text.back() == '.')
    return std::nullopt;
  return runtime::fold_domain(text);
}

bool is_email_address(std::string_view text) {
  return text.find('@') != std::string_view::npos && list_entry(text).has_value();
}

std::vector<std::string> recipient_scopes(std::string_view recipient, std::span<const std::string> groups) {
  std::vector<std::string> scopes = {user_scope(recipient)};
  for (const std::string& g : groups) scopes.push_back(group_scope(g));
  scopes.emplace_back(kOrgScope);
  return scopes;
}

std::string list_key(ListKind kind, std::string_view scope, std::string_view entry) {
  return std::string(kPrefix) + std::string(list_kind_name(kind)) + ":" + key_part(scope) + ":" +
         key_part(entry);
}

std::optional<std::string> canonical_list_key(std::string_view key, std::string* problem) {
  auto fail = [problem](std::string why) -> std::optional<std::string> {
    if (problem) *problem = std::move(why);
    return std::nullopt;
  };
  std::string_view rest = key.substr(kPrefix.size());
  const size_t colon = rest.find(':');
  const auto kind = list_kind_by_name(rest.substr(0, colon));
  if (colon == std::string_view::npos || !kind) return fail("a list is `list:safe:` or `list:blocked:`");
  rest = rest.substr(colon + 1);
  std::string scope;
  if (rest.starts_with("org:")) {
    scope = kOrgScope;
    rest = rest.substr(4);
  } else if (rest.starts_with("group:") || rest.starts_with("user:")) {
    const bool user = rest.starts_with("user:");
    rest = rest.substr(user ? 5 : 6);
    const size_t end = rest.find(':');
    const std::string_view name = rest.substr(0, end);
    const std::string hashed = (user ? "user:" : "group:") + std::string(name);  // as list_key keeps it
    if (end != std::string_view::npos && is_hashed_key_part(hashed)) {
      scope = hashed;
    } else if (end == std::string_view::npos || name.empty() || (user && !is_email_address(name))) {
      return fail(user ? "the scope `user:ADDRESS:` needs an email address"
                       : "the scope `group:NAME:` needs a name");
    } else {
      scope = user ? user_scope(name) : group_scope(name);
    }
    rest = rest.substr(end + 1);
  } else {
    return fail("the scope is `org:`, `group:NAME:` or `user:ADDRESS:`");
  }
  const auto entry = is_hashed_key_part(rest) ? std::optional<std::string>(rest) : list_entry(rest);
  if (!entry) return fail("`" + std::string(rest) + "` is not an address, a domain or an IP address");
  return list_key(*kind, scope, *entry);
}

void list_add(Store& store, ListKind kind, std::string_view scope, std::string_view entry) {
  store.put(list_key(kind, scope, entry), kMarker);
}

bool list_remove(Store& store, ListKind kind, std::string_view scope, std::string_view entry) {
  return store.erase(list_key(kind, scope, entry));
}

std::vector<std::string> list_entries(Store& store, ListKind kind, std::string_view scope, size_t limit) {
  const std::string prefix = list_key(kind, scope, "");
  std::vector<std::string> out;
  for (const std::string& key : store.keys(prefix, limit)) out.push_back(key.substr(prefix.size()));
  return out;
}

std::vector<std::string> sender_entries(std::span<const std::string> addresses,
                                        const std::optional<runtime::IpAddress>& client) {
  std::vector<std::string> out;
  auto add = [&out](std::string entry) {
    if (!entry.empty() && std::find(out.begin(), out.end(), entry) == out.end())
      out.push_back(std::move(entry));
  };
  for (const std::string& address : addresses) {
    const size_t at = address.rfind('@');
    if (at == std::string::npos || at == 0) continue;
    add(address);
    // The domain and its parents down to two labels: vendor.example covers mail.vendor.example.
    std::string_view domain = std::string_view(address).substr(at + 1);
    while (domain.find('.') != std::string_view::npos) {
      add(std::string(domain));
      domain = domain.substr(domain.find('.') + 1);
    }
  }
  if (client) add(client->str());
  return out;
}

std::optional<ListMatch> find_listed(Store& store, std::span<const std::string> scopes,
                                     std::span<const std::string> entries) {
  std::vector<std::string> keys;
  for (const std::string& scope : scopes) {
    for (ListKind kind : {ListKind::Blocked, ListKind::Safe}) {
      for (const std::string& entry : entries) keys.push_back(list_key(kind, scope, entry));
    }
  }
  if (keys.empty()) return std::nullopt;
  const auto values = store.get_many(keys);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;
    // keys are scope-major, blocked before safe: the first hit is the answer.
    const size_t per_scope = 2 * entries.size();
    const bool blocked = i % per_scope < entries.size();
    return ListMatch{blocked ? ListKind::Blocked : ListKind::Safe, scopes[i / per_scope],
                     entries[i % entries.size()]};
  }
  return std::nullopt;
}

}  // namespace mp::state
