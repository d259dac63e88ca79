// Tests of the outbound dispatcher: replies from a (fake) consumer reach the right socket.
#include "teller/channels/outbound_dispatcher.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gateway_test_support.hpp"
#include "teller/core/events.hpp"

namespace teller::channels {
namespace {

using namespace teller::testing;

class OutboundDispatcherTest : public ::testing::Test {
protected:
    void SetUp() override {
        GatewayOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.instance_id = "gw-here";
        gateway_ = std::make_unique<Gateway>(options, producer_);
        port_ = gateway_->start();
    }

    static core::Record record(const core::OutboundMessage& message, std::int64_t offset) {
        core::Record r;
        r.topic = std::string(core::kOutboundTopic);
        r.key = message.conversation;
        r.value = core::to_json(message);
        r.partition = 0;
        r.offset = offset;
        return r;
    }

    static core::OutboundMessage reply(std::string conversation, std::string text,
                                       std::string reply_to) {
        core::OutboundMessage m;
        m.conversation = std::move(conversation);
        m.channel = "webchat";
        m.text = std::move(text);
        m.reply_to = std::move(reply_to);
        m.in_reply_to = m.conversation + "/m-" + m.text;
        return m;
    }

    FakeProducer producer_;
    FakeConsumer consumer_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t port_ = 0;
};

TEST_F(OutboundDispatcherTest, RoutesARecordToTheSocketAndCommits) {
    WsClient client(port_);
    const std::string conversation = client.hello();
    OutboundDispatcher dispatcher(consumer_, *gateway_);
    dispatcher.start();

    core::Record garbage;
    garbage.topic = std::string(core::kOutboundTopic);
    garbage.value = "{not an event";
    garbage.partition = 0;
    garbage.offset = 10;
    consumer_.push({garbage, record(reply(conversation, "elsewhere", "gw-other"), 11),
                    record(reply(conversation, "for you", "gw-here"), 12)});

    auto frame = client.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->at("type"), "reply");
    EXPECT_EQ(frame->at("text"), "for you");
    EXPECT_EQ(frame->at("in_reply_to"), "m-for you");

    auto committed = consumer_.wait_committed(3);
    ASSERT_EQ(committed.size(), 3U);
    EXPECT_EQ(committed.back().offset, 12);
    dispatcher.stop();

    const OutboundDispatcherStats stats = dispatcher.stats();
    EXPECT_EQ(stats.records, 3U);
    EXPECT_EQ(stats.delivered, 1U);
    EXPECT_EQ(stats.malformed, 1U);
    EXPECT_EQ(stats.skipped, 1U);
    EXPECT_EQ(stats.commits, 1U);
    // The reply meant for another instance never reached this socket.
    EXPECT_FALSE(client.read(200ms));
}

TEST_F(OutboundDispatcherTest, ReplyWithoutInstanceGoesToAConnectedConversation) {
    WsClient client(port_);
    const std::string conversation = client.hello();
    OutboundDispatcher dispatcher(consumer_, *gateway_);
    dispatcher.start();

    consumer_.push({record(reply("webchat:not_connected_here_00", "nobody", ""), 1),
                    record(reply(conversation, "proactive", ""), 2)});

    auto frame = client.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->at("text"), "proactive");
    consumer_.wait_committed(2);
    dispatcher.stop();
    EXPECT_EQ(dispatcher.stats().delivered, 1U);
    EXPECT_EQ(dispatcher.stats().skipped, 1U);
}

TEST_F(OutboundDispatcherTest, ReplyForThisInstanceWithNoSocketIsDroppedAndCommitted) {
    OutboundDispatcher dispatcher(consumer_, *gateway_);
    dispatcher.start();
    consumer_.push({record(reply("webchat:left_already_000000", "late", "gw-here"), 5)});

    auto committed = consumer_.wait_committed(1);
    dispatcher.stop();
    ASSERT_EQ(committed.size(), 1U);
    EXPECT_EQ(dispatcher.stats().dropped, 1U);
}

}  // namespace
}  // namespace teller::channels
