// Tests of the gateway's webhook route, bounded buffering, rate limits, tokens and /metrics,
// over real loopback HTTP with a fake channel adapter.
#include "teller/channels/gateway.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway_test_support.hpp"
#include "teller/channels/channel_adapter.hpp"
#include "teller/channels/webchat_token.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

using namespace teller::testing;
namespace json = boost::json;

/// A channel whose verdict the test scripts; remembers every request it was handed.
class FakeAdapter final : public ChannelAdapter {
public:
    using Handler = std::function<WebhookOutcome(const WebhookRequest&)>;

    explicit FakeAdapter(Handler handler) : handler_(std::move(handler)) {}

    std::string_view channel() const noexcept override { return "fake"; }
    std::string_view path() const noexcept override { return "/webhooks/fake"; }

    WebhookOutcome handle(const WebhookRequest& request) override {
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
        return handler_(request);
    }

    DeliveryReport deliver(const core::OutboundMessage&, ProviderClient&) override { return {}; }

    std::vector<WebhookRequest> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    Handler handler_;
    mutable std::mutex mutex_;
    std::vector<WebhookRequest> requests_;
};

/// The in-memory store, counting forget_seen() calls and able to fail mark_seen().
class CountingStore final : public core::SessionStore {
public:
    core::Result<std::optional<core::StoredSession>> load(std::string_view c) override {
        return inner_->load(c);
    }
    core::Result<bool> compare_and_set(std::string_view c, std::int64_t v, std::string_view d,
                                       std::chrono::seconds ttl) override {
        return inner_->compare_and_set(c, v, d, ttl);
    }
    core::Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) override {
        if (fail_marks) {
            return core::Result<bool>(boost::system::in_place_error,
                                      make_error_code(core::Errc::store_unavailable));
        }
        return inner_->mark_seen(key, ttl);
    }
    core::Result<void> forget_seen(std::string_view key) override {
        ++forgets;
        return inner_->forget_seen(key);
    }
    core::Result<void> put_value(std::string_view k, std::string_view v,
                                 std::chrono::seconds ttl) override {
        return inner_->put_value(k, v, ttl);
    }
    core::Result<std::optional<std::string>> get_value(std::string_view k) override {
        return inner_->get_value(k);
    }
    core::Result<void> erase_value(std::string_view k) override { return inner_->erase_value(k); }
    std::string describe() const override { return "counting in-memory"; }

    std::atomic<int> forgets{0};
    std::atomic<bool> fail_marks{false};

private:
    std::unique_ptr<core::SessionStore> inner_ = core::make_memory_session_store();
};

core::InboundMessage customer_message(std::string id, std::string text,
                                      std::string sender = "+15550001111") {
    core::InboundMessage m;
    m.id = std::move(id);
    m.channel = "fake";
    m.conversation = "fake:" + sender;
    m.sender = std::move(sender);
    m.text = std::move(text);
    m.locale = "en";
    m.metadata["provider"] = "fake";
    return m;
}

// The adapter every test starts from: one message whose id is the request body, answered 200.
WebhookOutcome one_message(const WebhookRequest& request) {
    WebhookOutcome outcome;
    outcome.response.body = "<Response/>";
    outcome.response.content_type = "application/xml";
    if (request.method == "POST") {
        outcome.messages.push_back(customer_message(request.body, "text of " + request.body));
    }
    return outcome;
}

class GatewayWebhookTest : public ::testing::Test {
protected:
    void start(GatewayOptions options = {}, FakeAdapter::Handler handler = one_message) {
        options.host = "127.0.0.1";
        options.port = 0;
        options.instance_id = "gw-test";
        adapter_ = std::make_shared<FakeAdapter>(std::move(handler));
        gateway_ = std::make_unique<Gateway>(std::move(options), producer_);
        gateway_->add_channel(adapter_);
        gateway_->set_channel_context({&store_});
        port_ = gateway_->start();
    }

    http::response<http::string_body> post(std::string body,
                                           std::string target = "/webhooks/fake") {
        return http_request(port_, http::verb::post, std::move(target), std::move(body),
                            {{"X-Fake-Signature", "abc"}, {"Content-Type", "text/plain"}});
    }

    std::vector<core::Record> records_on(std::string_view topic) const {
        std::vector<core::Record> out;
        for (core::Record& r : producer_.records()) {
            if (r.topic == topic) {
                out.push_back(std::move(r));
            }
        }
        return out;
    }

    FakeProducer producer_;
    CountingStore store_;
    std::shared_ptr<FakeAdapter> adapter_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t port_ = 0;
};

