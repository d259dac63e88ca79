// The investment skill through the skill host: disclosures, the questionnaire, suitability.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::skills::investment {
namespace {
namespace json = boost::json;

// A conversation with the investment skill, carrying its state and the session's slots from
// turn to turn as the engine does.
class InvestmentTest : public ::testing::Test {
protected:
    InvestmentTest()
        : backend_(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_, core::SkillHostOptions{std::chrono::milliseconds(2000)}) {
        auto loaded = host_.load(TELLER_INVESTMENT_SKILL);
        EXPECT_TRUE(loaded) << (host_.load_errors().empty() ? "" : host_.load_errors().back());
    }

    // One customer turn; returns every reply text joined by newlines.
    std::string say(const std::string& text, const std::string& intent = "") {
        json::object request{{"conversation", "conv-1"},
                             {"channel", "webchat"},
                             {"locale", locale_},
                             {"text", text},
                             {"intent", {{"name", intent}, {"confidence", 0.95}}},
                             {"entities", json::array{}},
                             {"state", state_},
                             {"slots", slots_},
                             {"customer", {{"id", "demo-user"}, {"verified", false}}}};
        auto response = host_.call("investment", request);
        EXPECT_TRUE(response) << "turn: " << text;
        if (!response) {
            state_ = nullptr;
            return {};
        }
        last_ = *response;
        state_ = response->contains("state") ? response->at("state") : json::value();
        if (const json::value* s = response->if_contains("slots")) {
            for (const auto& [k, v] : s->as_object()) {
                slots_[k] = v;
            }
        }
        std::string out;
        for (const json::value& r : response->at("replies").as_array()) {
            out += std::string(r.at("text").as_string()) + "\n";
        }
        return out;
    }

    // Answers the five questions with `answers` (1..4 each).
    std::string answer_all(const std::string& answers) {
        std::string last;
        for (char a : answers) {
            last = say(std::string(1, a));
        }
        return last;
    }

    std::vector<std::string> event_types() const {
        std::vector<std::string> out;
        if (const json::value* e = last_.if_contains("events")) {
            for (const json::value& v : e->as_array()) {
                out.emplace_back(v.at("type").as_string());
            }
        }
        return out;
    }

