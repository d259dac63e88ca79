// CRM notifications end to end: routes recorded by engine turns, then teller.crm records relayed
// through librdkafka's mock cluster to the customer's last channel, with the memory store and
// a real redis-server.
#include "teller/core/notifications.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fakes.hpp"
#include "keyword_classifier.hpp"
#include "redis_server.hpp"
#include "teller/core/backend.hpp"
#include "teller/core/engine.hpp"
#include "teller/core/kafka.hpp"
#include "teller/core/replay.hpp"
#include "teller/core/session_store.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::core {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kNow = 1'796'000'000'000;

// Wraps a store; while `down` every call fails as an unreachable Redis does.
class SwitchableStore final : public SessionStore {
public:
    explicit SwitchableStore(SessionStore& inner) : inner_(inner) {}

    Result<std::optional<StoredSession>> load(std::string_view c) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.load(c);
    }
    Result<bool> compare_and_set(std::string_view c, std::int64_t expected, std::string_view data,
                                 std::chrono::seconds ttl) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.compare_and_set(c, expected, data, ttl);
    }
    Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.mark_seen(key, ttl);
    }
    Result<void> forget_seen(std::string_view key) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.forget_seen(key);
    }
    Result<void> put_value(std::string_view key, std::string_view value,
                           std::chrono::seconds ttl) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.put_value(key, value, ttl);
    }
    Result<std::optional<std::string>> get_value(std::string_view key) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.get_value(key);
    }
    Result<void> erase_value(std::string_view key) override {
        if (down) {
            return Errc::store_unavailable;
        }
        return inner_.erase_value(key);
    }
    std::string describe() const override { return "switchable " + inner_.describe(); }

    std::atomic<bool> down{false};

private:
    SessionStore& inner_;
};

// Runs single turns through an Engine over `store` (fake Kafka; only the store matters here).
class Turns {
public:
    explicit Turns(SessionStore& store)
        : backend_(make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        EngineOptions options;
        options.clock = [] { return kNow; };
        options.ack_timeout = 200ms;
        options.store_backoff = 1ms;
        engine_ = std::make_unique<Engine>(consumer_, producer_, store, nlu_, host_, options);
    }

    // One customer message; `customer_id` as the web chat gateway sets it for a signed token.
    void say(const std::string& conversation, const std::string& text, const std::string& gateway,
             const std::string& customer_id = {}) {
        InboundMessage m;
        m.id = "m" + std::to_string(++next_id_);
        m.channel = "webchat";
        m.conversation = conversation;
        m.sender = "visitor-" + conversation;
        m.text = text;
        m.reply_to = gateway;
        m.trace_id = "trace-" + m.id;
        if (!customer_id.empty()) {
            m.metadata["customer_id"] = customer_id;
        }
        consumer_.push(Record{"", conversation, to_json(m), {}});
        auto stats = engine_->poll_once(0ms);
        ASSERT_TRUE(stats) << stats.error().message();
        ASSERT_EQ(stats->answered, 1u);
    }

private:
    std::unique_ptr<Backend> backend_;
    SkillHost host_;
    testing::KeywordClassifier nlu_;
    testing::FakeConsumer consumer_;
    testing::FakeProducer producer_;
    std::unique_ptr<Engine> engine_;
    int next_id_ = 0;
};

// The route stored for `customer`, parsed; an empty object when there is none.
json::object stored_route(SessionStore& store, const std::string& customer) {
    auto value = store.get_value("route:" + customer);
    EXPECT_TRUE(value) << value.error().message();
    if (!value || !*value) {
        return {};
    }
    return json::parse(**value).as_object();
}

TEST(RouteMemoryTest, TurnRecordsTheVerifiedCustomersRouteUnderTheCustomerId) {
    auto store = make_memory_session_store();
    Turns turns(*store);
    turns.say("webchat:s1", "hello", "gateway-1", "cust-42");

    json::object route = stored_route(*store, "cust-42");
    ASSERT_FALSE(route.empty());
    EXPECT_EQ(route.at("conversation").as_string(), "webchat:s1");
    EXPECT_EQ(route.at("channel").as_string(), "webchat");
    EXPECT_EQ(route.at("recipient").as_string(), "visitor-webchat:s1");
    EXPECT_EQ(route.at("reply_to").as_string(), "gateway-1");
    EXPECT_EQ(route.at("locale").as_string(), "en");
    EXPECT_EQ(route.at("at_ms").as_int64(), kNow);
    EXPECT_TRUE(stored_route(*store, "webchat:s1").empty());
}

