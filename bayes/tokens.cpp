// The tokenizer: what a message is to the classifier. Words are split and trimmed the
// way SpamAssassin's Bayes tokenizer does in spirit (letters, digits, 8-bit bytes and a
// few in-word marks; leading and trailing punctuation dropped; short words skipped,
// long ones collapsed to a prefix so that random strings do not each become a token),
// lowercased as SpamBayes does. Header tokens are a small set chosen to describe the
// sending software and the message's shape without naming the path this copy took to
// one mailbox (Received hosts, Delivered-To), which would teach the classifier the
// collector rather than the mail.
#include <algorithm>
#include <unordered_set>

#include "bayes/bayes.h"
#include "runtime/url_form.h"

namespace mp::bayes {

namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
         c == '$' || c == '!' || c == '\'' || c == '.' || c == '-' || c == '_' || c == '@';
}

bool is_trimmed(char c) {
  return c == '.' || c == '\'' || c == '-' || c == '_' || c == '@';
}

bool has_8bit(std::string_view w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// One word, trimmed, as a token (with `prefix`); "" when it is no token.
std::string word_token(std::string_view w, std::string_view prefix, const TokenOptions& o) {
  while (!w.empty() && is_trimmed(w.front())) w.remove_prefix(1);
  while (!w.empty() && is_trimmed(w.back())) w.remove_suffix(1);
  if (w.size() < o.min_word) return "";
  std::string out(prefix);
  if (w.size() > o.max_word) {
    // A long word is mostly an identifier, an encoded blob or text without spaces:
    // its start still says something ("sk:" as SpamAssassin's skip tokens), the rest
    // would only make tokens seen once.
    out += has_8bit(w) ? "8k:" : "sk:";
    w = w.substr(0, 7);
  }
  for (char c : w) out += lower(c);
  return out;
}

// Distinct tokens in order, up to a limit.
class Sink {
 public:
  explicit Sink(size_t limit) : limit_(limit) {}
  bool full() const { return out_.size() >= limit_; }
  void add(std::string token) {
    if (token.empty() || full()) return;
    if (seen_.insert(token).second) out_.push_back(std::move(token));
  }
  std::vector<std::string> take() { return std::move(out_); }

 private:
  size_t limit_;
  std::unordered_set<std::string> seen_;
  std::vector<std::string> out_;
};

// Calls f(word) for each run of word bytes in `text` while f returns true.
template <typename F>
void for_each_word(std::string_view text, F&& f) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start && !f(text.substr(start, i - start))) return;
  }
}

// Words, and with o.pairs each two neighbouring words as one token more ("prefix" +
// "word1 word2"): phrases separate better than their words ("click here", "to remove").
void add_words(Sink& sink, std::string_view text, std::string_view prefix, const TokenOptions& o) {
  std::string previous;
  for_each_word(text, [&](std::string_view w) {
    std::string token = word_token(w, prefix, o);
    if (token.empty()) return true;
    if (o.pairs && !previous.empty()) sink.add(previous + " " + token.substr(prefix.size()));
    previous = token;
    sink.add(std::move(token));
    return !sink.full();
  });
}

std::string lowered(std::string_view s) {
  std::string out;
  for (char c : s) out += lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"')) s.remove_suffix(1);
  return s;
}

// "text/plain; charset=iso-8859-1" → type "text/plain", charset "iso-8859-1".
void add_content_type(Sink& sink, std::string_view value) {
  std::string v = lowered(value);
  std::string_view type = trim(std::string_view(v).substr(0, v.find(';')));
  if (!type.empty()) sink.add("h:ct:" + std::string(type.substr(0, 40)));
  if (size_t at = v.find("charset="); at != std::string::npos) {
    std::string_view cs = std::string_view(v).substr(at + 8);
    cs = trim(cs.substr(0, cs.find(';')));
    if (!cs.empty()) sink.add("h:cs:" + std::string(cs.substr(0, 30)));
  }
}

// The domain of an id or address "<local@domain>"; "" when there is none.
std::string id_domain(std::string_view id) {
  size_t at = id.rfind('@');
  if (at == std::string_view::npos) return "";
  std::string_view d = id.substr(at + 1);
  d = d.substr(0, d.find('>'));
  return lowered(trim(d).substr(0, 60));
}

// Received hops, bucketed: mail from a botnet arrives in fewer hops than list mail.
std::string hops_bucket(size_t hops) {
  if (hops <= 5) return std::to_string(hops);
  return hops <= 8 ? "6-8" : "9+";
}

void add_header_tokens(Sink& sink, const runtime::Message& m) {
  size_t hops = 0;
  for (const auto& h : m.headers()) hops += lowered(h.name) == "received";
  sink.add("h:hops:" + hops_bucket(hops));
  if (!m.from().empty()) sink.add("h:from:" + lowered(m.from().front().domain()));
  auto mid = m.header("Message-ID");
  sink.add("h:mid:" + (mid ? id_domain(*mid) : std::string("none")));
  for (const char* name : {"X-Mailer", "User-Agent"}) {
    if (auto v = m.header(name)) add_words(sink, v->substr(0, 200), "h:xm:", {.pairs = false});
  }
  // The sender's words (name, address), as SpamAssassin tokenizes From; not To, whose
  // words are the recipient's, the same for spam and ham.
  if (auto v = m.header("From")) add_words(sink, v->substr(0, 200), "h:f:", {.pairs = false});
  if (auto v = m.header("Reply-To")) sink.add("h:rt:" + id_domain(*v));
  if (auto v = m.header("Content-Type")) add_content_type(sink, *v);
  if (auto v = m.header("Content-Transfer-Encoding")) sink.add("h:cte:" + lowered(trim(v->substr(0, 30))));
  // Not List-Id: as SpamAssassin notes, a list that discusses spam would become a ham
  // sign, and a spammer can write any list header.
  if (auto v = m.header("Precedence")) sink.add("h:prec:" + lowered(trim(v->substr(0, 20))));
  for (const auto& a : m.attachments()) sink.add("h:att:" + a.content_type.substr(0, 60));
  // Most spam is HTML, at any depth of the MIME tree (the top-level type only says
  // multipart/alternative).
  if (!m.html().empty()) sink.add("h:html");
}

void add_url_tokens(Sink& sink, const runtime::Message& m) {
  for (const auto& url : m.urls()) {
    if (url.domain.empty()) continue;
    sink.add("u:" + url.domain.substr(0, 80));
    std::string reg = runtime::registrable_domain(url.domain);
    if (!reg.empty()) sink.add("u:" + reg.substr(0, 80));
  }
}

}  // namespace

std::vector<std::string> words(std::string_view text, std::string_view prefix, const TokenOptions& options) {
  std::vector<std::string> out;
  for_each_word(text, [&](std::string_view w) {
    if (std::string t = word_token(w, prefix, options); !t.empty()) out.push_back(std::move(t));
    return true;
  });
  return out;
}

std::vector<std::string> tokens(const runtime::Message& message, const TokenOptions& options) {
  Sink sink(options.max_tokens);
  add_header_tokens(sink, message);
  add_words(sink, message.subject(), "s:", options);
  add_url_tokens(sink, message);
  std::string_view body = message.body_text();
  add_words(sink, body.substr(0, options.max_body_bytes), "", options);
  return sink.take();
}

}  // namespace mp::bayes