// ---- Webhooks ---------------------------------------------------------------------------------

TEST_F(GatewayWebhookTest, AcceptedMessageIsPublishedToInboundThenAnswered) {
    start();
    auto response = post("m-1");

    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(response.body(), "<Response/>");
    EXPECT_EQ(response[http::field::content_type], "application/xml");

    auto records = producer_.records();
    ASSERT_EQ(records.size(), 1U);
    const core::Record& record = records[0];
    EXPECT_EQ(record.topic, core::kInboundTopic);
    EXPECT_EQ(record.key, "fake:+15550001111");
    EXPECT_EQ(record.header("schema"), "teller.inbound.v1");
    EXPECT_EQ(record.header("trace_id").size(), 32U);
    auto inbound = core::parse_inbound(record.value);
    ASSERT_TRUE(inbound) << record.value;
    EXPECT_EQ(inbound->id, "m-1");
    EXPECT_EQ(inbound->channel, "fake");
    EXPECT_EQ(inbound->text, "text of m-1");
    EXPECT_EQ(inbound->reply_to, "gw-test");
    EXPECT_EQ(inbound->trace_id, record.header("trace_id"));
    EXPECT_GT(inbound->received_at_ms, 1'700'000'000'000);
    EXPECT_EQ(inbound->metadata.at("provider"), "fake");
}

TEST_F(GatewayWebhookTest, AdapterSeesLowerCaseHeadersThePublicUrlAndTheBody) {
    GatewayOptions options;
    options.public_base_url = "https://bot.bank.example/";
    start(options);
    ASSERT_EQ(post("m-1", "/webhooks/fake?x=1").result(), http::status::ok);

    auto requests = adapter_->requests();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].target, "/webhooks/fake?x=1");
    EXPECT_EQ(requests[0].public_url, "https://bot.bank.example/webhooks/fake?x=1");
    EXPECT_EQ(requests[0].header("x-fake-signature"), "abc");
    EXPECT_EQ(requests[0].header("content-type"), "text/plain");
    EXPECT_EQ(requests[0].body, "m-1");
}

TEST_F(GatewayWebhookTest, PublicUrlDefaultsToTheBoundAddressAndAChannelMayOverrideIt) {
    start();
    ASSERT_EQ(post("m-1").result(), http::status::ok);
    EXPECT_EQ(adapter_->requests().at(0).public_url,
              "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/fake");

    // A second gateway whose channel has its own base URL.
    FakeProducer producer;
    GatewayOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.public_base_url = "https://ignored.example";
    auto adapter = std::make_shared<FakeAdapter>(one_message);
    Gateway gateway(options, producer);
    gateway.add_channel(adapter, "https://sms.bank.example");
    gateway.set_channel_context({&store_});
    const std::uint16_t port = gateway.start();
    ASSERT_EQ(http_request(port, http::verb::post, "/webhooks/fake", "m-9").result(),
              http::status::ok);
    EXPECT_EQ(adapter->requests().at(0).public_url, "https://sms.bank.example/webhooks/fake");
}

TEST_F(GatewayWebhookTest, GetGoesToTheAdapterForHandshakes) {
    start({}, [](const WebhookRequest& request) {
        WebhookOutcome outcome;
        outcome.response.body = std::string(request.target.substr(request.target.find('=') + 1));
        return outcome;
    });
    auto response = http_request(port_, http::verb::get, "/webhooks/fake?echostr=12345");

    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(response.body(), "12345");
    EXPECT_TRUE(producer_.records().empty());
}

TEST_F(GatewayWebhookTest, AdapterRefusalIsPassedOnAndNothingIsPublished) {
    start({}, [](const WebhookRequest&) {
        WebhookOutcome outcome;
        outcome.response = {403, "text/plain; charset=utf-8", "bad signature\n"};
        return outcome;
    });
    auto response = post("m-1");

    EXPECT_EQ(response.result(), http::status::forbidden);
    EXPECT_EQ(response.body(), "bad signature\n");
    EXPECT_TRUE(producer_.records().empty());
}

TEST_F(GatewayWebhookTest, CardNumbersInWebhookTextAreMasked) {
    start({}, [](const WebhookRequest&) {
        WebhookOutcome outcome;
        outcome.messages.push_back(customer_message("p-1", "my card 4111 1111 1111 1111 is lost"));
        return outcome;
    });
    ASSERT_EQ(post("x").result(), http::status::ok);

    auto inbound = core::parse_inbound(producer_.records().at(0).value);
    ASSERT_TRUE(inbound);
    EXPECT_EQ(inbound->text, "my card **** **** **** 1111 is lost");
    EXPECT_EQ(producer_.records().at(0).value.find("4111 1111"), std::string::npos);
}