    std::unique_ptr<core::Backend> backend_;
    core::SkillHost host_;
    std::string locale_ = "en";
    json::value state_;
    json::object slots_;
    json::object last_;
};

::testing::AssertionResult has(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "\"" << part << "\" not in: " << text;
}

TEST_F(InvestmentTest, IntentsHaveExamplesInBothLocalesAndDoNotCollideWithOtherSkills) {
    ASSERT_TRUE(host_.load(TELLER_LOANS_SKILL));
    ASSERT_TRUE(host_.load(TELLER_CARDS_SKILL));
    std::map<std::string, std::string> intent_of;
    std::map<std::pair<std::string, std::string>, int> count;
    for (const core::TrainingExample& e : host_.training_examples()) {
        auto [it, fresh] = intent_of.emplace(e.text, e.intent);
        EXPECT_TRUE(fresh || it->second == e.intent)
            << "\"" << e.text << "\" is both " << it->second << " and " << e.intent;
        ++count[{e.intent, e.locale}];
    }
    for (std::string_view intent :
         {"investment.products", "investment.risk_profile", "investment.recommend"}) {
        const core::IntentInfo* info = host_.find_intent(intent);
        ASSERT_NE(info, nullptr) << intent;
        EXPECT_EQ(info->skill, "investment");
        EXPECT_GE((count[{std::string(intent), "en"}]), 30) << intent;
        EXPECT_GE((count[{std::string(intent), "zh-CN"}]), 30) << intent;
    }
}

TEST_F(InvestmentTest, ProductListOpensWithTheDisclosure) {
    std::string r = say("what funds do you have", "investment.products");
    EXPECT_EQ(r.find("Important: the value of investments can go down"), 0u) << r;
    EXPECT_TRUE(has(r, "Teller Money Market Fund (risk 1/5)"));
    EXPECT_TRUE(has(r, "Emerging Markets Equity Fund (risk 5/5)"));
    EXPECT_TRUE(has(r, "Before any suggestion I need your risk profile"));
    EXPECT_TRUE(slots_.at("investment_disclosed").as_bool());
}

TEST_F(InvestmentTest, RecommendationWithoutAProfileStartsTheQuestionnaireFirst) {
    std::string r = say("which fund suits me", "investment.recommend");
    EXPECT_TRUE(has(r, "Question 1 of 5: How long do you plan"));
    EXPECT_FALSE(has(r, "Fund ("));  // no product is named before the profile exists
    EXPECT_EQ(last_.at("replies").at(0).at("quick_replies").as_array().size(), 4u);

    // Lowest answers everywhere: 5 points, conservative; only risk-1 products are offered.
    std::string last = answer_all("11111");
    EXPECT_TRUE(has(last, "Your risk profile is conservative (1 of 5)"));
    EXPECT_LT(last.find("Important: the value of investments"), last.find("Money Market"));
    EXPECT_TRUE(has(last, "Teller Money Market Fund (risk 1/5)"));
    EXPECT_FALSE(has(last, "Government Bond Fund"));
    EXPECT_FALSE(has(last, "Emerging Markets"));
    EXPECT_TRUE(has(last, "4 product(s) carry more risk than your profile"));
    EXPECT_EQ(slots_.at("risk_profile").as_int64(), 1);
    EXPECT_TRUE(state_.is_null());
    EXPECT_EQ(event_types(),
              (std::vector<std::string>{"risk_profile_set", "investment_suitability"}));
}

TEST_F(InvestmentTest, ScoresMapToTheFiveProfiles) {
    const std::pair<std::string, std::string> cases[] = {
        {"11112", "conservative (1 of 5)"},    // 6 points
        {"22211", "moderately conservative"},  // 8
        {"33311", "balanced (3 of 5)"},        // 11
        {"44422", "growth (4 of 5)"},          // 16
        {"44444", "aggressive (5 of 5)"},      // 20
    };
    for (const auto& [answers, profile] : cases) {
        state_ = nullptr;
        say("risk questionnaire", "investment.risk_profile");
        EXPECT_TRUE(has(answer_all(answers), profile)) << answers;
    }
}

TEST_F(InvestmentTest, SuitabilityOffersOnlyProductsAtOrBelowTheProfile) {
    slots_["risk_profile"] = 3;
    std::string r = say("recommend an investment", "investment.recommend");
    EXPECT_TRUE(has(r, "balanced investor (profile 3 of 5)"));
    EXPECT_TRUE(has(r, "Balanced Fund (risk 3/5)"));
    EXPECT_TRUE(has(r, "Government Bond Fund (risk 2/5)"));
    EXPECT_FALSE(has(r, "Global Equity"));
    EXPECT_FALSE(has(r, "Emerging Markets"));
    EXPECT_EQ(r.find("Important:"), 0u);
}

TEST_F(InvestmentTest, AnswersByTextAndFullWidthDigitsAreUnderstood) {
    locale_ = "zh-CN";
    std::string r = say("风险评估", "investment.risk_profile");
    EXPECT_TRUE(has(r, "第1题（共5题）：这笔钱您计划投资多久？"));
    say("7年以上");                     // 4
    say("４");                          // 4
    say("混合或股票基金");              // 3
    say("稳健增长");                    // 3
    std::string last = say("10%以下");  // 4: 18 points
    EXPECT_TRUE(has(last, "您的风险等级为进取型（5/5）")) << last;
}

TEST_F(InvestmentTest, InvalidAnswersReaskThenStop) {
    say("assess my risk", "investment.risk_profile");
    std::string r = say("maybe");
    EXPECT_TRUE(has(r, "Please answer with 1, 2, 3 or 4."));
    EXPECT_TRUE(has(r, "Question 1 of 5"));
    say("purple");
    r = say("banana");
    EXPECT_TRUE(has(r, "Let's stop the questionnaire here"));
    EXPECT_TRUE(state_.is_null());
    EXPECT_FALSE(slots_.contains("risk_profile"));
}

TEST_F(InvestmentTest, CancelStopsWithoutKeepingAProfile) {
    locale_ = "zh-CN";
    say("我想做风险评估", "investment.risk_profile");
    say("1");
    std::string r = say("取消");
    EXPECT_TRUE(has(r, "已退出问卷"));
    EXPECT_TRUE(state_.is_null());
    EXPECT_FALSE(slots_.contains("risk_profile"));
}

TEST_F(InvestmentTest, ChineseRecommendationCarriesTheChineseDisclosure) {
    locale_ = "zh-CN";
    slots_["risk_profile"] = 2;
    std::string r = say("哪个基金适合我", "investment.recommend");
    EXPECT_EQ(r.find("重要提示：投资有风险"), 0u) << r;
    EXPECT_TRUE(has(r, "适合稳健型投资者（风险等级2/5）的产品"));
    EXPECT_TRUE(has(r, "国债基金（风险等级R2）") || has(r, "国债基金 (风险等级R2)")) << r;
}

TEST_F(InvestmentTest, ConfiguredRangeReplacesTheBuiltInAndBadRangesAreRefused) {
    core::SkillHost configured(*backend_);
    json::object config{{"products", json::array{json::object{
                                         {"id", "only"},
                                         {"risk", 2},
                                         {"name", {{"en", "Only Fund"}, {"zh-CN", "唯一基金"}}},
                                         {"summary", {{"en", "x"}, {"zh-CN", "x"}}}}}}};
    ASSERT_TRUE(configured.load(TELLER_INVESTMENT_SKILL, config));
    json::object request{{"text", "funds"},
                         {"locale", "en"},
                         {"intent", {{"name", "investment.products"}, {"confidence", 1.0}}},
                         {"state", nullptr},
                         {"slots", json::object{}}};
    auto response = configured.call("investment", request);
    ASSERT_TRUE(response);
    std::string text(response->at("replies").at(0).at("text").as_string());
    EXPECT_TRUE(has(text, "Only Fund (risk 2/5)"));
    EXPECT_FALSE(has(text, "Balanced Fund"));

    core::SkillHost bad(*backend_);
    json::object broken{{"products", json::array{json::object{{"id", "x"}, {"risk", 9}}}}};
    EXPECT_FALSE(bad.load(TELLER_INVESTMENT_SKILL, broken));
}

}  // namespace
}  // namespace teller::skills::investment
