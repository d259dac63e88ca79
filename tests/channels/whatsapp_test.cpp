// Tests of the WhatsApp adapter: the verify handshake, signed notifications, Graph API calls.
#include "teller/channels/whatsapp.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "messenger_fakes.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

namespace json = boost::json;
using testing::parse_json;
using testing::ScriptedProviderClient;

constexpr const char* kAppSecret = "6d1f0c2e9a7b4c3d8e5f";
constexpr const char* kVerifyToken = "verify-me_42";
constexpr const char* kAccessToken = "EAAGm0PX4ZCpsBAtest";
constexpr const char* kPhoneNumberId = "1098765432";
constexpr const char* kSent =
    R"({"messaging_product":"whatsapp","contacts":[{"input":"4915112345678",)"
    R"("wa_id":"4915112345678"}],"messages":[{"id":"wamid.OUT1"}]})";

ChannelSettings settings() {
    return {{"app_secret", kAppSecret},
            {"verify_token", kVerifyToken},
            {"access_token", kAccessToken},
            {"phone_number_id", kPhoneNumberId}};
}

// "sha256=<hex>" of HMAC-SHA256(secret, body), computed here independently of the adapter.
std::string sign(const std::string& body, const std::string& secret = kAppSecret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
    std::string header = "sha256=";
    char hex[3];
    for (unsigned int i = 0; i < length; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", digest[i]);
        header += hex;
    }
    return header;
}

json::object text_message(const std::string& from, const std::string& id, const std::string& body) {
    return {{"from", from},
            {"id", id},
            {"timestamp", "1764866580"},
            {"type", "text"},
            {"text", {{"body", body}}}};
}

json::object interactive_reply(const std::string& from, const std::string& id,
                               const std::string& kind, const std::string& reply_id) {
    return {{"from", from},
            {"id", id},
            {"timestamp", "1764866581"},
            {"type", "interactive"},
            {"interactive", {{"type", kind}, {kind, {{"id", reply_id}, {"title", "Yes"}}}}}};
}

json::object change_with(json::array messages,
                         const std::string& phone_number_id = kPhoneNumberId) {
    json::object value{
        {"messaging_product", "whatsapp"},
        {"metadata",
         {{"display_phone_number", "15550001111"}, {"phone_number_id", phone_number_id}}},
        {"contacts", json::array{{{"profile", {{"name", "Ann"}}}, {"wa_id", "4915112345678"}}}},
        {"messages", std::move(messages)}};
    return {{"field", "messages"}, {"value", std::move(value)}};
}

std::string notification(json::array entries) {
    return json::serialize(
        json::object{{"object", "whatsapp_business_account"}, {"entry", std::move(entries)}});
}

std::string one_message(json::object message) {
    return notification(json::array{
        {{"id", "WABA1"}, {"changes", json::array{change_with(json::array{std::move(message)})}}}});
}

class WhatsAppTest : public ::testing::Test {
protected:
    static WebhookRequest post(std::string body, std::string signature) {
        WebhookRequest request;
        request.method = "POST";
        request.target = std::string(kWhatsAppPath);
        request.public_url = "https://bot.bank.example" + request.target;
        request.headers.emplace_back("content-type", "application/json");
        if (!signature.empty()) {
            request.headers.emplace_back("x-hub-signature-256", std::move(signature));
        }
        request.body = std::move(body);
        return request;
    }

    static WebhookRequest signed_post(std::string body) {
        std::string signature = sign(body);
        return post(std::move(body), std::move(signature));
    }

    static WebhookRequest get(std::string query) {
        WebhookRequest request;
        request.method = "GET";
        request.target = std::string(kWhatsAppPath) + "?" + query;
        return request;
    }

    static core::OutboundMessage reply(std::string text) {
        core::OutboundMessage m;
        m.conversation = "whatsapp:4915112345678";
        m.channel = "whatsapp";
        m.recipient = "4915112345678";
        m.text = std::move(text);
        return m;
    }