TEST_F(GatewayWebhookTest, DuplicateProviderIdIsAnsweredAndPublishedOnce) {
    start();
    EXPECT_EQ(post("dup-1").result(), http::status::ok);
    auto again = post("dup-1");

    EXPECT_EQ(again.result(), http::status::ok);
    EXPECT_EQ(again.body(), "<Response/>");
    EXPECT_EQ(producer_.records().size(), 1U);
    EXPECT_EQ(adapter_->requests().size(), 2U);
}

TEST_F(GatewayWebhookTest, DirectRepliesArePublishedToOutbound) {
    start({}, [](const WebhookRequest&) {
        WebhookOutcome outcome;
        core::OutboundMessage reply;
        reply.conversation = "fake:+15550001111";
        reply.recipient = "+15550001111";
        reply.text = "You are unsubscribed.";
        reply.in_reply_to = "stop-1";
        outcome.direct_replies.push_back(reply);
        return outcome;
    });
    ASSERT_EQ(post("x").result(), http::status::ok);
    ASSERT_EQ(post("x").result(), http::status::ok);  // the provider's retry

    auto records = records_on(core::kOutboundTopic);
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].key, "fake:+15550001111");
    EXPECT_EQ(records[0].header("schema"), "teller.outbound.v1");
    auto outbound = core::parse_outbound(records[0].value);
    ASSERT_TRUE(outbound) << records[0].value;
    EXPECT_EQ(outbound->channel, "fake");
    EXPECT_EQ(outbound->text, "You are unsubscribed.");
    EXPECT_GT(outbound->created_at_ms, 0);
    EXPECT_FALSE(outbound->trace_id.empty());
}

TEST_F(GatewayWebhookTest, FailedDeliveryAnswers503AndTheRetryIsProcessed) {
    start();
    producer_.set_mode(FakeProducer::Mode::fail_delivery);
    auto failed = post("k-1");

    EXPECT_EQ(failed.result(), http::status::service_unavailable);
    EXPECT_FALSE(failed[http::field::retry_after].empty());
    EXPECT_FALSE(failed.body().empty());
    EXPECT_EQ(store_.forgets.load(), 1);

    // The mark was forgotten: the provider's retry is published, not taken as a duplicate.
    producer_.set_mode(FakeProducer::Mode::ack);
    EXPECT_EQ(post("k-1").result(), http::status::ok);
    EXPECT_EQ(producer_.records().size(), 2U);
}

TEST_F(GatewayWebhookTest, ProducerRefusalAnswers503AndForgetsTheMark) {
    start();
    producer_.set_mode(FakeProducer::Mode::refuse);
    auto response = post("r-1");

    EXPECT_EQ(response.result(), http::status::service_unavailable);
    EXPECT_FALSE(response[http::field::retry_after].empty());
    EXPECT_EQ(store_.forgets.load(), 1);
    producer_.set_mode(FakeProducer::Mode::ack);
    EXPECT_EQ(post("r-1").result(), http::status::ok);
    EXPECT_EQ(producer_.records().size(), 1U);
}

TEST_F(GatewayWebhookTest, KafkaTimeoutAnswers503AndForgetsTheMark) {
    GatewayOptions options;
    options.webhook_timeout = std::chrono::milliseconds(200);
    start(options);
    producer_.set_mode(FakeProducer::Mode::hold);
    auto response = post("t-1");

    EXPECT_EQ(response.result(), http::status::service_unavailable);
    EXPECT_FALSE(response[http::field::retry_after].empty());
    EXPECT_EQ(store_.forgets.load(), 1);
    producer_.release();
}

