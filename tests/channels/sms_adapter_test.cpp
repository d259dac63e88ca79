// The SMS adapter driven directly: signed webhooks, keywords, opt-outs, numbered options, and
// the Messages API calls it makes through a scripted ProviderClient.
#include "teller/channels/sms.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sms_wechat_fakes.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

using testing::FakeProviderClient;

constexpr std::string_view kAccountSid = "AC0123456789abcdef0123456789abcdef";
constexpr std::string_view kAuthToken = "test-auth-token";
constexpr std::string_view kPublicUrl = "https://bot.bank.example/webhooks/sms";
constexpr std::string_view kCustomer = "+15551234567";

// base64 with OpenSSL, independent of the adapter's code.
std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// Twilio's scheme computed here from scratch: URL + sorted name/value pairs, HMAC-SHA1, base64.
std::string expected_signature(std::string_view token, std::string_view url, FormFields fields) {
    std::sort(fields.begin(), fields.end());
    std::string data(url);
    for (const auto& [name, value] : fields) {
        data += name + value;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size);
    return base64(std::string_view(reinterpret_cast<const char*>(mac), size));
}

std::string encode_form(const FormFields& fields) {
    std::string body;
    for (const auto& [name, value] : fields) {
        if (!body.empty()) {
            body += '&';
        }
        body += form_encode(name);
        body += '=';
        body += form_encode(value);
    }
    return body;
}

FormFields inbound_fields(std::string_view body, std::string_view sid = "SM0001",
                          std::string_view from = kCustomer) {
    return {{"ToCountry", "US"},
            {"SmsMessageSid", std::string(sid)},
            {"NumMedia", "0"},
            {"SmsSid", std::string(sid)},
            {"SmsStatus", "received"},
            {"Body", std::string(body)},
            {"To", "+15550001111"},
            {"NumSegments", "1"},
            {"MessageSid", std::string(sid)},
            {"AccountSid", std::string(kAccountSid)},
            {"From", std::string(from)},
            {"ApiVersion", "2010-04-01"}};
}

WebhookRequest signed_request(const FormFields& fields, std::string_view url = kPublicUrl) {
    WebhookRequest request;
    request.method = "POST";
    request.target = "/webhooks/sms";
    request.public_url = std::string(kPublicUrl);
    request.headers = {{"content-type", "application/x-www-form-urlencoded"},
                       {"x-twilio-signature", expected_signature(kAuthToken, url, fields)}};
    request.body = encode_form(fields);
    return request;
}

ChannelSettings settings() {
    return {{"account_sid", std::string(kAccountSid)},
            {"auth_token", std::string(kAuthToken)},
            {"from_number", "+15550001111"}};
}

class SmsAdapterTest : public ::testing::Test {
protected:
    std::unique_ptr<ChannelAdapter> make(ChannelSettings s = settings()) {
        return make_sms_adapter(s, ChannelContext{store_.get()});
    }

    // One outbound reply to the customer.
    static core::OutboundMessage reply(std::string text, std::string in_reply_to = "SM0001") {
        core::OutboundMessage m;
        m.conversation = "sms:" + std::string(kCustomer);
        m.channel = "sms";
        m.recipient = std::string(kCustomer);
        m.text = std::move(text);
        m.in_reply_to = std::move(in_reply_to);
        return m;
    }

    static FormFields sent_fields(const ProviderCall& call) {
        auto fields = parse_form(call.body);
        EXPECT_TRUE(fields);
        return fields.value_or(FormFields{});
    }

    std::unique_ptr<core::SessionStore> store_ = core::make_memory_session_store();
    std::unique_ptr<ChannelAdapter> adapter_ = make();
    FakeProviderClient client_;
};

// ---- Signatures ----------------------------------------------------------------------------

