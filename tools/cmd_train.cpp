// policyc train|untrain spam|ham MSG... --store ADDRESS: teach the Bayes classifier
// (bayes/bayes.h) messages of a class, or make it forget them; policyc report fp|fn
// MSG... --store ADDRESS [--client-ip IP]: the feedback loop (a false positive is
// learnt as ham and its client's reputation reset, a false negative as spam and its
// client's reputation raised by 10, as a spamtrap hit), one JSON line per message; and the hidden
// policyc bayes-score MSG... --store ADDRESS, which prints each message's spam
// probability as a JSON line (scripts/bayes-measure uses it). Messages are read as
// `policyc run` reads them (files, directories, mbox). Exit status: 0 every message
// was read (trained or skipped), 1 some message could not be read or there was none,
// 2 a usage error or a store that cannot be reached (docs/cli.md, docs/bayes.md).
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bayes/bayes.h"
#include "bayes/feedback.h"
#include "state/lists.h"
#include "state/memory.h"
#include "state/store.h"
#include "tools/commands.h"
#include "tools/inputs.h"

namespace mp::tools {

namespace {

struct TrainOptions {
  std::string store;
  std::string cls;        // "spam" or "ham"; report: "fp" or "fn"
  std::string client_ip;  // report: the client that sent the messages
  std::vector<std::string> messages;
  std::vector<std::string> recipients;  // release: whose quarantine it was
  bool approve_sender = false;          // release: add the From: address to their safe lists
  double min_trained = -1;  // bayes-score: overrides min_spam and min_ham when ≥ 0
  size_t clues = 0;         // bayes-score: the most significant tokens to print
  bayes::Options tuning;    // bayes-score: the combining options (scripts/bayes-measure tunes them)
};

// Calls `each(name, message)` for every message; prints the unreadable ones. Returns
// 1 when a message could not be read or there was none, else 0.
template <typename F>
int for_each_message(const std::vector<std::string>& paths, F&& each) {
  MessageFiles found = find_message_files(paths);
  int status = report_message_files(found, false) ? 0 : 1;
  size_t read = 0;
  for (auto& input : read_message_files(found.files)) {
    if (!input.error.empty()) {
      std::cerr << input.name << ": error: " << input.error << "\n";
      status = 1;
      continue;
    }
    ++read;
    each(input.name, runtime::Message::parse(std::move(input.bytes)));
  }
  if (read == 0 && status == 0) {
    std::cerr << "error: no message\n";
    status = 1;
  }
  return status;
}

// Opens the store and runs `action` on it; 2 when the address is wrong or the store
// cannot be reached (before or during the action).
template <typename F>
int with_store(const std::string& address, F&& action) {
  if (std::string problem = state::address_problem(address); !problem.empty()) {
    std::cerr << "error: --store: " << problem << "\n";
    return 2;
  }
  try {
    auto store = state::open_store({.address = address});
    return action(*store);
  } catch (const state::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}

// "trained 12 spam, already trained 3" on stderr, counts in the order first met.
void print_summary(const std::map<bayes::Learned, size_t>& counts, std::string_view cls) {
  std::string line;
  for (const auto& [learned, n] : counts) {
    if (!line.empty()) line += ", ";
    line += std::string(bayes::learned_name(learned)) + " " + std::to_string(n);
  }
  std::cerr << cls << ": " << (line.empty() ? "nothing done" : line) << "\n";
}

int learn(const TrainOptions& o, bool forget) {
  const bayes::Class cls = o.cls == "spam" ? bayes::Class::Spam : bayes::Class::Ham;
  return with_store(o.store, [&](state::Store& store) {
    bayes::Classifier classifier(store);
    std::map<bayes::Learned, size_t> counts;
    int status = for_each_message(o.messages, [&](const std::string&, const runtime::Message& m) {
      ++counts[forget ? classifier.untrain(m, cls) : classifier.train(m, cls)];
    });
    print_summary(counts, o.cls);
    const bayes::Counts totals = classifier.totals();
    std::cerr << "the store now holds " << totals.spam << " spam and " << totals.ham << " ham\n";
    return status;
  });
}

int report(const TrainOptions& o) {
  const bool false_positive = o.cls == "fp";
  const auto client = runtime::IpAddress::parse(o.client_ip);
  if (!o.client_ip.empty() && !client) {
    std::cerr << "error: --client-ip: `" << o.client_ip << "` is not an IP address\n";
    return 2;
  }
  return with_store(o.store, [&](state::Store& store) {
    return for_each_message(o.messages, [&](const std::string& name, const runtime::Message& m) {
      const bayes::ReportOutcome r =
          bayes::report_message(store, m, false_positive, client, state::system_clock_now());
      const nlohmann::json line{{"report", o.cls},
                                {"file", name},
                                {"bayes", std::string(bayes::learned_name(r.learned))},
                                {"reputation", client ? r.reputation : "unchanged (no --client-ip)"}};
      std::cout << line.dump() << "\n";
    });
  });
}

// A released message was wanted: Bayes learns it as ham; with --approve-sender its
// From: addresses go on each recipient's safe list (state/lists.h), so that their
// next messages reach that recipient (custom_filters.recipient_safe_sender).
int release(const TrainOptions& o) {
  for (const std::string& r : o.recipients) {
    if (!state::is_email_address(r)) {
      std::cerr << "error: --rcpt: `" << r << "` is not an email address\n";
      return 2;
    }
  }
  if (o.approve_sender && o.recipients.empty()) {
    std::cerr << "error: --approve-sender needs the recipients whose safe list it is (--rcpt)\n";
    return 2;
  }
  return with_store(o.store, [&](state::Store& store) {
    return for_each_message(o.messages, [&](const std::string& name, const runtime::Message& m) {
      const bayes::ReleaseOutcome r = bayes::release_message(store, m, o.recipients, o.approve_sender);
      nlohmann::json approved = nlohmann::json::array();
      for (const std::string& key : r.approved) approved.push_back({{"list", key}});
      if (o.approve_sender && r.approved.empty())
        std::cerr << "warning: " << name
                  << ": no From: address to approve (the message was learnt as ham, no safe list changed)\n";
      const nlohmann::json line{
          {"release", name}, {"bayes", std::string(bayes::learned_name(r.learned))}, {"approved", approved}};
      std::cout << line.dump() << "\n";
    });
  });
}

nlohmann::json score_json(const std::string& name, const bayes::Score& score, size_t clues) {
  nlohmann::json j{{"file", name},
                   {"probability", score.probability ? nlohmann::json(*score.probability) : nlohmann::json()},
                   {"tokens_used", score.clues.size()},
                   {"spam_trained", score.totals.spam},
                   {"ham_trained", score.totals.ham}};
  if (clues > 0) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < score.clues.size() && i < clues; ++i)
      list.push_back({{"token", score.clues[i].token}, {"probability", score.clues[i].probability}});
    j["clues"] = list;
  }
  return j;
}

int score(const TrainOptions& o) {
  return with_store(o.store, [&](state::Store& store) {
    bayes::Options options = o.tuning;
    if (o.min_trained >= 0) options.min_spam = options.min_ham = o.min_trained;
    bayes::Classifier classifier(store, options);
    return for_each_message(o.messages, [&](const std::string& name, const runtime::Message& m) {
      std::cout << score_json(name, classifier.classify(m), o.clues)
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    });
  });
}

CLI::App* add_common(CLI::App& app, const char* name, const char* what, TrainOptions& o) {
  auto* cmd = app.add_subcommand(name, what);
  cmd->add_option("--store", o.store, "The store: lmdb:PATH, redis://HOST:PORT[/DB] or redis+unix:PATH")
      ->required()
      ->type_name("ADDRESS");
  return cmd;
}

void add_learn(CLI::App& app, int& status, const char* name, const char* what, bool forget) {
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = add_common(app, name, what, *o);
  cmd->add_option("class", o->cls, "spam or ham")->required()->check(CLI::IsMember({"spam", "ham"}));
  cmd->add_option("messages", o->messages, "Message files, mbox files or directories")->required();
  cmd->callback([o, &status, forget] { status = learn(*o, forget); });
}

void add_train_commands(CLI::App& app, int& status) {
  add_learn(app, status, "train", "Teach Bayes messages of a class (docs/bayes.md)", false);
  add_learn(app, status, "untrain", "Make Bayes forget messages trained as a class", true);
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = add_common(app, "bayes-score", "Print each message's Bayes spam probability (JSON lines)", *o);
  cmd->group("");  // hidden: a measuring tool (scripts/bayes-measure), not for admins
  cmd->add_option("messages", o->messages, "Message files, mbox files or directories")->required();
  cmd->add_option("--min-trained", o->min_trained, "Score with fewer trained messages (default 200 each)");
  cmd->add_option("--clues", o->clues, "Print this many of the most significant tokens");
  cmd->add_option("--strength", o->tuning.strength, "Robinson's s (default 1)");
  cmd->add_option("--min-significance", o->tuning.min_significance, "Least |f(w) - 0.5| used (default 0.1)");
  cmd->add_option("--max-significant", o->tuning.max_significant, "Most tokens combined (default 150)");
  cmd->callback([o, &status] { status = score(*o); });
  auto r = std::make_shared<TrainOptions>();
  auto* rep = add_common(app, "report",
                         "Report false positives (fp) or negatives (fn): Bayes and reputation learn", *r);
  rep->add_option("kind", r->cls, "fp (was not spam) or fn (was spam)")
      ->required()
      ->check(CLI::IsMember({"fp", "fn"}));
  rep->add_option("messages", r->messages, "Message files, mbox files or directories")->required();
  rep->add_option("--client-ip", r->client_ip, "The client that sent them: its reputation moves too")
      ->type_name("IP");
  rep->callback([r, &status] { status = report(*r); });
  auto rel = std::make_shared<TrainOptions>();
  auto* release_cmd =
      add_common(app, "release", "A released message was wanted: Bayes learns it as ham", *rel);
  release_cmd->add_option("messages", rel->messages, "Message files, mbox files or directories")->required();
  release_cmd->add_option("--rcpt", rel->recipients, "A recipient the message was held for (repeatable)")
      ->type_name("ADDRESS");
  release_cmd->add_flag("--approve-sender", rel->approve_sender,
                        "Add the From: address to each --rcpt's safe list (docs/state.md)");
  release_cmd->callback([rel, &status] { status = release(*rel); });
}

}  // namespace

MP_REGISTER_COMMAND(85, add_train_commands);

}  // namespace mp::tools
