// Tests of the Telegram adapter: webhook verification and parsing, sendMessage requests.
#include "teller/channels/telegram.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "messenger_fakes.hpp"
#include "messenger_text.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

namespace json = boost::json;
using testing::parse_json;
using testing::ScriptedProviderClient;

constexpr const char* kToken = "123456:ABC-def_ghi";
constexpr const char* kSecret = "s3cret_Token-1";
constexpr const char* kOk = R"({"ok":true,"result":{"message_id":1}})";

ChannelSettings settings() {
    return {{"bot_token", kToken}, {"secret_token", kSecret}};
}

std::string text_update(std::int64_t update_id, std::int64_t chat_id, std::int64_t message_id,
                        const std::string& text, const std::string& language = "en",
                        const std::string& chat_type = "private") {
    json::object from{
        {"id", chat_id}, {"is_bot", false}, {"first_name", "Ann"}, {"language_code", language}};
    json::object chat{{"id", chat_id}, {"type", chat_type}};
    json::object message{{"message_id", message_id},
                         {"from", from},
                         {"chat", chat},
                         {"date", 1764866580},
                         {"text", text}};
    return json::serialize(json::object{{"update_id", update_id}, {"message", message}});
}

std::string callback_update(const std::string& query_id, const std::string& data,
                            std::int64_t chat_id = 12345) {
    json::object from{{"id", 12345}, {"is_bot", false}, {"language_code", "zh-hans"}};
    json::object message{{"message_id", 90},
                         {"chat", {{"id", chat_id}, {"type", "private"}}},
                         {"date", 1764866580},
                         {"text", "Choose"}};
    json::object query{{"id", query_id},
                       {"from", from},
                       {"message", message},
                       {"chat_instance", "-77"},
                       {"data", data}};
    return json::serialize(json::object{{"update_id", 501}, {"callback_query", query}});
}

class TelegramTest : public ::testing::Test {
protected:
    WebhookRequest post(std::string body, std::string secret = kSecret) const {
        WebhookRequest request;
        request.method = "POST";
        request.target = std::string(kTelegramPath);
        request.public_url = "https://bot.bank.example" + request.target;
        request.headers.emplace_back("content-type", "application/json");
        if (!secret.empty()) {
            request.headers.emplace_back("x-telegram-bot-api-secret-token", std::move(secret));
        }
        request.body = std::move(body);
        return request;
    }

    static core::OutboundMessage reply(std::string text) {
        core::OutboundMessage m;
        m.conversation = "telegram:12345";
        m.channel = "telegram";
        m.recipient = "12345";
        m.text = std::move(text);
        return m;
    }

    std::unique_ptr<core::SessionStore> store_ = core::make_memory_session_store();
    std::unique_ptr<ChannelAdapter> adapter_ = make_telegram_adapter(settings(), {store_.get()});
    ScriptedProviderClient client_{kOk};
};

// Runs `make` and returns the core::Error message it throws ("" when it does not throw).
template <class F>
std::string error_of(F make) {
    try {
        make();
    } catch (const core::Error& e) {
        return e.what();
    }
    return {};
}

TEST_F(TelegramTest, FactoryNamesTheMissingOrInvalidSetting) {
    auto with = [&](const char* key, const char* value) {
        ChannelSettings s = settings();
        if (value == nullptr) {
            s.erase(key);
        } else {
            s[key] = value;
        }
        return error_of([&] { make_telegram_adapter(s, {store_.get()}); });
    };
    EXPECT_NE(with("bot_token", nullptr).find("channels.telegram.bot_token"), std::string::npos);
    EXPECT_NE(with("bot_token", "no-colon").find("bot_token"), std::string::npos);
    EXPECT_NE(with("bot_token", "12:a/b").find("bot_token"), std::string::npos);
    EXPECT_NE(with("secret_token", nullptr).find("secret_token"), std::string::npos);
    EXPECT_NE(with("secret_token", "has space").find("secret_token"), std::string::npos);
    EXPECT_NE(with("callback_ttl_seconds", "0").find("callback_ttl_seconds"), std::string::npos);
    EXPECT_NE(error_of([] { make_telegram_adapter(settings(), {nullptr}); }).find("store"),
              std::string::npos);
    EXPECT_EQ(with("callback_ttl_seconds", "3600"), "");
}