    // Checks the envelope every Graph API call shares and returns the body.
    json::value sent(std::size_t i, const std::string& type) const {
        const ProviderCall& call = client_.calls.at(i);
        EXPECT_EQ(call.method, "POST");
        EXPECT_EQ(call.target, "/v21.0/1098765432/messages");
        EXPECT_EQ(call.content_type, "application/json");
        EXPECT_EQ(call.headers,
                  (HeaderList{{"authorization", std::string("Bearer ") + kAccessToken}}));
        const json::value body = client_.body(i);
        EXPECT_EQ(body.at("messaging_product"), "whatsapp");
        EXPECT_EQ(body.at("recipient_type"), "individual");
        EXPECT_EQ(body.at("to"), "4915112345678");
        EXPECT_EQ(body.at("type").as_string(), type);
        EXPECT_EQ(body.as_object().size(), 5u);
        return body;
    }

    std::unique_ptr<core::SessionStore> store_ = core::make_memory_session_store();
    std::unique_ptr<ChannelAdapter> adapter_ = make_whatsapp_adapter(settings(), {store_.get()});
    ScriptedProviderClient client_{kSent};
};

template <class F>
std::string error_of(F make) {
    try {
        make();
    } catch (const core::Error& e) {
        return e.what();
    }
    return {};
}

TEST_F(WhatsAppTest, FactoryNamesTheMissingOrInvalidSetting) {
    auto with = [&](const char* key, const char* value) {
        ChannelSettings s = settings();
        if (value == nullptr) {
            s.erase(key);
        } else {
            s[key] = value;
        }
        return error_of([&] { make_whatsapp_adapter(s, {store_.get()}); });
    };
    for (const char* key : {"app_secret", "verify_token", "access_token", "phone_number_id"}) {
        EXPECT_NE(with(key, nullptr).find(std::string("channels.whatsapp.") + key),
                  std::string::npos)
            << key;
    }
    EXPECT_NE(with("phone_number_id", "12ab").find("phone_number_id"), std::string::npos);
    EXPECT_NE(with("access_token", "two words").find("access_token"), std::string::npos);
    EXPECT_NE(with("api_version", "21").find("api_version"), std::string::npos);
    EXPECT_NE(with("choice_ttl_seconds", "-5").find("choice_ttl_seconds"), std::string::npos);
    EXPECT_NE(error_of([] { make_whatsapp_adapter(settings(), {nullptr}); }).find("store"),
              std::string::npos);
    EXPECT_EQ(with("api_version", "v19.0"), "");
}

TEST_F(WhatsAppTest, NamesItsChannelAndPath) {
    EXPECT_EQ(adapter_->channel(), "whatsapp");
    EXPECT_EQ(adapter_->path(), "/webhooks/whatsapp");
}

