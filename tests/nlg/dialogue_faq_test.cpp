// The dialogue's FAQ path: verbatim answers above the threshold, "don't know + a person" below.
#include "teller/core/dialogue.hpp"

#include <gtest/gtest.h>

#include "teller/core/backend.hpp"
#include "teller/nlg/nlg.hpp"
#include "tiny_kb.hpp"

namespace teller::nlg {
namespace {
using core::DialogueEventType;

class DialogueFaqTest : public ::testing::Test {
protected:
    DialogueFaqTest()
        : backend_(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        KnowledgeBase kb = KnowledgeBase::parse(testing::kTinyKb, "tiny.yaml");
        FaqTrainOptions options;
        options.epochs = 40;
        auto model = FaqModel::train(kb.questions(), options, kb.fingerprint());
        nlg_ = std::make_unique<Nlg>(TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses"),
                                     std::move(kb), std::move(model), NlgOptions{0.6f, {}});
    }

    core::TurnOutput turn(const std::string& text, const std::string& intent, float confidence,
                          const Responder* responder) {
        core::DialogueOptions options;
        options.responder = responder;
        core::DialogueManager dialogue(host_, options);
        core::InboundMessage in;
        in.id = "m" + std::to_string(++sequence_);
        in.channel = "webchat";
        in.conversation = "webchat:ada";
        in.sender = "ada";
        in.text = text;
        core::NluResult nlu;
        nlu.ranking = {{intent, confidence}};
        return dialogue.run_turn(in, nlu, {}, 1000);
    }

    static const core::DialogueEvent* find(const core::TurnOutput& out, DialogueEventType type) {
        for (const core::DialogueEvent& e : out.events) {
            if (e.type == type) {
                return &e;
            }
        }
        return nullptr;
    }

    std::unique_ptr<core::Backend> backend_;
    core::SkillHost host_;
    std::unique_ptr<Nlg> nlg_;
    int sequence_ = 0;
};

TEST_F(DialogueFaqTest, OutOfScopeQuestionGetsTheArticleVerbatimAndAnEvent) {
    auto out = turn("ATM取现收费吗？", "out_of_scope", 0.9f, nlg_.get());
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].text, "本行ATM取款免费。");
    const core::DialogueEvent* faq = find(out, DialogueEventType::skill_invoked);
    ASSERT_NE(faq, nullptr);
    EXPECT_EQ(faq->data.at("skill").as_string(), "faq");
    EXPECT_EQ(faq->data.at("article").as_string(), "fees.atm");
    EXPECT_TRUE(faq->data.at("answered").as_bool());
    const core::DialogueEvent* said = find(out, DialogueEventType::bot_uttered);
    ASSERT_NE(said, nullptr);
    EXPECT_EQ(said->data.at("nlg").at("source").as_string(), "faq");
}

TEST_F(DialogueFaqTest, LowConfidenceQuestionIsAnsweredFromTheFaq) {
    auto out = turn("when does the branch open on saturday", "loans.apply", 0.2f, nlg_.get());
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].text, "Branches open 9:00-17:00 on weekdays.");
}

TEST_F(DialogueFaqTest, BelowThresholdSaysItDoesNotKnowAndOffersAPerson) {
    auto out = turn("tell me a joke about penguins", "out_of_scope", 0.9f, nlg_.get());
    ASSERT_EQ(out.replies.size(), 1u);
    const auto unknown = nlg_->templates().variations(act::faq_unknown);
    bool is_unknown = false;
    for (const Variation& v : unknown) {
        is_unknown = is_unknown || out.replies[0].text == v.text.at("en");
    }
    EXPECT_TRUE(is_unknown) << out.replies[0].text;
    ASSERT_EQ(out.replies[0].quick_replies.size(), 1u);
    EXPECT_EQ(out.replies[0].quick_replies[0].payload, "/human_agent");
    EXPECT_EQ(out.replies[0].quick_replies[0].title, "Talk to a person");
    const core::DialogueEvent* faq = find(out, DialogueEventType::skill_invoked);
    ASSERT_NE(faq, nullptr);
    EXPECT_FALSE(faq->data.at("answered").as_bool());

    // Tapping the offer hands the conversation to a person.
    auto handoff = turn("/human_agent", "out_of_scope", 0.1f, nlg_.get());
    EXPECT_NE(find(handoff, DialogueEventType::handoff_requested), nullptr);
}

TEST_F(DialogueFaqTest, SystemRepliesComeFromTheTemplatesAndWithoutNlgFromBuiltIns) {
    auto greet = turn("你好", "greet", 0.99f, nlg_.get());
    ASSERT_EQ(greet.replies.size(), 1u);
    bool templated = false;
    for (const Variation& v : nlg_->templates().variations(act::greet)) {
        templated = templated || greet.replies[0].text == v.text.at("zh-CN");
    }
    EXPECT_TRUE(templated) << greet.replies[0].text;

    auto plain = turn("tell me a joke about penguins", "out_of_scope", 0.9f, nullptr);
    ASSERT_EQ(plain.replies.size(), 1u);
    EXPECT_NE(plain.replies[0].text.find("Sorry, I can't help with that here yet"),
              std::string::npos);
    EXPECT_EQ(find(plain, DialogueEventType::skill_invoked), nullptr);
}

}  // namespace
}  // namespace teller::nlg