TEST_F(TelegramTest, NamesItsChannelAndPath) {
    EXPECT_EQ(adapter_->channel(), "telegram");
    EXPECT_EQ(adapter_->path(), "/webhooks/telegram");
}

TEST_F(TelegramTest, MissingSecretTokenIsUnauthorized) {
    const WebhookOutcome outcome = adapter_->handle(post(text_update(1, 12345, 7, "hi"), ""));
    EXPECT_EQ(outcome.response.status, 401u);
    EXPECT_TRUE(outcome.messages.empty());
    EXPECT_TRUE(outcome.direct_replies.empty());
}

TEST_F(TelegramTest, WrongSecretTokenIsForbidden) {
    for (const char* secret : {"s3cret_Token-2", "s3cret", "s3cret_Token-1x"}) {
        const WebhookOutcome outcome =
            adapter_->handle(post(text_update(1, 12345, 7, "hi"), secret));
        EXPECT_EQ(outcome.response.status, 403u) << secret;
        EXPECT_TRUE(outcome.messages.empty());
    }
}

TEST_F(TelegramTest, OnlyPostIsAccepted) {
    WebhookRequest request = post(text_update(1, 12345, 7, "hi"));
    request.method = "GET";
    EXPECT_EQ(adapter_->handle(request).response.status, 405u);
}

TEST_F(TelegramTest, MalformedBodiesAreBadRequestsWithAReason) {
    for (const std::string& body :
         {std::string("{\"update_id\":1,"), std::string("[1,2]"), std::string("{\"message\":{}}"),
          std::string("{\"update_id\":\"1\"}"),
          std::string("{\"update_id\":1,\"message\":{\"text\":\"x\"}}"),
          std::string("{\"update_id\":1,\"message\":5}")}) {
        const WebhookOutcome outcome = adapter_->handle(post(body));
        EXPECT_EQ(outcome.response.status, 400u) << body;
        EXPECT_FALSE(outcome.response.body.empty()) << body;
        EXPECT_TRUE(outcome.messages.empty()) << body;
    }
}

TEST_F(TelegramTest, InvalidUtf8IsABadRequest) {
    const WebhookOutcome outcome = adapter_->handle(post(text_update(1, 12345, 7, "ok") + "\xff"));
    EXPECT_EQ(outcome.response.status, 400u);
    EXPECT_NE(outcome.response.body.find("UTF-8"), std::string::npos);

    std::string body = text_update(1, 12345, 7, "XX");
    body.replace(body.find("XX"), 2, "\xc3\x28");
    EXPECT_EQ(adapter_->handle(post(body)).response.status, 400u);
}

TEST_F(TelegramTest, OversizedUpdateIsRefused) {
    const std::string text(kTelegramMaxUpdateBytes, 'a');
    EXPECT_EQ(adapter_->handle(post(text_update(1, 12345, 7, text))).response.status, 413u);
}

TEST_F(TelegramTest, TextMessageBecomesAnInboundMessage) {
    const WebhookOutcome outcome =
        adapter_->handle(post(text_update(9001, 12345, 77, "What is my balance?", "en-GB")));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.response.body.empty());
    EXPECT_TRUE(outcome.direct_replies.empty());
    ASSERT_EQ(outcome.messages.size(), 1u);
    const core::InboundMessage& m = outcome.messages[0];
    EXPECT_EQ(m.id, "12345:77");
    EXPECT_EQ(m.channel, "telegram");
    EXPECT_EQ(m.conversation, "telegram:12345");
    EXPECT_EQ(m.sender, "12345");
    EXPECT_EQ(m.text, "What is my balance?");
    EXPECT_EQ(m.locale, "en-GB");
    EXPECT_EQ(m.metadata.at("update_id"), "9001");
    EXPECT_EQ(m.metadata.at("message_id"), "77");
    EXPECT_EQ(m.metadata.at("chat_type"), "private");
    EXPECT_EQ(m.metadata.at("from_id"), "12345");
    EXPECT_TRUE(m.reply_to.empty());
    EXPECT_EQ(m.received_at_ms, 0);
}

