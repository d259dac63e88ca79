// Declarative flows: the loader's errors with file and line, and the shipped transfer flow run
// through the skill host like any skill.
#include "teller/core/flows.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/error.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::core {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

// A flow file with every required part; tests replace pieces of it to break it.
constexpr std::string_view kValidFlow = R"(version: 1
flow: demo
intent: demo.start
title: {en: Demo, zh-CN: 演示}
examples:
  en: [a one, a two, a three, a four, a five]
  zh-CN: [一, 二, 三, 四, 五]
slots:
  size:
    type: choice
    choices:
      - {value: s, title: {en: Small, zh-CN: 小}}
    prompt: {en: "Which size?", zh-CN: "哪个尺寸？"}
steps:
  - ask: size
  - end: {en: "Size {size}.", zh-CN: "尺寸{size}。"}
)";

class FlowLoaderTest : public ::testing::Test {
protected:
    FlowLoaderTest()
        : dir_(fs::temp_directory_path() / ("teller-flows-" + std::to_string(::getpid()))) {
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    ~FlowLoaderTest() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, std::string_view text) {
        fs::path p = dir_ / name;
        std::ofstream(p) << text;
        return p;
    }

    // The loader's complaint about `text`, or "" when it loads.
    std::string error_for(std::string text) {
        fs::path p = write("broken.yaml", text);
        try {
            load_flow_file(p);
        } catch (const Error& e) {
            return e.what();
        }
        return {};
    }

    static std::string with(std::string_view from, std::string_view to) {
        std::string text(kValidFlow);
        auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
        return text;
    }

    fs::path dir_;
};

TEST_F(FlowLoaderTest, ValidFileLoads) {
    Flow f = load_flow_file(write("ok.yaml", kValidFlow));
    EXPECT_EQ(f.name, "demo");
    EXPECT_EQ(f.intent, "demo.start");
    EXPECT_EQ(f.steps.size(), 2u);
    EXPECT_EQ(f.examples.at("zh-CN").size(), 5u);
}

TEST_F(FlowLoaderTest, EveryMistakeNamesFileLineAndProblem) {
    struct Case {
        std::string text;
        std::string expected;
    };
    const Case cases[] = {
        {with("  - ask: size\n", "  - ask: colour\n"),
         "broken.yaml:15: ask names the unknown slot \"colour\""},
        {with("  - ask: size\n", "  - goto: nowhere\n"),
         "broken.yaml:15: no step has the id \"nowhere\""},
        {with(", zh-CN: \"哪个尺寸？\"}", "}"), "broken.yaml:13: prompt has no \"zh-CN\" text"},
        {with("  - ask: size\n", "  - ask: size\n    colour: red\n"),
         "broken.yaml:16: unknown key \"colour\" in a step"},
        {with("  - ask: size\n", "  - branch:\n      - {if: size ~ s, goto: x}\n"),
         "is not `slot <op> value`"},
        {with("\"Size {size}.\"", "\"Size {shape}.\""),
         "broken.yaml:16: the en text names {shape}, which is not a slot"},
        {with("version: 1", "version: 2"), "\"version: 1\" is required"},
        {with("  en: [a one, a two, a three, a four, a five]", "  en: [a one, a one, b, c, d]"),
         "broken.yaml:6: duplicate example \"a one\""},
        {with("  - ask: size\n", "  - ask: size\n    end: bye\n"),
         "broken.yaml:15: a step needs exactly one of"},
        {"version: 1\nflow: [unclosed\n", "broken.yaml:"},
    };
    for (const Case& c : cases) {
        std::string error = error_for(c.text);
        EXPECT_NE(error.find(c.expected), std::string::npos)
            << "expected \"" << c.expected << "\" in \"" << error << "\"";
    }
}

