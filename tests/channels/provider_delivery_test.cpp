// Tests of ProviderDelivery over the Kafka mock cluster with a fake adapter and provider client.
#include "teller/channels/provider_delivery.hpp"

#include <openssl/evp.h>

#include <map>
#include <mutex>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "teller/core/kafka.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Counts calls and answers 200.
class CountingClient final : public ProviderClient {
public:
    core::Result<ProviderResponse> send(const ProviderCall&) override {
        ++calls;
        return ProviderResponse{200, {}, "{}"};
    }
    std::atomic<int> calls{0};
};

// Records what it delivers; text "fail" fails (403), "quiet" is suppressed.
class FakeAdapter final : public ChannelAdapter {
public:
    std::string_view channel() const noexcept override { return "sms"; }
    std::string_view path() const noexcept override { return "/webhooks/sms"; }
    WebhookOutcome handle(const WebhookRequest&) override { return {}; }

    DeliveryReport deliver(const core::OutboundMessage& message, ProviderClient& client) override {
        DeliveryReport report;
        if (message.text == "quiet") {
            report.suppressed = true;
            report.reason = "opted out";
            return report;
        }
        if (message.text == "fail") {
            report.provider_status = 403;
            report.reason = "provider said: recipient blocked the bot";
            return report;
        }
        auto response = client.send(ProviderCall{});
        report.delivered = response.has_value();
        report.provider_status = response ? response->status : 0;
        std::lock_guard lock(mutex_);
        delivered_.push_back(message);
        return report;
    }

    std::vector<core::OutboundMessage> delivered() const {
        std::lock_guard lock(mutex_);
        return delivered_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<core::OutboundMessage> delivered_;
};

core::OutboundMessage reply(std::string channel, std::string conversation, std::string text,
                            std::uint32_t sequence) {
    core::OutboundMessage m;
    m.channel = std::move(channel);
    m.conversation = std::move(conversation);
    m.recipient = "+15550100";
    m.text = std::move(text);
    m.in_reply_to = "in-1";
    m.sequence = sequence;
    m.trace_id = "trace-" + std::to_string(sequence);
    return m;
}

class ProviderDeliveryTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (std::string_view topic : {core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic}) {
            cluster_.create_topic(std::string(topic), 2);
        }
        config_.brokers = cluster_.bootstrap_servers();
        producer_ = std::make_unique<core::KafkaProducer>(config_);
    }

    void publish(const core::OutboundMessage& m) {
        core::Record r{std::string(core::kOutboundTopic), m.conversation, core::to_json(m), {}};
        ASSERT_FALSE(producer_->produce(r));
    }

    std::unique_ptr<core::KafkaConsumer> consumer(const std::string& group,
                                                  std::string_view topic) {
        return std::make_unique<core::KafkaConsumer>(config_, group,
                                                     std::vector<std::string>{std::string(topic)});
    }

    // Reads `topic` from the start until `n` records came or `timeout` passed.
    std::vector<core::Record> read_topic(std::string_view topic, std::size_t n,
                                         std::chrono::milliseconds timeout) {
        auto reader = consumer("reader-" + std::to_string(++readers_), topic);
        std::vector<core::Record> records;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (records.size() < n && std::chrono::steady_clock::now() < deadline) {
            for (auto& r : reader->poll(100, 100ms)) {
                records.push_back(std::move(r));
            }
        }
        return records;
    }

    // Polls `delivery` until `done` holds or `timeout` passes.
    template <class Done>
    static void drive(ProviderDelivery& delivery, Done done, std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            (void)delivery.poll_once(100ms);
        }
    }

    core::MockCluster cluster_{1};
    core::KafkaConfig config_;
    std::unique_ptr<core::KafkaProducer> producer_;
    int readers_ = 0;
    FakeAdapter adapter_;
    CountingClient client_;
};

