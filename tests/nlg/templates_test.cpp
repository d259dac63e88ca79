// Response templates: load-time validation with file:line, rendering, variation choice.
#include "teller/nlg/templates.hpp"

#include <gtest/gtest.h>

#include <set>

#include <boost/json.hpp>

#include "teller/nlg/responder.hpp"

namespace teller::nlg {
namespace {
namespace json = boost::json;

constexpr const char* kYaml = R"(slots:
  amount: money
  due_date: date
  rate: percent
  name: text
  kind: text
responses:
  loan.due:
    - en: "Pay {amount} by {due_date}."
      zh-CN: "请在{due_date}前还款{amount}。"
      channels:
        sms:
          en: "Due {due_date}: {amount}"
          zh-CN: "{due_date}应还{amount}"
    - en: "{amount} is due on {due_date}, {name}."
      zh-CN: "{name}，{due_date}应还{amount}。"
  rate.quote:
    - en: "The rate is {rate}."
      zh-CN: "利率为{rate}。"
      when: {kind: fixed}
    - en: "The variable rate is {rate} today."
      zh-CN: "今日浮动利率为{rate}。"
      when: {kind: variable}
  literal:
    - en: "Braces {{like this}}"
      zh-CN: "括号{{这样}}"
)";

// The error message of parsing `yaml`, or "" when it parses.
std::string parse_error(const std::string& yaml) {
    try {
        (void)TemplateSet::parse(yaml, "t.yaml");
    } catch (const core::Error& e) {
        return e.what();
    }
    return "";
}

TEST(TemplatesTest, RendersSlotsFormattedPerLocale) {
    TemplateSet t = TemplateSet::parse(kYaml, "t.yaml");
    json::object slots{{"amount", "5000"}, {"due_date", "2026-12-04"}, {"name", "Ada"}};
    RenderContext en{"en", "webchat", 0};
    RenderContext zh{"zh-CN", "webchat", 0};
    EXPECT_EQ(t.render("loan.due", slots, en).value(), "Pay ¥5,000.00 by Dec 4, 2026.");
    EXPECT_EQ(t.render("loan.due", slots, zh).value(), "请在2026年12月4日前还款5,000.00 元。");
    en.seed = 1;
    EXPECT_EQ(t.render("loan.due", slots, en).value(), "¥5,000.00 is due on Dec 4, 2026, Ada.");
    slots["amount"] = json::object{{"amount", -0.005}, {"currency", "USD"}};
    en.seed = 0;
    EXPECT_EQ(t.render("loan.due", slots, en).value(), "Pay -$0.01 by Dec 4, 2026.");
}

TEST(TemplatesTest, ChannelFormReplacesTheTextOnThatChannel) {
    TemplateSet t = TemplateSet::parse(kYaml, "t.yaml");
    json::object slots{{"amount", 12}, {"amount_currency", "EUR"}, {"due_date", "2026-01-31"}};
    EXPECT_EQ(t.render("loan.due", slots, {"en", "sms", 0}).value(), "Due Jan 31, 2026: €12.00");
    EXPECT_EQ(t.render("loan.due", slots, {"zh-CN", "sms", 0}).value(),
              "2026年1月31日应还12.00 欧元");
}

TEST(TemplatesTest, OnlyVariationsWhoseSlotsAndConditionsHoldAreChosen) {
    TemplateSet t = TemplateSet::parse(kYaml, "t.yaml");
    // Without `name` only the first variation is eligible, whatever the seed.
    json::object slots{{"amount", 1}, {"due_date", "2026-12-04"}};
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
        EXPECT_EQ(t.render("loan.due", slots, {"en", "", seed}).value(),
                  "Pay ¥1.00 by Dec 4, 2026.");
    }
    EXPECT_EQ(t.render("rate.quote", {{"rate", 3.85}, {"kind", "variable"}}, {}).value(),
              "The variable rate is 3.85% today.");
    EXPECT_EQ(t.render("rate.quote", {{"rate", 3.85}, {"kind", "fixed"}}, {}).value(),
              "The rate is 3.85%.");
    EXPECT_EQ(t.render("rate.quote", {{"rate", 3.85}}, {}).error(),
              make_error_code(Errc::missing_slot));
    EXPECT_EQ(t.render("nope", {}, {}).error(), make_error_code(Errc::no_template));
    EXPECT_EQ(t.render("loan.due", {{"amount", "lots"}, {"due_date", "2026-12-04"}}, {}).error(),
              make_error_code(Errc::bad_slot_value));
    EXPECT_EQ(t.render("literal", {}, {}).value(), "Braces {like this}");
}

