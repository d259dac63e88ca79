// A skill reply's "items": each rendered from its act (or its fallback text) as a line of its own.
#include "teller/core/dialogue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlg/error.hpp"
#include "teller/nlg/responder.hpp"
#include "teller/nlg/templates.hpp"
#include "teller/plugins/skill.hpp"

namespace teller::core {
namespace {
namespace json = boost::json;

// A skill whose reply is the JSON object the customer typed, so each test chooses the reply.
char* echo_turn(void*, const char* request_json) noexcept {
    return plugins::guarded_handle(request_json, [](const json::object& request) {
        json::object reply = json::parse(request.at("text").as_string()).as_object();
        return json::value(json::object{{"replies", json::array{reply}}, {"state", nullptr}});
    });
}

int echo_init(const teller_host_v1*, const char*, void** state) {
    *state = nullptr;
    return 0;
}

void echo_shutdown(void*) {}

const teller_skill_v1* echo_table() {
    static const std::string manifest =
        plugins::build_manifest("lists", "1.0.0", "test skill that answers with lists",
                                {{"lists.show", "Show", "显示", {"show me"}, {"显示"}}});
    static const teller_skill_v1 table{
        TELLER_SKILL_API_VERSION, "lists",       manifest.c_str(), &echo_init, &echo_turn,
        &plugins::free_c_string,  &echo_shutdown};
    return &table;
}

constexpr std::string_view kTemplates = R"(
slots:
  amount: money
  tx_date: date
responses:
  lists.line:
    - en: "{tx_date}: {amount}"
      zh-CN: "{tx_date}：{amount}"
  lists.header:
    - en: "Your list"
      zh-CN: "您的列表"
)";

// Renders the test templates, as nlg::Nlg does for a skill's acts.
class TestTemplates final : public nlg::Responder {
public:
    core::Result<nlg::RenderedReply> render(std::string_view act, const json::object& slots,
                                            const nlg::ReplyContext& context) const override {
        auto text = templates_.render(act, slots, {context.locale, context.channel, 0});
        if (!text) {
            return text.error();
        }
        return nlg::RenderedReply{*text, "template", ""};
    }
    std::optional<nlg::FaqDecision> ask_faq(std::string_view, std::string_view) const override {
        return std::nullopt;
    }

private:
    nlg::TemplateSet templates_ = nlg::TemplateSet::parse(kTemplates, "test.yaml");
};

class DialogueItemsTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.load_builtin(echo_table())); }

    TurnOutput turn(const json::object& reply, const nlg::Responder* responder,
                    const std::string& locale = "en") {
        DialogueOptions options;
        options.responder = responder;
        options.require_verification = false;
        DialogueManager dialogue(host_, options);
        InboundMessage in;
        in.id = "m1";
        in.channel = "webchat";
        in.conversation = "webchat:ada";
        in.sender = "ada";
        in.locale = locale;
        in.text = json::serialize(reply);
        NluResult nlu;
        nlu.ranking = {{"lists.show", 0.99f}};
        return dialogue.run_turn(in, nlu, {}, 1000);
    }

    static json::object list_reply() {
        return json::object{
            {"text", "Recent:"},
            {"quick_replies", json::array{json::object{{"title", "More"}, {"payload", "more"}}}},
            {"items",
             json::array{
                 json::object{{"act", "lists.line"},
                              {"slots", {{"tx_date", "2026-12-04"}, {"amount", "5000"}}},
                              {"text", "first fallback"}},
                 // No template for this act: its text is used.
                 json::object{{"act", "lists.unknown"}, {"text", "second fallback"}},
                 // A missing slot: its text is used.
                 json::object{{"act", "lists.line"}, {"slots", {{"amount", 1}}}, {"text", "third"}},
                 json::object{{"text", "plain line"}}, "not an object"}}};
    }

    std::unique_ptr<Backend> backend_ =
        make_demo_backend_from_json(R"({"customers":[{"id":"a"}]})");
    SkillHost host_{*backend_};
    TestTemplates templates_;
};

TEST_F(DialogueItemsTest, ItemsAreRenderedAsLinesAfterTheReplyText) {
    TurnOutput out = turn(list_reply(), &templates_);
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].text,
              "Recent:\nDec 4, 2026: ¥5,000.00\nsecond fallback\nthird\nplain line");
    ASSERT_EQ(out.replies[0].quick_replies.size(), 1u);
    EXPECT_EQ(out.replies[0].quick_replies[0].payload, "more");
}

TEST_F(DialogueItemsTest, ItemsFollowTheCustomersLocale) {
    // The reply's language follows the customer's text, here the Chinese in the JSON.
    json::object reply{
        {"text", "最近的交易如下所示："},
        {"items",
         json::array{json::object{{"act", "lists.line"},
                                  {"slots", {{"tx_date", "2026-12-04"}, {"amount", "5000"}}},
                                  {"text", "备用文字一"}},
                     json::object{{"text", "备用文字二"}}}}};
    TurnOutput out = turn(reply, &templates_, "zh-CN");
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].text, "最近的交易如下所示：\n2026年12月4日：5,000.00 元\n备用文字二");
}

TEST_F(DialogueItemsTest, WithoutTemplatesEachItemShowsItsFallbackText) {
    TurnOutput out = turn(list_reply(), nullptr);
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].text, "Recent:\nfirst fallback\nsecond fallback\nthird\nplain line");
}

TEST_F(DialogueItemsTest, TheReplysOwnActIsRenderedBeforeItsItems) {
    json::object reply = list_reply();
    reply["act"] = "lists.header";
    TurnOutput out = turn(reply, &templates_);
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_TRUE(out.replies[0].text.starts_with("Your list\nDec 4, 2026: ¥5,000.00\n"))
        << out.replies[0].text;
    // The bot_uttered event names the reply's act, not an item's.
    bool named = false;
    for (const DialogueEvent& e : out.events) {
        if (e.type == DialogueEventType::bot_uttered && e.data.contains("nlg")) {
            named = e.data.at("nlg").at("act") == "lists.header";
        }
    }
    EXPECT_TRUE(named);
}

TEST_F(DialogueItemsTest, AReplyWithoutItemsIsUnchanged) {
    TurnOutput out = turn(json::object{{"text", "just text"}}, &templates_);
    ASSERT_EQ(out.replies.size(), 1u);
    EXPECT_EQ(out.replies[0].text, "just text");
}

}  // namespace
}  // namespace teller::core
