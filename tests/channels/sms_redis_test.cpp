// SMS opt-outs kept in real Redis: one gateway instance records a STOP, another honours it.
#include "teller/channels/sms.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

#include "redis_server.hpp"
#include "sms_wechat_fakes.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

using testing::FakeProviderClient;

constexpr std::string_view kAuthToken = "redis-test-token";
constexpr std::string_view kPublicUrl = "https://bot.bank.example/webhooks/sms";
constexpr std::string_view kCustomer = "+15557654321";

ChannelSettings settings() {
    return {{"account_sid", "AC00000000000000000000000000000001"},
            {"auth_token", std::string(kAuthToken)},
            {"from_number", "+15550001111"}};
}

WebhookRequest signed_request(std::string_view body, std::string_view sid) {
    FormFields fields = {{"MessageSid", std::string(sid)},
                         {"From", std::string(kCustomer)},
                         {"To", "+15550001111"},
                         {"Body", std::string(body)}};
    WebhookRequest request;
    request.method = "POST";
    request.target = "/webhooks/sms";
    request.public_url = std::string(kPublicUrl);
    request.headers = {{"content-type", "application/x-www-form-urlencoded"},
                       {"x-twilio-signature", twilio_signature(kAuthToken, kPublicUrl, fields)}};
    for (const auto& [name, value] : fields) {
        if (!request.body.empty()) {
            request.body += '&';
        }
        request.body += name;
        request.body += '=';
        request.body += form_encode(value);
    }
    return request;
}

core::OutboundMessage reply(std::string text) {
    core::OutboundMessage m;
    m.conversation = "sms:" + std::string(kCustomer);
    m.channel = "sms";
    m.recipient = std::string(kCustomer);
    m.text = std::move(text);
    return m;
}

class SmsRedisTest : public ::testing::Test {
protected:
    void SetUp() override {
        // A missing redis-server is a failure, not a skip: CI installs it.
        ASSERT_TRUE(redis_.available()) << redis_.why();
        store_a_ = core::make_redis_session_store(redis_.url());
        store_b_ = core::make_redis_session_store(redis_.url());
        gateway_a_ = make_sms_adapter(settings(), ChannelContext{store_a_.get()});
        gateway_b_ = make_sms_adapter(settings(), ChannelContext{store_b_.get()});
    }

    // The TTL Redis reports for one raw key (-1: no expiry, -2: no key).
    long long ttl_of(const std::string& key) {
        redisContext* c = redisConnect("127.0.0.1", redis_.port());
        EXPECT_TRUE(c != nullptr && c->err == 0);
        auto* r = static_cast<redisReply*>(redisCommand(c, "TTL %s", key.c_str()));
        long long ttl = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
        freeReplyObject(r);
        redisFree(c);
        return ttl;
    }

    teller::testing::RedisServer redis_;
    std::unique_ptr<core::SessionStore> store_a_;
    std::unique_ptr<core::SessionStore> store_b_;
    std::unique_ptr<ChannelAdapter> gateway_a_;
    std::unique_ptr<ChannelAdapter> gateway_b_;
    FakeProviderClient client_;
};

TEST_F(SmsRedisTest, OptOutRecordedByOneInstanceIsHonouredByAnother) {
    WebhookOutcome stop = gateway_a_->handle(signed_request("STOP", "SMR1"));
    ASSERT_EQ(stop.response.status, 200u);
    ASSERT_EQ(stop.direct_replies.size(), 1u);

    // Kept without expiry.
    EXPECT_EQ(ttl_of("teller:value:sms:optout:" + std::string(kCustomer)), -1);

    // The other instance neither publishes the customer's messages nor writes to them...
    WebhookOutcome later = gateway_b_->handle(signed_request("balance", "SMR2"));
    EXPECT_EQ(later.response.status, 200u);
    EXPECT_TRUE(later.messages.empty());
    DeliveryReport suppressed = gateway_b_->deliver(reply("Your balance is 10"), client_);
    EXPECT_TRUE(suppressed.suppressed);
    EXPECT_TRUE(client_.calls.empty());

    // ...but does send the STOP confirmation the first instance owes.
    client_.answer(201, "{}");
    EXPECT_TRUE(gateway_b_->deliver(stop.direct_replies[0], client_).delivered);

    // START through the second instance opts back in for both.
    WebhookOutcome start = gateway_b_->handle(signed_request("START", "SMR3"));
    EXPECT_EQ(start.direct_replies.size(), 1u);
    EXPECT_EQ(ttl_of("teller:value:sms:optout:" + std::string(kCustomer)), -2);
    client_.answer(201, "{}");
    EXPECT_TRUE(gateway_a_->deliver(reply("Welcome back"), client_).delivered);
    EXPECT_EQ(gateway_a_->handle(signed_request("balance", "SMR4")).messages.size(), 1u);
}

TEST_F(SmsRedisTest, StopRetriedAgainstAnotherInstanceLetsItsConfirmationThrough) {
    WebhookOutcome first = gateway_a_->handle(signed_request("STOP", "SMR10"));
    WebhookOutcome retry = gateway_b_->handle(signed_request("STOP", "SMR10"));
    ASSERT_EQ(first.direct_replies.size(), 1u);
    ASSERT_EQ(retry.direct_replies.size(), 1u);
    EXPECT_EQ(retry.direct_replies[0].in_reply_to, first.direct_replies[0].in_reply_to);

    // Either instance may deliver it, despite the opt-out.
    client_.answer(201, "{}");
    EXPECT_TRUE(gateway_a_->deliver(retry.direct_replies[0], client_).delivered);
}

TEST_F(SmsRedisTest, RedisDownRefusesToSendAndAsksTwilioToRetryAStop) {
    redis_.kill();
    WebhookOutcome stop = gateway_a_->handle(signed_request("STOP", "SMR20"));
    EXPECT_EQ(stop.response.status, 503u);
    EXPECT_TRUE(stop.direct_replies.empty());

    DeliveryReport report = gateway_a_->deliver(reply("hi"), client_);
    EXPECT_FALSE(report.delivered);
    EXPECT_FALSE(report.suppressed);
    EXPECT_NE(report.reason.find("opt-out"), std::string::npos);
    EXPECT_TRUE(client_.calls.empty());
}

}  // namespace
}  // namespace teller::channels