TEST(RouteMemoryTest, AnonymousTurnRecordsTheRouteUnderTheConversationInItsLocale) {
    auto store = make_memory_session_store();
    Turns turns(*store);
    turns.say("webchat:anon", "你好", "gateway-3");

    json::object route = stored_route(*store, "webchat:anon");
    ASSERT_FALSE(route.empty());
    EXPECT_EQ(route.at("reply_to").as_string(), "gateway-3");
    EXPECT_EQ(route.at("locale").as_string(), "zh-CN");
}

TEST(RouteMemoryTest, StoreErrorWhileRecordingTheRouteDoesNotFailTheTurn) {
    // The session save works but the route write fails: the turn is still answered.
    auto memory = make_memory_session_store();
    struct NoValues final : public SessionStore {
        explicit NoValues(SessionStore& s) : inner(s) {}
        Result<std::optional<StoredSession>> load(std::string_view c) override {
            return inner.load(c);
        }
        Result<bool> compare_and_set(std::string_view c, std::int64_t v, std::string_view d,
                                     std::chrono::seconds t) override {
            return inner.compare_and_set(c, v, d, t);
        }
        Result<bool> mark_seen(std::string_view k, std::chrono::seconds t) override {
            return inner.mark_seen(k, t);
        }
        Result<void> forget_seen(std::string_view k) override { return inner.forget_seen(k); }
        Result<void> put_value(std::string_view, std::string_view, std::chrono::seconds) override {
            return Errc::store_unavailable;
        }
        Result<std::optional<std::string>> get_value(std::string_view k) override {
            return inner.get_value(k);
        }
        Result<void> erase_value(std::string_view k) override { return inner.erase_value(k); }
        std::string describe() const override { return "no values"; }
        SessionStore& inner;
    } store(*memory);
    Turns turns(store);
    turns.say("webchat:s2", "hello", "gateway-1", "cust-9");
    EXPECT_TRUE(stored_route(*memory, "cust-9").empty());
}

TEST(NotificationRelayTest, UnacknowledgedOutputIsNotCommittedAndIsSentAgainUnderTheSameId) {
    auto store = make_memory_session_store();
    Turns turns(*store);
    turns.say("webchat:k1", "hello", "gateway-1", "cust-k");
    testing::FakeConsumer consumer;
    testing::FakeProducer producer;
    NotificationOptions options;
    options.ack_timeout = 50ms;
    NotificationRelay relay(consumer, producer, *store, options);
    consumer.push(Record{"", "cust-k", R"({"v":1,"id":"k1","customer":"cust-k","text":"Hi"})", {}});

    // The broker never acknowledges: nothing is committed, nothing remembered, the record is
    // rewound.
    producer.hold_acks = true;
    auto stats = relay.poll_once(0ms);
    ASSERT_FALSE(stats);
    EXPECT_EQ(stats.error(), make_error_code(Errc::timeout));
    EXPECT_EQ(consumer.commits, 0);
    EXPECT_EQ(consumer.rewinds, 1);
    EXPECT_FALSE(*store->get_value("crm:k1"));

    // Acknowledgements flow again: it is sent again (at least once) with the same in_reply_to
    // and sequence, which the gateway uses to show it once, then committed and remembered.
    producer.hold_acks = false;
    producer.release();
    auto again = relay.poll_once(0ms);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->delivered, 1u);
    EXPECT_EQ(consumer.committed_offset, 1);
    EXPECT_TRUE(*store->get_value("crm:k1"));
    std::vector<OutboundMessage> sent;
    for (const Record& r : producer.records) {
        if (r.topic == kOutboundTopic) {
            sent.push_back(*parse_outbound(r.value));
        }
    }
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].in_reply_to, "crm:k1");
    EXPECT_EQ(sent[1].in_reply_to, sent[0].in_reply_to);
    EXPECT_EQ(sent[1].sequence, sent[0].sequence);
}

