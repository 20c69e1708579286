// The C API's programs and errors through the shared libmailpolicy: an image loads
// from bytes and from a file, anything else is refused with the documented status and
// a one-line message, a compile error names file:line:col, every function survives
// NULL handles and a NULL mp_error, and the version functions agree with the header.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

using e2e::read_text;
using e2e::TempDir;

std::string message_of(const mp_error& err) {
  return err.message;
}

TEST(CapiProgram, LoadsAnImageFromBytesAndFromAFile) {
  TempDir dir;
  fs::path image = build_image(dir, kWidgetPolicy);
  std::string bytes = read_text(image);
  ASSERT_FALSE(bytes.empty());

  mp_error err = dirty_error();
  Program from_file(mp_program_load_file(image.c_str(), &err));
  ASSERT_NE(from_file, nullptr) << err.message;
  EXPECT_EQ(err.code, MP_OK);
  EXPECT_EQ(message_of(err), "");

  err = dirty_error();
  Program from_bytes(mp_program_load(bytes.data(), bytes.size(), &err));
  ASSERT_NE(from_bytes, nullptr) << err.message;
  EXPECT_EQ(err.code, MP_OK);

  // The id is the first 16 hex digits of the image's SHA-256.
  e2e::RunResult sum = e2e::run_shell("sha256sum " + e2e::shell_quote(image.string()));
  ASSERT_EQ(sum.status, 0);
  EXPECT_EQ(std::string(mp_program_id(from_file.get())), sum.out.substr(0, 16));
  EXPECT_STREQ(mp_program_id(from_bytes.get()), mp_program_id(from_file.get()));
}

TEST(CapiProgram, TheBytesAreCopied) {
  TempDir dir;
  std::string bytes = read_text(build_image(dir, kWidgetPolicy));
  mp_error err = dirty_error();
  Program program(mp_program_load(bytes.data(), bytes.size(), &err));
  ASSERT_NE(program, nullptr) << err.message;
  std::fill(bytes.begin(), bytes.end(), '\0');
  bytes.clear();
  bytes.shrink_to_fit();
  Evaluator evaluator(mp_evaluator_new(program.get(), nullptr, &err));
  ASSERT_NE(evaluator, nullptr) << err.message;
  const Example& exe = example("mail/exe-attachment.eml");
  Verdict v = evaluate(evaluator.get(), exe.message, envelope(exe.flags).get());
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_REJECT);
}

// Every way an image can be wrong: NULL, with BAD_IMAGE and a message.
void expect_bad_image(const std::string& bytes, const std::string& what) {
  mp_error err = dirty_error();
  Program program(mp_program_load(bytes.data(), bytes.size(), &err));
  EXPECT_EQ(program, nullptr) << what;
  EXPECT_EQ(err.code, MP_ERR_BAD_IMAGE) << what << ": " << err.message;
  EXPECT_NE(message_of(err), "") << what;
  EXPECT_EQ(message_of(err).find('\n'), std::string::npos) << what << ": " << err.message;
}

TEST(CapiProgram, RefusesWhatIsNotAValidImage) {
  TempDir dir;
  std::string image = read_text(build_image(dir, kWidgetPolicy));
  ASSERT_GT(image.size(), 200u);
  expect_bad_image("", "empty");
  expect_bad_image("not an image at all", "text");
  expect_bad_image(std::string("MPOLICY\0", 8), "magic only");
  expect_bad_image(image.substr(0, image.size() / 2), "truncated");
  expect_bad_image(image.substr(0, image.size() - 1), "last byte missing");
  std::string flipped = image;
  flipped[flipped.size() / 2] ^= 0x5a;
  expect_bad_image(flipped, "a byte changed (checksum)");
  std::string version = image;
  version[8] = 99;
  expect_bad_image(version, "another format version");
}

