// Safe and blocked senders in the store, on LMDB and a real Redis: entries are folded,
// the narrowest scope that names the sender decides, and within one scope the blocked
// list wins.
#include <gtest/gtest.h>

#include "state/lists.h"
#include "tests/state/store_fixture.h"

namespace mp::state {
namespace {

TEST(ListEntry, FoldsAddressesDomainsAndAddresses) {
  EXPECT_EQ(list_entry("Info@Widget.COM"), "info@widget.com");
  EXPECT_EQ(list_entry("Vendor.Example"), "vendor.example");
  EXPECT_EQ(list_entry("bücher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(list_entry("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(list_entry("192.0.2.7"), "192.0.2.7");
  for (const char* bad : {"", "localhost", "@widget.com", "info@", "a@b@c", "a b.example", ".example",
                          "192.0.2.0/24", "a:b@widget.com", "http://x.example"})
    EXPECT_EQ(list_entry(bad), std::nullopt) << bad;
}

TEST(SenderEntries, AddressesDomainsParentsAndTheClient) {
  const std::vector<std::string> addresses = {"news@mail.vendor.example", "news@mail.vendor.example",
                                              "boss@widget.com"};
  EXPECT_EQ(sender_entries(addresses, runtime::IpAddress::parse("192.0.2.7")),
            (std::vector<std::string>{"news@mail.vendor.example", "mail.vendor.example", "vendor.example",
                                      "boss@widget.com", "widget.com", "192.0.2.7"}));
}

TEST(CanonicalListKey, FoldsWhatAnAdminTypes) {
  std::string problem;
  EXPECT_EQ(canonical_list_key("list:blocked:org:Evil.Example", &problem), "list:blocked:org:evil.example");
  EXPECT_EQ(canonical_list_key("list:safe:user:Bob@Widget.com:bücher.example", &problem),
            "list:safe:user:bob@widget.com:xn--bcher-kva.example");
  EXPECT_EQ(canonical_list_key("list:safe:group:finance:2001:DB8::1", &problem),
            "list:safe:group:finance:2001:db8::1");
  EXPECT_EQ(canonical_list_key("list:trusted:org:evil.example", &problem), std::nullopt);
  EXPECT_NE(problem.find("list:safe:"), std::string::npos);
  EXPECT_EQ(canonical_list_key("list:safe:org:192.0.2.0/24", &problem), std::nullopt);
  EXPECT_NE(problem.find("not an address, a domain or an IP address"), std::string::npos) << problem;
  EXPECT_EQ(canonical_list_key("list:safe:team:x:evil.example", &problem), std::nullopt);
  EXPECT_EQ(canonical_list_key("list:safe:user:widget.com:evil.example", &problem), std::nullopt);
  EXPECT_EQ(canonical_list_key("list:safe:org:evil example", &problem), std::nullopt);
}

class Lists : public StoreFixture {};

TEST_P(Lists, AddListAndRemove) {
  list_add(*store_, ListKind::Safe, user_scope("Alice@Widget.com"), "vendor.example");
  list_add(*store_, ListKind::Safe, user_scope("alice@widget.com"), "news@other.example");
  list_add(*store_, ListKind::Blocked, user_scope("alice@widget.com"), "spam.example");
  auto safe = list_entries(*store_, ListKind::Safe, user_scope("alice@widget.com"));
  std::sort(safe.begin(), safe.end());
  EXPECT_EQ(safe, (std::vector<std::string>{"news@other.example", "vendor.example"}));
  EXPECT_TRUE(store_->get("list:safe:user:alice@widget.com:vendor.example"));  // the documented layout
  EXPECT_TRUE(list_remove(*store_, ListKind::Safe, user_scope("alice@widget.com"), "vendor.example"));
  EXPECT_FALSE(list_remove(*store_, ListKind::Safe, user_scope("alice@widget.com"), "vendor.example"));
  EXPECT_EQ(list_entries(*store_, ListKind::Safe, user_scope("alice@widget.com")).size(), 1u);
}

TEST_P(Lists, TheNarrowestScopeDecidesAndBlockedWinsWithinOne) {
  const std::vector<std::string> scopes = {user_scope("alice@widget.com"), group_scope("finance"),
                                           std::string(kOrgScope)};
  const std::vector<std::string> entries = sender_entries({{"news@mail.vendor.example"}}, std::nullopt);
  EXPECT_EQ(find_listed(*store_, scopes, entries), std::nullopt);
  list_add(*store_, ListKind::Blocked, kOrgScope, "vendor.example");
  auto match = find_listed(*store_, scopes, entries);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->kind, ListKind::Blocked);
  EXPECT_EQ(match->scope, "org");
  EXPECT_EQ(match->entry, "vendor.example");
  // The group trusts it: the group is narrower than the organisation.
  list_add(*store_, ListKind::Safe, group_scope("finance"), "news@mail.vendor.example");
  match = find_listed(*store_, scopes, entries);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->kind, ListKind::Safe);
  EXPECT_EQ(match->scope, "group:finance");
  // The user both trusts and blocks it: blocked wins.
  list_add(*store_, ListKind::Safe, user_scope("alice@widget.com"), "vendor.example");
  list_add(*store_, ListKind::Blocked, user_scope("alice@widget.com"), "mail.vendor.example");
  match = find_listed(*store_, scopes, entries);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->kind, ListKind::Blocked);
  EXPECT_EQ(match->scope, "user:alice@widget.com");
  EXPECT_EQ(match->entry, "mail.vendor.example");
}

TEST_P(Lists, LongAddressesAreListedAndFoundOnEveryStore) {
  // A local part of 300 bytes for the sender and of 250 for the recipient: the key
  // would be 600 bytes, past LMDB's 511, without key_part.
  const std::string sender = std::string(300, 's') + "@spam.example";
  const std::string recipient = std::string(250, 'r') + "@widget.com";
  list_add(*store_, ListKind::Blocked, user_scope(recipient), *list_entry(sender));
  const auto match =
      find_listed(*store_, recipient_scopes(recipient, {}), sender_entries({{sender}}, std::nullopt));
  ASSERT_TRUE(match);
  EXPECT_EQ(match->kind, ListKind::Blocked);
  EXPECT_EQ(match->entry, sender);
  // What `list` shows is a key `policyc state del` takes back.
  const auto keys = store_->keys("list:blocked:", 10);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(canonical_list_key(keys[0], nullptr), keys[0]);
  EXPECT_TRUE(store_->erase(keys[0]));
  EXPECT_FALSE(store_->get(std::string(600, 'k')));  // no key that long can be there
  EXPECT_FALSE(store_->erase(std::string(600, 'k')));
}

INSTANTIATE_TEST_SUITE_P(Stores, Lists, kAllKinds, kind_name);

}  // namespace
}  // namespace mp::state