// stop() while a webhook waits for Kafka: the request is dropped (the provider retries), stop()
// does not hang, and the delivery report arriving after the gateway is gone does nothing.
TEST_F(GatewayWebhookTest, StopWhileAWebhookWaitsForKafkaIsSafe) {
    start();
    producer_.set_mode(FakeProducer::Mode::hold);
    std::atomic<bool> answered{false};
    std::thread provider([&] {
        try {
            post("h-1");
            answered = true;
        } catch (const std::exception&) {
            // The connection closed without an answer: what a provider sees on a restart.
        }
    });
    ASSERT_TRUE(producer_.wait_for(1));

    gateway_->stop();
    provider.join();
    EXPECT_FALSE(answered.load());
    EXPECT_EQ(gateway_->connection_count(), 0U);
    gateway_.reset();

    // The held report now runs against a gateway that no longer exists.
    producer_.release();
    for (int i = 0; i < 500 && producer_.in_flight() > 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(producer_.in_flight(), 0U);
}

TEST_F(GatewayWebhookTest, StoreFailureAnswers503AndPublishesNothing) {
    start();
    store_.fail_marks = true;
    auto response = post("s-1");

    EXPECT_EQ(response.result(), http::status::service_unavailable);
    EXPECT_TRUE(producer_.records().empty());
}

TEST_F(GatewayWebhookTest, AdapterThatThrowsGets500AndNothingIsPublished) {
    start({},
          [](const WebhookRequest&) -> WebhookOutcome { throw std::runtime_error("adapter bug"); });
    auto response = post("x");

    EXPECT_EQ(response.result(), http::status::internal_server_error);
    EXPECT_TRUE(producer_.records().empty());
    EXPECT_EQ(store_.forgets.load(), 0);
}

TEST_F(GatewayWebhookTest, BodyTooLargeIs413AndTheAdapterNeverSeesIt) {
    GatewayOptions options;
    options.max_http_body_bytes = 1024;
    start(options);
    auto response = post(std::string(8 * 1024, 'a'));

    EXPECT_EQ(response.result(), http::status::payload_too_large);
    EXPECT_TRUE(adapter_->requests().empty());
    const std::string metrics = gateway_->metrics_text();
    EXPECT_NE(
        metrics.find("teller_gateway_webhook_requests_total{channel=\"fake\",status=\"413\"} 1"),
        std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("reason=\"too_large\"} 1"), std::string::npos) << metrics;
}

TEST_F(GatewayWebhookTest, OtherMethodsAre405) {
    start();
    auto response = http_request(port_, http::verb::put, "/webhooks/fake", "x");

    EXPECT_EQ(response.result(), http::status::method_not_allowed);
    EXPECT_EQ(response[http::field::allow], "GET, POST");
    EXPECT_TRUE(adapter_->requests().empty());
}

TEST_F(GatewayWebhookTest, FullProducerBufferAnswers503BeforeTheAdapter) {
    GatewayOptions options;
    options.max_in_flight = 1;
    start(options);
    producer_.set_mode(FakeProducer::Mode::hold);

    // A web chat message fills the buffer (held unacknowledged by the fake producer).
    WsClient client(port_);
    client.hello();
    client.message("hello", "w-1");
    ASSERT_TRUE(producer_.wait_for(1));

    auto response = post("b-1");
    EXPECT_EQ(response.result(), http::status::service_unavailable);
    EXPECT_EQ(response[http::field::retry_after], "1");
    EXPECT_TRUE(adapter_->requests().empty());

    // The web chat gets `unavailable` for the next message, which is not published.
    client.message("again", "w-2");
    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "unavailable");
    EXPECT_EQ(error->at("id"), "w-2");
    EXPECT_EQ(producer_.records().size(), 1U);

    // Once Kafka catches up, both are accepted.
    producer_.release();
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("id"), "w-1");
    EXPECT_EQ(post("b-1").result(), http::status::ok);
}

// ---- Rate limits ------------------------------------------------------------------------------

TEST_F(GatewayWebhookTest, ConversationPastItsRateGets429WithRetryAfter) {
    GatewayOptions options;
    options.conversation_rate = 0.01;  // one token per 100 s
    options.conversation_burst = 1;
    start(options);
    ASSERT_EQ(post("q-1").result(), http::status::ok);
    auto limited = post("q-2");

    EXPECT_EQ(limited.result(), http::status::too_many_requests);
    EXPECT_EQ(limited[http::field::retry_after], "100");
    EXPECT_EQ(producer_.records().size(), 1U);
    // Nothing was marked seen: after the wait the provider's retry of q-2 will be processed.
    EXPECT_EQ(store_.forgets.load(), 0);
    auto seen = store_.mark_seen("fake:q-2", std::chrono::seconds(1));
    ASSERT_TRUE(seen);
    EXPECT_TRUE(*seen);
}

