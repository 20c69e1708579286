// bayes/: a statistical token classifier that learns spam from ham (issue 12, `bayes`).
// A message becomes a set of tokens (words of subject and body, a few header tokens,
// URL domains); each token's spam and ham counts live in the state store (state/); a
// message's spam probability combines the per-token probabilities:
//
//  - per token, Gary Robinson's f(w) ("A Statistical Approach to the Spam Problem",
//    Linux Journal 2003): p(w) = (s/S) / (s/S + h/H) from the token's spam and ham
//    counts s, h and the trained message totals S, H, moved towards x by the strength
//    s0 of the background belief: f(w) = (s0·x + n·p(w)) / (s0 + n), n = s + h;
//  - over the message, Fisher's method (R. A. Fisher, "Statistical Methods for Research
//    Workers", combining independent p-values with -2·Σ ln p ~ χ² with 2k degrees of
//    freedom) applied both ways as Robinson proposed and SpamBayes, SpamAssassin and
//    rspamd do: I = (1 + S − H) / 2 with S = 1 − Q(−2 Σ ln(1 − f)), H = 1 − Q(−2 Σ ln f).
//
// Key layout in the store (docs/bayes.md): `bayes:nspam`, `bayes:nham` (messages
// trained), `bayes:s:TOKEN` and `bayes:h:TOKEN` (messages of each class that had the
// token; a token that is not short lowercase ASCII is written as `#` and 16 hex digits
// of its 64-bit FNV-1a hash), `bayes:seen:ID` ("spam" or "ham": what the message with
// that id was trained as).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/message.h"
#include "state/store.h"

namespace mp::bayes {

struct TokenOptions {
  size_t max_tokens = 1200;        // distinct tokens per message (headers, subject, URLs first)
  size_t min_word = 3;             // bytes; shorter words are not tokens
  size_t max_word = 15;            // bytes; longer words become "sk:" + their first 7 bytes
  size_t max_body_bytes = 100000;  // of body text examined
  bool pairs = false;              // also each two neighbouring words of subject and body
};

// The message's tokens, each once, in the order found: header tokens ("h:..."), subject
// words ("s:word"), URL hosts and their registrable domains ("u:host"), then body words
// (decoded text of every text part, HTML as text). Lowercased; at most max_tokens.
std::vector<std::string> tokens(const runtime::Message& message, const TokenOptions& options = {});

// The words of `text` as the tokenizer sees them, each with `prefix` (repeats kept).
std::vector<std::string> words(std::string_view text, std::string_view prefix = "",
                               const TokenOptions& options = {});

enum class Class { Spam, Ham };
std::string_view class_name(Class c);  // "spam", "ham"

struct Options {
  double strength = 1.0;          // Robinson's s: weight of the background belief x
  double background = 0.5;        // Robinson's x: f(w) of a token never seen
  double min_significance = 0.1;  // |f(w) − 0.5| below this: the token is not used
  size_t max_significant = 150;   // the most significant tokens combined
  double min_spam = 200;          // trained spam and ham below these: no probability
  double min_ham = 200;
  double ttl = 0;  // seconds a token key lives after it was last trained (0: ever)
  TokenOptions tokens{};
};

struct Counts {
  double spam = 0;
  double ham = 0;
};

// Robinson's f(w) for a token with `token` counts when `totals` messages were trained.
// Totals of 0 count as 1 (no division by zero). In [0, 1].
double token_probability(Counts token, Counts totals, const Options& options = {});

// Q(chi2, dof): the probability that a χ² variable with `dof` degrees of freedom (even,
// ≥ 2) is at least `chi2`. Computed in log space so large arguments do not underflow.
double chi2_survival(double chi2, size_t dof);

// Fisher-Robinson combining of token probabilities (each clamped to [1e-9, 1 − 1e-9]);
// 0.5 when `probabilities` is empty. In [0, 1]: 1 is spam.
double fisher_combine(std::span<const double> probabilities);

// One token's part in a score, for explanations and tests.
struct Clue {
  std::string token;
  double probability = 0.5;  // f(w)
};

struct Score {
  std::optional<double> probability;  // nullopt: fewer than min_spam / min_ham trained
  Counts totals;
  std::vector<Clue> clues;  // the tokens combined, most significant first
};

// What train and untrain did.
enum class Learned {
  Trained,       // counts added
  Moved,         // had been trained as the other class: moved to this one
  AlreadyKnown,  // train: already trained as this class; nothing changed
  Untrained,     // untrain: counts subtracted
  NotTrained,    // untrain: never trained (or trained as the other class); nothing changed
};
std::string_view learned_name(Learned l);

// A Classifier is cheap: it holds a reference to the store and the options. Safe to use
// from several threads when the store is. Every method may throw state::StoreUnavailable.
class Classifier {
 public:
  explicit Classifier(state::Store& store, Options options = {});

  // The message's spam probability. One store round trip (get_many of 2 + 2·tokens keys).
  Score classify(const runtime::Message& message) const;
  Score classify(std::span<const std::string> tokens) const;

  // Learns the message as `c`, unless it was already (by id: message_id). Round trips:
  // one get, one batched add, one put.
  Learned train(const runtime::Message& message, Class c);
  Learned train(std::string_view id, std::span<const std::string> tokens, Class c);
  // Forgets a message trained as `c` (counts never go below 0: keys that reach 0 are
  // erased). Round trips: one get, one add, one erase (the seen key) and one per
  // token key that reached 0.
  Learned untrain(const runtime::Message& message, Class c);
  Learned untrain(std::string_view id, std::span<const std::string> tokens, Class c);

  Counts totals() const;
  const Options& options() const { return options_; }

 private:
  void apply(std::span<const std::string> tokens, Class c, double delta,
             std::vector<std::pair<std::string, double>>& deltas) const;
  void commit(const std::vector<std::pair<std::string, double>>& deltas);

  state::Store& store_;
  Options options_;
};

// Auto-learning, as SpamAssassin's bayes_auto_learn: a message the rest of the policy
// scored clearly is trained without an admin. `score` is the policy's score for the
// message *without* Bayes's own contribution (else Bayes would only confirm itself).
// The defaults are SpamAssassin's (bayes_auto_learn_threshold_spam 12,
// _nonspam 0.1); the settings that set them are the language's.
struct AutoLearn {
  double spam_score = 12.0;  // score at or above: learn as spam
  double ham_score = 0.1;    // score at or below: learn as ham
};
// The class to learn the message as; nullopt when its score is in between.
std::optional<Class> auto_learn_class(double score, const AutoLearn& thresholds = {});

// What a message is remembered by: its Message-ID, or (none) a hash of its body.
std::string message_id(const runtime::Message& message);

// The store keys (see the layout above).
std::string token_key(Class c, std::string_view token);
std::string seen_key(std::string_view id);
uint64_t fnv1a(std::string_view bytes);

}  // namespace mp::bayes
