// `teller kafka-dev`: the mock cluster behind a fixed loopback bootstrap port.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>

#include "teller/core/events.hpp"
#include "teller/core/kafka.hpp"
#include "teller_process.hpp"

namespace teller::testing {
namespace {

using namespace std::chrono_literals;

// A loopback port that was free a moment ago.
std::uint16_t free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

TEST(KafkaDevTest, ClientsReachTheMockClusterThroughTheFixedPort) {
    const std::uint16_t port = free_port();
    TellerProcess kafka(teller_binary(), {"kafka-dev", "--port", std::to_string(port)});
    ASSERT_TRUE(kafka.start(60s)) << kafka.log();
    const std::string bootstrap = "127.0.0.1:" + std::to_string(port);
    EXPECT_EQ(kafka.kafka_bootstrap(), bootstrap) << kafka.log();

    core::KafkaConfig config;
    config.brokers = bootstrap;
    core::KafkaProducer producer(config);
    core::Record record{std::string(core::kInboundTopic), "conv-1", "through the relay", {}};
    ASSERT_FALSE(producer.produce(record));
    ASSERT_FALSE(producer.flush(20s)) << kafka.log();

    core::KafkaConsumer consumer(config, "kafka-dev-test", {std::string(core::kInboundTopic)});
    std::vector<core::Record> got;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (got.empty() && std::chrono::steady_clock::now() < deadline) {
        got = consumer.poll(10, 200ms);
    }
    ASSERT_EQ(got.size(), 1U) << kafka.log();
    EXPECT_EQ(got[0].key, "conv-1");
    EXPECT_EQ(got[0].value, "through the relay");
}

TEST(KafkaDevTest, APortInUseIsRefusedWithItsAddress) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const std::string port = std::to_string(taken.local_endpoint().port());

    TellerProcess kafka(teller_binary(), {"kafka-dev", "--port", port});
    EXPECT_EQ(kafka.run_to_completion(60s), 1);
    EXPECT_NE(kafka.log().find("cannot listen on 127.0.0.1:" + port), std::string::npos)
        << kafka.log();
}

}  // namespace
}  // namespace teller::testing
