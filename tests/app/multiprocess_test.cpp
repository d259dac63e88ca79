// Gateway and engine as separate deployables over one Kafka: two gateways, two engines (one
// consumer group), Redis sessions. Replies reach the gateway that holds the socket, in order.
#include <unistd.h>

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "chat_client.hpp"
#include "redis_server.hpp"
#include "teller/core/events.hpp"
#include "teller/core/kafka.hpp"
#include "teller_process.hpp"

namespace teller::testing {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST(MultiProcessTest, TwoGatewaysAndTwoEnginesAnswerEveryMessageInOrder) {
    RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();

    // Kafka: a mock cluster in this process, reached by the teller processes over loopback.
    core::MockCluster cluster(1);
    for (std::string_view topic :
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic}) {
        cluster.create_topic(std::string(topic), 4);
    }
    const std::string brokers = cluster.bootstrap_servers();
    const std::string backend = std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
    const fs::path model =
        fs::temp_directory_path() / ("teller-mp-" + std::to_string(::getpid()) + ".model");

    TellerProcess train(teller_binary(),
                        {"train", "--output", model.string(), "--backend-data", backend});
    ASSERT_EQ(train.run_to_completion(10min), 0) << train.log();

    std::vector<std::unique_ptr<TellerProcess>> engines;
    for (int i = 0; i < 2; ++i) {
        engines.push_back(std::make_unique<TellerProcess>(
            teller_binary(), std::vector<std::string>{"engine", "--kafka-brokers", brokers,
                                                      "--redis-url", redis.url(), "--model",
                                                      model.string(), "--backend-data", backend}));
        ASSERT_TRUE(engines.back()->start(60s)) << engines.back()->log();
    }
    std::vector<std::unique_ptr<TellerProcess>> gateways;
    for (int i = 0; i < 2; ++i) {
        gateways.push_back(std::make_unique<TellerProcess>(
            teller_binary(),
            std::vector<std::string>{"gateway", "--kafka-brokers", brokers, "--port", "0",
                                     "--instance-id", "gw-" + std::to_string(i)}));
        ASSERT_TRUE(gateways.back()->start(60s)) << gateways.back()->log();
        ASSERT_GT(gateways.back()->port(), 0);
    }

    // Ten conversations on each gateway; each sends a burst of three messages without waiting.
    const std::vector<std::string> burst = {"hello", "what's my balance", "thanks"};
    std::vector<std::unique_ptr<ChatClient>> clients;
    for (int c = 0; c < 20; ++c) {
        clients.push_back(std::make_unique<ChatClient>(gateways[c % 2]->port()));
        ASSERT_FALSE(clients.back()->hello().empty());
    }
    for (auto& client : clients) {
        for (std::size_t m = 0; m < burst.size(); ++m) {
            client->say(burst[m], std::to_string(m + 1));
        }
    }

    // Every message answered, on its own socket, in the order it was sent.
    int answered = 0;
    for (std::size_t c = 0; c < clients.size(); ++c) {
        std::vector<std::string> order;
        while (order.size() < burst.size()) {
            auto reply = clients[c]->next_of_type("reply", 60s);
            ASSERT_TRUE(reply) << "client " << c << " got " << order.size() << " replies\n"
                               << engines[0]->log() << engines[1]->log();
            std::string id(reply->at("in_reply_to").as_string());
            if (order.empty() || order.back() != id) {
                order.push_back(id);
            }
        }
        EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "3"})) << "client " << c;
        answered += static_cast<int>(order.size());
    }
    std::cout << "multi-process: " << answered << "/" << clients.size() * burst.size()
              << " messages answered in order through 2 gateways and 2 engines\n";

    // Both engines took part: the group split the partitions between them.
    for (auto& engine : engines) {
        EXPECT_NE(engine->log().find("partition assigned"), std::string::npos) << engine->log();
    }
    for (auto& p : gateways) {
        EXPECT_EQ(p->stop(), 0) << p->log();
    }
    for (auto& p : engines) {
        EXPECT_EQ(p->stop(), 0) << p->log();
    }
    fs::remove(model);
}

}  // namespace
}  // namespace teller::testing
