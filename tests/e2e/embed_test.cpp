// libmailpolicy as an embedder gets it: `cmake --install` of this build into a scratch
// prefix holds the library, mailpolicy.h, the C++ API's headers and mailpolicy.pc;
// examples/embed/embed.c compiles against them with pkg-config under strict C11
// warnings (by hand and with its Makefile) and judges the widget example as
// expected.txt says; every installed C++ header compiles on its own, and a C++
// program using them links -lmailpolicy and runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/e2e/e2e_util.h"
#include "tests/e2e/expected_table.h"

namespace mp::e2e {
namespace {

namespace fs = std::filesystem;

const fs::path kEmbedDir = fs::path(MP_SOURCE_DIR) / "examples" / "embed";

// This build installed once for the whole test program.
struct Installed {
  TempDir dir;
  fs::path prefix = dir.path() / "prefix";
  RunResult install = run_program({"cmake", "--install", MP_BUILD_DIR, "--prefix", prefix.string()});
  fs::path pc_dir = find_pc_dir();

  // Where mailpolicy.pc went (lib/pkgconfig, or lib64/..., lib/<triplet>/...).
  fs::path find_pc_dir() const {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(prefix, ec), end; it != end; it.increment(ec)) {
      if (it->path().filename() == "mailpolicy.pc") return it->path().parent_path();
    }
    return {};
  }
  fs::path libdir() const { return pc_dir.parent_path(); }
  // "PKG_CONFIG_PATH=... pkg-config ARGS" for a shell command line.
  std::string pkg_config(const std::string& args) const {
    return "$(PKG_CONFIG_PATH=" + shell_quote(pc_dir.string()) + " pkg-config " + args + " mailpolicy)";
  }
  std::string rpath() const { return "-Wl,-rpath," + shell_quote(libdir().string()); }
};

const Installed& installed() {
  static const Installed i;
  return i;
}

// The widget policy's image, built once.
const fs::path& widget_image() {
  static const TempDir dir;
  static const fs::path image = [] {
    fs::path out = dir.path() / "widget.pbc";
    RunResult r = run_policyc({"build", (kExampleDir / "policy.mp").string(), "-o", out.string()});
    EXPECT_EQ(r.status, 0) << describe(r);
    return out;
  }();
  return image;
}

// Runs a shell command line, stderr with stdout, and expects status 0.
RunResult shell_ok(const std::string& command) {
  RunResult r = run_shell(command + " 2>&1");
  EXPECT_EQ(r.status, 0) << describe(r);
  return r;
}

TEST(EmbedInstall, HoldsTheLibraryHeadersAndPkgConfig) {
  const Installed& i = installed();
  ASSERT_EQ(i.install.status, 0) << describe(i.install);
  ASSERT_FALSE(i.pc_dir.empty()) << "no mailpolicy.pc under " << i.prefix;
  for (const char* library : {"libmailpolicy.so", "libmailpolicy.so.1"}) {
    EXPECT_TRUE(fs::exists(i.libdir() / library)) << library;
  }
  for (const char* header :
       {"mailpolicy.h", "mailpolicy/vm/vm.h", "mailpolicy/runtime/api_export.h", "mailpolicy/auth/facts.h",
        "mailpolicy/dns/resolver.h", "mailpolicy/vm/fields.def"}) {
    EXPECT_TRUE(fs::exists(i.prefix / "include" / header)) << header;
  }
  RunResult version = shell_ok("echo " + i.pkg_config("--modversion"));
  RunResult policyc = run_policyc({"--version"});
  EXPECT_EQ("policyc " + version.last_line(), policyc.last_line());
  // The .pc names this prefix, not the one the build was configured with.
  RunResult flags = shell_ok("echo " + i.pkg_config("--cflags --libs"));
  EXPECT_NE(flags.out.find(i.prefix.string()), std::string::npos) << flags.out;
}

// embed.c compiled by hand as the README says, once.
const fs::path& embed_program() {
  static const fs::path program = [] {
    fs::path out = installed().dir.path() / "embed";
    shell_ok("cc -std=c11 -Wall -Wextra -Werror -pedantic " + shell_quote((kEmbedDir / "embed.c").string()) +
             " " + installed().pkg_config("--cflags --libs") + " " + installed().rpath() + " -o " +
             shell_quote(out.string()));
    return out;
  }();
  return program;
}

// The row of expected.txt for `file`.
Row row_of(const std::string& file) {
  for (const Row& row : parse_table(kExampleDir / "expected.txt")) {
    if (row.file == file) return row;
  }
  ADD_FAILURE() << "no row " << file;
  return {};
}

using ActionRule = std::pair<std::string, std::string>;

// "FILE: ACTION [...] rule=STAGE.RULE score=..." → (ACTION, RULE without its stage).
ActionRule action_and_rule(const std::string& line) {
  size_t colon = line.find(": ");
  size_t action_end = line.find(' ', colon + 2);
  std::string action = line.substr(colon + 2, action_end - colon - 2);
  size_t rule_at = line.find(" rule=");
  std::string rule = rule_at == std::string::npos
                         ? "?"
                         : line.substr(rule_at + 6, line.find(' ', rule_at + 6) - rule_at - 6);
  if (rule != "-") rule.erase(0, rule.find('.') + 1);
  return {action, rule};
}

TEST(EmbedExample, JudgesTheWidgetMessagesAsExpected) {
  ASSERT_EQ(installed().install.status, 0);
  for (const char* file : {"mail/exe-attachment.eml", "mail/htm-attachment.eml", "mail/exec-spoof.eml",
                           "mail/invoice-scam.eml", "mail/open-sesame-outbound.eml", "mail/plain-ham.eml"}) {
    Row row = row_of(file);
    std::vector<std::string> argv = {embed_program().string(), widget_image().string(),
                                     (kExampleDir / row.path).string()};
    argv.insert(argv.end(), row.flags.begin(), row.flags.end());
    RunResult r = run_program(argv);
    ASSERT_EQ(r.status, 0) << describe(r);
    ASSERT_EQ(r.lines().size(), 1u) << describe(r);
    EXPECT_TRUE(r.out.starts_with((kExampleDir / row.path).string() + ": ")) << r.out;
    EXPECT_EQ(action_and_rule(r.out), (ActionRule{row.action, row.rule})) << r.out;
    EXPECT_NE(r.out.find(" | X-Policy-Verdict: " + row.action), std::string::npos) << r.out;
  }
}

TEST(EmbedExample, PrintsTheSmtpReplyOfAReject) {
  RunResult r =
      run_program({embed_program().string(), widget_image().string(),
                   (kExampleDir / "mail/exe-attachment.eml").string(), "--client-ip", "203.0.113.88"});
  EXPECT_NE(r.out.find(": reject [550 5.7.1 Executable attachments are not accepted] "
                       "rule=attachment_defense.executables score=0 | "),
            std::string::npos)
      << describe(r);
}

TEST(EmbedExample, CompilesAPolicySourceAndJudgesSeveralMessages) {
  RunResult r = run_program({embed_program().string(), (kExampleDir / "policy.mp").string(), "--client-ip",
                             "203.0.113.147", (kExampleDir / "mail/invoice-scam.eml").string(), "--rcpt",
                             "ap@widget.com", (kExampleDir / "mail/exe-attachment.eml").string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  std::vector<std::string> lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << describe(r);
  EXPECT_EQ(action_and_rule(lines[0]), (ActionRule{"quarantine", "-"})) << lines[0];
  EXPECT_NE(lines[0].find(" score=6.5 "), std::string::npos) << lines[0];
  EXPECT_EQ(action_and_rule(lines[1]), (ActionRule{"reject", "executables"})) << lines[1];
}

TEST(EmbedExample, ErrorsExitOneWithTheLibrarysMessage) {
  TempDir dir;
  RunResult missing = run_program({embed_program().string(), (dir.path() / "none.pbc").string(), "x.eml"});
  EXPECT_EQ(missing.status, 1) << describe(missing);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;

  fs::path bad = dir.write("bad.mp", "if size contains \"x\" then allow\n");
  RunResult compile = run_program({embed_program().string(), bad.string(), "x.eml"});
  EXPECT_EQ(compile.status, 1) << describe(compile);
  EXPECT_NE(compile.err.find(bad.string() + ":1:9: error[E020]"), std::string::npos) << compile.err;

  RunResult unreadable =
      run_program({embed_program().string(), widget_image().string(), (dir.path() / "none.eml").string()});
  EXPECT_EQ(unreadable.status, 1) << describe(unreadable);

  RunResult usage =
      run_program({embed_program().string(), widget_image().string(), "--client-ip", "1.2.3", "x"});
  EXPECT_EQ(usage.status, 2) << describe(usage);
  EXPECT_NE(usage.err.find("`1.2.3` is not an IP address"), std::string::npos) << usage.err;
}

TEST(EmbedExample, TheMakefileBuildsItWithPkgConfig) {
  TempDir build;
  RunResult r = shell_ok("cd " + shell_quote(build.path().string()) +
                         " && PKG_CONFIG_PATH=" + shell_quote(installed().pc_dir.string()) + " make -f " +
                         shell_quote((kEmbedDir / "Makefile").string()));
  ASSERT_TRUE(fs::exists(build.path() / "embed")) << describe(r);
  RunResult run = run_program({(build.path() / "embed").string(), widget_image().string(),
                               (kExampleDir / "mail/plain-ham.eml").string()});
  EXPECT_EQ(run.status, 0) << describe(run);
  EXPECT_NE(run.out.find(": deliver rule=-"), std::string::npos) << run.out;
}

// ---- The C++ API as installed ------------------------------------------------------------

TEST(EmbedCxx, EveryInstalledHeaderCompilesOnItsOwn) {
  const fs::path include = installed().prefix / "include" / "mailpolicy";
  std::string command =
      "cd " + shell_quote(include.string()) +
      " && status=0 && for h in $(find . -name '*.h'); do "
      "echo \"#include <${h#./}>\" | c++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -x c++ " +
      installed().pkg_config("--cflags") +
      " - || { echo \"not self-contained: $h\"; status=1; }; "
      "done; exit $status";
  shell_ok(command);
  shell_ok(
      "echo '#include <mailpolicy.h>' | cc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -x c " +
      installed().pkg_config("--cflags") + " -");
}

const char* const kCxxProgram = R"(// The C++ API from the installed headers only.
#include <mailpolicy.h>
#include <vm/vm.h>

#include <fstream>
#include <iostream>
#include <iterator>

static std::string read(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int main(int, char** argv) {
  std::string image = read(argv[1]);
  auto program = mp::vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()});
  mp::vm::Evaluator evaluator(program);
  auto message = mp::runtime::Message::parse(read(argv[2]), program->parse_options());
  mp::runtime::Envelope envelope;
  envelope.client_ip = mp::runtime::IpAddress::parse("203.0.113.88");
  mp::vm::Verdict v = evaluator.evaluate(message, envelope);
  std::cout << mp::vm::action_name(v.action) << " " << v.rule_name << " " << mp_version() << "\n";
  try {
    mp::vm::Program::load({});
  } catch (const mp::vm::ImageError&) {
    std::cout << "ImageError\n";
  }
}
)";

TEST(EmbedCxx, AProgramLinksAgainstTheInstalledLibraryAndRuns) {
  TempDir dir;
  fs::path source = dir.write("program.cpp", kCxxProgram), program = dir.path() / "program";
  shell_ok("c++ -std=c++20 -Wall -Wextra -Werror " + shell_quote(source.string()) + " " +
           installed().pkg_config("--cflags --libs") + " " + installed().rpath() + " -o " +
           shell_quote(program.string()));
  RunResult r = run_program(
      {program.string(), widget_image().string(), (kExampleDir / "mail/exe-attachment.eml").string()});
  EXPECT_EQ(r.status, 0) << describe(r);
  RunResult version = run_policyc({"--version"});
  EXPECT_EQ(r.out, "reject executables " + version.last_line().substr(8) + "\nImageError\n") << describe(r);
}

}  // namespace
}  // namespace mp::e2e
