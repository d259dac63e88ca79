// The knowledge base: YAML loading, file:line errors, and the shipped starter FAQ.
#include "teller/nlg/knowledge_base.hpp"

#include <gtest/gtest.h>

#include <set>

#include "teller/core/error.hpp"

namespace teller::nlg {
namespace {

constexpr const char* kArticle = R"(articles:
  - id: fees.atm
    topic: fees
    en:
      questions: ["atm fee?", "cash machine charges"]
      answer: "Free at our ATMs."
    zh-CN:
      questions: ["取款手续费"]
      answer: "本行ATM免费。"
)";

std::string parse_error(const std::string& yaml) {
    try {
        (void)KnowledgeBase::parse(yaml, "kb.yaml");
    } catch (const core::Error& e) {
        return e.what();
    }
    return "";
}

TEST(KnowledgeBaseTest, ParsesArticlesQuestionsAndAnswers) {
    KnowledgeBase kb = KnowledgeBase::parse(kArticle, "kb.yaml");
    ASSERT_EQ(kb.articles().size(), 1u);
    const Article& a = kb.articles().front();
    EXPECT_EQ(a.id, "fees.atm");
    EXPECT_EQ(a.topic, "fees");
    EXPECT_EQ(a.origin, "kb.yaml:2");
    EXPECT_EQ(a.locales.at("en").questions.size(), 2u);
    EXPECT_EQ(kb.answer("fees.atm", "zh-CN"), "本行ATM免费。");
    EXPECT_EQ(kb.answer("fees.atm", "fr"), "Free at our ATMs.");
    EXPECT_EQ(kb.answer("nope", "en"), "");
    EXPECT_EQ(kb.questions().size(), 3u);
    EXPECT_EQ(kb.fingerprint(), KnowledgeBase::parse(kArticle, "other.yaml").fingerprint());
}

TEST(KnowledgeBaseTest, ErrorsNameFileAndLine) {
    EXPECT_EQ(parse_error("articles:\n  - topic: x\n"), "kb.yaml:2: article without an id");
    EXPECT_EQ(parse_error(std::string(kArticle) + "  - id: fees.atm\n"),
              "kb.yaml:10: article id \"fees.atm\" is used twice");
    EXPECT_EQ(parse_error("articles:\n  - id: a\n    en:\n      questions: [q]\n      answer: x\n"),
              "kb.yaml:2: article \"a\" has no zh-CN part");
    EXPECT_EQ(parse_error("articles:\n  - id: a\n    en:\n      questions: []\n      answer: x\n"),
              "kb.yaml:4: the en part of \"a\" has no questions");
    EXPECT_EQ(parse_error("articles:\n  - id: a\n    en:\n      questions: [q]\n"),
              "kb.yaml:4: the en part of \"a\" has no answer");
    EXPECT_EQ(parse_error("articles:\n  - id: a\n    colour: red\n"),
              "kb.yaml:3: unknown key \"colour\" in article \"a\"");
    EXPECT_EQ(parse_error("faq: []\n"), "kb.yaml:1: expected a map with an `articles` list");
    EXPECT_NE(parse_error("articles:\n  - id: [\n").find("kb.yaml:"), std::string::npos);
}

TEST(KnowledgeBaseTest, StarterFaqHasSixtyBilingualArticlesWithVariedQuestions) {
    KnowledgeBase kb = KnowledgeBase::load(TELLER_SOURCE_DIR "/knowledge/faq");
    EXPECT_GE(kb.articles().size(), 60u);
    std::set<std::string> topics;
    for (const Article& a : kb.articles()) {
        topics.insert(a.topic);
        for (const char* locale : {"en", "zh-CN"}) {
            const ArticleText& t = a.locales.at(locale);
            std::set<std::string> distinct(t.questions.begin(), t.questions.end());
            EXPECT_GE(distinct.size(), 4u) << a.id << " " << locale;
            EXPECT_FALSE(t.answer.empty()) << a.id;
        }
    }
    for (const char* topic :
         {"fees", "limits", "hours", "cards", "interest", "overdraft", "transfers", "digital",
          "security", "disputes", "loans", "investment"}) {
        EXPECT_TRUE(topics.contains(topic)) << topic;
    }
}

}  // namespace
}  // namespace teller::nlg
