// The handoff relay end to end: conversations handed off by engine turns, then agents'
// commands (teller.agent) through librdkafka's mock cluster, with the memory store and a real
// redis-server.
#include "teller/core/handoff_relay.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
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

// Skills (cards, crm) and one engine over `store` with fake Kafka: the customer side.
class Customer {
public:
    explicit Customer(SessionStore& store)
        : backend_(make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        for (const char* skill : {TELLER_CARDS_SKILL, TELLER_CRM_SKILL}) {
            EXPECT_TRUE(host_.load(skill));
        }
        EngineOptions options;
        options.clock = [] { return kNow; };
        options.store_backoff = 1ms;
        engine_ = std::make_unique<Engine>(consumer_, producer_, store, nlu_, host_, options);
        dialogue_ = std::make_unique<DialogueManager>(host_);
    }

    void say(const std::string& conversation, const std::string& text) {
        InboundMessage m;
        m.id = "m" + std::to_string(++next_id_);
        m.channel = "webchat";
        m.conversation = conversation;
        m.sender = "visitor-" + conversation;
        m.text = text;
        m.reply_to = "gateway-7";
        consumer_.push(Record{"", conversation, to_json(m), {}});
        auto stats = engine_->poll_once(0ms);
        ASSERT_TRUE(stats) << stats.error().message();
    }

    const DialogueManager& dialogue() const { return *dialogue_; }

private:
    std::unique_ptr<Backend> backend_;
    SkillHost host_;
    testing::KeywordClassifier nlu_;
    testing::FakeConsumer consumer_;
    testing::FakeProducer producer_;
    std::unique_ptr<Engine> engine_;
    std::unique_ptr<DialogueManager> dialogue_;
    int next_id_ = 0;
};

std::string command(std::string_view type, const std::string& id, const std::string& conversation,
                    const std::string& agent, const std::string& text = {}) {
    json::object o{
        {"v", 1}, {"type", type}, {"id", id}, {"conversation", conversation}, {"agent", agent}};
    if (!text.empty()) {
        o["text"] = text;
    }
    return json::serialize(o);
}

