// libFuzzer target: the .mptest policy-test format (tools/mptest.cpp parse_test_file:
// keys, envelopes, stated facts, expectations, here-documents, message files). The
// parser reads a path, so the input is written to tests/fuzz.mptest in a private
// directory made once, with a message file and a two-message mbox beside it in
// mail/ for `message: ../mail/one.eml` and `message: ../mail/two.mbox#2` to find:
// paths in the input stay inside that directory unless they climb out of it.
// Problems are expected output; crashes, sanitizer reports and hangs are bugs.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/temp_dir.h"
#include "tools/mptest.h"

namespace {

void write(const std::string& path, const char* bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes, static_cast<std::streamsize>(size));
}

void write(const std::string& path, const std::string& text) {
  write(path, text.data(), text.size());
}

std::string make_directory() {
  const std::string dir = mp::fuzz::private_directory("mptest_fuzz");
  std::filesystem::create_directory(dir + "/tests");
  std::filesystem::create_directory(dir + "/mail");
  const std::string message = "From: a@example.org\nTo: b@example.net\nSubject: hi\n\nHello.\n";
  write(dir + "/mail/one.eml", message);
  write(dir + "/mail/two.mbox", "From a@example.org Mon Jan  1 00:00:00 2026\n" + message +
                                    "\nFrom c@example.org Mon Jan  1 00:00:01 2026\n" + message);
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = make_directory() + "/tests/fuzz.mptest";
  write(path, reinterpret_cast<const char*>(data), size);
  mp::tools::TestFile file = mp::tools::parse_test_file(path);
  // Read what `policyc test` reads of each case.
  for (const mp::tools::TestCase& c : file.cases) {
    if (c.score) c.score->holds(4.5);
    for (const mp::tools::RuleRef& r : c.fired) r.matches("stage", r.name);
  }
  return 0;
}
