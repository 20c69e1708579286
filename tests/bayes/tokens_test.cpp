// The tokenizer: words split, trimmed, lowercased and length-limited; long words
// collapsed; subject, header and URL tokens prefixed; each token once; the cap.
#include <gtest/gtest.h>

#include <algorithm>

#include "bayes/bayes.h"

namespace mp::bayes {
namespace {

using Tokens = std::vector<std::string>;

bool has(const Tokens& t, const std::string& token) {
  return std::find(t.begin(), t.end(), token) != t.end();
}

TEST(BayesWords, SplitTrimLowercaseAndSkipShortWords) {
  EXPECT_EQ(words("Hello, WORLD!! it's a 'quoted' test... of $100 money-back"),
            (Tokens{"hello", "world!!", "it's", "quoted", "test", "$100", "money-back"}));
}

TEST(BayesWords, LongWordsCollapseToTheirStart) {
  EXPECT_EQ(words("supercalifragilistic"), (Tokens{"sk:superca"}));
  EXPECT_EQ(words("abcdefghijklmno"), (Tokens{"abcdefghijklmno"}));  // 15 bytes: kept
  // Text without spaces in another script: a token of its first bytes, marked 8-bit.
  EXPECT_EQ(words("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c\xe4\xbd\xa0\xe5\xa5\xbd"),
            (Tokens{"8k:\xe4\xbd\xa0\xe5\xa5\xbd\xe4"}));
}

TEST(BayesWords, PrefixAndPunctuationOnlyWords) {
  EXPECT_EQ(words("Free OFFER -- ... ''", "s:"), (Tokens{"s:free", "s:offer"}));
  EXPECT_TRUE(words("a bc -- .. !! ...---").empty());  // short, or only trimmed marks
}

runtime::Message parse(const std::string& text) {
  return runtime::Message::parse(text);
}

const char* kMessage =
    "Received: from a by b\r\n"
    "Received: from c by d\r\n"
    "From: Seller <deals@Shop.Example>\r\n"
    "To: you@example.org\r\n"
    "Subject: Cheap Watches cheap\r\n"
    "Message-ID: <123@mailer.shop.example>\r\n"
    "X-Mailer: Bulk Sender 5.0\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=\"ISO-8859-1\"\r\n"
    "\r\n"
    "<p>Buy cheap watches at <a href=\"http://www.deals.shop.example/x\">our shop</a> today.</p>\r\n";

TEST(BayesTokens, HeadersSubjectUrlsAndBodyEachOnce) {
  Tokens t = tokens(parse(kMessage));
  for (const char* expected :
       {"h:hops:2", "h:from:shop.example", "h:mid:mailer.shop.example", "h:xm:bulk", "h:xm:sender",
        "h:ct:text/html", "h:cs:iso-8859-1", "s:cheap", "s:watches", "u:www.deals.shop.example",
        "u:shop.example", "buy", "cheap", "watches", "today"})
    EXPECT_TRUE(has(t, expected)) << expected;
  EXPECT_EQ(std::count(t.begin(), t.end(), "s:cheap"), 1);
  EXPECT_FALSE(has(t, "<p>"));
  EXPECT_FALSE(has(t, "at"));
  // Headers first, then subject, URLs, body.
  EXPECT_EQ(t.front(), "h:hops:2");
  EXPECT_LT(std::find(t.begin(), t.end(), "s:cheap"), std::find(t.begin(), t.end(), "cheap"));
}

TEST(BayesTokens, SenderWordsAndOptionalWordPairs) {
  runtime::Message m =
      parse("From: Seller <a@b.example>\r\nReply-To: x@Other.Example\r\n\r\nclick here now\r\n");
  Tokens t = tokens(m);
  EXPECT_TRUE(has(t, "h:f:seller"));
  EXPECT_TRUE(has(t, "h:rt:other.example"));
  EXPECT_FALSE(has(t, "click here"));
  Tokens pairs = tokens(m, {.pairs = true});
  EXPECT_TRUE(has(pairs, "click here"));
  EXPECT_TRUE(has(pairs, "here now"));
  EXPECT_FALSE(has(pairs, "h:f:seller a@b.example"));  // header words go alone
}

TEST(BayesTokens, NoMessageIdAndTheCap) {
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "word" + std::to_string(i) + " ";
  runtime::Message m = parse("From: a@b.example\r\nSubject: hi\r\n\r\n" + body);
  Tokens all = tokens(m);
  EXPECT_TRUE(has(all, "h:mid:none"));
  EXPECT_EQ(all.size(), TokenOptions{}.max_tokens);
  Tokens few = tokens(m, {.max_tokens = 10});
  EXPECT_EQ(few.size(), 10u);
  EXPECT_TRUE(std::equal(few.begin(), few.end(), all.begin()));
}

TEST(BayesKeys, ReadableTokensStayReadableOthersAreHashed) {
  EXPECT_EQ(token_key(Class::Spam, "viagra"), "bayes:s:viagra");
  EXPECT_EQ(token_key(Class::Ham, "u:example.com"), "bayes:h:u:example.com");
  const std::string hashed = token_key(Class::Spam, "8k:\xe4\xbd\xa0");
  EXPECT_EQ(hashed.rfind("bayes:s:#", 0), 0u);
  EXPECT_EQ(hashed.size(), std::string("bayes:s:#").size() + 16);
  // A token that looks like a hashed key is hashed too, so the two cannot meet.
  EXPECT_NE(token_key(Class::Spam, "#0123456789abcdef"), "bayes:s:#0123456789abcdef");
  EXPECT_EQ(seen_key("<a@b>").rfind("bayes:seen:", 0), 0u);
}

TEST(BayesKeys, MessageIdOrBodyHash) {
  EXPECT_EQ(message_id(parse("Message-ID: <x@y.example>\r\n\r\nbody\r\n")), "<x@y.example>");
  const std::string a = message_id(parse("Subject: a\r\n\r\nbody one\r\n"));
  EXPECT_EQ(a.rfind("body:", 0), 0u);
  EXPECT_EQ(a, message_id(parse("Subject: other\r\n\r\nbody one\r\n")));
  EXPECT_NE(a, message_id(parse("Subject: a\r\n\r\nbody two\r\n")));
}

}  // namespace
}  // namespace mp::bayes
