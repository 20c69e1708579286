// Safe and blocked senders at three levels — the organisation, a group of recipients,
// one recipient (seed 004's scope) — kept in the store, so that admins and users change
// them while the gateway runs (`policyc state`, `policyc release --approve-sender`).
// The policy reads them through the `sender_list` fact (vm/fields.def). Key layout in
// docs/state.md:
//   list:KIND:SCOPE:ENTRY = "1"     KIND  safe | blocked
//                                   SCOPE org | group:NAME | user:ADDRESS
//                                   ENTRY an address, a domain or an IP address, folded
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/api_export.h"
#include "runtime/ip.h"
#include "state/store.h"

namespace mp::state {

enum class ListKind { Safe, Blocked };
MP_API std::string_view list_kind_name(ListKind kind);  // "safe", "blocked"
MP_API std::optional<ListKind> list_kind_by_name(std::string_view name);

// The scopes: "org", "group:NAME", "user:ADDRESS" (the address folded).
inline constexpr std::string_view kOrgScope = "org";
MP_API std::string group_scope(std::string_view group);
MP_API std::string user_scope(std::string_view address);

// An entry as the lists keep it: an address (folded: lowercase, IDN as punycode), a
// domain (folded; it also stands for its subdomains) or an IP address (canonical
// text); nullopt for anything else (a bare word, "@x", an empty text).
MP_API std::optional<std::string> list_entry(std::string_view text);
// Whether `text` is an email address (LOCAL@DOMAIN) as list_entry takes one.
MP_API bool is_email_address(std::string_view text);

// The scopes of `recipient` (a folded address in `groups`), narrowest first: its own,
// each group's, the organisation's.
MP_API std::vector<std::string> recipient_scopes(std::string_view recipient,
                                                 std::span<const std::string> groups);

// "list:KIND:SCOPE:ENTRY".
MP_API std::string list_key(ListKind kind, std::string_view scope, std::string_view entry);

// A `list:` key as an admin may type it ("list:blocked:user:Bob@Widget.com:Evil.Example")
// in the form the lookups use ("list:blocked:user:bob@widget.com:evil.example"); nullopt
// with *problem set when it names no list entry (an unknown kind or scope, an entry that
// is not an address, a domain or an IP address). For `policyc state`.
MP_API std::optional<std::string> canonical_list_key(std::string_view key, std::string* problem);

// Adds or removes one entry (already a list_entry). Throws StoreUnavailable; remove
// returns false when the entry was not there.
MP_API void list_add(Store& store, ListKind kind, std::string_view scope, std::string_view entry);
MP_API bool list_remove(Store& store, ListKind kind, std::string_view scope, std::string_view entry);
// The entries of one list, at most `limit`. Throws StoreUnavailable.
MP_API std::vector<std::string> list_entries(Store& store, ListKind kind, std::string_view scope,
                                             size_t limit = 100000);

// What a message's sender is known by, as list entries: each of `addresses` (the
// envelope sender and the From: mailboxes, folded), their domains and parent domains
// down to two labels, and the client's IP address.
MP_API std::vector<std::string> sender_entries(std::span<const std::string> addresses,
                                               const std::optional<runtime::IpAddress>& client);

struct ListMatch {
  ListKind kind = ListKind::Safe;
  std::string scope;  // "user:alice@widget.com"
  std::string entry;  // the entry that matched: "vendor.example"
};

// The first of `scopes` (narrowest first: the user, their groups, the organisation)
// whose safe or blocked list holds one of `entries`; within one scope the blocked list
// wins. nullopt when no list holds any. One Store::get_many. Throws StoreUnavailable.
MP_API std::optional<ListMatch> find_listed(Store& store, std::span<const std::string> scopes,
                                            std::span<const std::string> entries);

}  // namespace mp::state