TEST_F(TelegramTest, RedeliveredUpdateKeepsItsId) {
    const std::string body = text_update(9001, 12345, 77, "hi");
    const WebhookOutcome first = adapter_->handle(post(body));
    const WebhookOutcome again = adapter_->handle(post(body));
    ASSERT_EQ(first.messages.size(), 1u);
    ASSERT_EQ(again.messages.size(), 1u);
    EXPECT_EQ(first.messages[0].id, again.messages[0].id);

    // Another message in the same chat, or the same message number in another chat, differs.
    EXPECT_NE(adapter_->handle(post(text_update(9002, 12345, 78, "hi"))).messages.at(0).id,
              first.messages[0].id);
    EXPECT_NE(adapter_->handle(post(text_update(9003, 54321, 77, "hi"))).messages.at(0).id,
              first.messages[0].id);
}

TEST_F(TelegramTest, ChineseTextKeepsItsCharactersAndGetsZhCn) {
    const WebhookOutcome outcome =
        adapter_->handle(post(text_update(1, 12345, 7, "我的信用卡丢了，请帮我冻结", "zh-hans")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].text, "我的信用卡丢了，请帮我冻结");
    EXPECT_EQ(outcome.messages[0].locale, "zh-CN");

    // Through the event encoding, as the gateway publishes it.
    auto parsed = core::parse_inbound(core::to_json(outcome.messages[0]));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->text, "我的信用卡丢了，请帮我冻结");
}

TEST_F(TelegramTest, GroupChatIdsAreNegativeAndKept) {
    const WebhookOutcome outcome =
        adapter_->handle(post(text_update(1, -1001234567890, 7, "hi", "en", "supergroup")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].conversation, "telegram:-1001234567890");
    EXPECT_EQ(outcome.messages[0].sender, "-1001234567890");
    EXPECT_EQ(outcome.messages[0].id, "-1001234567890:7");
}

TEST_F(TelegramTest, EditsAndChannelPostsAreAcknowledgedWithoutPublishing) {
    for (const char* kind : {"edited_message", "channel_post", "edited_channel_post"}) {
        json::object message{{"message_id", 7},
                             {"chat", {{"id", 12345}, {"type", "private"}}},
                             {"date", 1},
                             {"text", "changed"}};
        const std::string body = json::serialize(json::object{{"update_id", 3}, {kind, message}});
        const WebhookOutcome outcome = adapter_->handle(post(body));
        EXPECT_EQ(outcome.response.status, 200u) << kind;
        EXPECT_TRUE(outcome.messages.empty()) << kind;
        EXPECT_TRUE(outcome.direct_replies.empty()) << kind;
    }
}

TEST_F(TelegramTest, PhotoInAPrivateChatGetsAPoliteReply) {
    json::object message{{"message_id", 8},
                         {"from", {{"id", 12345}, {"language_code", "zh"}}},
                         {"chat", {{"id", 12345}, {"type", "private"}}},
                         {"date", 1},
                         {"photo", json::array{{{"file_id", "abc"}, {"width", 90}}}}};
    const WebhookOutcome outcome = adapter_->handle(
        post(json::serialize(json::object{{"update_id", 4}, {"message", message}})));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.messages.empty());
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    const core::OutboundMessage& r = outcome.direct_replies[0];
    EXPECT_EQ(r.channel, "telegram");
    EXPECT_EQ(r.conversation, "telegram:12345");
    EXPECT_EQ(r.recipient, "12345");
    EXPECT_EQ(r.locale, "zh-CN");
    EXPECT_EQ(r.in_reply_to, "12345:8");
    EXPECT_EQ(r.text, detail::only_text_reply("zh-CN"));

    // In a group the adapter stays quiet.
    message["chat"] = json::object{{"id", -100}, {"type", "group"}};
    const WebhookOutcome group = adapter_->handle(
        post(json::serialize(json::object{{"update_id", 5}, {"message", message}})));
    EXPECT_EQ(group.response.status, 200u);
    EXPECT_TRUE(group.direct_replies.empty());
    EXPECT_TRUE(group.messages.empty());
}