// One mock cluster for the suite; every test uses topics and groups of its own.
class NotificationsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { cluster_ = std::make_unique<MockCluster>(1); }
    static void TearDownTestSuite() { cluster_.reset(); }

    NotificationsTest() : memory_(make_memory_session_store()), store_(*memory_), turns_(store_) {
        const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        crm_ = "crm." + name;
        outbound_ = "outbound." + name;
        events_ = "events." + name;
        dlq_ = "dlq." + name;
        for (const std::string& topic : {crm_, outbound_, events_, dlq_}) {
            cluster_->create_topic(topic, 1);
        }
        producer_ = std::make_unique<KafkaProducer>(config());
        relay_consumer_ =
            std::make_unique<KafkaConsumer>(consumer_config(), "notify." + name, std::vector{crm_});
        options_.outbound_topic = outbound_;
        options_.events_topic = events_;
        options_.dlq_topic = dlq_;
        options_.ack_timeout = 5s;
        options_.clock = [] { return kNow; };
        relay_ =
            std::make_unique<NotificationRelay>(*relay_consumer_, *producer_, store_, options_);
    }

    static KafkaConfig config() {
        KafkaConfig c;
        c.brokers = cluster_->bootstrap_servers();
        c.close_timeout = 2s;
        return c;
    }

    static KafkaConfig consumer_config() {
        KafkaConfig c = config();
        c.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "200"}};
        return c;
    }

    // Produces one teller.crm record and waits for the broker's acknowledgement.
    void send(const std::string& value, const std::string& key = "crm") {
        ASSERT_FALSE(producer_->produce(Record{crm_, key, value, {}}));
        ASSERT_FALSE(producer_->flush(5s));
    }

    // Polls the relay until `records` records were consumed (errors allowed), summing stats.
    NotificationStats relay(std::size_t records,
                            std::vector<boost::system::error_code>* errors = nullptr) {
        NotificationStats total;
        const auto deadline = Clock::now() + 20s;
        while (total.records < records && Clock::now() < deadline) {
            auto stats = relay_->poll_once(100ms);
            if (!stats) {
                if (errors) {
                    errors->push_back(stats.error());
                }
                // An error reports nothing consumed; count what this batch held via a retry.
                if (!errors) {
                    ADD_FAILURE() << stats.error().message();
                }
                return total;
            }
            total.records += stats->records;
            total.delivered += stats->delivered;
            total.duplicates += stats->duplicates;
            total.unroutable += stats->unroutable;
            total.dead += stats->dead;
            total.committed += stats->committed;
        }
        EXPECT_GE(total.records, records) << "the relay did not see every record in time";
        return total;
    }

    // Everything on `topic` so far (the relay waited for the broker's acknowledgements, so the
    // high watermarks include all it produced), read without joining a group.
    std::vector<Record> read(const std::string& topic) {
        // TopicReader needs a group.id for its assignment (it never joins or commits).
        KafkaConfig c = config();
        c.properties["group.id"] = "reader." + topic;
        TopicReader reader(c, {topic}, ReadStart{});
        std::vector<Record> out;
        const auto deadline = Clock::now() + 20s;
        auto done = [&] {
            return std::all_of(reader.partitions().begin(), reader.partitions().end(),
                               [](const PartitionProgress& p) { return p.done(); });
        };
        while (!done() && Clock::now() < deadline) {
            auto batch = reader.poll(100, 100ms);
            out.insert(out.end(), batch.begin(), batch.end());
        }
        EXPECT_TRUE(done()) << topic << " not read to its end in time";
        return out;
    }

    std::vector<OutboundMessage> outbound() {
        std::vector<OutboundMessage> out;
        for (const Record& r : read(outbound_)) {
            auto m = parse_outbound(r.value);
            EXPECT_TRUE(m) << r.value;
            if (m) {
                out.push_back(*m);
            }
        }
        return out;
    }

    std::vector<DialogueEvent> events() {
        std::vector<DialogueEvent> out;
        for (const Record& r : read(events_)) {
            auto e = parse_dialogue_event(r.value);
            EXPECT_TRUE(e) << r.value;
            if (e) {
                out.push_back(*e);
            }
        }
        return out;
    }

    static inline std::unique_ptr<MockCluster> cluster_;
    std::unique_ptr<SessionStore> memory_;
    SwitchableStore store_;
    Turns turns_;
    std::string crm_, outbound_, events_, dlq_;
    std::unique_ptr<KafkaProducer> producer_;
    std::unique_ptr<KafkaConsumer> relay_consumer_;
    NotificationOptions options_;
    std::unique_ptr<NotificationRelay> relay_;
};

