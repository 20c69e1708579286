// Deterministic generator of realistic content-rule policies for benchmarks: a mix of
// subject/body/header/URL/From-domain tests, mostly literals with some regexes, each
// rule adding a small score so that every rule is evaluated on every message.
#pragma once

#include <random>
#include <string>

namespace mp::bench {

inline std::string random_word(std::mt19937& rng) {
  static const char* syllables[] = {"ka", "lo", "mi", "ru", "te", "xo", "ban", "qui", "zer", "pol",
                                    "vek", "dra", "sun", "fir", "gol", "hex", "jun", "nor", "wyl", "ost"};
  std::uniform_int_distribution<int> count(3, 5), pick(0, 19);
  std::string w;
  for (int i = count(rng); i > 0; --i) w += syllables[pick(rng)];
  return w;
}

inline std::string generate_policy(int rules, unsigned seed = 42) {
  std::mt19937 rng(seed);
  std::string out = "stage spam_engine {\n";
  for (int i = 0; i < rules; ++i) {
    std::string w1 = random_word(rng), w2 = random_word(rng);
    std::string test;
    switch (i % 8) {
      case 0: test = "subject contains \"" + w1 + "\" nocase"; break;
      case 1: test = "body contains \"" + w1 + " " + w2 + "\""; break;
      case 2: test = "header \"X-Mailer\" contains \"" + w1 + "\""; break;
      case 3: test = "any url (domain ends with \"." + w1 + ".example\")"; break;
      case 4: test = "from.domain is " + w1 + ".example"; break;
      case 5: test = "body matches /" + w1 + "[0-9]{2,4}" + w2 + "/i"; break;
      case 6: test = "body contains \"" + w1 + "\" and subject contains \"" + w2 + "\""; break;
      default: test = "rawbody contains \"" + w1 + w2 + "\""; break;
    }
    out += "  rule r" + std::to_string(i) + ": if " + test + " then score +0.1 \"r" + std::to_string(i) + "\"\n";
  }
  return out + "}\n";
}

}  // namespace mp::bench