TEST_F(TelegramTest, ButtonTapPublishesThePayloadAndAnswersTheCallback) {
    const WebhookOutcome outcome =
        adapter_->handle(post(callback_update("4382bfdwdsb323b2d9", "block_card")));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(outcome.response.content_type, "application/json");
    const json::value answer = parse_json(outcome.response.body);
    ASSERT_TRUE(answer.is_object());
    EXPECT_EQ(answer.at("method"), "answerCallbackQuery");
    EXPECT_EQ(answer.at("callback_query_id"), "4382bfdwdsb323b2d9");
    EXPECT_EQ(answer.as_object().size(), 2u);

    ASSERT_EQ(outcome.messages.size(), 1u);
    const core::InboundMessage& m = outcome.messages[0];
    EXPECT_EQ(m.id, "callback:4382bfdwdsb323b2d9");
    EXPECT_EQ(m.channel, "telegram");
    EXPECT_EQ(m.conversation, "telegram:12345");
    EXPECT_EQ(m.sender, "12345");
    EXPECT_EQ(m.text, "block_card");
    EXPECT_EQ(m.locale, "zh-CN");
    EXPECT_EQ(m.metadata.at("callback_query_id"), "4382bfdwdsb323b2d9");
    EXPECT_EQ(m.metadata.at("message_id"), "90");

    // Telegram's retry of the same tap carries the same query id, so it dedupes.
    EXPECT_EQ(adapter_->handle(post(callback_update("4382bfdwdsb323b2d9", "block_card")))
                  .messages.at(0)
                  .id,
              m.id);
}

TEST_F(TelegramTest, GameButtonWithoutDataIsOnlyAnswered) {
    json::object query{{"id", "q1"}, {"from", {{"id", 12345}}}, {"game_short_name", "g"}};
    const WebhookOutcome outcome = adapter_->handle(
        post(json::serialize(json::object{{"update_id", 6}, {"callback_query", query}})));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(parse_json(outcome.response.body).at("callback_query_id"), "q1");
    EXPECT_TRUE(outcome.messages.empty());
}

TEST_F(TelegramTest, SendMessageRequestIsWellFormed) {
    const DeliveryReport report =
        adapter_->deliver(reply("Your balance is 1,024.00 EUR."), client_);
    EXPECT_TRUE(report.delivered);
    EXPECT_FALSE(report.suppressed);
    EXPECT_EQ(report.provider_status, 200u);
    EXPECT_TRUE(report.reason.empty());

    ASSERT_EQ(client_.calls.size(), 1u);
    const ProviderCall& call = client_.calls[0];
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.target, "/bot123456:ABC-def_ghi/sendMessage");
    EXPECT_EQ(call.content_type, "application/json");
    EXPECT_TRUE(call.headers.empty());
    const json::value body = client_.body(0);
    ASSERT_TRUE(body.is_object());
    EXPECT_EQ(body.as_object().size(), 2u);
    EXPECT_EQ(body.at("chat_id"), 12345);
    EXPECT_EQ(body.at("text"), "Your balance is 1,024.00 EUR.");
}

TEST_F(TelegramTest, QuickRepliesBecomeAnInlineKeyboard) {
    core::OutboundMessage m = reply("Block the card ending 4242?");
    m.quick_replies = {{"Yes", "confirm_yes"}, {"No", "confirm_no"}, {"", "only-payload"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    ASSERT_EQ(client_.calls.size(), 1u);
    const json::value body = client_.body(0);
    EXPECT_EQ(body.at("text"), "Block the card ending 4242?");
    const json::array& rows = body.at("reply_markup").at("inline_keyboard").as_array();
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].as_array().size(), 1u);
    EXPECT_EQ(rows[0].at(0).at("text"), "Yes");
    EXPECT_EQ(rows[0].at(0).at("callback_data"), "confirm_yes");
    EXPECT_EQ(rows[1].at(0).at("text"), "No");
    EXPECT_EQ(rows[1].at(0).at("callback_data"), "confirm_no");
    EXPECT_EQ(rows[2].at(0).at("text"), "only-payload");
    EXPECT_EQ(rows[2].at(0).at("callback_data"), "only-payload");
    EXPECT_EQ(body.at("reply_markup").as_object().size(), 1u);
}

