// Skill loading errors, failing skill calls, the training examples and the demo backend.
#include "teller/core/skill_host.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/dialogue.hpp"
#include "teller/core/flows.hpp"

namespace teller::core {
namespace {
namespace json = boost::json;

std::string plugin(const std::string& name) {
    return std::string(TELLER_TEST_PLUGIN_DIR) + "/teller_test_skill_" + name + ".so";
}

class SkillHostTest : public ::testing::Test {
protected:
    SkillHostTest()
        : backend_(make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_, SkillHostOptions{std::chrono::milliseconds(100)}) {}

    json::object request(const std::string& intent) {
        return {{"conversation", "c1"},
                {"channel", "webchat"},
                {"locale", "en"},
                {"text", "x"},
                {"intent", {{"name", intent}, {"confidence", 0.9}}},
                {"entities", json::array{}},
                {"state", nullptr},
                {"slots", json::object{}},
                {"customer", {{"id", "demo-user"}, {"verified", false}}}};
    }

    void expect_load_error(const std::string& file, const std::string& problem) {
        auto loaded = host_.load(file);
        ASSERT_FALSE(loaded);
        EXPECT_EQ(loaded.error(), make_error_code(Errc::skill_load_failed));
        ASSERT_FALSE(host_.load_errors().empty());
        const std::string& line = host_.load_errors().back();
        EXPECT_NE(line.find(file), std::string::npos) << line;
        EXPECT_NE(line.find(problem), std::string::npos) << line;
    }

    std::unique_ptr<Backend> backend_;
    SkillHost host_;
};

TEST_F(SkillHostTest, IntentsThatReachPersonalDataRequireVerification) {
    ASSERT_TRUE(host_.load(TELLER_CARDS_SKILL));
    ASSERT_TRUE(host_.load(TELLER_CRM_SKILL));
    for (std::string_view intent :
         {"cards.lost_or_stolen", "cards.balance", "cards.activate", "cards.transactions",
          "cards.limits", "cards.dispute", "crm.callback"}) {
        ASSERT_NE(host_.find_intent(intent), nullptr) << intent;
        EXPECT_TRUE(host_.find_intent(intent)->requires_verification) << intent;
    }
    EXPECT_FALSE(host_.find_intent("greet")->requires_verification);
}

TEST_F(SkillHostTest, BuiltinTableIsAdoptedWithThePluginChecks) {
    auto flows = host_.load_builtin(flows_skill_table(TELLER_SOURCE_DIR "/flows"));
    ASSERT_TRUE(flows) << host_.load_errors().back();
    EXPECT_EQ(*flows, "flows");
    EXPECT_TRUE(host_.find_intent("transfers.own_accounts")->requires_verification);

    // The same table twice is a duplicate skill, like a plugin loaded twice.
    EXPECT_FALSE(host_.load_builtin(flows_skill_table(TELLER_SOURCE_DIR "/flows")));
    EXPECT_NE(host_.load_errors().back().find("already loaded"), std::string::npos);
    EXPECT_FALSE(host_.load_builtin(nullptr));
}

TEST_F(SkillHostTest, MissingFileIsALoadErrorNamingTheFile) {
    expect_load_error("/nonexistent/teller_skill_nothing.so", "no such file");
}

TEST_F(SkillHostTest, WrongApiVersionIsRefused) {
    expect_load_error(plugin("bad_version"), "API version 2");
}

TEST_F(SkillHostTest, LibraryWithoutEntrySymbolIsRefused) {
    expect_load_error(plugin("no_entry"), "no teller_skill_entry symbol");
}

TEST_F(SkillHostTest, ManifestWithoutChineseExamplesIsRefused) {
    expect_load_error(plugin("bad_manifest"), "\"zh-CN\" examples");
}

TEST_F(SkillHostTest, FailedInitIsRefusedAndOtherSkillsStayLoaded) {
    ASSERT_TRUE(host_.load(TELLER_CARDS_SKILL));
    auto loaded = host_.load(plugin("misbehaving"), {{"fail_init", true}});
    ASSERT_FALSE(loaded);
    EXPECT_NE(host_.load_errors().back().find("init returned 7"), std::string::npos);
    EXPECT_EQ(host_.skills(), std::vector<std::string>{"cards"});
    EXPECT_EQ(host_.find_intent("test.throw"), nullptr);
    EXPECT_TRUE(host_.call("cards", request("cards.balance")));
}

TEST_F(SkillHostTest, LoadingTheSameSkillTwiceIsRefused) {
    ASSERT_TRUE(host_.load(TELLER_CARDS_SKILL));
    expect_load_error(TELLER_CARDS_SKILL, "already loaded");
}

TEST_F(SkillHostTest, FailingCallsBecomeSkillFailedNotCrashes) {
    ASSERT_TRUE(host_.load(plugin("misbehaving")));
    for (const char* intent : {"test.throw", "test.garbage", "test.wrong_shape", "test.null"}) {
        auto r = host_.call("misbehaving", request(intent));
        ASSERT_FALSE(r) << intent;
        EXPECT_EQ(r.error(), make_error_code(Errc::skill_failed)) << intent;
    }
    auto echo = host_.call("misbehaving", request("test.echo"));
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->at("replies").at(0).at("text").as_string(), "echo");
    EXPECT_EQ(host_.call("nobody", request("x")).error(), make_error_code(Errc::unknown_skill));
}

TEST_F(SkillHostTest, HangingCallTimesOut) {
    ASSERT_TRUE(host_.load(plugin("misbehaving")));
    auto start = std::chrono::steady_clock::now();
    auto r = host_.call("misbehaving", request("test.hang"));
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::skill_failed));
    EXPECT_LT(took, std::chrono::milliseconds(350));
}