TEST(SmsSignatureTest, MatchesTwilioDocumentedExamples) {
    // The example of Twilio's webhook security page (auth token 12345), in its two published
    // variants of the caller's number.
    std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    FormFields params = {{"CallSid", "CA1234567890ABCDE"},
                         {"Caller", "+14158675309"},
                         {"Digits", "1234"},
                         {"From", "+14158675309"},
                         {"To", "+18005551212"}};
    EXPECT_EQ(twilio_signature("12345", url, params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    std::reverse(params.begin(), params.end());  // order received does not matter
    EXPECT_EQ(twilio_signature("12345", url, params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");

    FormFields older = {{"CallSid", "CA1234567890ABCDE"},
                        {"Caller", "+12349013030"},
                        {"Digits", "1234"},
                        {"From", "+12349013030"},
                        {"To", "+18005551212"}};
    EXPECT_EQ(twilio_signature("12345", url, older), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

TEST(SmsSignatureTest, MatchesAnIndependentHmacComputation) {
    FormFields fields = inbound_fields("您好, balance? 😀 a+b=c&d");
    EXPECT_EQ(twilio_signature(kAuthToken, kPublicUrl, fields),
              expected_signature(kAuthToken, kPublicUrl, fields));
}

// ---- Webhooks ------------------------------------------------------------------------------

TEST_F(SmsAdapterTest, NamesItsChannelAndPath) {
    EXPECT_EQ(adapter_->channel(), "sms");
    EXPECT_EQ(adapter_->path(), "/webhooks/sms");
    auto custom = settings();
    custom["path"] = "/hooks/twilio";
    EXPECT_EQ(make(custom)->path(), "/hooks/twilio");
}

TEST_F(SmsAdapterTest, SignedMessageIsPublishedAndAnsweredWithEmptyTwiml) {
    WebhookOutcome outcome =
        adapter_->handle(signed_request(inbound_fields("What is my balance?")));

    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(outcome.response.content_type, "text/xml; charset=utf-8");
    EXPECT_NE(outcome.response.body.find("<Response/>"), std::string::npos);
    EXPECT_TRUE(outcome.direct_replies.empty());
    ASSERT_EQ(outcome.messages.size(), 1u);
    const core::InboundMessage& m = outcome.messages[0];
    EXPECT_EQ(m.id, "SM0001");
    EXPECT_EQ(m.channel, "sms");
    EXPECT_EQ(m.conversation, "sms:+15551234567");
    EXPECT_EQ(m.sender, "+15551234567");
    EXPECT_EQ(m.text, "What is my balance?");
    EXPECT_EQ(m.metadata.at("To").as_string(), "+15550001111");
}

TEST_F(SmsAdapterTest, ChineseTextArrivesIntact) {
    WebhookOutcome outcome =
        adapter_->handle(signed_request(inbound_fields("我的信用卡丢了，请帮我冻结")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].text, "我的信用卡丢了，请帮我冻结");
}

TEST_F(SmsAdapterTest, MissingSignatureIsRefusedWith401) {
    WebhookRequest request = signed_request(inbound_fields("hi"));
    request.headers.erase(request.headers.begin() + 1);
    WebhookOutcome outcome = adapter_->handle(request);
    EXPECT_EQ(outcome.response.status, 401u);
    EXPECT_TRUE(outcome.messages.empty());
    EXPECT_TRUE(outcome.direct_replies.empty());
}

TEST_F(SmsAdapterTest, ForgedOrTamperedRequestIsRefusedWith403) {
    // A body changed after signing.
    WebhookRequest tampered = signed_request(inbound_fields("hi"));
    tampered.body += "&Extra=1";
    EXPECT_EQ(adapter_->handle(tampered).response.status, 403u);

    // Signed with another auth token.
    WebhookRequest forged = signed_request(inbound_fields("hi"));
    forged.headers[1].second =
        expected_signature("not-the-token", kPublicUrl, inbound_fields("hi"));
    WebhookOutcome outcome = adapter_->handle(forged);
    EXPECT_EQ(outcome.response.status, 403u);
    EXPECT_TRUE(outcome.messages.empty());

    // Signed for another URL.
    WebhookRequest elsewhere =
        signed_request(inbound_fields("hi"), "https://attacker.example/webhooks/sms");
    EXPECT_EQ(adapter_->handle(elsewhere).response.status, 403u);

    // A forged STOP stores nothing.
    WebhookRequest stop = signed_request(inbound_fields("STOP"));
    stop.headers[1].second = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    EXPECT_EQ(adapter_->handle(stop).response.status, 403u);
    EXPECT_FALSE(store_->get_value("sms:optout:+15551234567").value().has_value());
}

TEST_F(SmsAdapterTest, UrlSignedWithTheDefaultPortAlsoVerifies) {
    WebhookRequest request =
        signed_request(inbound_fields("hi"), "https://bot.bank.example:443/webhooks/sms");
    EXPECT_EQ(adapter_->handle(request).response.status, 200u);
}

TEST_F(SmsAdapterTest, MalformedRequestsAreRefusedWith400) {
    // A broken percent escape (signature irrelevant: the form cannot be read).
    WebhookRequest broken = signed_request(inbound_fields("hi"));
    broken.body += "&Body2=%G0";
    WebhookOutcome outcome = adapter_->handle(broken);
    EXPECT_EQ(outcome.response.status, 400u);
    EXPECT_FALSE(outcome.response.body.empty());

    // Correctly signed but missing From, or MessageSid.
    FormFields no_from = inbound_fields("hi");
    std::erase_if(no_from, [](const auto& f) { return f.first == "From"; });
    outcome = adapter_->handle(signed_request(no_from));
    EXPECT_EQ(outcome.response.status, 400u);
    EXPECT_NE(outcome.response.body.find("From"), std::string::npos);

    FormFields no_sid = inbound_fields("hi");
    std::erase_if(no_sid, [](const auto& f) { return f.first == "MessageSid"; });
    outcome = adapter_->handle(signed_request(no_sid));
    EXPECT_EQ(outcome.response.status, 400u);
    EXPECT_NE(outcome.response.body.find("MessageSid"), std::string::npos);

    // Correctly signed but not UTF-8.
    outcome = adapter_->handle(signed_request(inbound_fields("caf\xE9")));
    EXPECT_EQ(outcome.response.status, 400u);
    EXPECT_NE(outcome.response.body.find("UTF-8"), std::string::npos);
    EXPECT_TRUE(outcome.messages.empty());
}

TEST_F(SmsAdapterTest, WrongMethodOrContentTypeIsRefused) {
    WebhookRequest get = signed_request(inbound_fields("hi"));
    get.method = "GET";
    EXPECT_EQ(adapter_->handle(get).response.status, 405u);

    WebhookRequest json = signed_request(inbound_fields("hi"));
    json.headers[0].second = "application/json";
    EXPECT_EQ(adapter_->handle(json).response.status, 415u);
}

TEST_F(SmsAdapterTest, StatusCallbackIsAcknowledgedAndNotPublished) {
    FormFields callback = {{"MessageSid", "SM0009"},
                           {"MessageStatus", "delivered"},
                           {"From", "+15550001111"},
                           {"To", std::string(kCustomer)}};
    WebhookOutcome outcome = adapter_->handle(signed_request(callback));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.messages.empty());
}

TEST_F(SmsAdapterTest, ProviderRetryCarriesTheSameId) {
    WebhookRequest request = signed_request(inbound_fields("hello", "SM0042"));
    WebhookOutcome first = adapter_->handle(request);
    WebhookOutcome again = adapter_->handle(request);
    ASSERT_EQ(first.messages.size(), 1u);
    ASSERT_EQ(again.messages.size(), 1u);
    EXPECT_EQ(first.messages[0].id, "SM0042");
    EXPECT_EQ(again.messages[0].id, "SM0042");
    EXPECT_EQ(again.response.status, 200u);
}

TEST_F(SmsAdapterTest, MediaBecomeAttachments) {
    FormFields fields = inbound_fields("");
    std::erase_if(fields, [](const auto& f) { return f.first == "NumMedia"; });
    fields.push_back({"NumMedia", "1"});
    fields.push_back({"MediaUrl0", "https://api.twilio.com/media/ME1"});
    fields.push_back({"MediaContentType0", "image/jpeg"});
    WebhookOutcome outcome = adapter_->handle(signed_request(fields));
    ASSERT_EQ(outcome.messages.size(), 1u);
    ASSERT_EQ(outcome.messages[0].attachments.size(), 1u);
    const auto& media = outcome.messages[0].attachments[0].as_object();
    EXPECT_EQ(media.at("url").as_string(), "https://api.twilio.com/media/ME1");
    EXPECT_EQ(media.at("content_type").as_string(), "image/jpeg");
}

// ---- Keywords and opt-outs -----------------------------------------------------------------

TEST_F(SmsAdapterTest, StopStoresTheOptOutAndConfirmsUnderTheSameIdOnRetry) {
    WebhookRequest stop = signed_request(inbound_fields("  stop ", "SM0100"));
    WebhookOutcome outcome = adapter_->handle(stop);

    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.messages.empty());
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    const core::OutboundMessage& confirmation = outcome.direct_replies[0];
    EXPECT_EQ(confirmation.channel, "sms");
    EXPECT_EQ(confirmation.conversation, "sms:+15551234567");
    EXPECT_EQ(confirmation.recipient, "+15551234567");
    EXPECT_EQ(confirmation.in_reply_to, "SM0100");
    EXPECT_NE(confirmation.text.find("START"), std::string::npos);
    EXPECT_TRUE(store_->get_value("sms:optout:+15551234567").value().has_value());

    // Twilio's retry of the same STOP carries the same confirmation (same in_reply_to), which
    // the gateway publishes once; the retry may follow a publish that failed.
    WebhookOutcome retry = adapter_->handle(stop);
    EXPECT_EQ(retry.response.status, 200u);
    EXPECT_TRUE(retry.messages.empty());
    ASSERT_EQ(retry.direct_replies.size(), 1u);
    EXPECT_EQ(retry.direct_replies[0].in_reply_to, "SM0100");
    EXPECT_EQ(retry.direct_replies[0].text, confirmation.text);
}

TEST_F(SmsAdapterTest, EveryOptOutKeywordOptsOut) {
    int n = 0;
    for (std::string_view word :
         {"STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "退订", "取消订阅"}) {
        std::string number = "+1555000" + std::to_string(1000 + n);
        std::string sid = "SMK" + std::to_string(n++);
        WebhookOutcome outcome =
            adapter_->handle(signed_request(inbound_fields(word, sid, number)));
        EXPECT_TRUE(outcome.messages.empty()) << word;
        EXPECT_EQ(outcome.direct_replies.size(), 1u) << word;
        EXPECT_TRUE(store_->get_value("sms:optout:" + number).value().has_value()) << word;
    }
}

TEST_F(SmsAdapterTest, ChineseStopIsConfirmedInChinese) {
    WebhookOutcome outcome = adapter_->handle(signed_request(inbound_fields("退订")));
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    EXPECT_EQ(outcome.direct_replies[0].locale, "zh-CN");
    EXPECT_NE(outcome.direct_replies[0].text.find("退订"), std::string::npos);
}

TEST_F(SmsAdapterTest, OptedOutNumberIsAcknowledgedNotPublishedNorAnswered) {
    adapter_->handle(signed_request(inbound_fields("STOP", "SM0100")));
    WebhookOutcome outcome = adapter_->handle(signed_request(inbound_fields("balance", "SM0101")));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_TRUE(outcome.messages.empty());
    EXPECT_TRUE(outcome.direct_replies.empty());

    // An engine reply that was already on its way is suppressed, not sent.
    DeliveryReport report = adapter_->deliver(reply("Your balance is 10", "SM0099"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_TRUE(report.suppressed);
    EXPECT_TRUE(client_.calls.empty());
}

TEST_F(SmsAdapterTest, StopConfirmationIsDeliveredDespiteTheOptOut) {
    WebhookOutcome outcome = adapter_->handle(signed_request(inbound_fields("STOP", "SM0100")));
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    client_.answer(201, R"({"sid":"SM9000","status":"queued"})");
    DeliveryReport report = adapter_->deliver(outcome.direct_replies[0], client_);
    EXPECT_TRUE(report.delivered);
    ASSERT_EQ(client_.calls.size(), 1u);
    EXPECT_EQ(form_value(sent_fields(client_.calls[0]), "Body"), outcome.direct_replies[0].text);
}

TEST_F(SmsAdapterTest, StartOptsBackInAndConfirms) {
    adapter_->handle(signed_request(inbound_fields("STOP", "SM0100")));
    WebhookOutcome start = adapter_->handle(signed_request(inbound_fields("Start", "SM0101")));
    EXPECT_TRUE(start.messages.empty());
    ASSERT_EQ(start.direct_replies.size(), 1u);
    EXPECT_NE(start.direct_replies[0].text.find("STOP"), std::string::npos);
    EXPECT_FALSE(store_->get_value("sms:optout:+15551234567").value().has_value());

    WebhookOutcome next = adapter_->handle(signed_request(inbound_fields("balance", "SM0102")));
    EXPECT_EQ(next.messages.size(), 1u);
}

TEST_F(SmsAdapterTest, YesFromASubscribedNumberIsAnOrdinaryAnswer) {
    WebhookOutcome outcome = adapter_->handle(signed_request(inbound_fields("YES")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].text, "YES");
    EXPECT_TRUE(outcome.direct_replies.empty());
}

TEST_F(SmsAdapterTest, HelpIsAnsweredAndNotPublishedEvenWhenOptedOut) {
    WebhookOutcome help = adapter_->handle(signed_request(inbound_fields("help", "SM0200")));
    EXPECT_TRUE(help.messages.empty());
    ASSERT_EQ(help.direct_replies.size(), 1u);
    EXPECT_NE(help.direct_replies[0].text.find("STOP"), std::string::npos);

    adapter_->handle(signed_request(inbound_fields("STOP", "SM0201")));
    WebhookOutcome info = adapter_->handle(signed_request(inbound_fields("INFO", "SM0202")));
    ASSERT_EQ(info.direct_replies.size(), 1u);
    client_.answer(201, "{}");
    EXPECT_TRUE(adapter_->deliver(info.direct_replies[0], client_).delivered);
}

TEST_F(SmsAdapterTest, KeywordRepliesCanBeLeftToTwilio) {
    auto s = settings();
    s["keyword_replies"] = "false";
    auto quiet = make(s);
    WebhookOutcome outcome = quiet->handle(signed_request(inbound_fields("STOP")));
    EXPECT_TRUE(outcome.direct_replies.empty());
    EXPECT_TRUE(outcome.messages.empty());
    EXPECT_TRUE(store_->get_value("sms:optout:+15551234567").value().has_value());
}

TEST_F(SmsAdapterTest, ConfiguredHelpTextReplacesTheBuiltInOne) {
    auto s = settings();
    s["help_text"] = "Call 800-555-0100 for help.";
    WebhookOutcome outcome = make(s)->handle(signed_request(inbound_fields("HELP")));
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    EXPECT_EQ(outcome.direct_replies[0].text, "Call 800-555-0100 for help.");
}

// ---- Delivery ------------------------------------------------------------------------------

TEST_F(SmsAdapterTest, DeliveryPostsToTheMessagesApiFieldByField) {
    client_.answer(201, R"({"sid":"SM9000","status":"queued"})");
    DeliveryReport report = adapter_->deliver(reply("Your balance is $10.00"), client_);

    EXPECT_TRUE(report.delivered);
    EXPECT_FALSE(report.suppressed);
    EXPECT_EQ(report.provider_status, 201u);
    ASSERT_EQ(client_.calls.size(), 1u);
    const ProviderCall& call = client_.calls[0];
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.target, "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
    EXPECT_EQ(call.content_type, "application/x-www-form-urlencoded");
    EXPECT_EQ(find_header(call.headers, "authorization"),
              "Basic " + base64(std::string(kAccountSid) + ":" + std::string(kAuthToken)));
    FormFields fields = sent_fields(call);
    ASSERT_EQ(fields.size(), 3u);
    EXPECT_EQ(form_value(fields, "To"), "+15551234567");
    EXPECT_EQ(form_value(fields, "From"), "+15550001111");
    EXPECT_EQ(form_value(fields, "Body"), "Your balance is $10.00");
}

TEST_F(SmsAdapterTest, MessagingServiceSidReplacesFrom) {
    auto s = settings();
    s.erase("from_number");
    s["messaging_service_sid"] = "MG0123456789abcdef0123456789abcdef";
    auto adapter = make(s);
    client_.answer(201, "{}");
    EXPECT_TRUE(adapter->deliver(reply("hi"), client_).delivered);
    FormFields fields = sent_fields(client_.calls.at(0));
    EXPECT_EQ(form_value(fields, "MessagingServiceSid"), "MG0123456789abcdef0123456789abcdef");
    EXPECT_FALSE(form_value(fields, "From"));
}

TEST_F(SmsAdapterTest, RecipientDefaultsToTheConversationsNumber) {
    core::OutboundMessage m = reply("hi");
    m.recipient.clear();
    client_.answer(201, "{}");
    EXPECT_TRUE(adapter_->deliver(m, client_).delivered);
    EXPECT_EQ(form_value(sent_fields(client_.calls.at(0)), "To"), "+15551234567");
}

TEST_F(SmsAdapterTest, ChineseReplyIsSentIntact) {
    client_.answer(201, "{}");
    std::string text = "您的账户余额为 ¥1,234.56。如需帮助请回复“帮助”。";
    EXPECT_TRUE(adapter_->deliver(reply(text), client_).delivered);
    EXPECT_EQ(form_value(sent_fields(client_.calls.at(0)), "Body"), text);
    EXPECT_EQ(measure_sms(text).encoding, SmsEncoding::ucs2);
}

TEST_F(SmsAdapterTest, QuickRepliesBecomeANumberedMenuThatMapsBack) {
    core::OutboundMessage m = reply("What can I do for you?");
    m.quick_replies = {{"Balance", "/check_balance"}, {"Block a card", "/block_card"}};
    client_.answer(201, "{}");
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    EXPECT_EQ(form_value(sent_fields(client_.calls.at(0)), "Body"),
              "What can I do for you?\n\nReply 1 for Balance\nReply 2 for Block a card");

    // The customer answers "2": the engine receives the second option's payload.
    WebhookOutcome two = adapter_->handle(signed_request(inbound_fields(" 2 ", "SM0300")));
    ASSERT_EQ(two.messages.size(), 1u);
    EXPECT_EQ(two.messages[0].text, "/block_card");
    EXPECT_EQ(two.messages[0].metadata.at("original_text").as_string(), " 2 ");
    EXPECT_EQ(two.messages[0].metadata.at("option").as_int64(), 2);

    // Full-width digits too; a number past the menu stays as typed.
    WebhookOutcome one = adapter_->handle(signed_request(inbound_fields("１", "SM0301")));
    EXPECT_EQ(one.messages.at(0).text, "/check_balance");
    WebhookOutcome three = adapter_->handle(signed_request(inbound_fields("3", "SM0302")));
    EXPECT_EQ(three.messages.at(0).text, "3");
}

TEST_F(SmsAdapterTest, ChineseMenuForChineseReplies) {
    core::OutboundMessage m = reply("请选择：");
    m.locale = "zh-CN";
    m.quick_replies = {{"查询余额", "/check_balance"}};
    client_.answer(201, "{}");
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    EXPECT_EQ(form_value(sent_fields(client_.calls.at(0)), "Body"), "请选择：\n\n回复 1：查询余额");
}

TEST_F(SmsAdapterTest, ATurnsFirstReplyWithoutOptionsRetiresTheOldOnes) {
    core::OutboundMessage menu = reply("Pick one");
    menu.quick_replies = {{"Balance", "/check_balance"}};
    client_.answer(201, "{}");
    client_.answer(201, "{}");
    ASSERT_TRUE(adapter_->deliver(menu, client_).delivered);
    ASSERT_TRUE(adapter_->deliver(reply("Anything else?"), client_).delivered);

    WebhookOutcome one = adapter_->handle(signed_request(inbound_fields("1", "SM0400")));
    EXPECT_EQ(one.messages.at(0).text, "1");
}

TEST_F(SmsAdapterTest, LongReplyIsTruncatedToTheSegmentLimit) {
    auto s = settings();
    s["max_segments"] = "2";
    auto adapter = make(s);
    std::string longer;
    for (int i = 0; i < 100; ++i) {
        longer += "statement line ";
    }
    core::OutboundMessage m = reply(longer);
    m.quick_replies = {{"More", "/more"}};
    client_.answer(201, "{}");
    ASSERT_TRUE(adapter->deliver(m, client_).delivered);
    std::string body(form_value(sent_fields(client_.calls.at(0)), "Body").value_or(""));
    SmsMeasure measure = measure_sms(body);
    EXPECT_EQ(measure.encoding, SmsEncoding::gsm7);
    EXPECT_EQ(measure.segments, 2u);
    EXPECT_TRUE(body.ends_with("...\n\nReply 1 for More"));
}

TEST_F(SmsAdapterTest, ProviderErrorsBecomeFailedReports) {
    // The client gave up (retries exhausted): its error is the reason.
    client_.fail(core::Errc::timeout);
    DeliveryReport unreachable = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(unreachable.delivered);
    EXPECT_FALSE(unreachable.suppressed);
    EXPECT_EQ(unreachable.provider_status, 0u);
    EXPECT_NE(unreachable.reason.find(core::make_error_code(core::Errc::timeout).message()),
              std::string::npos);

    // A final 500 after the client's retries.
    client_.answer(500, "oops");
    DeliveryReport server = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(server.delivered);
    EXPECT_EQ(server.provider_status, 500u);
    EXPECT_NE(server.reason.find("500"), std::string::npos);

    // Twilio's refusal, with its code and message.
    client_.answer(400, R"({"code":21211,"message":"The 'To' number is not valid.","status":400})");
    DeliveryReport refused = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(refused.delivered);
    EXPECT_EQ(refused.provider_status, 400u);
    EXPECT_NE(refused.reason.find("21211"), std::string::npos);
    EXPECT_NE(refused.reason.find("not valid"), std::string::npos);
}

TEST_F(SmsAdapterTest, CarrierUnsubscribedRecipientIsRememberedAsOptedOut) {
    client_.answer(400, R"({"code":21610,"message":"Attempt to send to unsubscribed recipient"})");
    DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_TRUE(report.suppressed);
    EXPECT_TRUE(store_->get_value("sms:optout:+15551234567").value().has_value());

    DeliveryReport next = adapter_->deliver(reply("again"), client_);
    EXPECT_TRUE(next.suppressed);
    EXPECT_EQ(client_.calls.size(), 1u);
}

TEST_F(SmsAdapterTest, EmptyReplyIsAFailureNotACall) {
    DeliveryReport report = adapter_->deliver(reply(""), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_FALSE(report.reason.empty());
    EXPECT_TRUE(client_.calls.empty());
}

// ---- Settings ------------------------------------------------------------------------------

TEST_F(SmsAdapterTest, FactoryNamesAMissingOrInvalidSetting) {
    auto expect_error = [&](ChannelSettings s, std::string_view key) {
        try {
            make(s);
            ADD_FAILURE() << "no error for " << key;
        } catch (const core::Error& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    };
    for (std::string_view key : {"account_sid", "auth_token", "from_number"}) {
        auto s = settings();
        s.erase(std::string(key));
        expect_error(s, key);
    }
    auto s = settings();
    s["max_segments"] = "0";
    expect_error(s, "max_segments");
    s["max_segments"] = "ten";
    expect_error(s, "max_segments");
    s = settings();
    s["account_sid"] = "AC../../x";
    expect_error(s, "account_sid");
    s = settings();
    s["keyword_replies"] = "maybe";
    expect_error(s, "keyword_replies");
    EXPECT_THROW(make_sms_adapter(settings(), ChannelContext{}), core::Error);
}

}  // namespace
}  // namespace teller::channels
