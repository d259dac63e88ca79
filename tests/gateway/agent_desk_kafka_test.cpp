// Integration test of the agent desk: a gateway, its desk and librdkafka's mock cluster.
#include "teller/channels/agent_desk.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway_test_support.hpp"
#include "teller/channels/gateway.hpp"
#include "teller/core/handoff.hpp"
#include "teller/core/kafka.hpp"

namespace teller::channels {
namespace {

using namespace teller::testing;
namespace json = boost::json;

constexpr std::string_view kToken = "kafka-desk-token-0123456789";

class AgentDeskKafkaTest : public ::testing::Test {
protected:
    void SetUp() override {
        cluster_ = std::make_unique<core::MockCluster>(1);
        cluster_->create_topic(std::string(core::kHandoffTopic), 2);
        cluster_->create_topic(std::string(core::kAgentTopic), 2);
        producer_ = std::make_unique<core::KafkaProducer>(config("desk-test"));
    }

    void TearDown() override {
        if (gateway_) {
            gateway_->stop();
        }
        if (desk_) {
            desk_->stop();
        }
        gateway_.reset();
        desk_.reset();
        desk_consumer_.reset();
        producer_.reset();
        cluster_.reset();
    }

    core::KafkaConfig config(std::string client) const {
        core::KafkaConfig c;
        c.brokers = cluster_->bootstrap_servers();
        c.client_id = std::move(client);
        c.close_timeout = 2s;
        return c;
    }

    // The gateway with its desk, wired as `teller run` does.
    void start_gateway() {
        core::KafkaConfig desk_config = config("desk-test");
        desk_config.properties["auto.offset.reset"] = "earliest";
        desk_consumer_ = std::make_unique<core::KafkaConsumer>(
            desk_config, "teller-desk-test",
            std::vector<std::string>{std::string(core::kHandoffTopic)});
        desk_ = std::make_unique<AgentDesk>(*desk_consumer_, *producer_);
        GatewayOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.agent_token = std::string(kToken);
        gateway_ = std::make_unique<Gateway>(options, *producer_);
        gateway_->set_agent_desk(*desk_);
        desk_->start();
        port_ = gateway_->start();
    }

    void publish(const core::HandoffEvent& event) {
        core::Record record;
        record.topic = std::string(core::kHandoffTopic);
        record.key = event.conversation;
        record.value = core::to_json(event);
        bool acked = false;
        ASSERT_FALSE(producer_->produce(record, [&](const boost::system::error_code& ec) {
            EXPECT_FALSE(ec);
            acked = true;
        }));
        ASSERT_FALSE(producer_->flush(10s));
        ASSERT_TRUE(acked);
    }

    // Waits until the desk holds `conversation` (it consumes on its own thread).
    bool desk_holds(const std::string& conversation) {
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (desk_->state().find(conversation)) {
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    static core::HandoffEvent event(core::HandoffEventType type, std::string id,
                                    std::string text = {}) {
        core::HandoffEvent e;
        e.type = type;
        e.id = std::move(id);
        e.conversation = "webchat:0123456789abcdef0123456789abcdef";
        e.channel = "webchat";
        e.locale = "zh-CN";
        e.text = std::move(text);
        e.reason = type == core::HandoffEventType::queued ? "customer_request" : "";
        e.at_ms = 1'700'000'000'000;
        if (type == core::HandoffEventType::queued) {
            e.transcript = {{"customer", "我要人工客服", e.at_ms}};
        }
        return e;
    }

    std::unique_ptr<core::MockCluster> cluster_;
    std::unique_ptr<core::KafkaProducer> producer_;
    std::unique_ptr<core::KafkaConsumer> desk_consumer_;
    std::unique_ptr<AgentDesk> desk_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t port_ = 0;
};

TEST_F(AgentDeskKafkaTest, DeskRebuildsFromTheTopicAndRelaysBothWays) {
    // Published before the gateway starts: the desk reads teller.handoff from the beginning.
    const core::HandoffEvent queued = event(core::HandoffEventType::queued, "h1");
    publish(queued);
    start_gateway();
    ASSERT_TRUE(desk_holds(queued.conversation));

    // A wrong token is refused.
    {
        WsClient intruder(port_, std::string{}, "/agent/ws");
        intruder.send_text(R"({"type":"hello","token":"kafka-desk-token-guess-000","agent":"E"})");
        auto error = intruder.read();
        ASSERT_TRUE(error);
        EXPECT_EQ(error->at("code"), "unauthorized");
        EXPECT_FALSE(intruder.read());
    }

    // The snapshot shows the queued conversation.
    WsClient agent(port_, std::string{}, "/agent/ws");
    agent.send_text(
        json::serialize(json::object{{"type", "hello"}, {"token", kToken}, {"agent", "Anna"}}));
    auto snapshot = agent.read();
    ASSERT_TRUE(snapshot);
    ASSERT_EQ(snapshot->at("type"), "snapshot");
    ASSERT_EQ(snapshot->at("conversations").as_array().size(), 1U);
    EXPECT_EQ(snapshot->at("conversations").at(0).at("conversation").as_string(),
              queued.conversation);
    EXPECT_EQ(snapshot->at("conversations").at(0).at("state"), "queued");

    // Join: acknowledged by the broker, and the record is on teller.agent.
    core::KafkaConfig reader_config = config("desk-test-reader");
    reader_config.properties["auto.offset.reset"] = "earliest";
    core::KafkaConsumer reader(reader_config, "desk-test-reader",
                               std::vector<std::string>{std::string(core::kAgentTopic)});
    agent.send_text(json::serialize(
        json::object{{"type", "join"}, {"conversation", queued.conversation}, {"id", "j1"}}));
    auto ack = agent.read(15s);
    ASSERT_TRUE(ack);
    ASSERT_EQ(ack->at("type"), "ack") << json::serialize(*ack);
    std::vector<core::Record> commands;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (commands.empty() && std::chrono::steady_clock::now() < deadline) {
        commands = reader.poll(10, 200ms);
    }
    ASSERT_EQ(commands.size(), 1U);
    EXPECT_EQ(commands[0].key, queued.conversation);
    auto join = core::parse_agent_command(commands[0].value);
    ASSERT_TRUE(join);
    EXPECT_EQ(join->type, core::AgentCommandType::join);
    EXPECT_EQ(join->agent, "Anna");
    EXPECT_EQ(join->id, std::string(ack->at("command").as_string()));

    // What the engine publishes next shows up on the agent's socket, in order.
    core::HandoffEvent assigned = event(core::HandoffEventType::assigned, "h2");
    assigned.agent = "Anna";
    publish(assigned);
    publish(event(core::HandoffEventType::customer_message, "h3", "谢谢"));
    auto update = agent.read(15s);
    ASSERT_TRUE(update);
    EXPECT_EQ(update->at("type"), "update");
    EXPECT_EQ(update->at("event"), "assigned");
    EXPECT_EQ(update->at("conversation").at("agent"), "Anna");
    auto message = agent.read(15s);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->at("event"), "customer_message");
    EXPECT_EQ(message->at("lines").at(0).at("text"), "谢谢");
}

}  // namespace
}  // namespace teller::channels