TEST_F(TelegramTest, LongPayloadIsShortenedAndMappedBackOnTap) {
    const std::string payload =
        R"({"intent":"transfer","slots":{"to":"savings","amount":"250.00","currency":"EUR"}})";
    ASSERT_GT(payload.size(), kTelegramMaxCallbackBytes);
    core::OutboundMessage m = reply("Confirm the transfer?");
    m.quick_replies = {{"Confirm", payload}, {"确认", "确认"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);

    const json::value body = client_.body(0);
    const json::array& rows = body.at("reply_markup").at("inline_keyboard").as_array();
    const std::string data(rows[0].at(0).at("callback_data").as_string());
    EXPECT_LE(data.size(), kTelegramMaxCallbackBytes);
    EXPECT_NE(data, payload);
    EXPECT_EQ(rows[1].at(0).at("callback_data"), "确认");

    // The tap brings back the whole payload.
    const WebhookOutcome tap = adapter_->handle(post(callback_update("q-77", data)));
    ASSERT_EQ(tap.messages.size(), 1u);
    EXPECT_EQ(tap.messages[0].text, payload);
    const WebhookOutcome short_tap = adapter_->handle(post(callback_update("q-78", "确认")));
    ASSERT_EQ(short_tap.messages.size(), 1u);
    EXPECT_EQ(short_tap.messages[0].text, "确认");
}

TEST_F(TelegramTest, ExpiredPayloadGetsAPoliteReplyAndTheCallbackAnswered) {
    const WebhookOutcome outcome = adapter_->handle(
        post(callback_update("q-9", std::string(detail::kMappedPayloadPrefix) + "gone")));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(parse_json(outcome.response.body).at("callback_query_id"), "q-9");
    EXPECT_TRUE(outcome.messages.empty());
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    EXPECT_EQ(outcome.direct_replies[0].text, detail::expired_choice_reply("zh-CN"));
    EXPECT_EQ(outcome.direct_replies[0].recipient, "12345");
}

TEST_F(TelegramTest, StoreOutageRetriesTheTapAndFailsTheLongPayloadDelivery) {
    testing::DownSessionStore down;
    auto adapter = make_telegram_adapter(settings(), {&down});

    // Telegram retries a webhook answered 503; a plain payload needs no lookup.
    const WebhookOutcome tap = adapter->handle(post(callback_update("q-1", "tlr:abcdef")));
    EXPECT_EQ(tap.response.status, 503u);
    EXPECT_TRUE(tap.messages.empty());
    EXPECT_EQ(adapter->handle(post(callback_update("q-2", "yes"))).messages.at(0).text, "yes");

    core::OutboundMessage m = reply("Confirm?");
    m.quick_replies = {{"Confirm", std::string(100, 'x')}};
    const DeliveryReport report = adapter->deliver(m, client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_NE(report.reason.find("connection refused"), std::string::npos);
    EXPECT_TRUE(client_.calls.empty());
}

TEST_F(TelegramTest, LongTextIsSplitAtWordsWithinTheUtf16Limit) {
    std::string text;
    for (int i = 0; text.size() < 10000; ++i) {
        text += "word" + std::to_string(i) + (i % 20 == 19 ? "\n" : " ");
    }
    core::OutboundMessage m = reply(text);
    m.quick_replies = {{"More", "more"}};
    const DeliveryReport report = adapter_->deliver(m, client_);
    ASSERT_TRUE(report.delivered) << report.reason;
    ASSERT_EQ(client_.calls.size(), 3u);

    std::string rebuilt;
    for (std::size_t i = 0; i < client_.calls.size(); ++i) {
        const json::value body = client_.body(i);
        const std::string piece(body.at("text").as_string());
        EXPECT_LE(detail::text_length(piece, detail::TextUnit::utf16), kTelegramMaxTextUnits);
        EXPECT_EQ(body.as_object().contains("reply_markup"), i + 1 == client_.calls.size());
        // Every piece ends on a whole word.
        EXPECT_TRUE(text.find(piece + " ") != std::string::npos ||
                    text.find(piece + "\n") != std::string::npos || text.ends_with(piece));
        rebuilt += piece;
    }
    std::string squeezed = text;
    std::erase_if(squeezed, [](char c) { return c == ' ' || c == '\n'; });
    std::erase_if(rebuilt, [](char c) { return c == ' ' || c == '\n'; });
    EXPECT_EQ(rebuilt, squeezed);
}

TEST_F(TelegramTest, EmojiAndChineseAreSplitWithoutBreakingCharacters) {
    std::string emoji;
    for (int i = 0; i < 3000; ++i) {
        emoji += "😀";  // 6000 UTF-16 units
    }
    ASSERT_TRUE(adapter_->deliver(reply(emoji), client_).delivered);
    ASSERT_EQ(client_.calls.size(), 2u);
    EXPECT_EQ(client_.body(0).at("text").as_string().size(), 2048u * 4);

    std::string chinese;
    for (int i = 0; i < 900; ++i) {
        chinese += "您好，欢迎。";  // 5400 characters
    }
    client_.calls.clear();
    ASSERT_TRUE(adapter_->deliver(reply(chinese), client_).delivered);
    ASSERT_EQ(client_.calls.size(), 2u);
    std::string rebuilt;
    for (std::size_t i = 0; i < 2; ++i) {
        const std::string piece(client_.body(i).at("text").as_string());
        EXPECT_TRUE(core::is_valid_utf8(piece));
        EXPECT_TRUE(piece.ends_with("。") || i == 1);
        rebuilt += piece;
    }
    EXPECT_EQ(rebuilt, chinese);
}

TEST_F(TelegramTest, RefusalReportsTelegramsDescription) {
    client_.answer(400,
                   R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})");
    const DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(report.provider_status, 400u);
    EXPECT_NE(report.reason.find("Bad Request: chat not found"), std::string::npos);
}

TEST_F(TelegramTest, OkFalseInA200IsAFailure) {
    client_.answer(200, R"({"ok":false,"description":"odd"})");
    const DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_NE(report.reason.find("odd"), std::string::npos);
}

TEST_F(TelegramTest, FinalRateLimitIsReportedWithRetryAfter) {
    client_.answer(
        429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 30",)"
             R"("parameters":{"retry_after":30}})");
    const DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(report.provider_status, 429u);
    EXPECT_NE(report.reason.find("Too Many Requests"), std::string::npos);
    EXPECT_NE(report.reason.find("retry after 30 s"), std::string::npos);
}

TEST_F(TelegramTest, UnreachableProviderIsReported) {
    client_.fail(core::Errc::timeout);
    const DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(report.provider_status, 0u);
    EXPECT_FALSE(report.reason.empty());
    EXPECT_EQ(report.reason.find(kToken), std::string::npos);  // the token stays secret
}

TEST_F(TelegramTest, FailureOfALaterPieceSaysWhichPiece) {
    client_.answer(200, kOk);
    client_.answer(
        403,
        R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})");
    const DeliveryReport report = adapter_->deliver(reply(std::string(5000, 'a')), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(client_.calls.size(), 2u);
    EXPECT_NE(report.reason.find("bot was blocked"), std::string::npos);
    EXPECT_NE(report.reason.find("piece 2 of 2"), std::string::npos);
}

TEST_F(TelegramTest, ReplyWithoutRecipientOrTextIsNotSent) {
    core::OutboundMessage m = reply("hi");
    m.recipient.clear();
    EXPECT_FALSE(adapter_->deliver(m, client_).delivered);
    EXPECT_FALSE(adapter_->deliver(reply(""), client_).delivered);
    EXPECT_TRUE(client_.calls.empty());

    // Options without text still get a prompt to carry the keyboard.
    core::OutboundMessage options = reply("");
    options.locale = "zh-CN";
    options.quick_replies = {{"是", "yes"}};
    ASSERT_TRUE(adapter_->deliver(options, client_).delivered);
    EXPECT_EQ(client_.body(0).at("text"), "请选择：");
}

TEST_F(TelegramTest, ChineseRoundTripsFromWebhookToSendMessage) {
    const WebhookOutcome outcome =
        adapter_->handle(post(text_update(1, 12345, 7, "查询余额", "zh-hant")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    core::OutboundMessage m = reply("您的余额为 1,024.00 元。");
    m.recipient = outcome.messages[0].sender;
    m.locale = outcome.messages[0].locale;
    m.quick_replies = {{"转账", "transfer"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    const json::value body = client_.body(0);
    EXPECT_EQ(body.at("text"), "您的余额为 1,024.00 元。");
    EXPECT_EQ(body.at("reply_markup").at("inline_keyboard").at(0).at(0).at("text"), "转账");
    EXPECT_NE(client_.calls[0].body.find("您的余额"),
              std::string::npos);  // raw UTF-8, not \u escapes
}

TEST_F(TelegramTest, UsernameRecipientIsSentAsAString) {
    core::OutboundMessage m = reply("hi");
    m.recipient = "@bank_updates";
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    EXPECT_EQ(client_.body(0).at("chat_id"), "@bank_updates");
}

}  // namespace
}  // namespace teller::channels
