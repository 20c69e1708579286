// The merged pipeline of `import stdlib` with a user's policy, as `policyc disasm`
// shows it: every rule under its stage in pipeline order, the user's first in each
// stage, each with the file it came from; a disabled rule gone, a rescored one with
// its new score.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(import stdlib
settings { org.domains = [widget.com] }
disable rule spam_engine.dear_friend
rescore rule spam_engine.ip_literal_url 5
stage spam_engine {
  rule mine: if subject contains "x" then score +1 "mine"
}
)";

size_t at(const std::string& text, const std::string& what) {
  const size_t pos = text.find(what);
  EXPECT_NE(pos, std::string::npos) << what;
  return pos;
}

TEST(StdlibPipeline, DisasmShowsEachRulesOriginInPipelineOrder) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  const std::string policy = (dir.path() / "p.mp").string();
  RunResult r = run_policyc({"disasm", policy});
  ASSERT_EQ(r.status, 0) << describe(r);
  const size_t reputation = at(r.out, "; rule reputation.dnsbl_listed  (stdlib/reputation.mp:");
  const size_t antivirus = at(r.out, "; rule antivirus.");
  const size_t mine = at(r.out, "; rule spam_engine.mine  (" + policy + ":6)");
  const size_t urgency = at(r.out, "; rule spam_engine.urgency  (stdlib/spam_engine.mp:");
  const size_t url_defense = at(r.out, "; rule url_defense.rewrite_links  (stdlib/url_defense.mp:");
  EXPECT_LT(reputation, antivirus);
  EXPECT_LT(antivirus, mine);
  EXPECT_LT(mine, urgency);  // the user's rules first in their stage
  EXPECT_LT(urgency, url_defense);
  EXPECT_EQ(r.out.find("spam_engine.dear_friend"), std::string::npos);
  const size_t rescored = at(r.out, "; rule spam_engine.ip_literal_url  (stdlib/spam_engine.mp:");
  EXPECT_NE(r.out.find("\"link to an IP address\"  5", rescored), std::string::npos)
      << r.out.substr(rescored, 300);
}

}  // namespace
