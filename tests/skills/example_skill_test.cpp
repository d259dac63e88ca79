// The out-of-tree example skill (examples/currency_exchange), built against the installed package.
#include "teller/core/skill_host.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"

namespace teller::core {
namespace {
namespace json = boost::json;

// deploy/build-examples.sh builds every example in <build>/examples/<name>.
const std::string kExampleSkill =
    std::string(TELLER_BINARY_DIR) + "/examples/currency_exchange/exchange.so";

// The exchange skill never calls the bank; any call is a test failure.
class NoBackend : public Backend {
public:
    Result<json::value> call(std::string_view operation, const json::object&) override {
        ADD_FAILURE() << "the exchange skill called the backend: " << operation;
        return make_error_code(Errc::skill_failed);
    }
};

class ExampleSkillTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(std::filesystem::exists(kExampleSkill))
            << kExampleSkill << " is missing: run deploy/build-examples.sh "
            << "(it installs this build and builds examples/ against it) before ctest";
        auto loaded = host_.load(kExampleSkill);
        ASSERT_TRUE(loaded) << (host_.load_errors().empty() ? "" : host_.load_errors().back());
        ASSERT_EQ(*loaded, "exchange");
    }

    json::object request(const std::string& intent, const std::string& locale,
                         const std::string& text, json::value state = nullptr) {
        return {{"conversation", "c1"},
                {"channel", "webchat"},
                {"locale", locale},
                {"text", text},
                {"intent", {{"name", intent}, {"confidence", 0.9}}},
                {"entities", json::array{}},
                {"state", std::move(state)},
                {"slots", json::object{}},
                {"customer", {{"id", "demo-user"}, {"verified", false}}}};
    }

    // The text of the response's only reply.
    static std::string reply_text(const json::object& response) {
        const json::array& replies = response.at("replies").as_array();
        EXPECT_EQ(replies.size(), 1u);
        return replies.empty() ? "" : std::string(replies.front().at("text").as_string());
    }

    NoBackend backend_;
    SkillHost host_{backend_};
};

TEST_F(ExampleSkillTest, ManifestGivesBothIntentsExamplesInBothLocales) {
    for (const char* intent : {"exchange.rate", "exchange.convert"}) {
        const IntentInfo* info = host_.find_intent(intent);
        ASSERT_NE(info, nullptr) << intent;
        EXPECT_EQ(info->skill, "exchange");
        EXPECT_FALSE(host_.intent_title(intent, "zh-CN").empty());
    }
    std::map<std::string, int> per_intent_locale;
    for (const TrainingExample& e : host_.training_examples()) {
        if (e.intent.starts_with("exchange.")) {
            ++per_intent_locale[e.intent + "/" + e.locale];
        }
    }
    ASSERT_EQ(per_intent_locale.size(), 4u);
    for (const auto& [key, count] : per_intent_locale) {
        EXPECT_GE(count, 20) << key;
    }
}

TEST_F(ExampleSkillTest, ConvertsDollarsToYuanInEnglish) {
    auto response =
        host_.call("exchange", request("exchange.convert", "en", "convert 100 dollars to yuan"));
    ASSERT_TRUE(response) << response.error().message();
    std::string text = reply_text(*response);
    // The demo table has 7.10 CNY to the dollar.
    EXPECT_NE(text.find("100.00 USD is about 710.00 CNY"), std::string::npos) << text;
    EXPECT_NE(text.find("demo rate"), std::string::npos) << text;
    EXPECT_TRUE(response->at("state").is_null());
}

TEST_F(ExampleSkillTest, ConvertsDollarsToYuanInChinese) {
    auto response =
        host_.call("exchange", request("exchange.convert", "zh-CN", "100美元换多少人民币"));
    ASSERT_TRUE(response) << response.error().message();
    std::string text = reply_text(*response);
    EXPECT_NE(text.find("100.00美元约合710.00人民币"), std::string::npos) << text;
    EXPECT_NE(text.find("演示汇率"), std::string::npos) << text;
}