TEST_F(WhatsAppTest, VerifyHandshakeEchoesTheChallenge) {
    const WebhookOutcome outcome = adapter_->handle(
        get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me_42"));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(outcome.response.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(outcome.response.body, "1158201444");
    EXPECT_TRUE(outcome.messages.empty());

    // Percent-encoded parameters are decoded before the comparison.
    EXPECT_EQ(adapter_
                  ->handle(get("hub.mode=subscribe&hub.verify_token=verify%2Dme%5F42&"
                               "hub.challenge=abc"))
                  .response.body,
              "abc");
}

TEST_F(WhatsAppTest, VerifyHandshakeWithAWrongTokenOrModeIsForbidden) {
    for (const char* query :
         {"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
          "hub.mode=unsubscribe&hub.verify_token=verify-me_42&hub.challenge=1",
          "hub.verify_token=verify-me_42&hub.challenge=1",
          "hub.mode=subscribe&hub.verify_token=verify-me_42",
          "hub.mode=subscribe&hub.verify_token=verify-me_42&hub.challenge=%3Cscript%3E%20x", ""}) {
        const WebhookOutcome outcome = adapter_->handle(get(query));
        EXPECT_EQ(outcome.response.status, 403u) << query;
        EXPECT_EQ(outcome.response.body.find('1'), std::string::npos) << query;
    }
}

TEST_F(WhatsAppTest, UnsignedNotificationIsUnauthorized) {
    const WebhookOutcome outcome =
        adapter_->handle(post(one_message(text_message("4915112345678", "wamid.A", "hi")), ""));
    EXPECT_EQ(outcome.response.status, 401u);
    EXPECT_TRUE(outcome.messages.empty());
}

TEST_F(WhatsAppTest, ForgedSignaturesAreForbidden) {
    const std::string body = one_message(text_message("4915112345678", "wamid.A", "hi"));
    const std::string other = one_message(text_message("4915112345678", "wamid.A", "ho"));
    std::string upper = sign(body);
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    upper.replace(0, 7, "sha256=");  // upper-case hex digits are still the same digest
    EXPECT_EQ(adapter_->handle(post(body, upper)).response.status, 200u);

    for (const std::string& signature :
         {sign(body, "another-secret"), sign(other), sign(body).substr(0, 40),
          "sha1=" + sign(body).substr(7), sign(body) + "00",
          std::string("sha256=zz") + sign(body).substr(9)}) {
        const WebhookOutcome outcome = adapter_->handle(post(body, signature));
        EXPECT_EQ(outcome.response.status, 403u) << signature;
        EXPECT_TRUE(outcome.messages.empty());
    }
}

TEST_F(WhatsAppTest, TextMessageBecomesAnInboundMessage) {
    const WebhookOutcome outcome = adapter_->handle(
        signed_post(one_message(text_message("4915112345678", "wamid.HBgLNDkxNTEx", "Balance?"))));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.response.body.empty());
    EXPECT_TRUE(outcome.direct_replies.empty());
    ASSERT_EQ(outcome.messages.size(), 1u);
    const core::InboundMessage& m = outcome.messages[0];
    EXPECT_EQ(m.id, "wamid.HBgLNDkxNTEx");
    EXPECT_EQ(m.channel, "whatsapp");
    EXPECT_EQ(m.conversation, "whatsapp:4915112345678");
    EXPECT_EQ(m.sender, "4915112345678");
    EXPECT_EQ(m.text, "Balance?");
    EXPECT_EQ(m.locale, "");
    EXPECT_EQ(m.metadata.at("phone_number_id"), kPhoneNumberId);
    EXPECT_EQ(m.metadata.at("type"), "text");
    EXPECT_EQ(m.metadata.at("timestamp"), "1764866580");
    EXPECT_FALSE(m.metadata.contains("name"));  // the profile name is not passed on
}

TEST_F(WhatsAppTest, BatchedNotificationYieldsEveryMessageInOrder) {
    json::array entries{
        {{"id", "WABA1"},
         {"changes", json::array{change_with(json::array{text_message("491511", "wamid.1", "one"),
                                                         text_message("491522", "wamid.2", "two")}),
                                 change_with(json::array{interactive_reply("491511", "wamid.3",
                                                                           "button_reply", "yes")},
                                             "2222")}}},
        {{"id", "WABA2"},
         {"changes",
          json::array{{{"field", "messages"},
                       {"value",
                        {{"metadata", {{"phone_number_id", "3333"}}},
                         {"statuses", json::array{{{"id", "wamid.OUT"}, {"status", "read"}}}}}}},
                      change_with(json::array{text_message("491533", "wamid.4", "four"),
                                              interactive_reply("491533", "wamid.5", "list_reply",
                                                                "row-2")},
                                  "4444")}}}};
    const WebhookOutcome outcome = adapter_->handle(signed_post(notification(entries)));
    EXPECT_EQ(outcome.response.status, 200u);
    ASSERT_EQ(outcome.messages.size(), 5u);
    const std::vector<std::string> ids{"wamid.1", "wamid.2", "wamid.3", "wamid.4", "wamid.5"};
    const std::vector<std::string> texts{"one", "two", "yes", "four", "row-2"};
    const std::vector<std::string> phones{kPhoneNumberId, kPhoneNumberId, "2222", "4444", "4444"};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(outcome.messages[i].id, ids[i]);
        EXPECT_EQ(outcome.messages[i].text, texts[i]);
        EXPECT_EQ(outcome.messages[i].metadata.at("phone_number_id").as_string(), phones[i]);
    }
    EXPECT_EQ(outcome.messages[4].conversation, "whatsapp:491533");
}

