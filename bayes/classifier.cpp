// The classifier over the store: reading a message's token counts in one get_many,
// training and untraining with one batched add, and remembering which messages were
// trained so that training twice counts once (key layout in bayes.h, docs/bayes.md).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bayes/bayes.h"
#include "runtime/score.h"

namespace mp::bayes {

namespace {

constexpr std::string_view kSpamTotal = "bayes:nspam";
constexpr std::string_view kHamTotal = "bayes:nham";

std::string_view total_key(Class c) {
  return c == Class::Spam ? kSpamTotal : kHamTotal;
}

Class other(Class c) {
  return c == Class::Spam ? Class::Ham : Class::Spam;
}

double number(const std::optional<std::string>& text) {
  if (!text) return 0;
  try {
    return std::max(0.0, std::stod(*text));
  } catch (const std::exception&) {
    return 0;  // not a number: as none (the store's add does the same)
  }
}

// Short lowercase ASCII tokens are kept readable in the key; anything else is hashed.
bool readable(std::string_view token) {
  if (token.size() > 24 || token.empty() || token.front() == '#') return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' ||
           c == '@' || c == '/' || c == '$' || c == '!' || c == '\'';
  });
}

std::optional<Class> seen_class(const std::optional<std::string>& value) {
  if (value == "spam") return Class::Spam;
  if (value == "ham") return Class::Ham;
  return std::nullopt;
}

}  // namespace

std::string_view class_name(Class c) {
  return c == Class::Spam ? "spam" : "ham";
}

std::string_view learned_name(Learned l) {
  switch (l) {
    case Learned::Trained: return "trained";
    case Learned::Moved: return "moved";
    case Learned::AlreadyKnown: return "already trained";
    case Learned::Untrained: return "untrained";
    case Learned::NotTrained: return "not trained";
  }
  return "?";
}

std::optional<Class> auto_learn_class(double score, const AutoLearn& thresholds) {
  if (runtime::score_at_least(score, thresholds.spam_score)) return Class::Spam;
  if (runtime::score_at_most(score, thresholds.ham_score)) return Class::Ham;
  return std::nullopt;
}

uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string token_key(Class c, std::string_view token) {
  std::string key = c == Class::Spam ? "bayes:s:" : "bayes:h:";
  if (readable(token)) return key.append(token);
  return key + fmt::format("#{:016x}", fnv1a(token));
}

std::string seen_key(std::string_view id) {
  return fmt::format("bayes:seen:{:016x}", fnv1a(id));
}

std::string message_id(const runtime::Message& message) {
  if (auto id = message.header("Message-ID"); id && id->find('@') != std::string_view::npos)
    return std::string(*id);
  return fmt::format("body:{:016x}", fnv1a(message.raw_body()));
}

Classifier::Classifier(state::Store& store, Options options) : store_(store), options_(std::move(options)) {}

Counts Classifier::totals() const {
  const std::vector<std::string> keys{std::string(kSpamTotal), std::string(kHamTotal)};
  auto values = store_.get_many(keys);
  return {number(values[0]), number(values[1])};
}

Score Classifier::classify(const runtime::Message& message) const {
  return classify(tokens(message, options_.tokens));
}

Score Classifier::classify(std::span<const std::string> toks) const {
  std::vector<std::string> keys{std::string(kSpamTotal), std::string(kHamTotal)};
  keys.reserve(2 + 2 * toks.size());
  for (const auto& t : toks) {
    keys.push_back(token_key(Class::Spam, t));
    keys.push_back(token_key(Class::Ham, t));
  }
  const auto values = store_.get_many(keys);
  Score score;
  score.totals = {number(values[0]), number(values[1])};
  if (score.totals.spam < options_.min_spam || score.totals.ham < options_.min_ham) return score;
  for (size_t i = 0; i < toks.size(); ++i) {
    const Counts counts{number(values[2 + 2 * i]), number(values[3 + 2 * i])};
    if (counts.spam + counts.ham <= 0) continue;  // never seen: says nothing
    const double f = token_probability(counts, score.totals, options_);
    if (std::abs(f - 0.5) >= options_.min_significance) score.clues.push_back({toks[i], f});
  }
  // The most significant first; ties by token so that the result does not depend on
  // the order tokens were found in.
  std::sort(score.clues.begin(), score.clues.end(), [](const Clue& a, const Clue& b) {
    const double da = std::abs(a.probability - 0.5), db = std::abs(b.probability - 0.5);
    return da != db ? da > db : a.token < b.token;
  });
  if (score.clues.size() > options_.max_significant) score.clues.resize(options_.max_significant);
  std::vector<double> probabilities;
  for (const auto& c : score.clues) probabilities.push_back(c.probability);
  score.probability = fisher_combine(probabilities);
  return score;
}

void Classifier::apply(std::span<const std::string> toks, Class c, double delta,
                       std::vector<std::pair<std::string, double>>& deltas) const {
  deltas.emplace_back(std::string(total_key(c)), delta);
  for (const auto& t : toks) deltas.emplace_back(token_key(c, t), delta);
}

// Adds the deltas in one batch; a key that the subtraction took to 0 or below (a token
// key that expired meanwhile, a concurrent untrain) is erased, so counts never go
// negative and forgotten tokens take no space.
void Classifier::commit(const std::vector<std::pair<std::string, double>>& deltas) {
  const bool subtracts =
      std::any_of(deltas.begin(), deltas.end(), [](const auto& d) { return d.second < 0; });
  const auto values = store_.add(deltas, options_.ttl);
  if (!subtracts) return;
  for (size_t i = 0; i < deltas.size() && i < values.size(); ++i) {
    if (values[i] <= 0) store_.erase(deltas[i].first);
  }
}

Learned Classifier::train(const runtime::Message& message, Class c) {
  return train(message_id(message), tokens(message, options_.tokens), c);
}

Learned Classifier::train(std::string_view id, std::span<const std::string> toks, Class c) {
  const std::string key = seen_key(id);
  const auto before = seen_class(store_.get(key));
  if (before == c) return Learned::AlreadyKnown;
  std::vector<std::pair<std::string, double>> deltas;
  if (before) apply(toks, other(c), -1, deltas);
  apply(toks, c, +1, deltas);
  commit(deltas);
  store_.put(key, class_name(c), options_.ttl);
  return before ? Learned::Moved : Learned::Trained;
}

Learned Classifier::untrain(const runtime::Message& message, Class c) {
  return untrain(message_id(message), tokens(message, options_.tokens), c);
}

Learned Classifier::untrain(std::string_view id, std::span<const std::string> toks, Class c) {
  const std::string key = seen_key(id);
  if (seen_class(store_.get(key)) != c) return Learned::NotTrained;
  std::vector<std::pair<std::string, double>> deltas;
  apply(toks, c, -1, deltas);
  commit(deltas);
  store_.erase(key);
  return Learned::Untrained;
}

}  // namespace mp::bayes