TEST_F(ProviderDeliveryTest, DeliversEachConversationsRepliesInOrderAndLeavesWebChatAlone) {
    for (std::uint32_t seq = 0; seq < 5; ++seq) {
        for (const char* conversation : {"sms:+1555001", "sms:+1555002", "sms:+1555003"}) {
            publish(reply("sms", conversation, "reply " + std::to_string(seq), seq));
        }
        publish(reply("webchat", "webchat:abcdefabcdefabcdef", "web", seq));
    }
    ASSERT_FALSE(producer_->flush(5s));

    auto outbound = consumer(std::string(kDeliveryGroup), core::kOutboundTopic);
    auto store = core::make_memory_session_store();
    ProviderDeliveryOptions options;
    options.workers = 3;
    ProviderDelivery delivery(*outbound, *producer_, store.get(), options);
    delivery.add_channel(adapter_, client_);
    delivery.start();
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (adapter_.delivered().size() < 15 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(200ms);
    delivery.stop();

    auto delivered = adapter_.delivered();
    ASSERT_EQ(delivered.size(), 15U);
    std::map<std::string, std::vector<std::uint32_t>> order;
    for (const auto& m : delivered) {
        EXPECT_EQ(m.channel, "sms");
        order[m.conversation].push_back(m.sequence);
    }
    ASSERT_EQ(order.size(), 3U);
    for (const auto& [conversation, sequences] : order) {
        EXPECT_EQ(sequences, (std::vector<std::uint32_t>{0, 1, 2, 3, 4})) << conversation;
    }
    EXPECT_EQ(client_.calls, 15);
    ProviderDeliveryStats stats = delivery.stats();
    EXPECT_EQ(stats.records, 20U);
    EXPECT_EQ(stats.delivered, 15U);
    EXPECT_EQ(stats.skipped, 5U);
    EXPECT_EQ(stats.failed, 0U);
    EXPECT_GE(stats.commits, 1U);
}

TEST_F(ProviderDeliveryTest, AFailedDeliveryBecomesAnErrorEventAndADlqRecord) {
    core::OutboundMessage failing = reply("sms", "sms:+1555009", "fail", 2);
    publish(failing);
    ASSERT_FALSE(producer_->flush(5s));

    auto outbound = consumer(std::string(kDeliveryGroup), core::kOutboundTopic);
    ProviderDeliveryOptions options;
    options.clock = [] { return std::int64_t{1'700'000'000'000}; };
    ProviderDelivery delivery(*outbound, *producer_, nullptr, options);
    delivery.add_channel(adapter_, client_);
    drive(
        delivery, [&] { return delivery.stats().failed == 1; }, 20s);
    ASSERT_EQ(delivery.stats().failed, 1U);
    EXPECT_EQ(delivery.stats().commits, 1U);

    auto events = read_topic(core::kEventsTopic, 1, 20s);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].key, "sms:+1555009");
    auto event = core::parse_dialogue_event(events[0].value);
    ASSERT_TRUE(event) << events[0].value;
    EXPECT_EQ(event->type, core::DialogueEventType::error);
    EXPECT_EQ(event->conversation, "sms:+1555009");
    EXPECT_EQ(event->in_reply_to, "in-1");
    EXPECT_EQ(event->trace_id, "trace-2");
    EXPECT_EQ(event->data.at("stage"), "delivery");
    EXPECT_EQ(event->data.at("channel"), "sms");
    EXPECT_EQ(event->data.at("reason"), "provider said: recipient blocked the bot");
    EXPECT_EQ(event->data.at("provider_status").to_number<int>(), 403);

    auto dead = read_topic(core::kDlqTopic, 1, 20s);
    ASSERT_EQ(dead.size(), 1U);
    EXPECT_EQ(dead[0].header("reason"), "delivery failed");
    json::object d = json::parse(dead[0].value).as_object();
    EXPECT_EQ(d.at("provider_status").to_number<int>(), 403);
    EXPECT_NE(std::string(d.at("reason").as_string()).find("recipient blocked"), std::string::npos);
    const json::object& source = d.at("source").as_object();
    EXPECT_EQ(source.at("topic").as_string(), core::kOutboundTopic);
    EXPECT_EQ(source.at("offset").to_number<int>(), 0);
    EXPECT_EQ(source.at("key").as_string(), "sms:+1555009");
    // The original bytes, base64.
    std::string encoded(d.at("value_base64").as_string());
    std::string decoded(encoded.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                            reinterpret_cast<const unsigned char*>(encoded.data()),
                            static_cast<int>(encoded.size()));
    ASSERT_GT(n, 0);
    decoded.resize(static_cast<std::size_t>(n));
    auto original = core::parse_outbound(decoded.substr(0, decoded.find_last_of('}') + 1));
    ASSERT_TRUE(original);
    EXPECT_EQ(original->text, "fail");
}

TEST_F(ProviderDeliveryTest, ASuppressedReplyIsNeitherDeliveredNorAnError) {
    publish(reply("sms", "sms:+1555010", "quiet", 0));
    publish(reply("sms", "sms:+1555010", "after", 1));
    ASSERT_FALSE(producer_->flush(5s));

    auto outbound = consumer(std::string(kDeliveryGroup), core::kOutboundTopic);
    ProviderDelivery delivery(*outbound, *producer_, nullptr);
    delivery.add_channel(adapter_, client_);
    drive(
        delivery, [&] { return delivery.stats().records == 2; }, 20s);

    ProviderDeliveryStats stats = delivery.stats();
    EXPECT_EQ(stats.suppressed, 1U);
    EXPECT_EQ(stats.delivered, 1U);
    EXPECT_EQ(stats.failed, 0U);
    ASSERT_EQ(adapter_.delivered().size(), 1U);
    EXPECT_EQ(adapter_.delivered()[0].text, "after");
    EXPECT_TRUE(read_topic(core::kDlqTopic, 1, 1s).empty());
}