const std::string kBilingual =
    R"({"v":1,"id":"n1","customer":"cust-7","text":{"en":"Your card has shipped.",)"
    R"("zh-CN":"您的卡已寄出。"},"quick_replies":[{"title":"Track it","payload":"/track"}]})";

TEST_F(NotificationsTest, NotificationReachesTheLastChannelInItsLocale) {
    turns_.say("webchat:t1", "你好", "gateway-2", "cust-7");
    send(kBilingual);
    auto stats = relay(1);
    EXPECT_EQ(stats.delivered, 1u);
    EXPECT_EQ(stats.committed, 1u);

    auto sent = outbound();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].conversation, "webchat:t1");
    EXPECT_EQ(sent[0].channel, "webchat");
    EXPECT_EQ(sent[0].recipient, "visitor-webchat:t1");
    EXPECT_EQ(sent[0].reply_to, "gateway-2");
    EXPECT_EQ(sent[0].text, "您的卡已寄出。");
    EXPECT_EQ(sent[0].locale, "zh-CN");
    EXPECT_EQ(sent[0].in_reply_to, "crm:n1");
    EXPECT_EQ(sent[0].sequence, 0u);
    ASSERT_EQ(sent[0].quick_replies.size(), 1u);
    EXPECT_EQ(sent[0].quick_replies[0].payload, "/track");

    // The customer then writes in English through another gateway: the next one follows.
    turns_.say("webchat:t2", "hello", "gateway-1", "cust-7");
    send(
        R"({"v":1,"id":"n2","customer":"cust-7","text":{"en":"Payment due.","zh-CN":"还款到期。"}})");
    relay(1);
    sent = outbound();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].conversation, "webchat:t2");
    EXPECT_EQ(sent[1].reply_to, "gateway-1");
    EXPECT_EQ(sent[1].text, "Payment due.");
    EXPECT_EQ(sent[1].locale, "en");

    auto audit = events();
    ASSERT_EQ(audit.size(), 2u);
    EXPECT_EQ(audit[0].type, DialogueEventType::bot_uttered);
    EXPECT_EQ(audit[0].in_reply_to, "crm:n1");
}

TEST_F(NotificationsTest, AnonymousConversationIsAddressedByItsId) {
    turns_.say("webchat:anon", "hello", "gateway-1");
    send(R"({"v":1,"id":"a1","conversation":"webchat:anon","text":"Branch closes early today."})");
    EXPECT_EQ(relay(1).delivered, 1u);
    auto sent = outbound();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].text, "Branch closes early today.");
    EXPECT_EQ(sent[0].locale, "en");
}

TEST_F(NotificationsTest, UnknownCustomerGetsAnErrorEventAndIsCommitted) {
    send(R"({"v":1,"id":"u1","customer":"nobody","text":"Hello?"})");
    auto stats = relay(1);
    EXPECT_EQ(stats.unroutable, 1u);
    EXPECT_EQ(stats.committed, 1u);

    auto audit = events();
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].type, DialogueEventType::error);
    EXPECT_EQ(audit[0].in_reply_to, "crm:u1");
    EXPECT_EQ(audit[0].data.at("reason").as_string(), "no channel known for customer");
    EXPECT_EQ(audit[0].data.at("notification").as_string(), "u1");
    EXPECT_TRUE(read(outbound_).empty());
}

TEST_F(NotificationsTest, MalformedRecordsGoToTheDlqAndTheNextIsDelivered) {
    turns_.say("webchat:d1", "hello", "gateway-1", "cust-d");
    send("{not json");
    send(R"({"v":1,"id":"d0","text":"no customer"})");
    send(R"({"v":2,"id":"d0","customer":"cust-d","text":"future"})");
    send(R"({"v":1,"id":"d1","customer":"cust-d","text":"Statement ready."})");
    auto stats = relay(4);
    EXPECT_EQ(stats.dead, 3u);
    EXPECT_EQ(stats.delivered, 1u);
    EXPECT_EQ(stats.committed, 4u);

    auto dead = read(dlq_);
    ASSERT_EQ(dead.size(), 3u);
    json::object first = json::parse(dead[0].value).as_object();
    EXPECT_NE(std::string(first.at("reason").as_string()).find("not a JSON object"),
              std::string::npos);
    EXPECT_EQ(first.at("value_base64").as_string(), "e25vdCBqc29u");  // "{not json"
    EXPECT_EQ(first.at("source").at("topic").as_string(), crm_);
    EXPECT_NE(dead[1].header("reason").find("customer"), std::string::npos);
    EXPECT_NE(dead[2].header("reason").find("\"v\""), std::string::npos);
    auto sent = outbound();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].text, "Statement ready.");
}

