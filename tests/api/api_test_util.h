// Shared by the libmailpolicy tests (tests/api/): owning wrappers for the C API's
// handles, images built with the tree's policyc, a DNS server that never answers, and
// the example messages of examples/widget/ with the envelope an MTA would hand over
// for each.
//
// Header-only, as tests/e2e/e2e_util.h (whose helpers these tests reuse): api_tests is
// built from tests/api/*_test.cpp only, and links nothing of the project but the
// shared libmailpolicy.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/mailpolicy.h"
#include "runtime/message.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/expected_table.h"

namespace mp::api_test {

namespace fs = std::filesystem;
using e2e::Row;

// ---- Owning handles ---------------------------------------------------------------

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* handle) const { Free(handle); }
};
using Program = std::unique_ptr<mp_program, Freer<mp_program, mp_program_free>>;
using Config = std::unique_ptr<mp_config, Freer<mp_config, mp_config_free>>;
using Evaluator = std::unique_ptr<mp_evaluator, Freer<mp_evaluator, mp_evaluator_free>>;
using Envelope = std::unique_ptr<mp_envelope, Freer<mp_envelope, mp_envelope_free>>;
using Verdict = std::unique_ptr<mp_verdict, Freer<mp_verdict, mp_verdict_free>>;

inline const fs::path kWidgetPolicy = e2e::kExampleDir / "policy.mp";

// An mp_error filled with garbage, so that a test sees what a call wrote.
inline mp_error dirty_error() {
  mp_error err;
  err.code = MP_ERR_INTERNAL;
  std::snprintf(err.message, sizeof err.message, "stale");
  return err;
}

// The policy compiled by the library; a failure is fatal to the calling test.
inline Program compile(const fs::path& policy) {
  mp_error err = dirty_error();
  Program program(mp_program_compile_file(policy.c_str(), &err));
  EXPECT_NE(program, nullptr) << err.message;
  return program;
}

// `policyc build POLICY -o DIR/NAME.pbc` with the tree's policyc; returns the image.
inline fs::path build_image(const e2e::TempDir& dir, const fs::path& policy) {
  fs::path image = dir.path() / (policy.stem().string() + ".pbc");
  e2e::RunResult r = e2e::run_policyc({"build", policy.string(), "-o", image.string()});
  EXPECT_EQ(r.status, 0) << e2e::describe(r);
  return image;
}

inline Config config(std::initializer_list<std::pair<const char*, const char*>> keys) {
  Config c(mp_config_new());
  for (const auto& [key, value] : keys) {
    mp_error err = dirty_error();
    EXPECT_EQ(mp_config_set(c.get(), key, value, &err), MP_OK) << key << "=" << value << ": " << err.message;
  }
  return c;
}

// A UDP port on 127.0.0.1 where nothing ever answers: the socket is bound, so no ICMP
// refusal comes back either, and what was sent to it can be counted.
class SilentDnsServer {
 public:
  SilentDnsServer() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size), 0);
    server_ = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  }
  ~SilentDnsServer() { close(fd_); }
  SilentDnsServer(const SilentDnsServer&) = delete;
  SilentDnsServer& operator=(const SilentDnsServer&) = delete;

  const char* server() const { return server_.c_str(); }
  // Datagrams received since the last call.
  int questions() const {
    int count = 0;
    char buffer[512];
    while (recv(fd_, buffer, sizeof buffer, 0) >= 0) ++count;
    return count;
  }

 private:
  int fd_;
  std::string server_;
};

// ---- Envelopes ---------------------------------------------------------------------

// Applies `policyc run`'s envelope flags (--client-ip, --helo, --sender, --rcpt,
// --auth-user, --tls, each followed by its value) to a new envelope.
inline Envelope envelope(const std::vector<std::string>& flags) {
  Envelope e(mp_envelope_new());
  for (size_t i = 0; i + 1 < flags.size(); i += 2) {
    const std::string &flag = flags[i], &value = flags[i + 1];
    mp_error err = dirty_error();
    mp_status status = flag == "--client-ip"   ? mp_envelope_set_client_ip(e.get(), value.c_str(), &err)
                       : flag == "--helo"      ? mp_envelope_set_helo(e.get(), value.c_str(), &err)
                       : flag == "--sender"    ? mp_envelope_set_sender(e.get(), value.c_str(), &err)
                       : flag == "--rcpt"      ? mp_envelope_add_recipient(e.get(), value.c_str(), &err)
                       : flag == "--auth-user" ? mp_envelope_set_auth_user(e.get(), value.c_str(), &err)
                       : flag == "--tls"       ? mp_envelope_set_tls_version(e.get(), value.c_str(), &err)
                                               : MP_ERR_INVALID_ARGUMENT;
    EXPECT_EQ(status, MP_OK) << flag << " " << value << ": " << err.message;
  }
  return e;
}

