// The Kafka broker down for 10 s while customers keep writing: nothing lost, no turn run twice,
// and everything answered once the broker is back.
#include <chrono>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "fault_support.hpp"
#include "redis_server.hpp"

namespace teller::testing {
namespace {
using namespace std::chrono_literals;

TEST(BrokerOutageTest, TenSecondsWithoutTheBrokerLoseAndRepeatNothing) {
    RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    FaultCluster cluster(4);
    BotFiles bot;
    ASSERT_TRUE(bot.ready()) << bot.training_log();

    constexpr int kConversations = 40;
    constexpr int kMessages = 1200;
    auto engine = start_engine(bot, cluster.brokers(), redis.url());
    ReplyTally tally(cluster.config("faults-tally"));
    InboundFeeder feeder(cluster.config("faults-feeder"), "down", kConversations, kMessages, 60);
    feeder.start();

    // A third of the way in, the only broker goes down for ten seconds.
    while (feeder.produced() < kMessages / 3) {
        std::this_thread::sleep_for(20ms);
    }
    cluster.mock().set_broker_down(1);
    int at_down = feeder.produced();
    std::this_thread::sleep_for(10s);
    cluster.mock().set_broker_up(1);
    std::cout << "broker down from message " << at_down << " to " << feeder.produced() << std::endl;

    ASSERT_TRUE(feeder.finish(90s)) << feeder.failed() << " inbound records not acknowledged";
    std::set<std::string> ids = feeder.acknowledged_ids();
    bool all = tally.wait_for(ids, 3s, 90s);
    auto f = tally.figures(ids);

    std::vector<std::string> conversations;
    for (const auto& [conversation, n] : feeder.messages_per_conversation()) {
        conversations.push_back(conversation);
    }
    auto turns = session_turns(redis.url(), conversations);
    int exact = 0;
    for (const auto& [conversation, n] : feeder.messages_per_conversation()) {
        EXPECT_EQ(turns[conversation], n) << conversation;
        exact += turns[conversation] == n ? 1 : 0;
    }
    print_figures("broker down 10 s", f,
                  "sessions with every turn counted once " + std::to_string(exact) + "/" +
                      std::to_string(conversations.size()));

    EXPECT_TRUE(all) << engine->log();
    EXPECT_EQ(f.lost, 0);
    EXPECT_EQ(f.duplicated, 0);
    EXPECT_EQ(engine->stop(), 0) << engine->log();
}

}  // namespace
}  // namespace teller::testing
