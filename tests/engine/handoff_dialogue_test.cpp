// Human handoff and the automatic survey in the dialogue manager: queue, forward, cancel,
// agents' commands, and the engine publishing the desk records (teller.handoff).
#include "teller/core/dialogue.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fakes.hpp"
#include "keyword_classifier.hpp"
#include "teller/core/backend.hpp"
#include "teller/core/engine.hpp"
#include "teller/core/handoff.hpp"
#include "teller/core/session_store.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlg/responder.hpp"
#include "teller/nlg/templates.hpp"

namespace teller::core {
namespace {
namespace json = boost::json;

constexpr std::int64_t kNow = 1'796'000'000'000;

std::string all_text(const std::vector<OutboundMessage>& replies) {
    std::string out;
    for (const OutboundMessage& m : replies) {
        out += m.text + "\n";
    }
    return out;
}

bool has_event(const TurnOutput& out, DialogueEventType type, std::string_view skill_type = {}) {
    for (const DialogueEvent& e : out.events) {
        if (e.type != type) {
            continue;
        }
        if (skill_type.empty()) {
            return true;
        }
        const json::value* t = e.data.if_contains("type");
        if (t != nullptr && t->is_string() && t->as_string() == skill_type) {
            return true;
        }
    }
    return false;
}

class HandoffDialogueTest : public ::testing::Test {
protected:
    HandoffDialogueTest()
        : backend_(make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        for (const char* skill : {TELLER_CARDS_SKILL, TELLER_CRM_SKILL}) {
            auto loaded = host_.load(skill);
            EXPECT_TRUE(loaded) << (host_.load_errors().empty() ? "" : host_.load_errors().back());
        }
    }

    DialogueManager dialogue() const { return DialogueManager(host_, options_); }

    // One customer turn on the signed-in web chat; `intent` is what the model "said" (0.95),
    // none means an unsure out_of_scope.
    TurnOutput say(const std::string& text, const std::string& intent = {}) {
        InboundMessage in;
        in.id = "m" + std::to_string(++next_id_);
        in.channel = "webchat";
        in.conversation = "webchat:alice";
        in.sender = "visitor-1";
        in.text = text;
        in.reply_to = "gateway-" + std::to_string(next_id_);
        in.metadata = {{"customer_id", "demo-1"}, {"verified", true}};
        NluResult nlu;
        nlu.ranking = {intent.empty() ? IntentScore{"out_of_scope", 0.4f}
                                      : IntentScore{intent, 0.95f}};
        clock_ += 1000;
        TurnOutput out = dialogue().run_turn(in, nlu, session_, clock_);
        session_ = out.session;
        return out;
    }

    TurnOutput agent(AgentCommandType type, const std::string& who, const std::string& text = {}) {
        AgentCommand c;
        c.type = type;
        c.id = "a" + std::to_string(++next_id_);
        c.conversation = "webchat:alice";
        c.agent = who;
        c.text = text;
        clock_ += 1000;
        TurnOutput out = dialogue().agent_turn(c, session_, clock_);
        if (out.session_changed) {
            session_ = out.session;
        }
        return out;
    }

    std::string handoff_state() const {
        const json::value* h = session_.if_contains("handoff");
        if (h == nullptr || !h->is_object()) {
            return "";
        }
        return std::string(h->as_object().at("state").as_string());
    }

