// The WeChat adapter driven directly: the echostr handshake, signed XML messages, events, and
// customer service messages with a cached access token through a scripted ProviderClient.
#include "teller/channels/wechat.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <boost/json/parse.hpp>

#include "sms_wechat_fakes.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

using testing::FakeProviderClient;
namespace json = boost::json;

constexpr std::string_view kToken = "tellerToken2026";
constexpr std::string_view kAppId = "wx1234567890abcdef";
constexpr std::string_view kSecret = "app-secret-value";
constexpr std::string_view kOpenId = "oAbCdEfGh_123-xyz";

// WeChat's scheme computed here from scratch: sort, concatenate, SHA-1, lower-case hex.
std::string expected_signature(std::string token, std::string timestamp, std::string nonce) {
    std::string parts[3] = {token, timestamp, nonce};
    std::sort(std::begin(parts), std::end(parts));
    std::string joined = parts[0] + parts[1] + parts[2];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(joined.data(), joined.size(), digest, &size, EVP_sha1(), nullptr);
    std::string hex;
    char buf[3];
    for (unsigned int i = 0; i < size; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", digest[i]);
        hex += buf;
    }
    return hex;
}

std::string now_timestamp() {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

std::string signed_query(std::string extra = {}, std::string timestamp = now_timestamp()) {
    std::string nonce = "n0nce42";
    return "/webhooks/wechat?signature=" +
           expected_signature(std::string(kToken), timestamp, nonce) + "&timestamp=" + timestamp +
           "&nonce=" + nonce + extra;
}

WebhookRequest post(std::string body, std::string target = signed_query()) {
    WebhookRequest request;
    request.method = "POST";
    request.target = std::move(target);
    request.public_url = "https://bot.bank.example" + request.target;
    request.headers = {{"content-type", "text/xml"}};
    request.body = std::move(body);
    return request;
}

std::string text_xml(std::string content, std::string msg_id = "23456789012345678") {
    return "<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><FromUserName><![CDATA[" +
           std::string(kOpenId) +
           "]]></FromUserName><CreateTime>1733300000</CreateTime><MsgType><![CDATA[text]]>"
           "</MsgType><Content><![CDATA[" +
           content + "]]></Content><MsgId>" + msg_id + "</MsgId></xml>";
}

std::string typed_xml(std::string type, std::string extra) {
    return "<xml><ToUserName>gh_bank</ToUserName><FromUserName>" + std::string(kOpenId) +
           "</FromUserName><CreateTime>1733300001</CreateTime><MsgType>" + type + "</MsgType>" +
           extra + "</xml>";
}

ChannelSettings settings() {
    return {{"token", std::string(kToken)},
            {"app_id", std::string(kAppId)},
            {"app_secret", std::string(kSecret)}};
}

class WechatAdapterTest : public ::testing::Test {
protected:
    std::unique_ptr<ChannelAdapter> make(ChannelSettings s = settings()) {
        return make_wechat_adapter(s, ChannelContext{store_.get()});
    }

    static core::OutboundMessage reply(std::string text) {
        core::OutboundMessage m;
        m.conversation = "wechat:" + std::string(kOpenId);
        m.channel = "wechat";
        m.recipient = std::string(kOpenId);
        m.text = std::move(text);
        m.in_reply_to = "23456789012345678";
        return m;
    }

    void script_token(std::string token, int expires_in = 7200) {
        client_.answer(200, R"({"access_token":")" + token + R"(","expires_in":)" +
                                std::to_string(expires_in) + "}");
    }

    std::unique_ptr<core::SessionStore> store_ = core::make_memory_session_store();
    std::unique_ptr<ChannelAdapter> adapter_ = make();
    FakeProviderClient client_;
};

// ---- Handshake and signatures --------------------------------------------------------------

TEST(WechatSignatureTest, MatchesAnIndependentSha1Computation) {
    EXPECT_EQ(wechat_signature("token", "1409304348", "xxxxxx"),
              expected_signature("token", "1409304348", "xxxxxx"));
    // The order of the arguments does not matter: they are sorted.
    EXPECT_EQ(wechat_signature("b", "a", "c"), wechat_signature("c", "b", "a"));
    EXPECT_EQ(wechat_signature("b", "a", "c").size(), 40u);
}

TEST_F(WechatAdapterTest, NamesItsChannelAndPath) {
    EXPECT_EQ(adapter_->channel(), "wechat");
    EXPECT_EQ(adapter_->path(), "/webhooks/wechat");
}

TEST_F(WechatAdapterTest, HandshakeEchoesEchostrWhenSigned) {
    WebhookRequest get;
    get.method = "GET";
    get.target = signed_query("&echostr=5837397749246839186");
    WebhookOutcome outcome = adapter_->handle(get);
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(outcome.response.content_type.rfind("text/plain", 0), 0u);
    EXPECT_EQ(outcome.response.body, "5837397749246839186");
    EXPECT_TRUE(outcome.messages.empty());
}

TEST_F(WechatAdapterTest, SignedRequestWithAnOldTimestampIsRefusedUnlessTheCheckIsOff) {
    // Correctly signed, but captured ten minutes ago: a replay.
    const std::string old = std::to_string(std::stoll(now_timestamp()) - 600);
    WebhookOutcome refused = adapter_->handle(post(text_xml("hello"), signed_query({}, old)));
    EXPECT_EQ(refused.response.status, 403u);
    EXPECT_EQ(refused.response.body, "stale or future timestamp");
    EXPECT_TRUE(refused.messages.empty());

    WebhookOutcome garbage = adapter_->handle(post(text_xml("hello"), signed_query({}, "12ab")));
    EXPECT_EQ(garbage.response.status, 403u);

    auto s = settings();
    s["max_request_age_s"] = "0";
    auto lenient = make(s);
    EXPECT_EQ(lenient->handle(post(text_xml("hello"), signed_query({}, old))).response.status,
              200u);
    s["max_request_age_s"] = "-1";
    EXPECT_THROW(make(s), core::Error);
}

TEST_F(WechatAdapterTest, HandshakeWithABadSignatureIs403AndWithoutOneIs401) {
    WebhookRequest get;
    get.method = "GET";
    get.target = "/webhooks/wechat?signature=" + std::string(40, 'a') +
                 "&timestamp=1733300000&nonce=n0nce42&echostr=123";
    WebhookOutcome outcome = adapter_->handle(get);
    EXPECT_EQ(outcome.response.status, 403u);
    EXPECT_NE(outcome.response.body, "123");

    get.target = "/webhooks/wechat?echostr=123";
    EXPECT_EQ(adapter_->handle(get).response.status, 401u);
}

// ---- Messages ------------------------------------------------------------------------------

TEST_F(WechatAdapterTest, ChineseTextMessageIsPublishedAndAnsweredSuccess) {
    WebhookOutcome outcome = adapter_->handle(post(text_xml("我想查询信用卡账单")));
    EXPECT_EQ(outcome.response.status, 200u);
    EXPECT_EQ(outcome.response.body, "success");
    EXPECT_TRUE(outcome.direct_replies.empty());
    ASSERT_EQ(outcome.messages.size(), 1u);
    const core::InboundMessage& m = outcome.messages[0];
    EXPECT_EQ(m.id, "23456789012345678");
    EXPECT_EQ(m.channel, "wechat");
    EXPECT_EQ(m.conversation, "wechat:oAbCdEfGh_123-xyz");
    EXPECT_EQ(m.sender, "oAbCdEfGh_123-xyz");
    EXPECT_EQ(m.text, "我想查询信用卡账单");
    EXPECT_EQ(m.locale, "zh-CN");
    EXPECT_EQ(m.metadata.at("to_user_name").as_string(), "gh_bank");
}

TEST_F(WechatAdapterTest, EnglishTextCarriesNoLocaleHint) {
    WebhookOutcome outcome = adapter_->handle(post(text_xml("card balance please")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].locale, "");
}

TEST_F(WechatAdapterTest, RetryCarriesTheSameId) {
    WebhookOutcome first = adapter_->handle(post(text_xml("你好", "111")));
    WebhookOutcome again = adapter_->handle(post(text_xml("你好", "111")));
    ASSERT_EQ(again.messages.size(), 1u);
    EXPECT_EQ(first.messages.at(0).id, again.messages[0].id);
}

TEST_F(WechatAdapterTest, ForgedOrUnsignedPostIsRefused) {
    std::string target =
        "/webhooks/wechat?signature=" + expected_signature("wrong-token", "1733300000", "n0nce42") +
        "&timestamp=1733300000&nonce=n0nce42";
    WebhookOutcome forged = adapter_->handle(post(text_xml("hi"), target));
    EXPECT_EQ(forged.response.status, 403u);
    EXPECT_TRUE(forged.messages.empty());

    WebhookOutcome unsigned_post = adapter_->handle(post(text_xml("hi"), "/webhooks/wechat"));
    EXPECT_EQ(unsigned_post.response.status, 401u);
    EXPECT_TRUE(unsigned_post.messages.empty());

    // The signature covers the timestamp: changing it breaks the signature.
    const std::string now = now_timestamp();
    std::string replayed = signed_query({}, now);
    replayed.replace(replayed.find("timestamp=" + now), 10 + now.size(),
                     "timestamp=" + std::to_string(std::stoll(now) + 1));
    EXPECT_EQ(adapter_->handle(post(text_xml("hi"), replayed)).response.status, 403u);
}

TEST_F(WechatAdapterTest, MalformedXmlIs400WithAReason) {
    for (std::string body : {std::string("<xml><Content>unclosed</xml>"), std::string("not xml"),
                             std::string("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                                         "<xml><Content>&e;</Content></xml>"),
                             std::string("<other/>")}) {
        WebhookOutcome outcome = adapter_->handle(post(body));
        EXPECT_EQ(outcome.response.status, 400u) << body;
        EXPECT_NE(outcome.response.body.find("malformed XML"), std::string::npos) << body;
        EXPECT_TRUE(outcome.messages.empty());
    }
}

TEST_F(WechatAdapterTest, MissingFieldsAre400) {
    WebhookOutcome no_from = adapter_->handle(
        post("<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
             "<Content>x</Content><MsgId>1</MsgId></xml>"));
    EXPECT_EQ(no_from.response.status, 400u);
    EXPECT_NE(no_from.response.body.find("FromUserName"), std::string::npos);

    WebhookOutcome no_id = adapter_->handle(post(typed_xml("text", "<Content>x</Content>")));
    EXPECT_EQ(no_id.response.status, 400u);
    EXPECT_NE(no_id.response.body.find("MsgId"), std::string::npos);
}

TEST_F(WechatAdapterTest, EncryptedModeIsRefusedClearly) {
    WebhookOutcome body = adapter_->handle(
        post("<xml><ToUserName>gh_bank</ToUserName><Encrypt><![CDATA[abc==]]></Encrypt></xml>"));
    EXPECT_EQ(body.response.status, 400u);
    EXPECT_EQ(body.response.body, "encrypted mode not supported");

    WebhookOutcome query =
        adapter_->handle(post(text_xml("hi"), signed_query("&encrypt_type=aes&msg_signature=abc")));
    EXPECT_EQ(query.response.status, 400u);
    EXPECT_EQ(query.response.body, "encrypted mode not supported");

    auto s = settings();
    s["encoding_aes_key"] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    EXPECT_THROW(make(s), core::Error);
}

TEST_F(WechatAdapterTest, ImageGetsAPoliteOnlyTextReply) {
    std::string image = typed_xml(
        "image",
        "<PicUrl>http://mmbiz.example/pic</PicUrl><MediaId>m1</MediaId><MsgId>777</MsgId>");
    WebhookOutcome outcome = adapter_->handle(post(image));
    EXPECT_EQ(outcome.response.body, "success");
    EXPECT_TRUE(outcome.messages.empty());
    ASSERT_EQ(outcome.direct_replies.size(), 1u);
    const core::OutboundMessage& r = outcome.direct_replies[0];
    EXPECT_EQ(r.channel, "wechat");
    EXPECT_EQ(r.recipient, kOpenId);
    EXPECT_EQ(r.in_reply_to, "777");
    EXPECT_NE(r.text.find("文字"), std::string::npos);

    // WeChat's retry of the same image carries the same reply key, for the gateway to publish
    // the reply once.
    WebhookOutcome retry = adapter_->handle(post(image));
    ASSERT_EQ(retry.direct_replies.size(), 1u);
    EXPECT_EQ(retry.direct_replies[0].in_reply_to, "777");
}

TEST_F(WechatAdapterTest, RecognisedVoiceIsPublishedAsText) {
    WebhookOutcome outcome = adapter_->handle(post(
        typed_xml("voice",
                  "<MediaId>v1</MediaId><Format>amr</Format><Recognition>查询余额</Recognition>"
                  "<MsgId>888</MsgId>")));
    ASSERT_EQ(outcome.messages.size(), 1u);
    EXPECT_EQ(outcome.messages[0].text, "查询余额");
    EXPECT_EQ(outcome.messages[0].metadata.at("msg_type").as_string(), "voice");
    EXPECT_TRUE(outcome.direct_replies.empty());
}

TEST_F(WechatAdapterTest, SubscribeIsWelcomedAndOtherEventsAreJustAcknowledged) {
    WebhookOutcome subscribe =
        adapter_->handle(post(typed_xml("event", "<Event>subscribe</Event>")));
    EXPECT_EQ(subscribe.response.body, "success");
    EXPECT_TRUE(subscribe.messages.empty());
    ASSERT_EQ(subscribe.direct_replies.size(), 1u);
    EXPECT_NE(subscribe.direct_replies[0].text.find("欢迎"), std::string::npos);

    WebhookOutcome unsubscribe =
        adapter_->handle(post(typed_xml("event", "<Event>unsubscribe</Event>")));
    EXPECT_EQ(unsubscribe.response.status, 200u);
    EXPECT_TRUE(unsubscribe.messages.empty());
    EXPECT_TRUE(unsubscribe.direct_replies.empty());

    // Events have no MsgId: the welcome's reply key is the user and the event's time, the
    // same on WeChat's retry.
    EXPECT_EQ(subscribe.direct_replies[0].in_reply_to, "subscribe:oAbCdEfGh_123-xyz:1733300001");
    WebhookOutcome retry = adapter_->handle(post(typed_xml("event", "<Event>subscribe</Event>")));
    ASSERT_EQ(retry.direct_replies.size(), 1u);
    EXPECT_EQ(retry.direct_replies[0].in_reply_to, subscribe.direct_replies[0].in_reply_to);

    // A configured welcome replaces the built-in one.
    auto s = settings();
    s["welcome_text"] = "Welcome to the bank.";
    std::string later = typed_xml("event", "<Event>subscribe</Event>");
    later.replace(later.find("1733300001"), 10, "1733300002");
    WebhookOutcome custom = make(s)->handle(post(later));
    ASSERT_EQ(custom.direct_replies.size(), 1u);
    EXPECT_EQ(custom.direct_replies[0].text, "Welcome to the bank.");
}

// ---- Delivery ------------------------------------------------------------------------------

TEST_F(WechatAdapterTest, FetchesATokenThenSendsACustomerServiceMessage) {
    script_token("TOKEN_ONE");
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    DeliveryReport report = adapter_->deliver(reply("您的信用卡已冻结。"), client_);

    EXPECT_TRUE(report.delivered) << report.reason;
    EXPECT_EQ(report.provider_status, 200u);
    ASSERT_EQ(client_.calls.size(), 2u);
    const ProviderCall& token = client_.calls[0];
    EXPECT_EQ(token.method, "GET");
    EXPECT_EQ(token.target,
              "/cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef"
              "&secret=app-secret-value");
    EXPECT_TRUE(token.body.empty());

    const ProviderCall& send = client_.calls[1];
    EXPECT_EQ(send.method, "POST");
    EXPECT_EQ(send.target, "/cgi-bin/message/custom/send?access_token=TOKEN_ONE");
    EXPECT_EQ(send.content_type, "application/json");
    json::object body = json::parse(send.body).as_object();
    EXPECT_EQ(body.size(), 3u);
    EXPECT_EQ(body.at("touser").as_string(), "oAbCdEfGh_123-xyz");
    EXPECT_EQ(body.at("msgtype").as_string(), "text");
    EXPECT_EQ(body.at("text").as_object().at("content").as_string(), "您的信用卡已冻结。");
    // UTF-8 on the wire, not \u escapes.
    EXPECT_NE(send.body.find("您的信用卡已冻结。"), std::string::npos);
}

TEST_F(WechatAdapterTest, TokenIsCachedAndSharedThroughTheStore) {
    script_token("TOKEN_ONE");
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    EXPECT_TRUE(adapter_->deliver(reply("one"), client_).delivered);
    EXPECT_TRUE(adapter_->deliver(reply("two"), client_).delivered);
    EXPECT_EQ(client_.calls.size(), 3u);  // one token fetch for two messages

    // Another gateway instance on the same store uses the same token.
    auto other = make();
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    EXPECT_TRUE(other->deliver(reply("three"), client_).delivered);
    ASSERT_EQ(client_.calls.size(), 4u);
    EXPECT_EQ(client_.calls[3].target, "/cgi-bin/message/custom/send?access_token=TOKEN_ONE");
}

TEST_F(WechatAdapterTest, TokenWithinTheMarginOfExpiryIsNotKept) {
    script_token("SHORT_ONE", 100);  // less than the 300 s margin
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    script_token("SHORT_TWO", 100);
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    EXPECT_TRUE(adapter_->deliver(reply("one"), client_).delivered);
    EXPECT_TRUE(adapter_->deliver(reply("two"), client_).delivered);
    ASSERT_EQ(client_.calls.size(), 4u);
    EXPECT_EQ(client_.calls[3].target, "/cgi-bin/message/custom/send?access_token=SHORT_TWO");
}

TEST_F(WechatAdapterTest, ExpiredOrInvalidTokenIsRenewedOnce) {
    for (int errcode : {40001, 42001}) {
        FakeProviderClient client;
        auto adapter = make_wechat_adapter(settings(), ChannelContext{store_.get()});
        (void)store_->erase_value("wechat:access_token:" + std::string(kAppId));
        client.answer(200, R"({"access_token":"OLD","expires_in":7200})");
        client.answer(200, R"({"errcode":)" + std::to_string(errcode) +
                               R"(,"errmsg":"access_token expired"})");
        client.answer(200, R"({"access_token":"NEW","expires_in":7200})");
        client.answer(200, R"({"errcode":0,"errmsg":"ok"})");
        DeliveryReport report = adapter->deliver(reply("hi"), client);
        EXPECT_TRUE(report.delivered) << errcode << " " << report.reason;
        ASSERT_EQ(client.calls.size(), 4u);
        EXPECT_EQ(client.calls[1].target, "/cgi-bin/message/custom/send?access_token=OLD");
        EXPECT_EQ(client.calls[2].method, "GET");
        EXPECT_EQ(client.calls[3].target, "/cgi-bin/message/custom/send?access_token=NEW");

        // The renewed token is the one kept.
        client.answer(200, R"({"errcode":0,"errmsg":"ok"})");
        EXPECT_TRUE(adapter->deliver(reply("again"), client).delivered);
        EXPECT_EQ(client.calls.back().target, "/cgi-bin/message/custom/send?access_token=NEW");
    }
}

TEST_F(WechatAdapterTest, ATokenRefusedTwiceFailsWithoutLooping) {
    script_token("A");
    client_.answer(200, R"({"errcode":40001,"errmsg":"invalid credential"})");
    script_token("B");
    client_.answer(200, R"({"errcode":40001,"errmsg":"invalid credential"})");
    DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(client_.calls.size(), 4u);
    EXPECT_NE(report.reason.find("40001"), std::string::npos);
    EXPECT_NE(report.reason.find("invalid credential"), std::string::npos);
}

TEST_F(WechatAdapterTest, NonZeroErrcodeIsAFailureWithTheErrmsg) {
    script_token("T");
    client_.answer(200, R"({"errcode":45015,"errmsg":"response out of time limit"})");
    DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(report.provider_status, 200u);
    EXPECT_NE(report.reason.find("45015"), std::string::npos);
    EXPECT_NE(report.reason.find("response out of time limit"), std::string::npos);
}

TEST_F(WechatAdapterTest, TokenRefusalIsAFailureThatSaysWhy) {
    client_.answer(200, R"({"errcode":40013,"errmsg":"invalid appid"})");
    DeliveryReport report = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_EQ(client_.calls.size(), 1u);
    EXPECT_NE(report.reason.find("40013"), std::string::npos);
    EXPECT_NE(report.reason.find("invalid appid"), std::string::npos);
}

TEST_F(WechatAdapterTest, ClientErrorsPassThroughAsFailedReports) {
    client_.fail(core::Errc::timeout);
    DeliveryReport no_token = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(no_token.delivered);
    EXPECT_NE(no_token.reason.find(core::make_error_code(core::Errc::timeout).message()),
              std::string::npos);

    script_token("T");
    client_.fail(core::Errc::service_unavailable);
    DeliveryReport unreachable = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(unreachable.delivered);
    EXPECT_NE(
        unreachable.reason.find(core::make_error_code(core::Errc::service_unavailable).message()),
        std::string::npos);

    client_.answer(500, "busy");  // the client's final answer after its retries
    DeliveryReport server = adapter_->deliver(reply("hi"), client_);
    EXPECT_FALSE(server.delivered);
    EXPECT_EQ(server.provider_status, 500u);
}

TEST_F(WechatAdapterTest, QuickRepliesBecomeANumberedMenuThatMapsBack) {
    core::OutboundMessage m = reply("请选择业务：");
    m.quick_replies = {{"查询余额", "/check_balance"}, {"挂失银行卡", "/block_card"}};
    script_token("T");
    client_.answer(200, R"({"errcode":0,"errmsg":"ok"})");
    ASSERT_TRUE(adapter_->deliver(m, client_).delivered);
    json::object body = json::parse(client_.calls.at(1).body).as_object();
    EXPECT_EQ(body.at("text").as_object().at("content").as_string(),
              "请选择业务：\n\n回复 1：查询余额\n回复 2：挂失银行卡");

    WebhookOutcome two = adapter_->handle(post(text_xml("２", "901")));
    ASSERT_EQ(two.messages.size(), 1u);
    EXPECT_EQ(two.messages[0].text, "/block_card");
    EXPECT_EQ(two.messages[0].metadata.at("original_text").as_string(), "２");
}

TEST_F(WechatAdapterTest, FactoryNamesAMissingOrInvalidSetting) {
    for (std::string_view key : {"token", "app_id", "app_secret"}) {
        auto s = settings();
        s.erase(std::string(key));
        try {
            make(s);
            ADD_FAILURE() << "no error for " << key;
        } catch (const core::Error& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    }
    auto s = settings();
    s["token_refresh_margin_s"] = "soon";
    EXPECT_THROW(make(s), core::Error);
    EXPECT_THROW(make_wechat_adapter(settings(), ChannelContext{}), core::Error);
}

}  // namespace
}  // namespace teller::channels
