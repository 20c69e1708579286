// Helpers shared by the VM tests (tests/vm/interpreter_*_test.cpp): a Policy compiled
// from text, written to an image, loaded and run by one evaluator; hand-made
// envelopes; literal RFC 5322 messages, with or without attachments; and the names
// of the rules a verdict says fired.
//
// Header-only on purpose: tests/CMakeLists.txt builds only the *_test.cpp files of
// this directory into vm_tests, so everything here is `inline`.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "lang/diagnostics.h"
#include "runtime/message.h"
#include "vm/vm.h"

// A test for a known product bug: skipped so the suite stays green, run with
// MP_RUN_KNOWN_BUGS=1 to see it fail (or pass, once the bug is fixed).
#define MP_KNOWN_BUG(what) \
  if (std::getenv("MP_RUN_KNOWN_BUGS") == nullptr) GTEST_SKIP() << "BUG: " << what

namespace mp::vm::interpreter_test {

using runtime::Envelope;
using runtime::Message;

// A compiled and loaded policy with one evaluator.
class Policy {
 public:
  explicit Policy(const std::string& text) {
    compiler::Compilation c = compiler::compile_source("test.mp", text);
    if (!c.ok()) {
      std::string errors;
      for (const auto& d : c.diagnostics.items()) errors += lang::render_text(d, c.sources) + "\n";
      ADD_FAILURE() << "policy does not compile:\n" << text << "\n" << errors;
      c = compiler::compile_source("empty.mp", "");
    }
    std::string bytes = write_image(*c.image);
    program_ = Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    evaluator_ = std::make_unique<Evaluator>(program_);
  }

  // Parsed as a gateway parses for this program: with its settings' limits.
  Verdict run(const std::string& raw, const Envelope& envelope = {}) {
    return evaluator_->evaluate(Message::parse(raw, program_->parse_options()), envelope);
  }
  Verdict run(const Message& message, const Envelope& envelope = {}) {
    return evaluator_->evaluate(message, envelope);
  }
  // True when the rule named `rule` fired.
  bool fires(const std::string& rule, const std::string& raw, const Envelope& envelope = {}) {
    Verdict v = run(raw, envelope);
    for (const auto& f : v.fired) {
      if (f.name == rule) return true;
    }
    return false;
  }
  ProgramPtr program() const { return program_; }
  Evaluator& evaluator() { return *evaluator_; }

 private:
  ProgramPtr program_;
  std::unique_ptr<Evaluator> evaluator_;
};

inline Envelope envelope(std::string sender, std::vector<std::string> recipients = {}, std::string ip = "",
                         std::string helo = "") {
  Envelope e;
  e.sender = std::move(sender);
  e.recipients = std::move(recipients);
  if (!ip.empty()) e.client_ip = runtime::IpAddress::parse(ip);
  e.helo = std::move(helo);
  return e;
}

inline std::string simple(const std::string& subject, const std::string& body = "hello\r\n",
                          const std::string& extra_headers = "") {
  return "From: Alice <alice@example.org>\r\n"
         "To: bob@widget.com\r\n"
         "Subject: " + subject + "\r\n" + extra_headers + "\r\n" + body;
}

struct Part {
  std::string filename;
  std::string content;
};

// A multipart/mixed message: a text part, then one attachment per part.
inline std::string with_attachments(const std::vector<Part>& parts,
                                    const std::string& text = "see attached\r\n") {
  std::string m =
      "From: Alice <alice@example.org>\r\n"
      "To: bob@widget.com\r\n"
      "Subject: files\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n"
      "\r\n"
      "--BOUNDARY\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "\r\n" + text;
  for (const auto& p : parts) {
    m += "--BOUNDARY\r\n"
         "Content-Type: application/octet-stream\r\n"
         "Content-Disposition: attachment; filename=\"" + p.filename + "\"\r\n"
         "\r\n" + p.content + "\r\n";
  }
  return m + "--BOUNDARY--\r\n";
}

inline std::vector<std::string> fired_names(const Verdict& v) {
  std::vector<std::string> out;
  for (const auto& f : v.fired) out.push_back(f.name);
  return out;
}

// The diagnostic codes compiling `policy` gives, each followed by a space ("" when
// it compiles cleanly).
inline std::string error_codes(const std::string& policy) {
  compiler::Compilation c = compiler::compile_source("p.mp", policy);
  std::string out;
  for (const auto& d : c.diagnostics.items()) out += d.code + " ";
  return out;
}

}  // namespace mp::vm::interpreter_test
