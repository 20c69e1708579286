// Reconciling a load run (smtp_load.h) with what Postfix has: every message is
// delivered (one copy in the Maildir), held (in the hold queue), refused (the client
// saw 5xx) or deferred (4xx), and none is unaccounted for (docs/gateway.md, "Never
// losing a message"). Each message carries its number in its Message-ID,
// <load-N@...>.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <regex>
#include <set>
#include <string>

#include "tests/gateway/postfix_harness.h"
#include "tests/gateway/smtp_load.h"

namespace mp::gateway_test {

struct Tally {
  int delivered = 0, held = 0, refused = 0, deferred = 0, no_reply = 0, unaccounted = 0;
  int held_in_queue = 0;  // messages on hold, whoever sent them
  int accounted() const { return delivered + held + refused + deferred; }
};

inline std::ostream& operator<<(std::ostream& out, const Tally& t) {
  return out << "delivered " << t.delivered << ", held " << t.held << ", refused " << t.refused
             << ", deferred " << t.deferred << ", no reply " << t.no_reply << ", unaccounted "
             << t.unaccounted;
}

// Each of `count` messages of `load` against Postfix's Maildir and queue (the queue
// must be idle); a message that fits no outcome is a test failure naming it.
inline Tally reconcile(const LoadResult& load, int count, PostfixInstance& postfix) {
  std::map<int, int> delivered;  // message number → copies
  static const std::regex token(R"(Message-ID: <load-(\d+)@)");
  for (const auto& mail : postfix.delivered()) {
    std::smatch m;
    if (std::regex_search(mail.content, m, token)) ++delivered[std::stoi(m[1])];
  }
  std::set<std::string> held;
  for (const auto& q : postfix.queue()) {
    if (q.value("queue_name", "") == "hold") held.insert(q.value("queue_id", ""));
  }
  Tally t;
  t.held_in_queue = static_cast<int>(held.size());
  static const std::regex queued(R"(queued as ([0-9A-Za-z]+))");
  for (int i = 0; i < count; ++i) {
    const int code = load.code[static_cast<size_t>(i)];
    const std::string& text = load.text[static_cast<size_t>(i)];
    std::smatch m;
    const std::string id = std::regex_search(text, m, queued) ? m[1].str() : "";
    const int copies = delivered.count(i) ? delivered[i] : 0;
    const bool on_hold = !id.empty() && held.count(id);
    if (code == 250 && copies == 1 && !on_hold)
      ++t.delivered;
    else if (code == 250 && copies == 0 && on_hold)
      ++t.held;
    else if (code / 100 == 5 && copies == 0)
      ++t.refused;
    else if (code / 100 == 4 && copies == 0)
      ++t.deferred;
    else if (code == 0)
      ++t.no_reply;
    else
      ++t.unaccounted, ADD_FAILURE() << "message " << i << ": " << text << ", delivered " << copies
                                     << (on_hold ? ", held" : "");
  }
  return t;
}

}  // namespace mp::gateway_test
