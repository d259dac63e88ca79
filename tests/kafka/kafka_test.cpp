// Integration tests of the Kafka bus: producer, group consumer and admin against MockCluster.
#include "teller/core/kafka.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "teller/core/log.hpp"

namespace teller::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Collects delivery outcomes from the producer's thread.
class DeliveryLog {
public:
    DeliveryHandler handler() {
        return [this](const boost::system::error_code& ec) {
            std::lock_guard lock(mutex_);
            results_.push_back(ec);
        };
    }

    std::vector<boost::system::error_code> results() const {
        std::lock_guard lock(mutex_);
        return results_;
    }

    // Waits until `count` outcomes are in or `limit` passes.
    bool wait_for(std::size_t count, std::chrono::milliseconds limit) const {
        const auto deadline = Clock::now() + limit;
        while (Clock::now() < deadline) {
            if (results().size() >= count) {
                return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return results().size() >= count;
    }

private:
    mutable std::mutex mutex_;
    std::vector<boost::system::error_code> results_;
};

// Takes a mock broker down for the life of the guard, so a failing test cannot leave it down.
class BrokerOutage {
public:
    BrokerOutage(MockCluster& cluster, int broker) : mock_(cluster), broker_(broker) {
        mock_.set_broker_down(broker_);
    }
    ~BrokerOutage() { end(); }
    BrokerOutage(const BrokerOutage&) = delete;
    BrokerOutage& operator=(const BrokerOutage&) = delete;

    void end() {
        if (down_) {
            mock_.set_broker_up(broker_);
            down_ = false;
        }
    }

private:
    MockCluster& mock_;
    int broker_;
    bool down_ = true;
};

// One mock cluster for the suite (tearing one down can take a second); every test uses its own
// topics and groups.
class KafkaTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { cluster_ = std::make_unique<MockCluster>(1); }
    static void TearDownTestSuite() { cluster_.reset(); }

    KafkaConfig config(std::map<std::string, std::string> properties = {}) const {
        KafkaConfig c;
        c.brokers = cluster_->bootstrap_servers();
        c.properties = std::move(properties);
        c.close_timeout = 2s;
        // librdkafka's own tracing, e.g. TELLER_TEST_KAFKA_DEBUG=eos,msg,cgrp, when diagnosing.
        if (const char* debug = std::getenv("TELLER_TEST_KAFKA_DEBUG")) {
            c.properties.emplace("debug", debug);
            set_log_level(LogLevel::debug);
        }
        return c;
    }

    // Consumer settings for quick group changes: the mock completes a rebalance that a member
    // left after session.timeout.ms - 1 s, or as soon as every remaining member has rejoined,
    // which frequent heartbeats make quick.
    KafkaConfig consumer_config(std::string session_timeout_ms = "3000") const {
        return config({{"session.timeout.ms", std::move(session_timeout_ms)},
                       {"heartbeat.interval.ms", "200"}});
    }

    static Record make_record(std::string topic, std::string key, std::string value) {
        Record r;
        r.topic = std::move(topic);
        r.key = std::move(key);
        r.value = std::move(value);
        return r;
    }

    // Polls until `count` records arrived or `limit` passed, committing each batch if asked.
    static std::vector<Record> consume(KafkaConsumer& consumer, std::size_t count,
                                       std::chrono::milliseconds limit, bool commit = false) {
        std::vector<Record> out;
        const auto deadline = Clock::now() + limit;
        while (out.size() < count && Clock::now() < deadline) {
            std::vector<Record> batch = consumer.poll(count - out.size(), 100ms);
            if (commit) {
                EXPECT_FALSE(consumer.commit(batch));
            }
            out.insert(out.end(), batch.begin(), batch.end());
        }
        return out;
    }

    static inline std::unique_ptr<MockCluster> cluster_;
};

TEST_F(KafkaTest, RoundTripKeepsKeyValueHeadersAndTimestamp) {
    cluster_->create_topic("round.trip", 1);
    KafkaProducer producer(config());
    Record sent = make_record("round.trip", "conversation-7", std::string("caf\xC3\xA9\0bin", 8));
    sent.headers = {{"trace_id", "abc123"}, {"schema", "inbound.v1"}, {"empty", ""}};
    sent.timestamp_ms = 1'700'000'000'123;

    DeliveryLog deliveries;
    ASSERT_FALSE(producer.produce(sent, deliveries.handler()));
    ASSERT_FALSE(producer.flush(5s));
    EXPECT_EQ(producer.in_flight(), 0u);
    ASSERT_EQ(deliveries.results().size(), 1u);
    EXPECT_FALSE(deliveries.results()[0]);

    KafkaConsumer consumer(consumer_config(), "round-trip", {"round.trip"});
    std::vector<Record> got = consume(consumer, 1, 10s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].topic, "round.trip");
    EXPECT_EQ(got[0].key, sent.key);
    EXPECT_EQ(got[0].value, sent.value);
    EXPECT_EQ(got[0].timestamp_ms, sent.timestamp_ms);
    EXPECT_EQ(got[0].partition, 0);
    EXPECT_EQ(got[0].offset, 0);
    ASSERT_EQ(got[0].headers.size(), 3u);
    EXPECT_EQ(got[0].header("trace_id"), "abc123");
    EXPECT_EQ(got[0].header("schema"), "inbound.v1");
    EXPECT_EQ(got[0].headers[2].name, "empty");
    EXPECT_EQ(got[0].headers[2].value, "");
}