    std::unique_ptr<Backend> backend_;
    SkillHost host_;
    DialogueOptions options_;
    json::object session_;
    std::int64_t clock_ = kNow;
    int next_id_ = 0;
};

TEST_F(HandoffDialogueTest, AgentRequestQueuesWithTranscriptAndTellsHowToGoBack) {
    say("what's my balance", "cards.balance");
    TurnOutput out = say("agent");

    EXPECT_EQ(handoff_state(), "queued");
    EXPECT_NE(all_text(out.replies).find("\"cancel\""), std::string::npos) << all_text(out.replies);
    ASSERT_EQ(out.handoff.size(), 1u);
    const HandoffEvent& queued = out.handoff[0];
    EXPECT_EQ(queued.type, HandoffEventType::queued);
    EXPECT_EQ(queued.reason, "customer_request");
    EXPECT_EQ(queued.channel, "webchat");
    EXPECT_EQ(queued.customer, "demo-1");
    EXPECT_TRUE(queued.verified);
    EXPECT_EQ(queued.id, "m2:h0");
    ASSERT_GE(queued.transcript.size(), 3u);
    EXPECT_EQ(queued.transcript.front().from, "customer");
    EXPECT_EQ(queued.transcript.front().text, "what's my balance");
    EXPECT_EQ(queued.transcript[1].from, "bot");
    EXPECT_TRUE(has_event(out, DialogueEventType::handoff_requested));
}

TEST_F(HandoffDialogueTest, HandedOffCustomerIsForwardedAndNotAnswered) {
    say("人工");
    TurnOutput out = say("我的卡丢了", "cards.lost_or_stolen");

    EXPECT_TRUE(out.replies.empty()) << all_text(out.replies);
    ASSERT_EQ(out.handoff.size(), 1u);
    EXPECT_EQ(out.handoff[0].type, HandoffEventType::customer_message);
    EXPECT_EQ(out.handoff[0].text, "我的卡丢了");
    EXPECT_EQ(out.handoff[0].locale, "zh-CN");
    EXPECT_TRUE(has_event(out, DialogueEventType::user_uttered));
    EXPECT_FALSE(has_event(out, DialogueEventType::skill_invoked));
    // The route follows the customer's latest message.
    EXPECT_EQ(session_.at("handoff").at("reply_to").as_string(), "gateway-2");
}

TEST_F(HandoffDialogueTest, CancelWhileQueuedGoesBackToTheBotInBothLanguages) {
    say("agent");
    TurnOutput out = say("cancel");
    EXPECT_EQ(handoff_state(), "");
    ASSERT_EQ(out.handoff.size(), 1u);
    EXPECT_EQ(out.handoff[0].type, HandoffEventType::closed);
    EXPECT_EQ(out.handoff[0].reason, "customer");
    EXPECT_NE(all_text(out.replies).find("Nothing was changed"), std::string::npos);

    say("转人工");
    out = say("取消");
    EXPECT_EQ(handoff_state(), "");
    ASSERT_EQ(out.handoff.size(), 1u);
    EXPECT_EQ(out.handoff[0].reason, "customer");
    EXPECT_NE(all_text(out.replies).find("已取消"), std::string::npos) << all_text(out.replies);
}

TEST_F(HandoffDialogueTest, CancelWithAnAgentIsForwardedToTheAgent) {
    say("agent");
    agent(AgentCommandType::join, "Alice");
    TurnOutput out = say("cancel");
    EXPECT_EQ(handoff_state(), "active");
    EXPECT_TRUE(out.replies.empty());
    ASSERT_EQ(out.handoff.size(), 1u);
    EXPECT_EQ(out.handoff[0].type, HandoffEventType::customer_message);
}

TEST_F(HandoffDialogueTest, EndChatLeavesAnAgentAndTheDeskIsTold) {
    say("agent");
    agent(AgentCommandType::join, "Alice");
    TurnOutput out = say("End chat!");
    EXPECT_FALSE(session_.contains("handoff"));
    ASSERT_EQ(out.handoff.size(), 1u);
    EXPECT_EQ(out.handoff[0].type, HandoffEventType::closed);
    EXPECT_EQ(out.handoff[0].reason, "customer");
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_NE(out.replies[0].text.find("I'm the bot again"), std::string::npos);

    // Words that only mention ending are still the customer's message to the agent.
    say("agent");
    agent(AgentCommandType::join, "Alice");
    TurnOutput kept = say("I want to end the chat about my card");
    EXPECT_EQ(handoff_state(), "active");
    ASSERT_EQ(kept.handoff.size(), 1u);
    EXPECT_EQ(kept.handoff[0].type, HandoffEventType::customer_message);

    TurnOutput zh = say("结束对话");
    EXPECT_FALSE(session_.contains("handoff"));
    ASSERT_EQ(zh.replies.size(), 1u);
    EXPECT_NE(zh.replies[0].text.find("智能客服"), std::string::npos);
}

TEST_F(HandoffDialogueTest, TranscriptIsBoundedAndLongLinesAreCut) {
    options_.transcript_limit = 4;
    say(std::string(2000, 'x'));
    for (int i = 0; i < 5; ++i) {
        say("hello " + std::to_string(i), "greet");
    }
    const json::array& lines = session_.at("transcript").as_array();
    EXPECT_EQ(lines.size(), 4u);
    for (const json::value& line : lines) {
        EXPECT_LE(line.at("text").as_string().size(), kTranscriptLineBytes);
    }
    say(std::string(499, 'y') + "丢");  // the cut must not split the character
    const json::array& after = session_.at("transcript").as_array();
    bool found = false;
    for (const json::value& line : after) {
        if (line.at("from").as_string() == "customer") {
            EXPECT_TRUE(is_valid_utf8(line.at("text").as_string()));
            found = found || line.at("text").as_string().size() == 499;
        }
    }
    EXPECT_TRUE(found);
}

TEST_F(HandoffDialogueTest, AgentJoinsWritesAndClosesThenTheSurveyStarts) {
    say("agent");
    TurnOutput joined = agent(AgentCommandType::join, "Alice");
    EXPECT_EQ(handoff_state(), "active");
    ASSERT_EQ(joined.handoff.size(), 1u);
    EXPECT_EQ(joined.handoff[0].type, HandoffEventType::assigned);
    EXPECT_EQ(joined.handoff[0].agent, "Alice");
    ASSERT_EQ(joined.replies.size(), 1u);
    EXPECT_EQ(joined.replies[0].text,
              "Alice has joined the chat. (Type \"end chat\" to go back to the bot.)");
    // Any gateway holding the customer's socket delivers: the one that held it may be gone.
    EXPECT_EQ(joined.replies[0].reply_to, "");
    EXPECT_EQ(joined.replies[0].recipient, "visitor-1");

    TurnOutput wrote = agent(AgentCommandType::message, "Alice", "How can I help?");
    ASSERT_EQ(wrote.replies.size(), 1u);
    EXPECT_EQ(wrote.replies[0].text, "How can I help?");
    EXPECT_EQ(wrote.replies[0].in_reply_to.rfind("agent:", 0), 0u);
    ASSERT_EQ(wrote.handoff.size(), 1u);
    EXPECT_EQ(wrote.handoff[0].type, HandoffEventType::agent_message);
    ASSERT_TRUE(has_event(wrote, DialogueEventType::bot_uttered));
    EXPECT_EQ(wrote.events.back().data.at("from").as_string(), "agent");

    TurnOutput closed = agent(AgentCommandType::close, "Alice");
    EXPECT_EQ(handoff_state(), "");
    ASSERT_EQ(closed.handoff.size(), 1u);
    EXPECT_EQ(closed.handoff[0].type, HandoffEventType::closed);
    EXPECT_EQ(closed.handoff[0].reason, "agent");
    ASSERT_EQ(closed.replies.size(), 2u) << all_text(closed.replies);
    EXPECT_NE(closed.replies[0].text.find("left the chat"), std::string::npos);
    EXPECT_NE(closed.replies[1].text.find("How would you rate"), std::string::npos);
    EXPECT_EQ(closed.replies[1].sequence, 1u);
    EXPECT_EQ(session_.at("skill").as_string(), "crm");

    // The rating goes to the survey, not back to the agent.
    TurnOutput rated = say("5");
    EXPECT_TRUE(rated.handoff.empty());
    EXPECT_NE(all_text(rated.replies).find("Anything we could do better?"), std::string::npos);
}

TEST_F(HandoffDialogueTest, SecondAgentsJoinIsRefusedWithTheRealAgent) {
    say("agent");
    agent(AgentCommandType::join, "Alice");
    TurnOutput refused = agent(AgentCommandType::join, "Bob");
    EXPECT_FALSE(refused.session_changed);
    EXPECT_TRUE(refused.replies.empty());
    ASSERT_EQ(refused.handoff.size(), 1u);
    EXPECT_EQ(refused.handoff[0].type, HandoffEventType::assigned);
    EXPECT_EQ(refused.handoff[0].agent, "Alice");
    EXPECT_EQ(session_.at("handoff").at("agent").as_string(), "Alice");
}

TEST_F(HandoffDialogueTest, MessageFromAnotherAgentOrBeforeJoiningIsRefused) {
    say("agent");
    TurnOutput early = agent(AgentCommandType::message, "Alice", "hi");
    EXPECT_TRUE(early.replies.empty());
    EXPECT_TRUE(has_event(early, DialogueEventType::error));

    agent(AgentCommandType::join, "Alice");
    TurnOutput wrong = agent(AgentCommandType::message, "Bob", "hi");
    EXPECT_FALSE(wrong.session_changed);
    EXPECT_TRUE(wrong.replies.empty());
    EXPECT_TRUE(wrong.handoff.empty());
    EXPECT_TRUE(has_event(wrong, DialogueEventType::error));
}

TEST_F(HandoffDialogueTest, JoinOnAConversationNotHandedOffClosesItOnTheDesk) {
    say("hello", "greet");
    TurnOutput out = agent(AgentCommandType::join, "Alice");
    EXPECT_FALSE(out.session_changed);
    EXPECT_TRUE(out.replies.empty());
    ASSERT_EQ(out.handoff.size(), 1u);
    EXPECT_EQ(out.handoff[0].type, HandoffEventType::closed);
    EXPECT_EQ(handoff_state(), "");
}

TEST_F(HandoffDialogueTest, GoodbyeAfterASkillStartsTheSurveyOnce) {
    say("what's my balance", "cards.balance");
    TurnOutput bye = say("bye", "goodbye");
    std::string text = all_text(bye.replies);
    EXPECT_NE(text.find("Goodbye"), std::string::npos) << text;
    EXPECT_NE(text.find("How would you rate"), std::string::npos) << text;
    EXPECT_EQ(session_.at("skill").as_string(), "crm");

    say("4");
    TurnOutput done = say("skip");
    EXPECT_NE(all_text(done.replies).find("Thank you for your feedback."), std::string::npos);
    EXPECT_TRUE(has_event(done, DialogueEventType::skill_event, "satisfaction_rated"));

    TurnOutput again = say("bye", "goodbye");
    EXPECT_EQ(all_text(again.replies).find("How would you rate"), std::string::npos);
}

TEST_F(HandoffDialogueTest, GoodbyeWithoutAnythingDoneHasNoSurvey) {
    say("hello", "greet");
    TurnOutput bye = say("bye", "goodbye");
    EXPECT_EQ(all_text(bye.replies).find("How would you rate"), std::string::npos);
    EXPECT_FALSE(session_.contains("survey"));
}

TEST_F(HandoffDialogueTest, SurveyOffSkipsItAfterGoodbyeAndAfterAnAgent) {
    options_.survey = false;
    say("what's my balance", "cards.balance");
    EXPECT_EQ(all_text(say("bye", "goodbye").replies).find("How would you rate"),
              std::string::npos);
    say("agent");
    agent(AgentCommandType::join, "Alice");
    TurnOutput closed = agent(AgentCommandType::close, "Alice");
    EXPECT_EQ(closed.replies.size(), 1u);
}

TEST_F(HandoffDialogueTest, CustomerWhoAsksSomethingElseIsAnsweredAndTheSurveyDropped) {
    say("what's my balance", "cards.balance");
    say("bye", "goodbye");
    TurnOutput out = say("I lost my card", "cards.lost_or_stolen");
    std::string text = all_text(out.replies);
    EXPECT_EQ(text.find("How would you rate"), std::string::npos) << text;
    EXPECT_EQ(text.find("number from 1 to 5"), std::string::npos) << text;
    EXPECT_TRUE(has_event(out, DialogueEventType::skill_event, "survey_ignored"));
    EXPECT_EQ(session_.at("skill").as_string(), "cards");
    EXPECT_FALSE(session_.contains("paused") && !session_.at("paused").as_array().empty());
}

TEST(HandoffSurveyTest, NoSurveySkillMeansNoSurvey) {
    auto backend = make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    SkillHost host(*backend);
    ASSERT_TRUE(host.load(TELLER_CARDS_SKILL));
    DialogueManager dialogue(host);
    SystemTurn route{"agent:x", "webchat:z", "webchat", "visitor", "gw", "en", ""};
    TurnOutput out = dialogue.start_intent(route, "crm.feedback", json::object{}, kNow);
    EXPECT_TRUE(out.replies.empty());
    EXPECT_FALSE(out.session_changed);
}

TEST(HandoffSurveyTest, StartIntentAsksThroughTheGivenRoute) {
    auto backend = make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    SkillHost host(*backend);
    ASSERT_TRUE(host.load(TELLER_CRM_SKILL));
    DialogueManager dialogue(host);
    SystemTurn route{"agent:x", "sms:+100", "sms", "+100", "gw-9", "zh-CN", "t"};
    TurnOutput out = dialogue.start_intent(route, "crm.feedback", json::object{}, kNow);
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].channel, "sms");
    EXPECT_EQ(out.replies[0].recipient, "+100");
    EXPECT_EQ(out.replies[0].reply_to, "gw-9");
    EXPECT_EQ(out.replies[0].in_reply_to, "agent:x");
    EXPECT_NE(out.replies[0].text.find("请为本次服务打分"), std::string::npos);
    EXPECT_EQ(out.session.at("skill").as_string(), "crm");
}