inline bool has_flag(const std::vector<std::string>& flags, const std::string& flag) {
  for (size_t i = 0; i < flags.size(); i += 2) {
    if (flags[i] == flag) return true;
  }
  return false;
}

// The words of an envelope sidecar (docs/cli.md): '#' comments, `--flag=VALUE` split,
// `""` the empty value.
inline std::vector<std::string> sidecar_flags(const fs::path& sidecar) {
  std::vector<std::string> flags;
  std::istringstream lines(e2e::read_text(sidecar));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line.substr(0, line.find('#')));
    for (std::string word; words >> word;) {
      size_t equals = word.find('=');
      if (word.starts_with("--") && equals != std::string::npos) {
        flags.push_back(word.substr(0, equals));
        word.erase(0, equals + 1);
      }
      flags.push_back(word == "\"\"" ? "" : word);
    }
  }
  return flags;
}

// The address in a header such as `Return-Path: <a@b>` ("" when there is none).
inline std::string header_address(const runtime::Message& message, const char* name) {
  std::string value(message.header(name).value_or(""));
  size_t open = value.find('<'), close = value.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open)
    value = value.substr(open + 1, close - open - 1);
  std::istringstream trimmed(value);
  std::string address;
  trimmed >> address;
  return address;
}

// ---- The example messages ----------------------------------------------------------

// One row of examples/widget/expected.txt with its message and the whole envelope as
// explicit flags: the sidecar's (FILE.env; the row's own flags for an mbox), and what
// `policyc run` derives when they say nothing and an MTA would have said (MAIL FROM
// from Return-Path, RCPT TO from Delivered-To or X-Original-To).
struct Example {
  Row row;
  std::string message;
  std::vector<std::string> flags;
};

// Shown by gtest for a parameterised case (instead of the struct's raw bytes).
inline void PrintTo(const Example& ex, std::ostream* os) {
  *os << "expected.txt:" << ex.row.line << " " << ex.row.file;
}

inline Example load_example(const Row& row) {
  Example ex{row, e2e::read_text(e2e::kExampleDir / row.path), {}};
  if (row.index > 0) {
    std::vector<std::string> parts = runtime::split_mbox(ex.message);
    EXPECT_LE(static_cast<size_t>(row.index), parts.size()) << row.file;
    ex.message = static_cast<size_t>(row.index) <= parts.size() ? parts[row.index - 1] : "";
  }
  fs::path sidecar = e2e::kExampleDir / (row.path + ".env");
  ex.flags = fs::exists(sidecar) ? sidecar_flags(sidecar) : row.flags;
  runtime::Message parsed = runtime::Message::parse(ex.message);
  if (!has_flag(ex.flags, "--sender"))
    ex.flags.insert(ex.flags.end(), {"--sender", header_address(parsed, "Return-Path")});
  for (const char* header : {"Delivered-To", "X-Original-To"}) {
    std::string rcpt = header_address(parsed, header);
    if (has_flag(ex.flags, "--rcpt") || rcpt.empty()) continue;
    ex.flags.insert(ex.flags.end(), {"--rcpt", rcpt});
  }
  return ex;
}

inline const std::vector<Example>& examples() {
  static const std::vector<Example> all = [] {
    std::vector<Example> out;
    for (const Row& row : e2e::parse_table(e2e::kExampleDir / "expected.txt"))
      out.push_back(load_example(row));
    return out;
  }();
  return all;
}

// The example of expected.txt's row for `file` ("mail/exe-attachment.eml").
inline const Example& example(const std::string& file) {
  for (const Example& ex : examples()) {
    if (ex.row.file == file) return ex;
  }
  ADD_FAILURE() << "no row for " << file << " in expected.txt";
  return examples().front();
}

inline Verdict evaluate(mp_evaluator* evaluator, const std::string& message, const mp_envelope* envelope) {
  mp_error err = dirty_error();
  Verdict v(mp_evaluate(evaluator, message.data(), message.size(), envelope, &err));
  EXPECT_NE(v, nullptr) << err.message;
  EXPECT_EQ(err.code, MP_OK);
  return v;
}

// The deciding rule's name, or "-" when no rule decided (as expected.txt writes it).
inline std::string rule_of(const mp_verdict* v) {
  return mp_verdict_rule(v) ? std::string(mp_verdict_rule(v)) : "-";
}

}  // namespace mp::api_test