TEST(CapiProgram, NullImageBytes) {
  mp_error err = dirty_error();
  EXPECT_EQ(mp_program_load(nullptr, 10, &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_INVALID_ARGUMENT) << err.message;
  err = dirty_error();
  EXPECT_EQ(mp_program_load(nullptr, 0, &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_BAD_IMAGE) << err.message;
}

TEST(CapiProgram, AFileThatIsNoImageIsBadImageNamingTheFile) {
  const fs::path source = kWidgetPolicy;  // a policy's text, not its image
  mp_error err = dirty_error();
  EXPECT_EQ(mp_program_load_file(source.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_BAD_IMAGE) << err.message;
  EXPECT_TRUE(message_of(err).starts_with(source.string() + ": ")) << err.message;

  TempDir dir;
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919 + 13) % 251);
  fs::path random = dir.write("random.pbc", noise);
  err = dirty_error();
  EXPECT_EQ(mp_program_load_file(random.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_BAD_IMAGE) << err.message;
}

TEST(CapiProgram, AMissingFileIsIo) {
  TempDir dir;
  const fs::path missing = dir.path() / "missing.pbc";
  mp_error err = dirty_error();
  EXPECT_EQ(mp_program_load_file(missing.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_IO) << err.message;
  EXPECT_NE(message_of(err).find(missing.string()), std::string::npos) << err.message;

  err = dirty_error();
  EXPECT_EQ(mp_program_load_file(dir.path().c_str(), &err), nullptr) << "a directory";
  EXPECT_EQ(err.code, MP_ERR_IO) << err.message;

  const fs::path source = dir.path() / "missing.mp";
  err = dirty_error();
  EXPECT_EQ(mp_program_compile_file(source.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_IO) << err.message;
  EXPECT_NE(message_of(err).find(source.string()), std::string::npos) << err.message;
}

TEST(CapiProgram, CompileErrorNamesFileLineAndColumn) {
  TempDir dir;
  fs::path policy = dir.write("bad.mp",
                              "# a comment line\n"
                              "if size contains \"x\" then allow\n"
                              "if nosuchfield is 1 then allow\n");
  mp_error err = dirty_error();
  EXPECT_EQ(mp_program_compile_file(policy.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_COMPILE);
  // The first error, one line: "FILE:2:9: error[E020]: `size` is a number; ...".
  EXPECT_TRUE(message_of(err).starts_with(policy.string() + ":2:9: error[E020]: `size` is a number"))
      << err.message;
  EXPECT_EQ(message_of(err).find('\n'), std::string::npos) << err.message;
}

TEST(CapiProgram, AMissingListFileIsIoAtItsDeclaration) {
  TempDir dir;
  fs::path policy = dir.write("lists.mp", "list vips = file(\"vips.txt\")\nif from in vips then allow\n");
  mp_error err = dirty_error();
  EXPECT_EQ(mp_program_compile_file(policy.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_IO);
  EXPECT_TRUE(
      message_of(err).starts_with(policy.string() + ":1:18: error[E050]: cannot read list file `vips.txt`"))
      << err.message;
}

TEST(CapiProgram, CompilesASourceWithItsListFiles) {
  mp_error err = dirty_error();
  Program program(mp_program_compile_file(kWidgetPolicy.c_str(), &err));
  ASSERT_NE(program, nullptr) << err.message;  // execs.txt, exec-names.txt beside it
  EXPECT_EQ(err.code, MP_OK);
  EXPECT_EQ(std::string(mp_program_id(program.get())).size(), 16u);
}

TEST(CapiProgram, ErrorMessagesAreCutToOneBufferLine) {
  TempDir dir;
  const fs::path missing = dir.path() / std::string(700, 'x');
  mp_error err = dirty_error();
  EXPECT_EQ(mp_program_load_file(missing.c_str(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_IO);
  EXPECT_EQ(message_of(err).size(), sizeof err.message - 1);
}

TEST(CapiVersion, MatchesTheHeaderAndPolicyc) {
  EXPECT_EQ(mp_api_version(), MP_API_VERSION);
  e2e::RunResult r = e2e::run_policyc({"--version"});
  ASSERT_EQ(r.status, 0) << e2e::describe(r);
  EXPECT_EQ(r.last_line(), std::string("policyc ") + mp_version());
}

TEST(CapiActionName, NamesEveryActionAndNothingElse) {
  const std::vector<std::pair<mp_action, std::string>> names = {
      {MP_ACTION_DELIVER, "deliver"},       {MP_ACTION_ALLOW, "allow"},     {MP_ACTION_REJECT, "reject"},
      {MP_ACTION_QUARANTINE, "quarantine"}, {MP_ACTION_DISCARD, "discard"}, {MP_ACTION_TEMPFAIL, "tempfail"}};
  for (const auto& [action, name] : names) EXPECT_EQ(mp_action_name(action), name);
  EXPECT_STREQ(mp_action_name(static_cast<mp_action>(6)), "");
  EXPECT_STREQ(mp_action_name(static_cast<mp_action>(-1)), "");
}

// ---- NULL handles and a NULL mp_error ------------------------------------------------

constexpr mp_status kInvalid = MP_ERR_INVALID_ARGUMENT;

// Runs `call` with a dirty error and expects `status` in it.
template <class Call>
void expect_status(mp_status status, Call call, const char* what) {
  mp_error err = dirty_error();
  call(&err);
  EXPECT_EQ(err.code, status) << what << ": " << err.message;
  if (status != MP_OK) {
    EXPECT_NE(message_of(err), "") << what;
  }
}

TEST(CapiNull, HandlesAreRefusedNotDereferenced) {
  expect_status(
      kInvalid, [](mp_error* e) { EXPECT_EQ(mp_program_load_file(nullptr, e), nullptr); }, "load_file");
  expect_status(
      kInvalid, [](mp_error* e) { EXPECT_EQ(mp_program_compile_file(nullptr, e), nullptr); }, "compile");
  expect_status(
      kInvalid, [](mp_error* e) { EXPECT_EQ(mp_evaluator_new(nullptr, nullptr, e), nullptr); }, "new");
  expect_status(
      kInvalid, [](mp_error* e) { EXPECT_EQ(mp_config_set(nullptr, "facts", "off", e), kInvalid); },
      "config_set");
  Config config(mp_config_new());
  expect_status(
      kInvalid, [&](mp_error* e) { EXPECT_EQ(mp_config_set(config.get(), nullptr, "off", e), kInvalid); },
      "config_set key");
  expect_status(
      kInvalid, [&](mp_error* e) { EXPECT_EQ(mp_config_set(config.get(), "facts", nullptr, e), kInvalid); },
      "config_set value");
  using Setter = mp_status (*)(mp_envelope*, const char*, mp_error*);
  for (Setter set : {mp_envelope_set_client_ip, mp_envelope_set_helo, mp_envelope_set_sender,
                     mp_envelope_add_recipient, mp_envelope_set_auth_user, mp_envelope_set_tls_version}) {
    expect_status(
        kInvalid, [&](mp_error* e) { EXPECT_EQ(set(nullptr, "192.0.2.1", e), kInvalid); }, "setter");
    expect_status(
        kInvalid, [&](mp_error* e) { EXPECT_EQ(set(nullptr, nullptr, e), kInvalid); }, "setter NULL");
  }
  expect_status(
      kInvalid, [](mp_error* e) { EXPECT_EQ(mp_envelope_reset_transaction(nullptr, e), kInvalid); }, "reset");
  Envelope env(mp_envelope_new());
  expect_status(
      kInvalid, [&](mp_error* e) { EXPECT_EQ(mp_envelope_add_recipient(env.get(), nullptr, e), kInvalid); },
      "NULL recipient");
  Program program = compile(kWidgetPolicy);
  Evaluator evaluator(mp_evaluator_new(program.get(), nullptr, nullptr));
  ASSERT_NE(evaluator, nullptr);
  const std::string message = "Subject: x\n\nbody\n";
  expect_status(
      kInvalid, [&](mp_error* e) { EXPECT_EQ(mp_evaluate(nullptr, "x", 1, env.get(), e), nullptr); },
      "evaluate evaluator");
  expect_status(
      kInvalid, [&](mp_error* e) { EXPECT_EQ(mp_evaluate(evaluator.get(), "x", 1, nullptr, e), nullptr); },
      "evaluate envelope");
  expect_status(
      kInvalid,
      [&](mp_error* e) { EXPECT_EQ(mp_evaluate(evaluator.get(), nullptr, 1, env.get(), e), nullptr); },
      "evaluate message");
  // An empty message is a message (nothing in it), NULL or not.
  expect_status(
      MP_OK, [&](mp_error* e) { Verdict(mp_evaluate(evaluator.get(), nullptr, 0, env.get(), e)); },
      "empty message");
}

TEST(CapiNull, GettersOfANullVerdictReturnEmptyValues) {
  EXPECT_EQ(mp_verdict_action(nullptr), MP_ACTION_DELIVER);
  EXPECT_EQ(mp_verdict_smtp_code(nullptr), 0);
  EXPECT_STREQ(mp_verdict_smtp_status(nullptr), "");
  EXPECT_STREQ(mp_verdict_smtp_text(nullptr), "");
  EXPECT_STREQ(mp_verdict_text(nullptr), "");
  EXPECT_EQ(mp_verdict_stage(nullptr), nullptr);
  EXPECT_EQ(mp_verdict_rule(nullptr), nullptr);
  EXPECT_EQ(mp_verdict_location(nullptr), nullptr);
  EXPECT_EQ(mp_verdict_fact(nullptr), nullptr);
  EXPECT_STREQ(mp_verdict_direction(nullptr), "");
  EXPECT_EQ(mp_verdict_score(nullptr), 0);
  EXPECT_EQ(mp_verdict_seconds(nullptr), 0);
  EXPECT_STREQ(mp_verdict_json(nullptr), "");
  EXPECT_STREQ(mp_program_id(nullptr), "");
  EXPECT_EQ(mp_verdict_contribution_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_tag_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_tag(nullptr, 0), nullptr);
  EXPECT_EQ(mp_verdict_added_header_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_removed_header_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_removed_header(nullptr, 0), nullptr);
  EXPECT_EQ(mp_verdict_result_header_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_fact_count(nullptr), 0u);
  mp_contribution c;
  mp_header h;
  mp_fact f;
  EXPECT_EQ(mp_verdict_contribution(nullptr, 0, &c), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_verdict_added_header(nullptr, 0, &h), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_verdict_result_header(nullptr, 0, &h), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_verdict_fact_at(nullptr, 0, &f), MP_ERR_INVALID_ARGUMENT);
  // Freeing NULL is a no-op.
  mp_program_free(nullptr);
  mp_config_free(nullptr);
  mp_evaluator_free(nullptr);
  mp_envelope_free(nullptr);
  mp_verdict_free(nullptr);
}

TEST(CapiNull, ANullErrorIsAccepted) {
  EXPECT_EQ(mp_program_load("junk", 4, nullptr), nullptr);
  EXPECT_EQ(mp_program_load_file("/nonexistent/policy.pbc", nullptr), nullptr);
  EXPECT_EQ(mp_program_compile_file("/nonexistent/policy.mp", nullptr), nullptr);
  Config config(mp_config_new());
  EXPECT_EQ(mp_config_set(config.get(), "no.such.key", "1", nullptr), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_config_set(config.get(), "limits.max_message_bytes", "8", nullptr), MP_OK);
  Envelope env(mp_envelope_new());
  EXPECT_EQ(mp_envelope_set_client_ip(env.get(), "not an address", nullptr), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_envelope_set_sender(env.get(), "a@example.org", nullptr), MP_OK);
  Program program = compile(kWidgetPolicy);
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  ASSERT_NE(evaluator, nullptr);
  EXPECT_EQ(mp_evaluate(evaluator.get(), "Subject: too long\n\n", 19, env.get(), nullptr), nullptr);
  Verdict v(mp_evaluate(evaluator.get(), "S: x\n\n", 6, env.get(), nullptr));
  EXPECT_NE(v, nullptr);
}

}  // namespace
}  // namespace mp::api_test