TEST(TemplatesTest, VariationChoiceIsStablePerConversationAndTurn) {
    TemplateSet t = TemplateSet::parse(kYaml, "t.yaml");
    json::object slots{{"amount", 1}, {"due_date", "2026-12-04"}, {"name", "李雷"}};
    std::set<std::string> seen;
    for (int turn = 0; turn < 20; ++turn) {
        RenderContext c{"en", "", variation_seed("webchat:bob", turn)};
        std::string first = t.render("loan.due", slots, c).value();
        EXPECT_EQ(first, t.render("loan.due", slots, c).value());
        seen.insert(first);
    }
    EXPECT_EQ(seen.size(), 2u);
    EXPECT_EQ(variation_seed("a", 1), variation_seed("a", 1));
    EXPECT_NE(variation_seed("a", 1), variation_seed("a", 2));
}

TEST(TemplatesTest, LoadErrorsNameFileAndLine) {
    EXPECT_EQ(parse_error("responses:\n  a:\n    - en: \"Hi {who}\"\n      zh-CN: \"你好\"\n"),
              "t.yaml:3: \"a\" uses the undeclared slot {who} (declare it under `slots`)");
    EXPECT_EQ(parse_error("responses:\n  a:\n    - en: \"Hi\"\n"),
              "t.yaml:3: a variation of \"a\" has no zh-CN text");
    EXPECT_EQ(parse_error("slots:\n  x: colour\nresponses:\n  a:\n    - en: a\n      zh-CN: b\n"),
              "t.yaml:2: unknown slot type \"colour\" (text, money, date, percent, number)");
    EXPECT_EQ(parse_error("responses:\n  a:\n    - en: a\n      zh-CN: b\n      tone: warm\n"),
              "t.yaml:5: unknown key \"tone\" in a variation of \"a\"");
    EXPECT_EQ(parse_error("responses:\n  a: []\n"),
              "t.yaml:2: act \"a\" needs a list of variations");
    EXPECT_NE(parse_error("responses:\n  a:\n    - en: [unclosed\n").find("t.yaml:"),
              std::string::npos);
    EXPECT_EQ(parse_error("responses:\n  a:\n    - en: a\n      zh-CN: b\n      channels:\n"
                          "        sms:\n          en: c\n"),
              "t.yaml:7: the sms form of \"a\" has no zh-CN text");
}

TEST(TemplatesTest, MissingActAndDuplicateActAreErrors) {
    TemplateSet t = TemplateSet::parse(kYaml, "t.yaml");
    try {
        t.require(act::all, "knowledge/responses");
        FAIL() << "require() accepted a set without the system acts";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("knowledge/responses: no response template for "
                                             "system.greet"),
                  std::string::npos)
            << e.what();
    }
    TemplateSet other =
        TemplateSet::parse("responses:\n  literal:\n    - en: a\n      zh-CN: b\n", "u.yaml");
    try {
        t.merge(other);
        FAIL() << "merge() accepted an act defined twice";
    } catch (const core::Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "u.yaml:2: act \"literal\" is already defined at t.yaml:24");
    }
}

TEST(TemplatesTest, ShippedTemplatesLoadAndDefineEveryDialogueAct) {
    TemplateSet t = TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses");
    EXPECT_NO_THROW(t.require(act::all, "knowledge/responses"));
    json::object slots{
        {"product", "car loan"}, {"principal", 20000},           {"term_months", 12},
        {"rate", 3.45},          {"monthly_payment", "1698.59"}, {"total_interest", 383.08}};
    for (std::uint64_t seed = 0; seed < 3; ++seed) {
        std::string en = t.render("loans.installment", slots, {"en", "", seed}).value();
        EXPECT_NE(en.find("¥20,000.00"), std::string::npos) << en;
        EXPECT_NE(en.find("¥1,698.59"), std::string::npos) << en;
        EXPECT_NE(en.find("3.45%"), std::string::npos) << en;
        std::string zh = t.render("loans.installment", slots, {"zh-CN", "", seed}).value();
        EXPECT_NE(zh.find("20,000.00 元"), std::string::npos) << zh;
        EXPECT_NE(zh.find("383.08 元"), std::string::npos) << zh;
    }
}

}  // namespace
}  // namespace teller::nlg