TEST_F(ExampleSkillTest, TheCurrencyNextToTheAmountIsTheOneConverted) {
    // "for 800 dollars": the customer has dollars and wants euros (0.92 to the dollar).
    auto response = host_.call(
        "exchange", request("exchange.convert", "en", "how many euros will I get for 800 dollars"));
    ASSERT_TRUE(response) << response.error().message();
    std::string text = reply_text(*response);
    EXPECT_NE(text.find("800.00 USD is about 736.00 EUR"), std::string::npos) << text;
}

TEST_F(ExampleSkillTest, AsksForTheAmountAndConvertsOnTheNextTurn) {
    auto first =
        host_.call("exchange", request("exchange.convert", "zh-CN", "我想把欧元换成人民币"));
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_NE(reply_text(*first).find("多少欧元"), std::string::npos) << reply_text(*first);
    ASSERT_TRUE(first->at("state").is_object());

    auto second = host_.call("exchange", request("", "zh-CN", "2,000", first->at("state")));
    ASSERT_TRUE(second) << second.error().message();
    // 2000 EUR at 7.10 / 0.92 CNY per EUR.
    EXPECT_NE(reply_text(*second).find("2,000.00欧元约合15,434.78人民币"), std::string::npos)
        << reply_text(*second);
    EXPECT_TRUE(second->at("state").is_null());
}

TEST_F(ExampleSkillTest, GivesUpAfterThreeAnswersItCannotUse) {
    auto turn =
        host_.call("exchange", request("exchange.convert", "en", "convert euros to pounds"));
    ASSERT_TRUE(turn) << turn.error().message();
    int questions = 0;
    while (turn->at("state").is_object()) {
        ASSERT_LT(++questions, 10) << "the skill keeps asking";
        turn = host_.call("exchange", request("", "en", "hmm, not sure", turn->at("state")));
        ASSERT_TRUE(turn) << turn.error().message();
    }
    EXPECT_EQ(questions, 3);
    EXPECT_NE(reply_text(*turn).find("stop here"), std::string::npos) << reply_text(*turn);
}

TEST_F(ExampleSkillTest, QuotesARateBothWaysInTheCustomersLanguage) {
    auto zh = host_.call("exchange", request("exchange.rate", "zh-CN", "美元兑欧元汇率"));
    ASSERT_TRUE(zh) << zh.error().message();
    EXPECT_NE(reply_text(*zh).find("1美元 = 0.9200欧元"), std::string::npos) << reply_text(*zh);

    auto en = host_.call("exchange", request("exchange.rate", "en", "what's the USD to EUR rate"));
    ASSERT_TRUE(en) << en.error().message();
    EXPECT_NE(reply_text(*en).find("1 USD = 0.9200 EUR"), std::string::npos) << reply_text(*en);
    EXPECT_NE(reply_text(*en).find("1 EUR = 1.0870 USD"), std::string::npos) << reply_text(*en);
}

TEST_F(ExampleSkillTest, ConfigurationReplacesDemoRates) {
    // Rates per US dollar, as numbers or (from YAML) as strings.
    SkillHost configured{backend_};
    ASSERT_TRUE(configured.load(kExampleSkill, {{"EUR", 0.5}, {"GBP", "0.25"}}));
    auto euros =
        configured.call("exchange", request("exchange.convert", "en", "convert 10 USD to EUR"));
    ASSERT_TRUE(euros) << euros.error().message();
    EXPECT_NE(reply_text(*euros).find("10.00 USD is about 5.00 EUR"), std::string::npos)
        << reply_text(*euros);
    auto pounds =
        configured.call("exchange", request("exchange.convert", "en", "convert 10 USD to GBP"));
    ASSERT_TRUE(pounds) << pounds.error().message();
    EXPECT_NE(reply_text(*pounds).find("10.00 USD is about 2.50 GBP"), std::string::npos)
        << reply_text(*pounds);

    SkillHost refused{backend_};
    EXPECT_FALSE(refused.load(kExampleSkill, {{"XYZ", 1.0}}));
    EXPECT_FALSE(refused.load(kExampleSkill, {{"EUR", "-1"}}));
}

}  // namespace
}  // namespace teller::core
