// End-to-end tests of the SMTP session fields beyond the envelope: client.auth_user
// (SASL login) and client.tls (TLS version), given with --auth-user / --tls, in an
// envelope sidecar, or as keys of a .mptest case.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(stage custom_filters {
  rule account_mismatch:
    if client.auth_user is "alice@widget.com" and from.address is not alice@widget.com
    then reject "550 5.7.1 From: is not the authenticated account"
  rule old_tls:
    if client.tls in ["TLSv1", "TLSv1.1"] then tag "[old TLS]"
  rule plain_text:
    if client.tls is not "TLSv1.3" and client.tls is not "TLSv1.2" then tag "[plain]"
}
)";

const char* kMessage = "From: Bob <bob@widget.com>\r\nTo: x@example.org\r\nSubject: hi\r\n\r\nbody\r\n";

nlohmann::json run_json(const TempDir& dir, std::vector<std::string> flags) {
  std::vector<std::string> args = {
      "run",      (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string(), "--format", "json",
      "--explain"};
  args.insert(args.end(), flags.begin(), flags.end());
  RunResult r = run_policyc(args);
  EXPECT_EQ(r.status, 0) << describe(r);
  return parse_json_line(r.last_line());
}

TEST(SessionFields, AuthUserFromTheCommandLine) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kMessage);
  nlohmann::json j = run_json(dir, {"--auth-user", "alice@widget.com", "--tls", "TLSv1.3"});
  EXPECT_EQ(j["action"], "reject");
  EXPECT_EQ(j["rule"], "account_mismatch");
  EXPECT_EQ(j["text"], "550 5.7.1 From: is not the authenticated account");
  // Another account, or none: the rule does not fire.
  EXPECT_EQ(run_json(dir, {"--auth-user", "bob@widget.com", "--tls", "TLSv1.3"})["action"], "deliver");
  EXPECT_EQ(run_json(dir, {"--tls", "TLSv1.3"})["action"], "deliver");
}

TEST(SessionFields, TlsVersionAndPlainText) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kMessage);
  EXPECT_EQ(run_json(dir, {"--tls", "TLSv1.1"})["tags"], nlohmann::json::array({"[old TLS]", "[plain]"}));
  EXPECT_EQ(run_json(dir, {"--tls", "TLSv1.3"})["tags"], nlohmann::json::array());
  // No --tls: the field has no value, so `is not` is true (a plain-text session).
  EXPECT_EQ(run_json(dir, {})["tags"], nlohmann::json::array({"[plain]"}));
}

TEST(SessionFields, FromTheSidecarWithTheirSource) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kMessage);
  dir.write("m.eml.env", "--auth-user alice@widget.com --tls=TLSv1.2\n");
  nlohmann::json j = run_json(dir, {});
  EXPECT_EQ(j["action"], "reject");
  bool auth = false, tls = false;
  for (const auto& e : j["envelope"]) {
    auth |= e["field"] == "client.auth_user" && e["value"] == "alice@widget.com";
    tls |= e["field"] == "client.tls" && e["value"] == "TLSv1.2";
  }
  EXPECT_TRUE(auth && tls) << j["envelope"].dump();
  // The command line wins over the sidecar.
  EXPECT_EQ(run_json(dir, {"--auth-user", "bob@widget.com"})["action"], "deliver");
}

TEST(SessionFields, MptestCaseKeys) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kMessage);
  dir.write(
      "p.mptest",
      "policy: p.mp\n\n"
      "case: the account's own From\n  message: m.eml\n  auth-user: bob@widget.com\n  tls: TLSv1.3\n"
      "  action: deliver\n  rule: none\n\n"
      "case: another account's From\n  message: m.eml\n  auth-user: alice@widget.com\n  tls: TLSv1.3\n"
      "  action: reject\n  rule: account_mismatch\n\n"
      "case: old TLS\n  message: m.eml\n  tls: TLSv1\n  action: deliver\n  rule: none\n  tag: [old TLS]\n");
  RunResult r = run_policyc({"test", (dir.path() / "p.mptest").string()});
  EXPECT_EQ(r.status, 0) << describe(r);
}

}  // namespace
