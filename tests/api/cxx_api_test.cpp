// The C++ API through the shared libmailpolicy (what MP_API exports): an image
// loaded with vm::Program::load and judged by vm::Evaluator over runtime::Message and
// runtime::Envelope; facts from a vm::FactSource written here, and from
// auth::MessageFacts with a dns::Resolver and a shared dns::Cache; vm::ImageError
// caught across the library boundary.
#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "auth/facts.h"
#include "dns/resolver.h"
#include "runtime/ip.h"
#include "runtime/message.h"
#include "tests/api/api_test_util.h"
#include "vm/vm.h"

namespace mp::api_test {
namespace {

std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// The image of `policy` built by policyc.
std::string image_of(const fs::path& policy) {
  e2e::TempDir dir;
  return e2e::read_text(build_image(dir, policy));
}

runtime::Envelope envelope_of(const std::string& client_ip, const std::string& sender,
                              std::vector<std::string> recipients = {}) {
  runtime::Envelope envelope;
  envelope.client_ip = runtime::IpAddress::parse(client_ip);
  envelope.sender = sender;
  envelope.recipients = std::move(recipients);
  return envelope;
}

TEST(CxxApi, ProgramEvaluatorMessageAndEnvelope) {
  vm::ProgramPtr program = vm::Program::load(bytes_of(image_of(kWidgetPolicy)));
  vm::Evaluator evaluator(program);
  const Example& exe = example("mail/exe-attachment.eml");
  runtime::Message message = runtime::Message::parse(exe.message, program->parse_options());
  ASSERT_EQ(message.from().size(), 1u);
  EXPECT_EQ(message.from()[0].domain(), "parcel-notice.example");
  EXPECT_EQ(message.from()[0].local(), "tracking");
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].extension, "exe");

  vm::Verdict v = evaluator.evaluate(message, envelope_of("203.0.113.88", "", {"shipping@widget.com"}));
  EXPECT_EQ(v.action, vm::Action::Reject);
  EXPECT_EQ(vm::action_name(v.action), "reject");
  EXPECT_EQ(v.rule_name, "executables");
  EXPECT_EQ(v.stage_name, "attachment_defense");
  EXPECT_EQ(v.text, "550 5.7.1 Executable attachments are not accepted");
  EXPECT_EQ(vm::direction_name(v.direction), "inbound");
  ASSERT_EQ(v.fired.size(), 1u);
  EXPECT_EQ(v.fired[0].evidence.at(0).field, "attachments.extension");
}

TEST(CxxApi, EveryExampleAsExpected) {
  vm::ProgramPtr program = vm::Program::load(bytes_of(image_of(kWidgetPolicy)));
  vm::Evaluator evaluator(program);
  for (const Example& ex : examples()) {
    runtime::Message message = runtime::Message::parse(ex.message, program->parse_options());
    // The C API's envelope and this one are the same fields: read both from the flags.
    runtime::Envelope envelope;
    for (size_t i = 0; i + 1 < ex.flags.size(); i += 2) {
      const std::string &flag = ex.flags[i], &value = ex.flags[i + 1];
      if (flag == "--client-ip") envelope.client_ip = runtime::IpAddress::parse(value);
      if (flag == "--sender") envelope.sender = value;
      if (flag == "--rcpt") envelope.recipients.push_back(value);
      if (flag == "--helo") envelope.helo = value;
    }
    vm::Verdict v = evaluator.evaluate(message, envelope);
    EXPECT_EQ(vm::action_name(v.action), ex.row.action) << ex.row.file;
    EXPECT_EQ(v.rule ? v.rule_name : "-", ex.row.rule) << ex.row.file;
  }
}

TEST(CxxApi, IpAddressesAndPrefixes) {
  auto mapped = runtime::IpAddress::parse("::ffff:192.0.2.7");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_FALSE(mapped->v6);
  EXPECT_EQ(mapped->str(), "192.0.2.7");
  EXPECT_FALSE(runtime::IpAddress::parse("192.0.2.300").has_value());
  auto net = runtime::Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(net.has_value());
  EXPECT_TRUE(net->contains(*runtime::IpAddress::parse("2001:db8:1d0:4::25")));
  EXPECT_FALSE(net->contains(*mapped));
}

TEST(CxxApi, ImageErrorIsCaughtAcrossTheLibrary) {
  std::string image = image_of(kWidgetPolicy);
  image[image.size() / 2] ^= 0x5a;
  EXPECT_THROW(vm::Program::load(bytes_of(image)), vm::ImageError);
  try {
    vm::Program::load(bytes_of("MPOLICY"));
    ADD_FAILURE() << "a 7-byte image loaded";
  } catch (const vm::ImageError& e) {
    EXPECT_STRNE(e.what(), "");
  }
}

// ---- Facts ----------------------------------------------------------------------------------

// A FactSource of the embedder's own: spf is what the test says, and the calls are
// counted.
class StatedFacts : public vm::FactSource {
 public:
  explicit StatedFacts(std::string spf) : spf_(std::move(spf)) {}