TEST_F(WhatsAppTest, RedeliveredNotificationKeepsTheIds) {
    const std::string body = one_message(text_message("491511", "wamid.same", "hi"));
    const WebhookOutcome first = adapter_->handle(signed_post(body));
    const WebhookOutcome again = adapter_->handle(signed_post(body));
    ASSERT_EQ(first.messages.size(), 1u);
    ASSERT_EQ(again.messages.size(), 1u);
    EXPECT_EQ(first.messages[0].id, again.messages[0].id);
}

TEST_F(WhatsAppTest, StatusesAndOtherObjectsAreAcknowledged) {
    json::object value{{"metadata", {{"phone_number_id", kPhoneNumberId}}},
                       {"statuses", json::array{{{"id", "wamid.OUT"}, {"status", "delivered"}}}}};
    const std::string statuses = notification(json::array{
        {{"id", "W"}, {"changes", json::array{{{"field", "messages"}, {"value", value}}}}}});
    const WebhookOutcome outcome = adapter_->handle(signed_post(statuses));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.messages.empty());
    EXPECT_TRUE(outcome.direct_replies.empty());

    const WebhookOutcome page =
        adapter_->handle(signed_post(R"({"object":"page","entry":[{"messaging":[]}]})"));
    EXPECT_EQ(page.response.status, 200u);
    EXPECT_TRUE(page.messages.empty());
}

TEST_F(WhatsAppTest, ImageGetsAPoliteReplyAndReactionsAreDropped) {
    json::object image{{"from", "8613800138000"},
                       {"id", "wamid.IMG"},
                       {"timestamp", "1"},
                       {"type", "image"},
                       {"image", {{"id", "media-1"}, {"mime_type", "image/jpeg"}}}};
    json::object reaction{{"from", "4915112345678"},
                          {"id", "wamid.R"},
                          {"type", "reaction"},
                          {"reaction", {{"message_id", "wamid.X"}, {"emoji", "👍"}}}};
    const WebhookOutcome outcome = adapter_->handle(signed_post(notification(json::array{
        {{"id", "W"}, {"changes", json::array{change_with(json::array{image, reaction})}}}})));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.messages.empty());
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    const core::OutboundMessage& r = outcome.direct_replies[0];
    EXPECT_EQ(r.channel, "whatsapp");
    EXPECT_EQ(r.conversation, "whatsapp:8613800138000");
    EXPECT_EQ(r.recipient, "8613800138000");
    EXPECT_EQ(r.in_reply_to, "wamid.IMG");
    EXPECT_EQ(r.locale, "zh-CN");
    EXPECT_NE(r.text.find("文字"), std::string::npos);
}

TEST_F(WhatsAppTest, MalformedNotificationsAreBadRequests) {
    json::object no_id = text_message("491511", "x", "hi");
    no_id.erase("id");
    json::object no_body = text_message("491511", "wamid.1", "hi");
    no_body["text"] = json::object{};
    for (const std::string& body :
         {std::string("{\"object\":\"whatsapp_business_account\",\"entry\":"), std::string("[]"),
          std::string(R"({"object":"whatsapp_business_account"})"),
          std::string(R"({"object":"whatsapp_business_account","entry":{}})"),
          std::string(R"({"object":"whatsapp_business_account","entry":[{"changes":5}]})"),
          std::string(R"({"object":"whatsapp_business_account","entry":[{"changes":[)"
                      R"({"field":"messages","value":{"messages":{}}}]}]})"),
          one_message(no_id), one_message(no_body),
          one_message(text_message("491511", "wamid.1", "ok")) + "\xff"}) {
        const WebhookOutcome outcome = adapter_->handle(signed_post(body));
        EXPECT_EQ(outcome.response.status, 400u) << body;
        EXPECT_FALSE(outcome.response.body.empty()) << body;
        EXPECT_TRUE(outcome.messages.empty()) << body;
    }
}