TEST_F(KafkaTest, RecordsOfOneKeyStayInOrderOnOnePartition) {
    cluster_->create_topic("ordered", 4);
    KafkaProducer producer(config());
    constexpr int kCount = 300;
    for (int i = 0; i < kCount; ++i) {
        ASSERT_FALSE(producer.produce(make_record("ordered", "same-key", std::to_string(i)), {}));
        // Another key interleaved, to show the partitioner separates them.
        ASSERT_FALSE(producer.produce(make_record("ordered", "other", std::to_string(i)), {}));
    }
    ASSERT_FALSE(producer.flush(10s));

    KafkaConsumer consumer(consumer_config(), "ordered", {"ordered"});
    std::vector<Record> got = consume(consumer, 2 * kCount, 15s);
    ASSERT_EQ(got.size(), 2u * kCount);

    int expected = 0;
    std::set<std::int32_t> partitions;
    for (const Record& r : got) {
        if (r.key == "same-key") {
            partitions.insert(r.partition);
            EXPECT_EQ(r.value, std::to_string(expected));
            ++expected;
        }
    }
    EXPECT_EQ(expected, kCount);
    EXPECT_EQ(partitions.size(), 1u);
}

TEST_F(KafkaTest, NewMemberResumesAfterTheCommittedOffset) {
    cluster_->create_topic("resume", 1);
    KafkaProducer producer(config());
    for (int i = 0; i < 10; ++i) {
        ASSERT_FALSE(producer.produce(make_record("resume", "k", std::to_string(i)), {}));
    }
    ASSERT_FALSE(producer.flush(5s));

    // The first member reads everything but commits only the first six.
    {
        KafkaConsumer first(consumer_config(), "resume-group", {"resume"});
        std::vector<Record> got = consume(first, 10, 10s);
        ASSERT_EQ(got.size(), 10u);
        std::vector<Record> handled(got.begin(), got.begin() + 6);
        ASSERT_FALSE(first.commit(handled));
    }

    KafkaConsumer second(consumer_config(), "resume-group", {"resume"});
    std::vector<Record> again = consume(second, 4, 10s);
    ASSERT_EQ(again.size(), 4u);
    for (std::size_t i = 0; i < again.size(); ++i) {
        EXPECT_EQ(again[i].offset, static_cast<std::int64_t>(6 + i));
        EXPECT_EQ(again[i].value, std::to_string(6 + i));
    }
    EXPECT_TRUE(second.poll(10, 300ms).empty());
}

TEST_F(KafkaTest, RewindRereadsRecordsThatWereNotProcessed) {
    cluster_->create_topic("rewind", 1);
    KafkaProducer producer(config());
    for (int i = 0; i < 5; ++i) {
        ASSERT_FALSE(producer.produce(make_record("rewind", "k", std::to_string(i)), {}));
    }
    ASSERT_FALSE(producer.flush(5s));

    KafkaConsumer consumer(consumer_config(), "rewind-group", {"rewind"});
    std::vector<Record> got = consume(consumer, 5, 10s);
    ASSERT_EQ(got.size(), 5u);

    // Records 2..4 failed: rewinding makes the next polls return exactly them, in order.
    ASSERT_FALSE(consumer.rewind({got[3], got[2], got[4]}));
    std::vector<Record> again = consume(consumer, 3, 10s);
    ASSERT_EQ(again.size(), 3u);
    for (std::size_t i = 0; i < again.size(); ++i) {
        EXPECT_EQ(again[i].offset, static_cast<std::int64_t>(2 + i));
    }
    EXPECT_TRUE(consumer.poll(10, 300ms).empty());
}