TEST_F(GatewayWebhookTest, WebChatPastItsRateGetsRateLimitedFrames) {
    GatewayOptions options;
    options.conversation_rate = 0.01;
    options.conversation_burst = 2;
    start(options);
    WsClient client(port_);
    client.hello();
    client.message("one", "r-1");
    client.message("two", "r-2");
    client.message("three", "r-3");

    std::vector<json::object> frames;
    for (int i = 0; i < 3; ++i) {
        auto frame = client.read();
        ASSERT_TRUE(frame);
        frames.push_back(*frame);
    }
    int acks = 0;
    for (const json::object& frame : frames) {
        if (frame.at("type") == "ack") {
            ++acks;
        } else {
            EXPECT_EQ(frame.at("type"), "error");
            EXPECT_EQ(frame.at("code"), "rate_limited");
            EXPECT_EQ(frame.at("id"), "r-3");
        }
    }
    EXPECT_EQ(acks, 2);
    EXPECT_EQ(producer_.records().size(), 2U);

    // Another conversation has its own bucket.
    WsClient other(port_);
    other.hello();
    other.message("hi", "o-1");
    auto ack = other.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
}

// ---- Web chat tokens --------------------------------------------------------------------------

class GatewayTokenTest : public GatewayWebhookTest {
protected:
    static constexpr std::string_view kSecret = "token-secret-for-tests";

    void SetUp() override {
        GatewayOptions options;
        options.webchat_token_secret = std::string(kSecret);
        start(options);
    }