  void prefetch(std::span<const vm::FactUse> facts) override { prefetched += facts.size(); }
  vm::FactValue compute(vm::FieldId fact, std::span<const std::string>) override {
    ++computed;
    vm::FactValue value;
    if (fact == vm::FieldId::Spf) value.text = {spf_};
    value.detail = "stated by the test";
    return value;
  }

  size_t prefetched = 0, computed = 0;

 private:
  std::string spf_;
};

const char* const kSpfPolicy =
    "if spf is \"fail\" then reject \"550 5.7.23 SPF fail\"\n"
    "if spf is \"pass\" then tag \"spf-pass\"\n";

TEST(CxxApi, AFactSourceOfTheEmbeddersOwn) {
  e2e::TempDir dir;
  vm::ProgramPtr program = vm::Program::load(bytes_of(image_of(dir.write("spf.mp", kSpfPolicy))));
  ASSERT_EQ(program->facts_used().size(), 1u);
  EXPECT_EQ(program->facts_used()[0].field, vm::FieldId::Spf);
  vm::Evaluator evaluator(program);
  runtime::Message message = runtime::Message::parse("From: a@example.org\nSubject: x\n\nhi\n");
  runtime::Envelope envelope = envelope_of("192.0.2.1", "a@example.org");

  StatedFacts pass("pass");
  vm::Verdict passed = evaluator.evaluate(message, envelope, &pass);
  EXPECT_EQ(passed.action, vm::Action::Deliver);
  EXPECT_EQ(passed.tags, std::vector<std::string>{"spf-pass"});
  EXPECT_EQ(pass.prefetched, 1u);
  EXPECT_EQ(pass.computed, 1u) << "once per message, however many rules read it";
  ASSERT_EQ(passed.facts.size(), 1u);
  EXPECT_EQ(passed.facts[0].name, "spf");
  EXPECT_EQ(passed.facts[0].value, "pass");
  EXPECT_EQ(passed.facts[0].detail, "stated by the test");

  StatedFacts fail("fail");
  vm::Verdict failed = evaluator.evaluate(message, envelope, &fail);
  EXPECT_EQ(failed.action, vm::Action::Reject);
  EXPECT_EQ(failed.text, "550 5.7.23 SPF fail");
}

TEST(CxxApi, MessageFactsWithAResolver) {
  e2e::TempDir dir;
  vm::ProgramPtr program = vm::Program::load(bytes_of(image_of(dir.write("spf.mp", kSpfPolicy))));
  vm::Evaluator evaluator(program);
  SilentDnsServer dns;
  auto cache = std::make_shared<dns::Cache>();
  dns::Resolver resolver({.servers = {dns.server()}, .timeout_ms = 100, .tries = 1, .cache = cache});
  runtime::Message message = runtime::Message::parse("From: a@example.org\nSubject: x\n\nhi\n");
  runtime::Envelope envelope = envelope_of("192.0.2.1", "a@example.org");
  auth::FactOptions options;
  options.authserv_id = "mx.widget.com";
  auth::MessageFacts facts(resolver, message, envelope, options);

  vm::Verdict v = evaluator.evaluate(message, envelope, &facts);
  EXPECT_EQ(v.action, vm::Action::Tempfail);
  EXPECT_EQ(v.fact, "spf");
  EXPECT_TRUE(v.text.starts_with("451 4.4.3 temporary failure computing spf")) << v.text;
  ASSERT_TRUE(facts.spf().has_value());
  EXPECT_EQ(facts.auth_summary(), (std::vector<std::pair<std::string, std::string>>{{"spf", "temperror"}}));
  EXPECT_TRUE(facts.authentication_results().starts_with("mx.widget.com;\r\n\tspf=temperror"))
      << facts.authentication_results();
  EXPECT_GE(resolver.queries_sent(), 1u);
  EXPECT_EQ(resolver.options().timeout_ms, 100);
}

TEST(CxxApi, ResolverAnswersFromASharedCache) {
  auto cache = std::make_shared<dns::Cache>();
  dns::Answer stored;
  stored.status = dns::Status::Ok;
  dns::Record txt;
  txt.type = dns::RrType::Txt;
  txt.strings = {"v=spf1 ", "-all"};
  stored.records.push_back(txt);
  cache->store("example.org", dns::RrType::Txt, stored, 300);
  EXPECT_EQ(cache->size(), 1u);
  SilentDnsServer dns;
  dns::Resolver resolver({.servers = {dns.server()}, .timeout_ms = 100, .tries = 1, .cache = cache});
  dns::Answer answer = resolver.resolve("example.org", dns::RrType::Txt);
  EXPECT_EQ(answer.status, dns::Status::Ok);
  EXPECT_TRUE(answer.from_cache);
  ASSERT_EQ(answer.records.size(), 1u);
  EXPECT_EQ(answer.records[0].text(), "v=spf1 -all");
  EXPECT_EQ(resolver.queries_sent(), 0u);
  EXPECT_EQ(dns.questions(), 0);
  dns::ResolverOptions bad;
  bad.servers = {"not-a-server"};
  EXPECT_THROW(dns::Resolver{bad}, std::runtime_error);
}

}  // namespace
}  // namespace mp::api_test