TEST_F(KafkaTest, TwoMembersSplitPartitionsAndReadEveryRecordOnce) {
    cluster_->create_topic("split", 4);
    // The mock completes the rebalance after a member leaves in session.timeout.ms - 1 s (2 s
    // here); a member that vanished without leaving is noticed only after the full 3 s session
    // timeout, and then the same 2 s rebalance follows (about 4.9 s). Under 4.5 s is a leave.
    auto a = std::make_unique<KafkaConsumer>(consumer_config(), "split-group",
                                             std::vector<std::string>{"split"});
    KafkaConsumer b(consumer_config(), "split-group", {"split"});

    // Wait until the group has settled: both members hold partitions, all four between them.
    const auto deadline = Clock::now() + 15s;
    bool settled = false;
    while (!settled && Clock::now() < deadline) {
        EXPECT_TRUE(a->poll(10, 50ms).empty());
        EXPECT_TRUE(b.poll(10, 50ms).empty());
        std::vector<TopicPartition> pa = a->assignment();
        std::vector<TopicPartition> pb = b.assignment();
        std::set<TopicPartition> all(pa.begin(), pa.end());
        all.insert(pb.begin(), pb.end());
        settled = !pa.empty() && !pb.empty() && all.size() == 4 && pa.size() + pb.size() == 4;
    }
    ASSERT_TRUE(settled);

    KafkaProducer producer(config());
    constexpr int kCount = 400;
    for (int i = 0; i < kCount; ++i) {
        ASSERT_FALSE(producer.produce(
            make_record("split", "conversation-" + std::to_string(i), std::to_string(i)), {}));
    }
    ASSERT_FALSE(producer.flush(10s));

    // Both members read and commit each batch.
    std::multiset<std::string> seen;
    std::size_t from_a = 0;
    std::size_t from_b = 0;
    const auto read_deadline = Clock::now() + 15s;
    while (seen.size() < kCount && Clock::now() < read_deadline) {
        for (KafkaConsumer* c : {a.get(), &b}) {
            std::vector<Record> batch = c->poll(100, 20ms);
            ASSERT_FALSE(c->commit(batch));
            for (const Record& r : batch) {
                seen.insert(r.value);
            }
            (c == a.get() ? from_a : from_b) += batch.size();
        }
    }
    EXPECT_TRUE(a->poll(10, 200ms).empty());
    EXPECT_TRUE(b.poll(10, 200ms).empty());
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount));
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(),
              static_cast<std::size_t>(kCount));
    EXPECT_GT(from_a, 0u);
    EXPECT_GT(from_b, 0u);

    // The first member leaves; the other takes all four partitions sooner than an eviction
    // could give them, and reads only what is new (the leaver's reads were committed).
    a.reset();
    const auto left_at = Clock::now();
    while (b.assignment().size() < 4 && Clock::now() - left_at < 5s) {
        EXPECT_TRUE(b.poll(10, 50ms).empty());
    }
    EXPECT_EQ(b.assignment().size(), 4u);
    EXPECT_LT(Clock::now() - left_at, 4500ms);

    for (int i = 0; i < 40; ++i) {
        ASSERT_FALSE(producer.produce(
            make_record("split", "conversation-" + std::to_string(i), "late-" + std::to_string(i)),
            {}));
    }
    ASSERT_FALSE(producer.flush(10s));
    std::vector<Record> late = consume(b, 40, 10s, true);
    std::set<std::string> late_values;
    for (const Record& r : late) {
        late_values.insert(r.value);
    }
    EXPECT_EQ(late.size(), 40u);
    EXPECT_EQ(late_values.size(), 40u);
    EXPECT_EQ(late_values.count("late-0"), 1u);
    EXPECT_TRUE(b.poll(10, 200ms).empty());
}

TEST_F(KafkaTest, DeliveryHandlerReportsFailureWhileBrokerIsDown) {
    cluster_->create_topic("down", 1);
    KafkaConfig c = config({{"message.timeout.ms", "1000"}});
    c.close_timeout = 500ms;
    KafkaProducer producer(c);

    // A first record succeeds, so the failure below is the outage and nothing else. The first
    // record to a topic waits up to a second for its metadata, as long as the whole timeout, so
    // a warm-up attempt may expire; a few attempts settle it.
    bool delivered = false;
    for (int attempt = 0; attempt < 5 && !delivered; ++attempt) {
        DeliveryLog warm_up;
        ASSERT_FALSE(producer.produce(make_record("down", "k", "before"), warm_up.handler()));
        ASSERT_FALSE(producer.flush(5s));
        delivered = !warm_up.results().at(0);
    }
    ASSERT_TRUE(delivered);

    BrokerOutage outage(*cluster_, 1);
    DeliveryLog deliveries;
    ASSERT_FALSE(producer.produce(make_record("down", "k", "lost"), deliveries.handler()));
    EXPECT_EQ(producer.in_flight(), 1u);
    ASSERT_TRUE(deliveries.wait_for(1, 10s));
    EXPECT_EQ(deliveries.results()[0], make_error_code(Errc::delivery_failed));
    EXPECT_EQ(producer.in_flight(), 0u);
}