// The shipped templates, and a knowledge base that knows only the opening hours.
class FakeResponder final : public nlg::Responder {
public:
    FakeResponder()
        : templates_(nlg::TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses")) {}

    Result<nlg::RenderedReply> render(std::string_view act, const json::object& slots,
                                      const nlg::ReplyContext& context) const override {
        auto text = templates_.render(act, slots, {context.locale, context.channel, 0});
        if (!text) {
            return text.error();
        }
        return nlg::RenderedReply{*text, "template", ""};
    }

    std::optional<nlg::FaqDecision> ask_faq(std::string_view text,
                                            std::string_view) const override {
        if (text.find("opening hours") != std::string_view::npos) {
            return nlg::FaqDecision{true, "branches.hours", 0.95f, "Branches open 9:00-17:00."};
        }
        return nlg::FaqDecision{false, "fees.atm", 0.1f, ""};
    }

private:
    nlg::TemplateSet templates_;
};

TEST_F(HandoffDialogueTest, TappingTheFaqsOfferOfAPersonQueuesWithReasonFaqUnknown) {
    FakeResponder responder;
    options_.responder = &responder;
    TurnOutput unknown = say("tell me a joke about penguins");
    ASSERT_EQ(unknown.replies.size(), 1u);
    ASSERT_EQ(unknown.replies[0].quick_replies.size(), 1u);

    TurnOutput queued = say(unknown.replies[0].quick_replies[0].payload);
    ASSERT_EQ(queued.handoff.size(), 1u);
    EXPECT_EQ(queued.handoff[0].reason, "faq_unknown");
    EXPECT_NE(all_text(queued.replies).find("\"cancel\""), std::string::npos);

    TurnOutput joined = agent(AgentCommandType::join, "Alice");
    ASSERT_EQ(joined.replies.size(), 1u);
    EXPECT_EQ(joined.replies[0].text,
              "Alice has joined the chat. (Type \"end chat\" to go back to the bot.)");
}

TEST_F(HandoffDialogueTest, YesToTheOfferOfAPersonQueuesAndNoDoesNot) {
    FakeResponder responder;
    options_.responder = &responder;
    say("tell me a joke about penguins");
    TurnOutput queued = say("yes", "affirm");
    ASSERT_EQ(queued.handoff.size(), 1u);
    EXPECT_EQ(queued.handoff[0].reason, "faq_unknown");

    say("end chat");
    say("tell me a joke about penguins");
    TurnOutput declined = say("no", "deny");
    EXPECT_TRUE(declined.handoff.empty());
    EXPECT_FALSE(session_.contains("handoff"));
    // The offer is made once: a later "yes" has nothing to take.
    TurnOutput later = say("yes", "affirm");
    EXPECT_TRUE(later.handoff.empty());
}

TEST_F(HandoffDialogueTest, QuestionTheFaqAnswersInsteadOfARatingIsAnswered) {
    FakeResponder responder;
    options_.responder = &responder;
    say("what's my balance", "cards.balance");
    say("bye", "goodbye");
    TurnOutput out = say("what are your opening hours");
    EXPECT_EQ(all_text(out.replies), "Branches open 9:00-17:00.\n");
    EXPECT_TRUE(has_event(out, DialogueEventType::skill_event, "survey_ignored"));
    EXPECT_TRUE(session_.at("skill").is_null());
}

TEST(HandoffTemplatesTest, HandoffActsRenderInBothLocales) {
    nlg::TemplateSet templates = nlg::TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses");
    for (std::uint64_t seed : {0u, 1u, 7u}) {
        nlg::RenderContext en{"en", "webchat", seed};
        nlg::RenderContext zh{"zh-CN", "webchat", seed};
        auto queued = templates.render("handoff.queued", {}, en);
        ASSERT_TRUE(queued);
        EXPECT_NE(queued->find("\"cancel\""), std::string::npos) << *queued;
        auto queued_zh = templates.render("handoff.queued", {}, zh);
        ASSERT_TRUE(queued_zh);
        EXPECT_NE(queued_zh->find("“取消”"), std::string::npos) << *queued_zh;
        auto joined = templates.render("handoff.joined", {{"agent", "Alice"}}, en);
        ASSERT_TRUE(joined);
        EXPECT_EQ(*joined, "Alice has joined the chat. (Type \"end chat\" to go back to the bot.)");
        auto joined_zh = templates.render("handoff.joined", {{"agent", "小王"}}, zh);
        ASSERT_TRUE(joined_zh);
        EXPECT_EQ(joined_zh->rfind("小王", 0), 0u) << *joined_zh;
        EXPECT_TRUE(templates.render("handoff.closed", {}, zh));
    }
}

// The engine publishes the desk records with the replies and commits after both.
TEST(HandoffEngineTest, DeskRecordsArePublishedAndARedeliveryIsNotForwardedTwice) {
    auto backend = make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    SkillHost host(*backend);
    ASSERT_TRUE(host.load(TELLER_CARDS_SKILL));
    testing::KeywordClassifier nlu;
    testing::FakeConsumer consumer;
    testing::FakeProducer producer;
    auto store = make_memory_session_store();
    EngineOptions options;
    options.clock = [] { return kNow; };
    options.handoff_topic = "desk";
    Engine engine(consumer, producer, *store, nlu, host, options);
    auto push = [&](const std::string& id, const std::string& text) {
        InboundMessage m;
        m.id = id;
        m.channel = "webchat";
        m.conversation = "webchat:bob";
        m.sender = "bob";
        m.text = text;
        consumer.push(Record{"", m.conversation, to_json(m), {}});
        auto stats = engine.poll_once(std::chrono::milliseconds(0));
        ASSERT_TRUE(stats) << stats.error().message();
    };
    auto desk = [&] {
        std::vector<HandoffEvent> out;
        for (const Record& r : producer.records) {
            if (r.topic == "desk") {
                EXPECT_EQ(r.key, "webchat:bob");
                out.push_back(*parse_handoff_event(r.value));
            }
        }
        return out;
    };

    push("m1", "agent");
    push("m2", "are you there?");
    push("m2", "are you there?");  // redelivered
    auto records = desk();
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].type, HandoffEventType::queued);
    EXPECT_EQ(records[1].type, HandoffEventType::customer_message);
    // The redelivery sends the same record again (same id, for desks to drop), not a new one.
    EXPECT_EQ(records[2].id, records[1].id);
    EXPECT_EQ(consumer.committed_offset, 3);
    auto session = json::parse((*store->load("webchat:bob"))->data).as_object();
    EXPECT_EQ(session.at("turns").as_int64(), 2);
}

}  // namespace
}  // namespace teller::core