TEST_F(WhatsAppTest, ChineseTextEndToEnd) {
    const WebhookOutcome outcome = adapter_->handle(
        signed_post(one_message(text_message("8613800138000", "wamid.ZH", "我想查询账户余额"))));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].text, "我想查询账户余额");
    auto parsed = core::parse_inbound(core::to_json(outcome.messages[0]));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->text, "我想查询账户余额");

    core::OutboundMessage m = reply("您的账户余额为 8,888.00 元。");
    m.recipient = "4915112345678";
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    EXPECT_EQ(sent(0, "text").at("text").at("body"), "您的账户余额为 8,888.00 元。");
    EXPECT_NE(client_.calls[0].body.find("您的账户余额"), std::string::npos);
}

TEST_F(WhatsAppTest, TextReplyRequestIsWellFormed) {
    const DeliveryReport report = adapter_->deliver(reply("Your card is blocked."), client_);
    EXPECT_TRUE(report.delivered);
    EXPECT_EQ(report.provider_status, 200u);
    EXPECT_TRUE(report.reason.empty());
    ASSERT_EQ(client_.calls.size(), 1u);
    const json::value body = sent(0, "text");
    EXPECT_EQ(body.at("text").at("body"), "Your card is blocked.");
    EXPECT_EQ(body.at("text").at("preview_url"), false);
    EXPECT_EQ(body.at("text").as_object().size(), 2u);
}