TEST_F(SkillHostTest, TrainingExamplesCoverSystemIntentsAndSkillsInBothLocales) {
    ASSERT_TRUE(host_.load(TELLER_CARDS_SKILL));
    std::map<std::pair<std::string, std::string>, std::set<std::string>> by_intent;
    for (const TrainingExample& e : host_.training_examples()) {
        EXPECT_FALSE(e.text.empty());
        by_intent[{e.intent, e.locale}].insert(e.text);
    }
    for (const IntentInfo& info : host_.intents()) {
        for (const char* locale : {"en", "zh-CN"}) {
            auto& texts = by_intent[{info.name, locale}];
            std::size_t wanted = info.skill.empty() ? 10u : 40u;
            EXPECT_GE(texts.size(), wanted) << info.name << " " << locale;
        }
    }
    EXPECT_GE((by_intent[{"out_of_scope", "en"}].size()), 30u);
    EXPECT_EQ(host_.intent_title("cards.lost_or_stolen", "zh-CN"), "挂失银行卡");
    EXPECT_EQ(host_.intent_title("human_agent", "en"), "Talk to a person");
}

TEST(DialogueTest, FailingSkillGetsAnApologyAndAnErrorEvent) {
    auto backend = make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    SkillHost host(*backend);
    ASSERT_TRUE(host.load(plugin("misbehaving")));
    DialogueManager dialogue(host);

    InboundMessage in;
    in.id = "m1";
    in.channel = "webchat";
    in.conversation = "webchat:bob";
    in.sender = "bob";
    in.text = "boom 4111 1111 1111 1111";
    NluResult nlu;
    nlu.ranking = {{"test.throw", 0.95f}};
    TurnOutput out = dialogue.run_turn(in, nlu, {}, 1000);

    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_NE(out.replies[0].text.find("Sorry, something went wrong"), std::string::npos);
    int errors = 0;
    for (const DialogueEvent& e : out.events) {
        if (e.type == DialogueEventType::error) {
            ++errors;
            EXPECT_EQ(e.data.at("code").as_int64(), static_cast<int>(Errc::skill_failed));
        }
        if (e.type == DialogueEventType::user_uttered) {
            // The card number never reaches an event unmasked.
            EXPECT_EQ(e.data.at("text").as_string().find("4111 1111 1111"), std::string::npos);
        }
    }
    EXPECT_EQ(errors, 1);
    EXPECT_TRUE(out.session.at("skill").is_null());
}

TEST(DemoBackendTest, BlockingChangesTheCardInMemory) {
    auto backend = make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    auto blocked = backend->call("cards.block", {{"customer", "demo-user"}, {"last4", "7730"}});
    ASSERT_TRUE(blocked);
    EXPECT_EQ(blocked->at("card").at("status").as_string(), "blocked");
    auto again = backend->call("cards.activate", {{"customer", "demo-1"}, {"last4", "7730"}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->at("error").as_string(), "card_blocked");
    auto missing = backend->call("cards.block", {{"customer", "demo-1"}, {"last4", "0000"}});
    EXPECT_EQ(missing->at("error").as_string(), "card_not_found");
    EXPECT_FALSE(backend->call("cards.teleport", {{"customer", "demo-1"}}));
    EXPECT_THROW(make_demo_backend_from_json(R"({"customers": []})"), Error);
}

}  // namespace
}  // namespace teller::core
