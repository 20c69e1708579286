// policyc run: evaluate messages with a policy or an image.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include "report/report.h"
#include "runtime/body_edit.h"
#include "runtime/message.h"
#include "tools/commands.h"
#include "tools/envelope_options.h"
#include "tools/fact_options.h"
#include "tools/inputs.h"

namespace mp::tools {

using namespace mp::report;  // verdict text, JSON and header fields

namespace {

struct RunOptions {
  std::string policy;
  std::vector<std::string> messages;
  EnvelopeOptions envelope;
  FactFlags facts;
  std::string format = "text";
  bool explain = false;
  std::string write_headers;  // --write-headers DIR: "" when not given
  std::string write_message;  // --write-message DIR: "" when not given
};

// A directory the run writes each message to: --write-headers (header edits only) or
// --write-message (also the body edits: banners, rewritten links).
struct OutputDir {
  std::string option;  // "--write-headers"
  std::string path;
  bool body_edits = false;
  std::set<std::string> taken;  // output names used so far
};

// The file --write-headers writes for input NAME: its basename, "#N" (mbox part) turned
// into "_N", ".eml" appended unless already there; "-2", "-3", ... before ".eml" when
// an earlier input of this run already took the name (same basename in two folders).
std::string output_name(const std::string& input, std::set<std::string>& taken) {
  std::string base = std::filesystem::path(input).filename().string();
  size_t hash = base.rfind('#');
  if (hash != std::string::npos && hash + 1 < base.size() &&
      base.find_first_not_of("0123456789", hash + 1) == std::string::npos) {
    base[hash] = '_';
  }
  if (base.empty()) base = "message";
  auto ends_with_eml = [](const std::string& s) {
    if (s.size() < 4) return false;
    std::string tail = s.substr(s.size() - 4);
    for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return tail == ".eml";
  };
  std::string stem = ends_with_eml(base) ? base.substr(0, base.size() - 4) : base;
  std::string name = stem + ".eml";
  for (int n = 2; taken.count(name); ++n) name = stem + "-" + std::to_string(n) + ".eml";
  taken.insert(name);
  return name;
}

bool write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  return static_cast<bool>(out);
}

void print_error(const std::string& name, const std::string& error, const std::string& format) {
  if (format == "json")
    std::cout << error_json(name, error) << "\n";
  else
    std::cerr << name << ": error: " << error << "\n";
}

bool create_dir(const OutputDir& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir.path, ec);
  if (std::filesystem::is_directory(dir.path)) return true;
  std::cerr << "error: " << dir.option << ": cannot create directory " << dir.path
            << (ec ? ": " + ec.message() : std::string()) << "\n";
  return false;
}

// The message as the gateway would pass it on: result headers on top, removed headers
// gone and, for --write-message, banners and rewritten links in the body.
bool write_output(OutputDir& dir, const std::string& name, const runtime::Message& message,
                  const vm::Verdict& verdict, const auth::MessageFacts& facts) {
  std::filesystem::path out = std::filesystem::path(dir.path) / output_name(name, dir.taken);
  auto headers = verdict_headers(verdict);
  if (!facts.auth_summary().empty())
    headers.emplace_back("Authentication-Results", facts.authentication_results());
  runtime::EditedMessage edited;
  if (dir.body_edits) edited = runtime::edit_body(message, vm::body_edits(verdict));
  if (!verdict.banners.empty() && dir.body_edits && !edited.edited) {
    std::cerr << name << ": warning: banner not added: " << edited.not_edited << "\n";
  }
  const std::string_view base = edited.edited ? std::string_view(edited.message) : message.raw();
  if (write_file(out, rewrite_headers(base, headers, verdict.removed_headers))) return true;
  std::cerr << name << ": error: cannot write " << out.string() << "\n";
  return false;
}

