// redis-server killed mid-stream and started again on the same port (persistence off, so every
// session is gone): the engine neither crashes nor loses or repeats a reply, and carries on.
#include <chrono>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "fault_support.hpp"
#include "redis_server.hpp"

namespace teller::testing {
namespace {
using namespace std::chrono_literals;

TEST(RedisRestartTest, EngineSurvivesARedisRestartWithoutLosingOrRepeatingReplies) {
    RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    FaultCluster cluster(4);
    BotFiles bot;
    ASSERT_TRUE(bot.ready()) << bot.training_log();

    constexpr int kConversations = 40;
    constexpr int kMessages = 1200;
    auto engine = start_engine(bot, cluster.brokers(), redis.url());
    ReplyTally tally(cluster.config("faults-tally"));
    InboundFeeder feeder(cluster.config("faults-feeder"), "redis", kConversations, kMessages, 80);
    feeder.start();

    // A third of the way in, Redis dies; it comes back empty on the same port four seconds on.
    while (feeder.produced() < kMessages / 3) {
        std::this_thread::sleep_for(20ms);
    }
    redis.kill();
    int at_kill = feeder.produced();
    std::this_thread::sleep_for(4s);
    redis.start();
    int at_start = feeder.produced();
    std::cout << "redis down from message " << at_kill << " to " << at_start << std::endl;

    ASSERT_TRUE(feeder.finish(60s)) << feeder.failed() << " inbound records not acknowledged";
    std::set<std::string> ids = feeder.acknowledged_ids();
    bool all = tally.wait_for(ids, 3s, 90s);
    auto f = tally.figures(ids);

    // Sessions restarted from nothing: each counts the turns it saw after the restart, at
    // most the conversation's total, and every conversation has one again.
    std::vector<std::string> conversations;
    for (const auto& [conversation, n] : feeder.messages_per_conversation()) {
        conversations.push_back(conversation);
    }
    auto turns = session_turns(redis.url(), conversations);
    int restarted = 0;
    for (const auto& [conversation, n] : feeder.messages_per_conversation()) {
        EXPECT_GT(turns[conversation], 0) << conversation;
        EXPECT_LE(turns[conversation], n) << conversation;
        restarted += turns[conversation] < n ? 1 : 0;
    }
    print_figures("redis restarted", f,
                  "sessions restarted empty " + std::to_string(restarted) + "/" +
                      std::to_string(conversations.size()));

    EXPECT_TRUE(all) << engine->log();
    EXPECT_EQ(f.lost, 0);
    EXPECT_EQ(f.duplicated, 0);
    EXPECT_NE(engine->log().find("session store failed"), std::string::npos) << engine->log();
    EXPECT_EQ(engine->stop(), 0) << engine->log();
}

}  // namespace
}  // namespace teller::testing