TEST_F(ProviderDeliveryTest, ARedeliveredRecordIsNotSentTwice) {
    for (std::uint32_t seq = 0; seq < 3; ++seq) {
        publish(reply("sms", "sms:+1555011", "r" + std::to_string(seq), seq));
    }
    ASSERT_FALSE(producer_->flush(5s));
    auto store = core::make_memory_session_store();

    // The first member delivers everything.
    {
        auto outbound = consumer("first", core::kOutboundTopic);
        ProviderDelivery delivery(*outbound, *producer_, store.get());
        delivery.add_channel(adapter_, client_);
        drive(
            delivery, [&] { return delivery.stats().delivered == 3; }, 20s);
        ASSERT_EQ(delivery.stats().delivered, 3U);
    }

    // A group that has not committed reads the same records again (as after a crash).
    auto again = consumer("second", core::kOutboundTopic);
    ProviderDelivery delivery(*again, *producer_, store.get());
    delivery.add_channel(adapter_, client_);
    drive(
        delivery, [&] { return delivery.stats().records == 3; }, 20s);

    EXPECT_EQ(delivery.stats().duplicates, 3U);
    EXPECT_EQ(delivery.stats().delivered, 0U);
    EXPECT_EQ(adapter_.delivered().size(), 3U);
    EXPECT_EQ(client_.calls, 3);
}

// Refuses every record, as a producer whose broker is gone.
class RefusingProducer final : public core::Producer {
public:
    boost::system::error_code produce(const core::Record&, core::DeliveryHandler) override {
        return make_error_code(core::Errc::broker_unavailable);
    }
    boost::system::error_code flush(std::chrono::milliseconds) override { return {}; }
    std::size_t in_flight() const override { return 0; }
};

TEST_F(ProviderDeliveryTest, AFailureKafkaDoesNotRecordIsRetriedNotCommitted) {
    publish(reply("sms", "sms:+1555012", "fail", 0));
    ASSERT_FALSE(producer_->flush(5s));

    auto outbound = consumer(std::string(kDeliveryGroup), core::kOutboundTopic);
    RefusingProducer refusing;
    ProviderDelivery delivery(*outbound, refusing, nullptr);
    delivery.add_channel(adapter_, client_);
    drive(
        delivery, [&] { return delivery.stats().retried_batches >= 2; }, 30s);

    // The same record came back after the rewind, and nothing was committed.
    ProviderDeliveryStats stats = delivery.stats();
    EXPECT_GE(stats.retried_batches, 2U);
    EXPECT_GE(stats.records, 2U);
    EXPECT_EQ(stats.commits, 0U);
}

// An adapter that claims to be the web chat, which has no provider.
class WebChatAdapter final : public ChannelAdapter {
public:
    std::string_view channel() const noexcept override { return "webchat"; }
    std::string_view path() const noexcept override { return "/ws"; }
    WebhookOutcome handle(const WebhookRequest&) override { return {}; }
    DeliveryReport deliver(const core::OutboundMessage&, ProviderClient&) override { return {}; }
};

TEST_F(ProviderDeliveryTest, RefusesWebChatAndTwiceRegisteredChannels) {
    auto outbound = consumer(std::string(kDeliveryGroup), core::kOutboundTopic);
    ProviderDelivery delivery(*outbound, *producer_, nullptr);
    delivery.add_channel(adapter_, client_);
    EXPECT_THROW(delivery.add_channel(adapter_, client_), core::Error);
    WebChatAdapter webchat;
    EXPECT_THROW(delivery.add_channel(webchat, client_), core::Error);
    EXPECT_EQ(delivery.channels(), std::vector<std::string>{"sms"});
}

TEST(ProviderDeliveryKeyTest, NamesTheReplyOrTheRecordOfAProactiveMessage) {
    core::Record record;
    record.partition = 3;
    record.offset = 42;
    core::OutboundMessage m = reply("telegram", "telegram:77", "hi", 1);
    EXPECT_EQ(delivery_key(m, record), "delivered:telegram:telegram:77:in-1:1");
    m.in_reply_to.clear();
    EXPECT_EQ(delivery_key(m, record), "delivered:telegram:telegram:77:@3.42:1");
}

}  // namespace
}  // namespace teller::channels
