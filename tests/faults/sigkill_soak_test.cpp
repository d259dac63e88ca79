// The real `teller engine` killed with SIGKILL twice mid-stream and restarted: every inbound
// message is answered, no turn runs twice or goes missing, and each session counted every turn.
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "fault_support.hpp"
#include "redis_server.hpp"

namespace teller::testing {
namespace {
using namespace std::chrono_literals;

TEST(SigkillSoakTest, KilledEngineLosesAndRepeatsNoTurn) {
    RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    FaultCluster cluster(4);
    BotFiles bot;
    ASSERT_TRUE(bot.ready()) << bot.training_log();

    constexpr int kConversations = 150;
    constexpr int kMessages = 3000;
    auto began = std::chrono::steady_clock::now();
    auto engine = start_engine(bot, cluster.brokers(), redis.url());
    std::cout << "engine up in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - began)
                     .count()
              << " ms" << std::endl;
    ReplyTally tally(cluster.config("faults-tally"));
    InboundFeeder feeder(cluster.config("faults-feeder"), "kill", kConversations, kMessages, 150);
    feeder.start();

    // Kill the engine at a third and at two thirds of the stream; a new one takes over.
    int kills = 0;
    std::string previous_logs;
    for (int at : {kMessages / 3, 2 * kMessages / 3}) {
        while (feeder.produced() < at) {
            std::this_thread::sleep_for(20ms);
        }
        engine->kill();
        ++kills;
        previous_logs += engine->log();
        std::cout << "SIGKILL " << kills << " after " << feeder.produced() << " messages sent"
                  << std::endl;
        engine = start_engine(bot, cluster.brokers(), redis.url());
    }
    ASSERT_TRUE(feeder.finish(60s)) << feeder.failed() << " inbound records not acknowledged";

    // Everything answered, then quiet for three seconds.
    std::set<std::string> ids = feeder.acknowledged_ids();
    bool all = tally.wait_for(ids, 3s, 90s);
    auto f = tally.figures(ids);

    // The session of each conversation counted each of its turns exactly once.
    std::vector<std::string> conversations;
    for (const auto& [conversation, n] : feeder.messages_per_conversation()) {
        conversations.push_back(conversation);
    }
    auto turns = session_turns(redis.url(), conversations);
    int exact = 0;
    for (const auto& [conversation, n] : feeder.messages_per_conversation()) {
        EXPECT_LE(turns[conversation], n) << conversation;
        exact += turns[conversation] == n ? 1 : 0;
    }
    print_figures("sigkill soak (" + std::to_string(kills) + " kills)", f,
                  "sessions with every turn counted once " + std::to_string(exact) + "/" +
                      std::to_string(conversations.size()));

    EXPECT_TRUE(all) << "engines killed:\n" << previous_logs << "\nlast engine:\n" << engine->log();
    EXPECT_EQ(f.lost, 0);
    EXPECT_EQ(f.duplicated, 0);
    EXPECT_EQ(f.answered, kMessages);
    EXPECT_EQ(exact, static_cast<int>(conversations.size()));
    EXPECT_EQ(engine->stop(), 0) << engine->log();
}

}  // namespace
}  // namespace teller::testing
