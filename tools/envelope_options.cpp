// EnvelopeOptions: the envelope flags, the envelope sidecars, and the envelope they
// describe together.
#include "tools/envelope_options.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "runtime/envelope.h"
#include "runtime/identity.h"
#include "state/lists.h"
#include "tools/inputs.h"

namespace mp::tools {

namespace {

// The flags a sidecar may hold; the value of each (all of them for --rcpt).
using SidecarFlags = std::map<std::string, std::vector<std::string>>;

// A value written in quotes, as a shell would read it: "" and '' are empty.
std::string unquoted(std::string word) {
  if (word.size() >= 2 && (word.front() == '"' || word.front() == '\'') && word.back() == word.front())
    word = word.substr(1, word.size() - 2);
  return word;
}

// The words of a sidecar: split at white space, "..." quoting (so "" is an empty
// value), # to the end of the line a comment.
std::vector<std::string> sidecar_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find('#'));
    std::istringstream in(line);
    for (std::string word; in >> word;) {
      words.push_back(unquoted(word));
    }
  }
  return words;
}

// "" on success, else what is wrong with the sidecar.
std::string parse_sidecar(const std::string& text, SidecarFlags& flags) {
  static const std::vector<std::string> known = {"--sender", "--rcpt",      "--client-ip",
                                                 "--helo",   "--auth-user", "--tls"};
  std::vector<std::string> words = sidecar_words(text);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string flag = words[i], value;
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = unquoted(flag.substr(eq + 1));  // --sender="" is the null sender
      flag.resize(eq);
    } else if (i + 1 < words.size()) {
      value = words[++i];
    } else {
      return "`" + flag + "` needs a value";
    }
    if (std::find(known.begin(), known.end(), flag) == known.end())
      return "unknown flag `" + flag +
             "` (a sidecar holds --sender, --rcpt, --client-ip, --helo, --auth-user and --tls)";
    flags[flag].push_back(value);
  }
  return {};
}

const std::string kCommandLine = "the command line";

struct Sidecar {
  std::string path;
  SidecarFlags flags;
};

// Reads the sidecar if there is one: "" when there is none or it is fine, else what is wrong.
std::string read_sidecar(Sidecar& side) {
  std::string text;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(side.path, ec) || !read_file(side.path, text)) return {};
  return parse_sidecar(text, side.flags);
}

// A single-valued field: the command line's value when given, else the sidecar's last
// (as for a flag given twice), else none; with where it came from.
std::optional<std::pair<std::string, std::string>> pick(bool given, const std::string& value,
                                                        const Sidecar& side, const char* flag) {
  if (given) return std::pair(value, kCommandLine);
  auto it = side.flags.find(flag);
  if (it != side.flags.end()) return std::pair(it->second.back(), side.path);
  return std::nullopt;
}

// The headers a recipient is derived from when neither flag nor sidecar gives one:
// the address the delivering server wrote down (Delivered-To first, as it is the
// final one).
const char* const kRecipientHeaders[] = {"Delivered-To", "X-Original-To"};

void add_source(MessageEnvelope& out, const std::string& field, const std::string& value,
                const std::string& source) {
  if (!source.empty()) out.sources.push_back({field, value, source});
}

// Each recipient an address, and each once: "" or what is wrong.
std::string recipients_problem(const std::vector<std::string>& recipients) {
  std::set<std::string> seen;
  for (const std::string& r : recipients) {
    if (!state::is_email_address(r)) return "--rcpt `" + r + "` is not an email address (LOCAL@DOMAIN)";
    if (!seen.insert(runtime::fold_address(r)).second)
      return "--rcpt " + r + " is given twice: a message has each recipient once";
  }
  return {};
}

void derive_recipient(const runtime::Message& message, MessageEnvelope& out) {
  for (const char* header : kRecipientHeaders) {
    std::string address = header_address(message, header);
    if (address.empty()) continue;
    out.envelope.recipients = {address};
    add_source(out, "rcpt", address, header);
    return;
  }
}

}  // namespace

void EnvelopeOptions::add_to(CLI::App& command) {
  // `<a@b>` as SMTP writes it, or bare (runtime::bare_path).
  auto bare = [](std::string text) { return runtime::bare_path(text); };
  sender_option_ =
      command
          .add_option(
              "--sender", sender_,
              "Envelope sender (MAIL FROM); default: the sidecar FILE.env, else the Return-Path header")
          ->transform(bare);
  // One address per --rcpt, so that the message paths after it are not taken as recipients.
  command
      .add_option("--rcpt", recipients_,
                  "Envelope recipient (RCPT TO); one address each, repeat it for several")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->transform(bare);
  command.add_option("--client-ip", client_ip_, "Connecting client's IP address");
  helo_option_ = command.add_option("--helo", helo_, "HELO/EHLO name");
  auth_user_option_ = command.add_option("--auth-user", auth_user_,
                                         "SASL login name the client authenticated as (client.auth_user)");
  tls_option_ = command.add_option("--tls", tls_version_,
                                   "TLS protocol version of the SMTP session, e.g. TLSv1.3 (client.tls)");
}