// The verdict line(s); with --explain also where the envelope came from.
std::string verdict_output(const std::string& name, const vm::Verdict& verdict,
                           const auth::MessageFacts& facts, const std::vector<EnvelopeSource>& sources,
                           const RunOptions& o) {
  if (o.format == "json") {
    std::string line = verdict_json(name, verdict, facts.auth_summary());
    return (o.explain ? with_envelope_json(line, sources) : line) + "\n";
  }
  std::string text = verdict_text(name, verdict, o.explain);
  if (o.explain) text.insert(text.find('\n') + 1, envelope_text(sources));
  return text;
}

int run(const RunOptions& o) {
  vm::ProgramPtr program = load_program(o.policy, o.format);
  if (!program) return 1;
  std::optional<runtime::Envelope> base = o.envelope.base();
  if (!base) return 2;
  std::unique_ptr<dns::Resolver> resolver = o.facts.resolver();
  auth::FactOptions fact_options;
  if (!resolver || !o.facts.fact_options(program->image(), fact_options)) return 2;
  // Without --dns-server the DNS facts use /etc/resolv.conf: only country() can lack a source.
  const vm::ProgramPtr programs[] = {program};
  warn_uncomputable(programs, {.dns = true,
                               .geoip = o.facts.geoip_given(),
                               .clamd = o.facts.clamd_given(),
                               .store = o.facts.store_given()});
  std::vector<OutputDir> outputs;
  if (!o.write_headers.empty()) outputs.push_back({"--write-headers", o.write_headers, false, {}});
  if (!o.write_message.empty()) outputs.push_back({"--write-message", o.write_message, true, {}});
  for (const OutputDir& dir : outputs) {
    if (!create_dir(dir)) return 1;
  }
  vm::Evaluator evaluator(program);
  evaluator.set_trace(o.explain);
  MessageFiles found = find_message_files(o.messages);
  // Missing files get an error line of their own below, like unreadable ones.
  int status = report_message_files(found, false) ? 0 : 1;
  size_t evaluated = 0;
  for (auto& input : read_message_files(found.files)) {
    if (!input.error.empty()) {
      status = 1;
      print_error(input.name, input.error, o.format);
      continue;
    }
    runtime::Message message = runtime::Message::parse(std::move(input.bytes), program->parse_options());
    MessageEnvelope envelope = o.envelope.for_message(*base, message, input.path);
    if (!envelope.error.empty()) {
      status = 1;
      print_error(input.name, envelope.error, o.format);
      continue;
    }
    ++evaluated;
    auth::MessageFacts facts(*resolver, message, envelope.envelope, fact_options);
    vm::Verdict verdict = evaluator.evaluate(message, envelope.envelope, &facts);
    if (std::string not_learned = facts.learn(verdict); !not_learned.empty()) {
      std::cerr << input.name << ": warning: " << not_learned << "\n";
    }
    std::cout << verdict_output(input.name, verdict, facts, envelope.sources, o);
    for (OutputDir& dir : outputs) {
      if (!write_output(dir, input.name, message, verdict, facts)) status = 1;
    }
  }
  if (evaluated == 0 && status == 0) {
    std::cerr << "error: no message to evaluate\n";
    status = 1;
  }
  return status;
}

void add_run_command(CLI::App& app, int& status) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Evaluate messages with a policy or an image");
  cmd->add_option("policy", o->policy, "Policy source or compiled image")->required();
  cmd->add_option("messages", o->messages, "Message files, mbox files or directories")->required();
  o->envelope.add_to(*cmd);
  o->facts.add_to(*cmd);
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--explain", o->explain, "Explain each verdict: fired rules, matches, scores");
  cmd->add_option("--write-headers", o->write_headers,
                  "Write each message to DIR/NAME.eml with X-Policy-* and the policy's headers added")
      ->type_name("DIR");
  cmd->add_option("--write-message", o->write_message,
                  "Write each message to DIR/NAME.eml as the gateway passes it on: the headers of "
                  "--write-headers and the body edits (banners, rewritten links)")
      ->type_name("DIR");
  cmd->callback([o, &status] { status = run(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(20, add_run_command);

}  // namespace mp::tools