// One mock cluster for the suite; every test uses topics and groups of its own.
class HandoffRelayTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { cluster_ = std::make_unique<MockCluster>(1); }
    static void TearDownTestSuite() { cluster_.reset(); }

    HandoffRelayTest() : memory_(make_memory_session_store()) {}

    // Topics, producer and relay over `store`.
    void open(SessionStore& store) {
        const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        agent_ = "agent." + name;
        outbound_ = "outbound." + name;
        events_ = "events." + name;
        handoff_ = "handoff." + name;
        dlq_ = "dlq." + name;
        for (const std::string& topic : {agent_, outbound_, events_, handoff_, dlq_}) {
            cluster_->create_topic(topic, 1);
        }
        producer_ = std::make_unique<KafkaProducer>(config());
        KafkaConfig c = config();
        c.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "200"}};
        consumer_ = std::make_unique<KafkaConsumer>(c, "handoff." + name, std::vector{agent_});
        HandoffRelayOptions options;
        options.outbound_topic = outbound_;
        options.events_topic = events_;
        options.handoff_topic = handoff_;
        options.dlq_topic = dlq_;
        options.ack_timeout = 5s;
        options.clock = [] { return kNow; };
        customer_ = std::make_unique<Customer>(store);
        relay_ = std::make_unique<HandoffRelay>(*consumer_, *producer_, store,
                                                customer_->dialogue(), options);
    }

    static KafkaConfig config() {
        KafkaConfig c;
        c.brokers = cluster_->bootstrap_servers();
        c.close_timeout = 2s;
        return c;
    }

    void send(const std::string& value, const std::string& key = "webchat:c1") {
        ASSERT_FALSE(producer_->produce(Record{agent_, key, value, {}}));
        ASSERT_FALSE(producer_->flush(5s));
    }

    // Polls the relay until `records` records were consumed, summing stats.
    HandoffRelayStats relay(std::size_t records) {
        HandoffRelayStats total;
        const auto deadline = Clock::now() + 20s;
        while (total.records < records && Clock::now() < deadline) {
            auto stats = relay_->poll_once(100ms);
            if (!stats) {
                ADD_FAILURE() << stats.error().message();
                return total;
            }
            total.records += stats->records;
            total.applied += stats->applied;
            total.duplicates += stats->duplicates;
            total.dead += stats->dead;
            total.committed += stats->committed;
        }
        EXPECT_GE(total.records, records) << "the relay did not see every record in time";
        return total;
    }

    std::vector<Record> read(const std::string& topic) {
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
            out.push_back(*parse_outbound(r.value));
        }
        return out;
    }

    std::vector<HandoffEvent> desk() {
        std::vector<HandoffEvent> out;
        for (const Record& r : read(handoff_)) {
            auto e = parse_handoff_event(r.value);
            EXPECT_TRUE(e) << r.value;
            EXPECT_EQ(r.key, e->conversation);
            out.push_back(*e);
        }
        return out;
    }

    std::vector<DialogueEvent> events(DialogueEventType type) {
        std::vector<DialogueEvent> out;
        for (const Record& r : read(events_)) {
            auto e = parse_dialogue_event(r.value);
            if (e && e->type == type) {
                out.push_back(*e);
            }
        }
        return out;
    }

    // The whole handoff on `store`: queue, join, message, close.
    void join_write_close(SessionStore& store) {
        open(store);
        customer_->say("webchat:c1", "agent");
        send(command("join", "j1", "webchat:c1", "Alice"));
        send(command("message", "w1", "webchat:c1", "Alice", "Hello, I'm Alice."));
        send(command("close", "x1", "webchat:c1", "Alice"));
        auto stats = relay(3);
        EXPECT_EQ(stats.applied, 3u);
        EXPECT_EQ(stats.committed, 3u);

        auto sent = outbound();
        ASSERT_EQ(sent.size(), 4u);
        EXPECT_EQ(sent[0].text,
                  "Alice has joined the chat. (Type \"end chat\" to go back to the bot.)");
        EXPECT_EQ(sent[1].text, "Hello, I'm Alice.");
        EXPECT_EQ(sent[1].in_reply_to, "agent:w1");
        EXPECT_EQ(sent[1].reply_to, "");  // web chat: the gateway holding the socket
        EXPECT_EQ(sent[1].recipient, "visitor-webchat:c1");
        EXPECT_NE(sent[2].text.find("left the chat"), std::string::npos);
        EXPECT_NE(sent[3].text.find("How would you rate"), std::string::npos);

        auto records = desk();
        ASSERT_EQ(records.size(), 3u);
        EXPECT_EQ(records[0].type, HandoffEventType::assigned);
        EXPECT_EQ(records[1].type, HandoffEventType::agent_message);
        EXPECT_EQ(records[2].type, HandoffEventType::closed);
        EXPECT_EQ(records[2].reason, "agent");
        auto uttered = events(DialogueEventType::bot_uttered);
        ASSERT_GE(uttered.size(), 2u);
        EXPECT_EQ(uttered[1].data.at("from").as_string(), "agent");

        auto session = json::parse((*store.load("webchat:c1"))->data).as_object();
        EXPECT_FALSE(session.contains("handoff"));
        EXPECT_EQ(session.at("skill").as_string(), "crm");
    }

    static inline std::unique_ptr<MockCluster> cluster_;
    std::unique_ptr<SessionStore> memory_;
    std::unique_ptr<Customer> customer_;
    std::string agent_, outbound_, events_, handoff_, dlq_;
    std::unique_ptr<KafkaProducer> producer_;
    std::unique_ptr<KafkaConsumer> consumer_;
    std::unique_ptr<HandoffRelay> relay_;
};

TEST_F(HandoffRelayTest, JoinMessageAndCloseReachTheCustomerWithTheMemoryStore) {
    join_write_close(*memory_);
}

TEST_F(HandoffRelayTest, JoinMessageAndCloseReachTheCustomerWithRedis) {
    testing::RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    auto store = make_redis_session_store(redis.url(), 1000ms);
    join_write_close(*store);
}

TEST_F(HandoffRelayTest, DuplicateCommandIsActedOnOnce) {
    open(*memory_);
    customer_->say("webchat:c1", "agent");
    send(command("join", "j1", "webchat:c1", "Alice"));
    send(command("message", "w1", "webchat:c1", "Alice", "Hi"));
    send(command("message", "w1", "webchat:c1", "Alice", "Hi"));
    auto stats = relay(3);
    EXPECT_EQ(stats.applied, 2u);
    EXPECT_EQ(stats.duplicates, 1u);
    EXPECT_EQ(stats.committed, 3u);
    EXPECT_EQ(outbound().size(), 2u);
}