TEST_F(FlowLoaderTest, TwoFlowsWithOneIntentAreRefused) {
    write("a.yaml", kValidFlow);
    write("b.yaml", with("flow: demo", "flow: other"));
    try {
        load_flows(dir_);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("intent \"demo.start\" is also used by"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(load_flows(dir_ / "absent").empty());
}

// The shipped transfer flow through the skill host, with the demo bank.
class TransferFlowTest : public ::testing::Test {
protected:
    TransferFlowTest()
        : backend_(make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        auto loaded = host_.load_builtin(flows_skill_table(TELLER_SOURCE_DIR "/flows"));
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
                             {"customer", {{"id", "demo-user"}, {"verified", true}}}};
        auto response = host_.call("flows", request);
        EXPECT_TRUE(response) << "turn: " << text;
        if (!response) {
            state_ = nullptr;
            return {};
        }
        last_ = *response;
        state_ = response->at("state");
        std::string out;
        for (const json::value& r : response->at("replies").as_array()) {
            out += std::string(r.at("text").as_string()) + "\n";
        }
        return out;
    }

    static json::array amount(std::string_view value) {
        return {json::object{{"type", "amount"}, {"value", value}, {"text", value}}};
    }

    std::string balances() {
        auto r = backend_->call("accounts.balance", {{"customer", "demo-user"}});
        return json::serialize(r.value());
    }

    std::unique_ptr<Backend> backend_;
    SkillHost host_;
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

TEST_F(TransferFlowTest, IntentAndExamplesAreRegistered) {
    const IntentInfo* info = host_.find_intent("transfers.own_accounts");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->skill, "flows");
    EXPECT_EQ(host_.intent_title("transfers.own_accounts", "zh-CN"), "本人账户间转账");
}

TEST_F(TransferFlowTest, AsksEachSlotConfirmsAndTransfers) {
    std::string r = say("move money to savings", "transfers.own_accounts");
    EXPECT_TRUE(has(r, "How much would you like to move?"));
    r = say("$250", "", amount("250.00 USD"));
    EXPECT_TRUE(has(r, "From which account?"));
    EXPECT_EQ(last_.at("replies").at(0).at("quick_replies").as_array().size(), 2u);
    r = say("1");  // by number
    EXPECT_TRUE(has(r, "To which account?"));
    r = say("savings");  // by title
    EXPECT_TRUE(has(r, "Move 250.00 USD from Everyday checking to Savings?"));
    r = say("yes");
    EXPECT_TRUE(has(r, "Done: 250.00 USD moved. Reference TR-"));
    EXPECT_TRUE(state_.is_null());
    EXPECT_TRUE(has(balances(), "\"2280.75\""));
    EXPECT_TRUE(has(balances(), "\"13050.00\""));
}

TEST_F(TransferFlowTest, FirstMessageSlotsAreTakenAndInvalidAmountsReasked) {
    std::string r =
        say("transfer 90000 to savings", "transfers.own_accounts", amount("90000.00 USD"));
    EXPECT_TRUE(has(r, "How much would you like to move?"));  // 90,000 is over the limit
    r = say("lots");
    EXPECT_TRUE(has(r, "Please give an amount with a currency"));
    r = say("more");
    r = say("still no");
    EXPECT_TRUE(has(r, "Let's stop here for now"));
    EXPECT_TRUE(state_.is_null());
}

TEST_F(TransferFlowTest, SameAccountBranchesToItsOwnEnd) {
    say("transfer", "transfers.own_accounts", amount("10.00 USD"));
    say("acc-101");
    std::string r = say("Savings");
    EXPECT_TRUE(has(r, "The two accounts are the same"));
    EXPECT_TRUE(state_.is_null());
}

TEST_F(TransferFlowTest, NoAtConfirmationMovesNothing) {
    std::string before = balances();
    say("transfer", "transfers.own_accounts", amount("10.00 USD"));
    say("1");
    say("2");
    std::string r = say("no", "deny");
    EXPECT_TRUE(has(r, "no money was moved"));
    EXPECT_EQ(balances(), before);
}

TEST_F(TransferFlowTest, BackendRefusalEndsWithTheFlowsErrorText) {
    say("transfer", "transfers.own_accounts", amount("20000.00 USD"));
    say("1");  // checking holds 2,530.75
    say("2");
    std::string r = say("yes");
    EXPECT_TRUE(has(r, "the transfer didn't go through"));
    const json::array& events = last_.at("events").as_array();
    EXPECT_EQ(events.back().at("type").as_string(), "flow_action");
    EXPECT_FALSE(events.back().at("ok").as_bool());
}

TEST_F(TransferFlowTest, ChineseTurnsShowChineseTitles) {
    locale_ = "zh-CN";
    std::string r = say("从活期转100美元到储蓄", "transfers.own_accounts", amount("100.00 USD"));
    EXPECT_TRUE(has(r, "从哪个账户转出？"));
    say("活期账户");
    r = say("２");
    EXPECT_TRUE(has(r, "确认从活期账户转100.00 USD到储蓄账户吗？"));
    r = say("确认");
    EXPECT_TRUE(has(r, "已完成：已转账100.00 USD。编号TR-"));
}

}  // namespace
}  // namespace teller::core
