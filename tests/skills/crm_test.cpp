// The CRM skill through the skill host: callbacks, follow-ups and the satisfaction survey.
#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::skills::crm {
namespace {
namespace json = boost::json;

json::object entity(std::string_view type, std::string_view value, std::string_view text) {
    return json::object{{"type", type}, {"value", value}, {"text", text}};
}

// A conversation with the CRM skill, carrying its state from turn to turn as the engine does.
class CrmTest : public ::testing::Test {
protected:
    CrmTest()
        : backend_(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_, core::SkillHostOptions{std::chrono::milliseconds(2000)}) {
        auto loaded = host_.load(TELLER_CRM_SKILL);
        EXPECT_TRUE(loaded) << (host_.load_errors().empty() ? "" : host_.load_errors().back());
    }

    std::string say(const std::string& text, const std::string& intent = "",
                    json::array entities = {}) {
        json::object request{{"conversation", "conv-1"},
                             {"channel", "webchat"},
                             {"locale", locale_},
                             {"text", text},
                             {"intent", {{"name", intent}, {"confidence", 0.95}}},
                             {"entities", std::move(entities)},
                             {"state", state_},
                             {"slots", json::object{}},
                             {"customer", {{"id", "demo-user"}, {"verified", false}}}};
        auto response = host_.call("crm", request);
        EXPECT_TRUE(response) << "turn: " << text;
        if (!response) {
            state_ = nullptr;
            return {};
        }
        last_ = *response;
        state_ = response->contains("state") ? response->at("state") : json::value();
        std::string out;
        for (const json::value& r : response->at("replies").as_array()) {
            out += std::string(r.at("text").as_string()) + "\n";
        }
        return out;
    }

    std::string event(std::size_t i, std::string_view key) const {
        const json::value& v = last_.at("events").at(i).at(key);
        return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
    }

    std::unique_ptr<core::Backend> backend_;
    core::SkillHost host_;
    std::string locale_ = "en";
    json::value state_;
    json::object last_;
};

::testing::AssertionResult has(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "\"" << part << "\" not in: " << text;
}

TEST_F(CrmTest, CallbackAsksForDayAndTimeThenBooksItForTheNumberOnFile) {
    std::string r = say("can someone call me back", "crm.callback");
    EXPECT_TRUE(has(r, "Which day should we call you?"));
    r = say("tomorrow", "", {entity("date", "2026-12-05", "tomorrow")});
    EXPECT_TRUE(has(r, "What time suits you?"));
    r = say("3pm");
    EXPECT_TRUE(
        has(r, "So we call the number on your profile on 2026-12-05 15:00. Shall I book it?"))
        << r;
    r = say("yes");
    EXPECT_TRUE(has(r, "Booked: we'll call you on 2026-12-05 15:00. Reference CB-1001."));
    EXPECT_TRUE(state_.is_null());
    EXPECT_EQ(event(0, "type"), "callback_requested");
    EXPECT_EQ(event(0, "reference"), "CB-1001");
}

TEST_F(CrmTest, EverythingInTheFirstMessageGoesStraightToConfirmation) {
    std::string r = say(
        "call me back on Friday at 10am on +15551234567", "crm.callback",
        {entity("date", "2026-12-11", "Friday"), entity("phone", "+15551234567", "+15551234567")});
    EXPECT_TRUE(has(r, "on 2026-12-11 10:00. Shall I book it?")) << r;
}

TEST_F(CrmTest, TimesOutsideOfficeHoursAreRefusedAndReasked) {
    say("callback please", "crm.callback", {entity("date", "2026-12-05", "tomorrow")});
    std::string r = say("at 8pm");
    EXPECT_TRUE(has(r,
                    "That is outside our calling hours. What time suits you? Our advisors call "
                    "between 09:00 and 18:00."));
    EXPECT_EQ(state_.at("step").as_string(), "time");
    r = say("10:30");
    EXPECT_TRUE(has(r, "Shall I book it?"));
    EXPECT_EQ(state_.at("hour").as_int64(), 10);
    EXPECT_EQ(state_.at("minute").as_int64(), 30);
}

TEST_F(CrmTest, ChineseCallbackWithAfternoonHour) {
    locale_ = "zh-CN";
    std::string r =
        say("明天下午3点给我打电话，13812345678", "crm.callback",
            {entity("date", "2026-12-05", "明天"), entity("phone", "13812345678", "13812345678")});
    EXPECT_TRUE(has(r, "确认在2026-12-05 15:00致电您预留的手机号")) << r;
    r = say("好的");
    EXPECT_TRUE(has(r, "已预约：我们将在2026-12-05 15:00给您回电。编号CB-1001。"));
}

TEST_F(CrmTest, NoWithACorrectionTakesTheNewTime) {
    say("follow up with me please", "crm.follow_up", {entity("date", "2026-12-07", "Monday")});
    std::string r = say("morning");
    EXPECT_TRUE(has(r, "So we follow up with you here on 2026-12-07 in the morning."));
    r = say("no, Tuesday afternoon", "", {entity("date", "2026-12-08", "Tuesday")});
    EXPECT_TRUE(has(r, "on 2026-12-08 in the afternoon. Shall I book it?")) << r;
    r = say("no");
    EXPECT_TRUE(has(r, "nothing is booked"));
    EXPECT_TRUE(state_.is_null());
}

TEST_F(CrmTest, CancelAndRepeatedNonsenseEndTheRequest) {
    say("call me back", "crm.callback");
    std::string r = say("取消");
    EXPECT_TRUE(has(r, "no callback is booked"));
    EXPECT_TRUE(state_.is_null());

    say("call me back", "crm.callback");
    say("banana");
    say("purple");
    r = say("hmm");
    EXPECT_TRUE(has(r, "Let's leave it for now"));
    EXPECT_TRUE(state_.is_null());
}

TEST_F(CrmTest, SurveyTakesARatingAndAComment) {
    std::string r = say("rate this conversation", "crm.feedback");
    EXPECT_TRUE(has(r, "from 1 (poor) to 5 (excellent)"));
    EXPECT_EQ(last_.at("replies").at(0).at("quick_replies").as_array().size(), 5u);
    r = say("great");
    EXPECT_TRUE(has(r, "Please answer with a number from 1 to 5."));
    r = say("4");
    EXPECT_TRUE(has(r, "Anything we could do better?"));
    r = say("Faster answers please");
    EXPECT_TRUE(has(r, "Thank you for your feedback."));
    EXPECT_EQ(event(0, "type"), "satisfaction_rated");
    EXPECT_EQ(event(0, "rating"), "4");
    EXPECT_EQ(event(0, "commented"), "true");
    EXPECT_EQ(event(0, "stored"), "true");
}

TEST_F(CrmTest, ChineseSurveyWithFullWidthRatingAndSkip) {
    locale_ = "zh-CN";
    say("评价本次对话", "crm.feedback");
    std::string r = say("５");
    EXPECT_TRUE(has(r, "有什么可以改进的吗"));
    r = say("跳过");
    EXPECT_TRUE(has(r, "感谢您的反馈"));
    EXPECT_EQ(event(0, "commented"), "false");
}

}  // namespace
}  // namespace teller::skills::crm
