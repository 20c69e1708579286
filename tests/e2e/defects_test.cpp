// Structural defects reach the policy and the trace (issue 9, section 2): a message
// nested past mime.max_depth is quarantined by a policy that asks, and --explain says
// why, in text and JSON.
#include "tests/e2e/e2e_util.h"

namespace mp::e2e {
namespace {

std::string nested(int depth) {
  std::string message = "From: a@example.org\r\nSubject: deep\r\n";
  for (int i = 0; i < depth; ++i) {
    message += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
               std::to_string(i) + "\r\n";
  }
  return message + "Content-Type: application/octet-stream; name=payload.exe\r\n\r\nMZ\r\n";
}

TEST(Defects, DepthPastTheSettingIsQuarantinedAndExplained) {
  TempDir dir;
  auto policy =
      dir.write("p.mp",
                "settings { mime.max_depth = 8 }\n"
                "if attachments.extension in [exe] then reject \"550 5.7.1 no executables\"\n"
                "if message.defects contains mime_depth_exceeded then quarantine \"not examined\"\n");
  auto shallow = dir.write("shallow.eml", nested(4));
  auto deep = dir.write("deep.eml", nested(12));
  auto r = run_policyc({"run", policy.string(), shallow.string(), deep.string(), "--explain"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("shallow.eml: reject"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("deep.eml: quarantine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("message defect mime_depth_exceeded: MIME nesting deeper than 8 levels"),
            std::string::npos)
      << r.out;
  auto j = run_policyc({"run", policy.string(), deep.string(), "--explain", "--format", "json"});
  auto verdict = parse_json_line(j.last_line());
  ASSERT_TRUE(verdict.contains("defects")) << j.out;
  bool named = false;
  for (const auto& defect : verdict["defects"])
    named = named || std::string(defect).starts_with("mime_depth_exceeded");
  EXPECT_TRUE(named) << j.out;
}

}  // namespace
}  // namespace mp::e2e