TEST_F(HandoffRelayTest, MalformedCommandsGoToTheDlqAndTheNextIsApplied) {
    open(*memory_);
    customer_->say("webchat:c1", "agent");
    send("not json");
    send(R"({"v":1,"type":"message","id":"w0","conversation":"webchat:c1","agent":"A"})");
    send(command("join", "j1", "webchat:c1", "Alice"));
    auto stats = relay(3);
    EXPECT_EQ(stats.dead, 2u);
    EXPECT_EQ(stats.applied, 1u);
    EXPECT_EQ(stats.committed, 3u);
    auto dead = read(dlq_);
    ASSERT_EQ(dead.size(), 2u);
    auto reason = json::parse(dead[0].value).as_object();
    EXPECT_NE(std::string(reason.at("reason").as_string()).find("invalid agent command"),
              std::string::npos);
    EXPECT_EQ(outbound().size(), 1u);
}

TEST_F(HandoffRelayTest, WrongAgentsMessageIsRefusedAndSecondJoinCorrected) {
    open(*memory_);
    customer_->say("webchat:c1", "agent");
    send(command("join", "j1", "webchat:c1", "Alice"));
    send(command("join", "j2", "webchat:c1", "Bob"));
    send(command("message", "w1", "webchat:c1", "Bob", "I'm Bob"));
    auto stats = relay(3);
    EXPECT_EQ(stats.committed, 3u);

    auto sent = outbound();
    ASSERT_EQ(sent.size(), 1u);  // Alice's joining only
    auto records = desk();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1].type, HandoffEventType::assigned);
    EXPECT_EQ(records[1].agent, "Alice");
    auto errors = events(DialogueEventType::error);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[1].data.at("agent").as_string(), "Bob");
}

TEST_F(HandoffRelayTest, CustomerMessagesWhileHandedOffReachTheDeskNotTheBot) {
    open(*memory_);
    customer_->say("webchat:c1", "agent");
    send(command("join", "j1", "webchat:c1", "Alice"));
    relay(1);
    customer_->say("webchat:c1", "I lost my card");
    auto session = json::parse((*memory_->load("webchat:c1"))->data).as_object();
    EXPECT_EQ(session.at("handoff").at("state").as_string(), "active");
    EXPECT_TRUE(session.at("skill").is_null());
}

TEST(HandoffRelayUnitTest, UnacknowledgedOutputIsRewoundAndSentAgainNotActedOnTwice) {
    auto store = make_memory_session_store();
    Customer customer(*store);
    customer.say("webchat:c1", "agent");
    testing::FakeConsumer consumer;
    testing::FakeProducer producer;
    HandoffRelayOptions options;
    options.ack_timeout = 50ms;
    HandoffRelay relay(consumer, producer, *store, customer.dialogue(), options);
    consumer.push(Record{"", "webchat:c1", command("join", "j1", "webchat:c1", "Alice"), {}});

    producer.hold_acks = true;
    auto stats = relay.poll_once(0ms);
    ASSERT_FALSE(stats);
    EXPECT_EQ(stats.error(), make_error_code(Errc::timeout));
    EXPECT_EQ(consumer.commits, 0);
    EXPECT_EQ(consumer.rewinds, 1);

    producer.hold_acks = false;
    producer.release();
    auto again = relay.poll_once(0ms);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->replayed, 1u);
    EXPECT_EQ(consumer.committed_offset, 1);
    std::vector<OutboundMessage> sent;
    std::vector<HandoffEvent> records;
    for (const Record& r : producer.records) {
        if (r.topic == kOutboundTopic) {
            sent.push_back(*parse_outbound(r.value));
        } else if (r.topic == kHandoffTopic) {
            records.push_back(*parse_handoff_event(r.value));
        }
    }
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].text, sent[0].text);
    EXPECT_EQ(sent[1].sequence, sent[0].sequence);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1].id, records[0].id);
    EXPECT_EQ(records[1].type, HandoffEventType::assigned);
}

}  // namespace
}  // namespace teller::core