TEST_F(WhatsAppTest, UpToThreeShortOptionsBecomeReplyButtons) {
    core::OutboundMessage m = reply("Block the card ending 4242?");
    m.quick_replies = {{"Yes", "confirm_yes"}, {"No", "confirm_no"}, {"Twenty chars exactly", "t"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    ASSERT_EQ(client_.calls.size(), 1u);
    const json::value body = sent(0, "interactive");
    const json::object& interactive = body.at("interactive").as_object();
    EXPECT_EQ(interactive.size(), 3u);
    EXPECT_EQ(interactive.at("type"), "button");
    EXPECT_EQ(interactive.at("body").at("text"), "Block the card ending 4242?");
    const json::array& buttons = interactive.at("action").at("buttons").as_array();
    ASSERT_EQ(buttons.size(), 3u);
    EXPECT_EQ(buttons[0].at("type"), "reply");
    EXPECT_EQ(buttons[0].at("reply").at("id"), "confirm_yes");
    EXPECT_EQ(buttons[0].at("reply").at("title"), "Yes");
    EXPECT_EQ(buttons[1].at("reply").at("id"), "confirm_no");
    EXPECT_EQ(buttons[2].at("reply").at("title"), "Twenty chars exactly");
}

TEST_F(WhatsAppTest, FourOptionsOrALongerTitleBecomeAList) {
    core::OutboundMessage m = reply("Which account?");
    m.quick_replies = {{"Checking", "acc_checking"},
                       {"Savings", "acc_savings"},
                       {"Credit card", "acc_card"},
                       {"Twenty-four characters!!", "acc_long"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    const json::value body = sent(0, "interactive");
    const json::object& interactive = body.at("interactive").as_object();
    EXPECT_EQ(interactive.at("type"), "list");
    EXPECT_EQ(interactive.at("body").at("text"), "Which account?");
    EXPECT_EQ(interactive.at("action").at("button"), "Options");
    const json::array& sections = interactive.at("action").at("sections").as_array();
    ASSERT_EQ(sections.size(), 1u);
    const json::array& rows = sections[0].at("rows").as_array();
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].at("id"), "acc_checking");
    EXPECT_EQ(rows[0].at("title"), "Checking");
    EXPECT_EQ(rows[3].at("id"), "acc_long");
    EXPECT_EQ(rows[3].at("title"), "Twenty-four characters!!");

    // Two options, one title of 21 characters: too long for a button, fine for a list.
    client_.calls.clear();
    m.quick_replies = {{"Yes", "y"}, {"Twenty-one characters", "n"}};
    m.locale = "zh-CN";
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    const json::value second = sent(0, "interactive");
    EXPECT_EQ(second.at("interactive").at("type"), "list");
    EXPECT_EQ(second.at("interactive").at("action").at("button"), "选项");
}

TEST_F(WhatsAppTest, ElevenOptionsOrLongTitlesBecomeNumberedTextThatANumberAnswers) {
    core::OutboundMessage m = reply("Pick a branch:");
    for (int i = 1; i <= 11; ++i) {
        m.quick_replies.push_back({"Branch " + std::to_string(i), "branch_" + std::to_string(i)});
    }
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    const json::value body = sent(0, "text");
    const std::string text(body.at("text").at("body").as_string());
    EXPECT_TRUE(text.starts_with("Pick a branch:\n\n1. Branch 1\n2. Branch 2\n"));
    EXPECT_TRUE(text.ends_with("\n11. Branch 11"));

    // The customer types "2" and means the second option.
    const WebhookOutcome outcome =
        adapter_->handle(signed_post(one_message(text_message("4915112345678", "wamid.N", " 2 "))));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].text, "branch_2");
    EXPECT_EQ(outcome.messages[0].metadata.at("option"), 2);

    // A number past the options, or from another customer, stays a number.
    EXPECT_EQ(
        adapter_->handle(signed_post(one_message(text_message("4915112345678", "wamid.M", "12"))))
            .messages.at(0)
            .text,
        "12");
    EXPECT_EQ(adapter_->handle(signed_post(one_message(text_message("4900000", "wamid.O", "2"))))
                  .messages.at(0)
                  .text,
              "2");

    // A title too long for a list also falls back to numbered text.
    client_.calls.clear();
    core::OutboundMessage long_title = reply("Choose:");
    long_title.quick_replies = {{"Yes", "y"}, {"A title of twenty-five ch", "n"}};
    ASSERT_TRUE(adapter_->deliver(long_title, client_).delivered);
    EXPECT_EQ(sent(0, "text").at("text").at("body"),
              "Choose:\n\n1. Yes\n2. A title of twenty-five ch");

    // The next turn's first reply without options forgets them: "2" is a number again.
    client_.calls.clear();
    ASSERT_TRUE(adapter_->deliver(reply("How many cards?"), client_).delivered);
    EXPECT_EQ(
        adapter_->handle(signed_post(one_message(text_message("4915112345678", "wamid.P", "2"))))
            .messages.at(0)
            .text,
        "2");
}