std::optional<runtime::Envelope> EnvelopeOptions::base() const {
  if (std::string problem = recipients_problem(recipients_); !problem.empty()) {
    std::cerr << "error: " << problem << "\n";
    return std::nullopt;
  }
  runtime::Envelope envelope;
  envelope.recipients = recipients_;
  envelope.helo = helo_;
  envelope.auth_user = auth_user_;
  envelope.tls_version = tls_version_;
  if (!client_ip_.empty()) {
    envelope.client_ip = runtime::IpAddress::parse(client_ip_);
    if (!envelope.client_ip) {
      std::cerr << "error: --client-ip " << client_ip_ << " is not an IP address\n";
      return std::nullopt;
    }
  }
  return envelope;
}

MessageEnvelope EnvelopeOptions::for_message(const runtime::Envelope& base, const runtime::Message& message,
                                             const std::string& file) const {
  Sidecar side{file + ".env", {}};
  if (std::string problem = read_sidecar(side); !problem.empty())
    return {base, {}, side.path + ": " + problem};
  MessageEnvelope out{base, {}, {}};
  if (auto v = pick(sender_option_->count() > 0, sender_, side, "--sender")) {
    out.envelope.sender = runtime::bare_path(v->first);
    add_source(out, "sender", v->first, v->second);
  } else if (std::string return_path = default_sender(message); !return_path.empty()) {
    out.envelope.sender = return_path;
    add_source(out, "sender", return_path, "Return-Path");
  }
  const bool rcpt_given = !recipients_.empty();
  if (!rcpt_given && side.flags.count("--rcpt")) {
    for (const auto& r : side.flags.at("--rcpt")) out.envelope.recipients.push_back(runtime::bare_path(r));
    if (std::string problem = recipients_problem(out.envelope.recipients); !problem.empty())
      return {base, {}, side.path + ": " + problem};
  }
  for (const auto& r : out.envelope.recipients)
    add_source(out, "rcpt", r, rcpt_given ? kCommandLine : side.path);
  if (out.envelope.recipients.empty()) derive_recipient(message, out);
  if (auto v = pick(!client_ip_.empty(), client_ip_, side, "--client-ip")) {
    out.envelope.client_ip = runtime::IpAddress::parse(v->first);  // base() checked the flag's
    if (!out.envelope.client_ip)
      return {base, {}, side.path + ": --client-ip " + v->first + " is not an IP address"};
    add_source(out, "client.ip", out.envelope.client_ip->str(), v->second);
  }
  struct Text {
    CLI::Option* option;
    const std::string& flag_value;
    const char* flag;
    const char* field;
    std::string runtime::Envelope::*member;
  };
  const Text texts[] = {
      {helo_option_, helo_, "--helo", "helo", &runtime::Envelope::helo},
      {auth_user_option_, auth_user_, "--auth-user", "client.auth_user", &runtime::Envelope::auth_user},
      {tls_option_, tls_version_, "--tls", "client.tls", &runtime::Envelope::tls_version}};
  for (const Text& t : texts) {
    if (auto v = pick(t.option->count() > 0, t.flag_value, side, t.flag)) {
      out.envelope.*t.member = v->first;
      add_source(out, t.field, v->first, v->second);
    }
  }
  return out;
}

std::string envelope_text(const std::vector<EnvelopeSource>& sources) {
  std::vector<std::string> order;  // sources in the order of their first field
  std::map<std::string, std::string> fields;
  for (const auto& s : sources) {
    if (!fields.count(s.source)) order.push_back(s.source);
    fields[s.source] += " " + s.field + "=" + (s.value.empty() ? "\"\"" : s.value);
  }
  std::string out;
  for (const auto& source : order) {
    bool header = source == "Return-Path" ||
                  std::find(std::begin(kRecipientHeaders), std::end(kRecipientHeaders), source) !=
                      std::end(kRecipientHeaders);
    std::string how = header ? "derived from " + source : "from " + source;
    out += "  envelope " + how + ":" + fields[source] + "\n";
  }
  return out;
}

std::string with_envelope_json(const std::string& verdict_line, const std::vector<EnvelopeSource>& sources) {
  using ordered_json = nlohmann::ordered_json;
  ordered_json j = ordered_json::parse(verdict_line);
  ordered_json fields = ordered_json::array();
  for (const auto& s : sources)
    fields.push_back({{"field", s.field}, {"value", s.value}, {"source", s.source}});
  j["envelope"] = fields;
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace mp::tools