    static std::int64_t now_s() {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

TEST_F(GatewayTokenTest, MissingTokenIsRefusedBeforeTheUpgrade) {
    EXPECT_THROW(WsClient(port_, {}, "/ws"), beast::system_error);
    EXPECT_NE(gateway_->metrics_text().find(
                  "teller_gateway_webchat_tokens_refused_total{reason=\"missing\"} 1"),
              std::string::npos)
        << gateway_->metrics_text();
}

TEST_F(GatewayTokenTest, ValidTokenMarksMessagesVerified) {
    const std::string token = sign_webchat_token(kSecret, {"cust-42", now_s() + 600});
    WsClient client(port_, {}, "/ws?token=" + token);
    client.hello();
    client.message("what is my balance", "v-1");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");

    auto inbound = core::parse_inbound(producer_.records().at(0).value);
    ASSERT_TRUE(inbound);
    EXPECT_EQ(inbound->metadata.at("customer_id"), "cust-42");
    EXPECT_EQ(inbound->metadata.at("verified"), true);
}

TEST_F(GatewayTokenTest, MessageAfterTheTokenExpiredIsRefusedAndTheSocketCloses) {
    const std::int64_t expires = now_s() + 1;
    WsClient client(port_, {}, "/ws?token=" + sign_webchat_token(kSecret, {"cust-42", expires}));
    client.hello();
    client.message("what is my balance", "v-1");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");

    while (now_s() <= expires) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    client.message("and my card limits", "v-2");
    auto refused = client.read();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->at("type"), "error");
    EXPECT_EQ(refused->at("code"), "token_expired");
    EXPECT_FALSE(client.read());  // closed by the gateway
    EXPECT_EQ(producer_.records().size(), 1u);
    EXPECT_NE(gateway_->metrics_text().find(
                  "teller_gateway_webchat_tokens_refused_total{reason=\"expired\"} 1"),
              std::string::npos)
        << gateway_->metrics_text();
}

TEST_F(GatewayTokenTest, ACustomersConversationCannotBeResumedByAnotherOrAnonymously) {
    const std::string alice = sign_webchat_token(kSecret, {"alice", now_s() + 600});
    const std::string bob = sign_webchat_token(kSecret, {"bob", now_s() + 600});
    std::string conversation;
    {
        WsClient first(port_, {}, "/ws?token=" + alice);
        conversation = first.hello();
        ASSERT_TRUE(conversation.starts_with("webchat:v")) << conversation;
    }

    // Alice may come back to it; Bob, with his own valid token, is given a new one.
    WsClient again(port_, {}, "/ws?token=" + alice);
    EXPECT_EQ(again.hello(conversation), conversation);
    WsClient other(port_, {}, "/ws?token=" + bob);
    EXPECT_EQ(other.hello(conversation), "");  // first an error frame: the id was refused
    auto welcome = other.read();
    ASSERT_TRUE(welcome);
    ASSERT_EQ(welcome->at("type"), "welcome");
    std::string bobs(welcome->at("conversation").as_string());
    EXPECT_NE(bobs, conversation);
    EXPECT_TRUE(bobs.starts_with("webchat:v")) << bobs;

    // A socket without a token is not even let in while a secret is set.
    EXPECT_THROW(WsClient(port_, {}, "/ws"), beast::system_error);
}

TEST_F(GatewayTokenTest, ExpiredTokenIsRefused) {
    const std::string token = sign_webchat_token(kSecret, {"cust-42", now_s() - 1});
    EXPECT_THROW(WsClient(port_, {}, "/ws?token=" + token), beast::system_error);
}

TEST_F(GatewayTokenTest, TamperedOrForeignTokenIsRefused) {
    const std::string good = sign_webchat_token(kSecret, {"cust-42", now_s() + 600});
    const std::string other = sign_webchat_token(kSecret, {"cust-99", now_s() + 600});
    const std::string tampered = other.substr(0, other.find('.')) + good.substr(good.find('.'));
    const std::string foreign = sign_webchat_token("another-secret", {"cust-42", now_s() + 600});

    EXPECT_THROW(WsClient(port_, {}, "/ws?token=" + tampered), beast::system_error);
    EXPECT_THROW(WsClient(port_, {}, "/ws?token=" + foreign), beast::system_error);
    EXPECT_THROW(WsClient(port_, {}, "/ws?token=garbage"), beast::system_error);
    EXPECT_NE(gateway_->metrics_text().find(
                  "teller_gateway_webchat_tokens_refused_total{reason=\"bad_signature\"} 2"),
              std::string::npos)
        << gateway_->metrics_text();
}

TEST_F(GatewayTokenTest, RefusalIsA401) {
    auto response = http_request(port_, http::verb::get, "/ws?token=x.y", {},
                                 {{"Connection", "Upgrade"},
                                  {"Upgrade", "websocket"},
                                  {"Sec-WebSocket-Version", "13"},
                                  {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    EXPECT_EQ(response.result(), http::status::unauthorized);
}

TEST_F(GatewayWebhookTest, WithoutASecretTheWebChatNeedsNoTokenAndIsAnonymous) {
    start();
    WsClient client(port_);
    client.hello();
    client.message("hi", "a-1");
    ASSERT_TRUE(client.read());
    auto inbound = core::parse_inbound(producer_.records().at(0).value);
    ASSERT_TRUE(inbound);
    EXPECT_FALSE(inbound->metadata.contains("customer_id"));
    EXPECT_FALSE(inbound->metadata.contains("verified"));
}

// ---- Metrics and set-up -----------------------------------------------------------------------

TEST_F(GatewayWebhookTest, MetricsCountRequestsMessagesAndRejections) {
    start();
    ASSERT_EQ(post("m-1").result(), http::status::ok);
    ASSERT_EQ(post("m-1").result(), http::status::ok);
    ASSERT_EQ(http_request(port_, http::verb::put, "/webhooks/fake").result(),
              http::status::method_not_allowed);

    auto response = http_request(port_, http::verb::get, "/metrics");
    ASSERT_EQ(response.result(), http::status::ok);
    EXPECT_NE(response[http::field::content_type].find("version=0.0.4"), std::string::npos);
    const std::string& text = response.body();
    for (const char* line : {
             "# TYPE teller_gateway_webhook_requests_total counter",
             "teller_gateway_webhook_requests_total{channel=\"fake\",status=\"200\"} 2",
             "teller_gateway_webhook_requests_total{channel=\"fake\",status=\"405\"} 1",
             "teller_gateway_messages_accepted_total{channel=\"fake\"} 1",
             "teller_gateway_messages_rejected_total{channel=\"fake\",reason=\"duplicate\"} 1",
             "# TYPE teller_gateway_connections gauge",
             "teller_gateway_producer_in_flight 0",
         }) {
        EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
    }
}

TEST(GatewaySetupTest, ChannelPathsMustBeFreeAndAStoreIsRequired) {
    FakeProducer producer;
    GatewayOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    Gateway gateway(options, producer);
    gateway.add_channel(std::make_shared<FakeAdapter>(one_message));

    EXPECT_THROW(gateway.add_channel(std::make_shared<FakeAdapter>(one_message)), core::Error);
    EXPECT_THROW(gateway.add_channel(nullptr), core::Error);
    EXPECT_THROW(gateway.set_channel_context({}), core::Error);
    EXPECT_THROW(gateway.start(), core::Error);
}

TEST(GatewaySetupTest, UnusableLimitsThrow) {
    FakeProducer producer;
    GatewayOptions options;
    options.max_in_flight = 0;
    EXPECT_THROW(Gateway(options, producer), core::Error);
    options = {};
    options.conversation_rate = 0;
    EXPECT_THROW(Gateway(options, producer), core::Error);
}

}  // namespace
}  // namespace teller::channels