TEST_F(KafkaTest, RecordsProducedDuringAnOutageArriveWhenTheBrokerReturns) {
    cluster_->create_topic("outage", 2);
    KafkaProducer producer(config({{"message.timeout.ms", "15000"}}));
    ASSERT_FALSE(producer.produce(make_record("outage", "k", "warm-up"), {}));
    ASSERT_FALSE(producer.flush(5s));

    BrokerOutage outage(*cluster_, 1);
    DeliveryLog deliveries;
    constexpr int kCount = 50;
    for (int i = 0; i < kCount; ++i) {
        ASSERT_FALSE(producer.produce(
            make_record("outage", "key-" + std::to_string(i % 5), std::to_string(i)),
            deliveries.handler()));
    }
    EXPECT_EQ(producer.flush(500ms), make_error_code(Errc::timeout));
    EXPECT_EQ(producer.in_flight(), static_cast<std::size_t>(kCount));
    EXPECT_TRUE(deliveries.results().empty());

    outage.end();
    ASSERT_FALSE(producer.flush(12s));
    std::vector<boost::system::error_code> results = deliveries.results();
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kCount));
    for (const auto& ec : results) {
        EXPECT_FALSE(ec) << ec.message();
    }
}

TEST_F(KafkaTest, FullLocalQueueIsAnErrorNotABlock) {
    cluster_->create_topic("full", 1);
    KafkaConfig c = config({{"queue.buffering.max.messages", "5"}});
    c.close_timeout = 100ms;
    KafkaProducer producer(c);
    BrokerOutage outage(*cluster_, 1);

    const auto started = Clock::now();
    boost::system::error_code last;
    int queued = 0;
    for (int i = 0; i < 20 && !last; ++i) {
        last = producer.produce(make_record("full", "k", "v"), {});
        queued += last ? 0 : 1;
    }
    EXPECT_EQ(last, make_error_code(Errc::broker_unavailable));
    EXPECT_EQ(queued, 5);
    EXPECT_EQ(producer.in_flight(), 5u);
    EXPECT_LT(Clock::now() - started, 1s);
}

TEST_F(KafkaTest, OversizedRecordIsRejectedAtOnce) {
    cluster_->create_topic("oversized", 1);
    KafkaProducer producer(config({{"message.max.bytes", "1000"}}));
    EXPECT_EQ(producer.produce(make_record("oversized", "k", std::string(4000, 'x')), {}),
              make_error_code(Errc::payload_too_large));
    EXPECT_EQ(producer.in_flight(), 0u);
    EXPECT_FALSE(producer.flush(0ms));
}

TEST_F(KafkaTest, CreateTopicsIsIdempotent) {
    KafkaConfig c = config();
    ASSERT_FALSE(create_topics(c, {"admin.a", "admin.b"}, 3, 5s));
    EXPECT_FALSE(create_topics(c, {"admin.a", "admin.b"}, 3, 5s));
    EXPECT_FALSE(create_topics(c, {"admin.a", "admin.c"}, 3, 5s));

    // Partition 2 exists on every created topic: explicit delivery to it succeeds.
    KafkaProducer producer(c);
    DeliveryLog deliveries;
    for (const char* topic : {"admin.a", "admin.b", "admin.c"}) {
        Record r = make_record(topic, "k", "v");
        r.partition = 2;
        ASSERT_FALSE(producer.produce(r, deliveries.handler()));
    }
    ASSERT_FALSE(producer.flush(5s));
    for (const auto& ec : deliveries.results()) {
        EXPECT_FALSE(ec) << ec.message();
    }
}

TEST_F(KafkaTest, CreateTopicsSkipsTheAdminApiWhenTheTopicsExist) {
    // Spelled differently, the mock is treated as a remote cluster: topics that exist already
    // need no CreateTopics request (which the 2.0.2 mock could not answer).
    cluster_->create_topic("exists.a", 2);
    cluster_->create_topic("exists.b", 2);
    KafkaConfig c = config();
    c.brokers = "PLAINTEXT://" + cluster_->bootstrap_servers();
    EXPECT_FALSE(create_topics(c, {"exists.a", "exists.b"}, 2, 5s));
}

TEST_F(KafkaTest, CreateTopicsWithoutABrokerFailsQuicklyAsUnavailable) {
    // The same broker spelled differently is not recognised as the in-process mock, so the
    // request goes to the cluster, and finds no broker to answer it.
    KafkaConfig c = config();
    c.brokers = "PLAINTEXT://" + cluster_->bootstrap_servers();
    BrokerOutage outage(*cluster_, 1);
    const auto started = Clock::now();
    EXPECT_EQ(create_topics(c, {"admin.never"}, 1, 500ms),
              make_error_code(Errc::broker_unavailable));
    EXPECT_LT(Clock::now() - started, 3s);
}

}  // namespace
}  // namespace teller::core