TEST_F(NotificationsTest, RedeliveredNotificationIsDeliveredOnce) {
    turns_.say("webchat:r1", "hello", "gateway-1", "cust-r");
    const std::string n = R"({"v":1,"id":"r1","customer":"cust-r","text":"Once only."})";
    send(n);
    EXPECT_EQ(relay(1).delivered, 1u);
    ASSERT_TRUE(memory_->get_value("crm:r1") && *memory_->get_value("crm:r1"));

    // The same record again (the CRM resent it, or a commit was lost): skipped.
    send(n);
    auto again = relay(1);
    EXPECT_EQ(again.delivered, 0u);
    EXPECT_EQ(again.duplicates, 1u);
    EXPECT_EQ(again.committed, 1u);
    EXPECT_EQ(outbound().size(), 1u);
}

TEST_F(NotificationsTest, StoreDownLeavesTheRecordUncommittedAndItIsDeliveredLater) {
    turns_.say("webchat:o1", "hello", "gateway-1", "cust-o");
    store_.down = true;
    send(R"({"v":1,"id":"o1","customer":"cust-o","text":"After the outage."})");
    std::vector<boost::system::error_code> errors;
    relay(1, &errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], make_error_code(Errc::store_unavailable));
    EXPECT_TRUE(read(outbound_).empty());

    // The store is back: the rewound record is read again and delivered once.
    store_.down = false;
    auto stats = relay(1);
    EXPECT_EQ(stats.delivered, 1u);
    EXPECT_EQ(stats.committed, 1u);
    auto sent = outbound();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].text, "After the outage.");
}

TEST_F(NotificationsTest, RelayThreadDeliversAndStopsOnRequest) {
    turns_.say("webchat:th", "hello", "gateway-1", "cust-th");
    send(R"({"v":1,"id":"th1","customer":"cust-th","text":"From the loop."})");
    relay_->start();
    std::vector<OutboundMessage> sent;
    const auto deadline = Clock::now() + 20s;
    while (sent.empty() && Clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
        sent = outbound();
    }
    relay_->stop();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].in_reply_to, "crm:th1");
}

// The same path with the routes and delivered marks in a real Redis that goes away for a while.
TEST_F(NotificationsTest, RedisOutageDelaysTheNotificationAndItIsDeliveredOnceAfter) {
    testing::RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    auto store = make_redis_session_store(redis.url(), 300ms);
    Turns turns(*store);
    turns.say("webchat:x1", "你好", "gateway-5", "cust-x");
    NotificationRelay relay(*relay_consumer_, *producer_, *store, options_);
    relay_.reset();

    redis.kill();
    send(R"({"v":1,"id":"x1","customer":"cust-x","text":{"en":"Hi","zh-CN":"您好"}})");
    auto deadline = Clock::now() + 20s;
    Result<NotificationStats> first = NotificationStats{};
    while (Clock::now() < deadline) {
        first = relay.poll_once(100ms);
        if (!first) {
            break;
        }
    }
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error(), make_error_code(Errc::store_unavailable));

    // Redis is back (empty, persistence is off): the customer writes again, and the retried
    // notification follows that route once.
    redis.start();
    turns.say("webchat:x1", "你好", "gateway-5", "cust-x");
    NotificationStats delivered;
    deadline = Clock::now() + 20s;
    while (delivered.delivered == 0 && Clock::now() < deadline) {
        auto stats = relay.poll_once(100ms);
        if (stats) {
            delivered.delivered += stats->delivered;
        }
    }
    EXPECT_EQ(delivered.delivered, 1u);
    auto sent = outbound();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].reply_to, "gateway-5");
    EXPECT_EQ(sent[0].text, "您好");
    auto seen = store->get_value("crm:x1");
    ASSERT_TRUE(seen);
    EXPECT_TRUE(*seen);
}

}  // namespace
}  // namespace teller::core