TEST_F(WhatsAppTest, LongPayloadIsShortenedAndMappedBackOnTap) {
    const std::string payload(300, 'p');
    core::OutboundMessage m = reply("Confirm?");
    m.quick_replies = {{"Confirm", payload}, {"Cancel", "cancel"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    const json::value body = sent(0, "interactive");
    const json::array& buttons = body.at("interactive").at("action").at("buttons").as_array();
    const std::string id(buttons[0].at("reply").at("id").as_string());
    EXPECT_LE(id.size(), kWhatsAppMaxReplyId);
    EXPECT_NE(id, payload);
    EXPECT_EQ(buttons[1].at("reply").at("id"), "cancel");

    const WebhookOutcome tap = adapter_->handle(signed_post(
        one_message(interactive_reply("4915112345678", "wamid.T", "button_reply", id))));
    ASSERT_EQ(tap.messages.size(), 1u);
    EXPECT_EQ(tap.messages[0].text, payload);

    // A shortened id that expired gets a polite reply instead.
    const WebhookOutcome expired = adapter_->handle(signed_post(
        one_message(interactive_reply("4915112345678", "wamid.U", "list_reply", "tlr:gone"))));
    EXPECT_EQ(expired.response.status, 200u);
    EXPECT_TRUE(expired.messages.empty());
    ASSERT_EQ(expired.direct_replies.size(), 1u);
    EXPECT_EQ(expired.direct_replies[0].in_reply_to, "wamid.U");
}

TEST_F(WhatsAppTest, StoreOutageRetriesTheBatchAndFailsTheDelivery) {
    testing::DownSessionStore down;
    auto adapter = make_whatsapp_adapter(settings(), {&down});

    // A number may stand for an offered option: without the store, Meta must retry the batch.
    const std::string batch = notification(json::array{
        {{"id", "W"},
         {"changes",
          json::array{change_with(json::array{text_message("491511", "wamid.1", "hi"),
                                              text_message("491511", "wamid.2", "2")})}}}});
    const WebhookOutcome outcome = adapter->handle(signed_post(batch));
    EXPECT_EQ(outcome.response.status, 503u);
    EXPECT_TRUE(outcome.messages.empty());

    core::OutboundMessage m = reply("Choose:");
    m.quick_replies = {{"Yes", "y"}};
    const DeliveryReport report = adapter->deliver(m, client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_NE(report.reason.find("connection refused"), std::string::npos);
    EXPECT_TRUE(client_.calls.empty());
}

TEST_F(WhatsAppTest, LongTextIsSplitAndTheButtonBodyStaysWithin1024) {
    std::string text;
    for (int i = 0; text.size() < 9000; ++i) {
        text += "sentence " + std::to_string(i) + ". ";
    }
    ASSERT_TRUE(adapter_->deliver(reply(text), client_).delivered);
    ASSERT_EQ(client_.calls.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_LE(client_.body(i).at("text").at("body").as_string().size(), kWhatsAppMaxTextChars);
    }

    // With buttons, the text goes first and the last at most 1024 characters carry them.
    client_.calls.clear();
    core::OutboundMessage m = reply(text);
    m.quick_replies = {{"OK", "ok"}};
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    ASSERT_GE(client_.calls.size(), 3u);
    const std::size_t last = client_.calls.size() - 1;
    std::string rebuilt;
    for (std::size_t i = 0; i < last; ++i) {
        rebuilt += std::string(sent(i, "text").at("text").at("body").as_string());
    }
    const json::value interactive = sent(last, "interactive");
    const std::string body_text(interactive.at("interactive").at("body").at("text").as_string());
    EXPECT_LE(body_text.size(), kWhatsAppMaxInteractiveBody);
    EXPECT_FALSE(body_text.empty());
    rebuilt += body_text;
    std::erase(rebuilt, ' ');
    std::string squeezed = text;
    std::erase(squeezed, ' ');
    EXPECT_EQ(rebuilt, squeezed);
}

TEST_F(WhatsAppTest, GraphErrorIsReportedWithItsMessage) {
    client_.answer(400,
                   R"({"error":{"message":"(#131030) Recipient phone number not in allowed list",)"
                   R"("type":"OAuthException","code":131030,"fbtrace_id":"Az8"}})");
    const DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(report.provider_status, 400u);
    EXPECT_NE(report.reason.find("Recipient phone number not in allowed list"), std::string::npos);
    EXPECT_NE(report.reason.find("131030"), std::string::npos);
    EXPECT_EQ(report.reason.find(kAccessToken), std::string::npos);

    client_.fail(core::Errc::service_unavailable);
    const DeliveryReport unreachable = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(unreachable.delivered);
    EXPECT_EQ(unreachable.provider_status, 0u);
    EXPECT_FALSE(unreachable.reason.empty());
}

TEST_F(WhatsAppTest, ReplyWithoutRecipientOrTextIsNotSent) {
    core::OutboundMessage m = reply("hi");
    m.recipient.clear();
    EXPECT_FALSE(adapter_->deliver(m, client_).delivered);
    EXPECT_FALSE(adapter_->deliver(reply(""), client_).delivered);
    EXPECT_TRUE(client_.calls.empty());

    core::OutboundMessage options = reply("");
    options.quick_replies = {{"Yes", "y"}};
    ASSERT_TRUE(adapter_->deliver(options, client_).delivered);
    EXPECT_EQ(sent(0, "interactive").at("interactive").at("body").at("text"), "Please choose:");
}

}  // namespace
}  // namespace teller::channels
