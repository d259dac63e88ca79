// End-to-end: a web chat customer asks for a person and an agent answers from the desk, through
// the real `teller run` (gateway, engine, handoff relay, mock Kafka, in-memory sessions).
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "chat_client.hpp"
#include "gateway_test_support.hpp"
#include "teller_process.hpp"

namespace teller::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class AgentDeskEndToEndTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("teller-desk-e2e-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        const std::string model = (dir_ / "intent.model").string();
        const std::string backend = std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
        TellerProcess train(teller_binary(),
                            {"train", "--output", model, "--backend-data", backend});
        ASSERT_EQ(train.run_to_completion(10min), 0) << train.log();
        teller_ = new TellerProcess(
            teller_binary(), {"run", "--port", "0", "--model", model, "--backend-data", backend});
        ASSERT_TRUE(teller_->start(90s)) << teller_->log();
    }

    static void TearDownTestSuite() {
        if (teller_ != nullptr) {
            EXPECT_EQ(teller_->stop(), 0) << teller_->log();
        }
        delete teller_;
        teller_ = nullptr;
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // The token of the desk URL `teller run` printed ("" when it printed none).
    static std::string desk_token() {
        const std::string log = teller_->log();
        const std::string marker = "/agent#token=";
        const auto at = log.find(marker);
        if (at == std::string::npos) {
            return {};
        }
        const auto begin = at + marker.size();
        return log.substr(begin, log.find_first_of(" \r\n", begin) - begin);
    }

    // Reads desk frames until an update of `event` for `conversation` arrives.
    static std::optional<json::object> desk_update(WsClient& desk, std::string_view event,
                                                   const std::string& conversation) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            auto frame = desk.read(30s);
            if (!frame) {
                return std::nullopt;
            }
            if (frame->at("type") == "update" && frame->at("event").as_string() == event &&
                frame->at("conversation").at("conversation").as_string() == conversation) {
                return frame;
            }
        }
        return std::nullopt;
    }

    // Reads customer frames until a reply containing `text` arrives.
    static std::optional<json::object> reply_with(ChatClient& customer, std::string_view text) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            auto reply = customer.next_of_type("reply", 30s);
            if (!reply) {
                return std::nullopt;
            }
            if (std::string_view(reply->at("text").as_string()).find(text) !=
                std::string_view::npos) {
                return reply;
            }
        }
        return std::nullopt;
    }

    static TellerProcess* teller_;
    static fs::path dir_;
};

TellerProcess* AgentDeskEndToEndTest::teller_ = nullptr;
fs::path AgentDeskEndToEndTest::dir_;

TEST_F(AgentDeskEndToEndTest, CustomerAndAgentTalkThroughTheDesk) {
    const std::string token = desk_token();
    ASSERT_FALSE(token.empty()) << "no desk URL printed:\n" << teller_->log();

    // The agent signs in first and sees the desk (empty or not).
    WsClient desk(static_cast<std::uint16_t>(teller_->port()), std::string{}, "/agent/ws");
    desk.send_text(
        json::serialize(json::object{{"type", "hello"}, {"token", token}, {"agent", "Anna"}}));
    auto snapshot = desk.read(10s);
    ASSERT_TRUE(snapshot) << teller_->log();
    ASSERT_EQ(snapshot->at("type"), "snapshot");

    // The customer asks for a person; the desk sees the conversation queued.
    ChatClient customer(teller_->port());
    const std::string conversation = customer.hello();
    ASSERT_FALSE(conversation.empty());
    customer.say("I want to talk to an agent");
    auto queued = desk_update(desk, "queued", conversation);
    ASSERT_TRUE(queued) << teller_->log();
    EXPECT_EQ(queued->at("conversation").at("state"), "queued");

    // The agent takes it and writes; the customer reads it.
    desk.send_text(json::serialize(
        json::object{{"type", "join"}, {"conversation", conversation}, {"id", "j1"}}));
    auto assigned = desk_update(desk, "assigned", conversation);
    ASSERT_TRUE(assigned) << teller_->log();
    EXPECT_EQ(assigned->at("conversation").at("agent"), "Anna");
    desk.send_text(json::serialize(json::object{{"type", "message"},
                                                {"conversation", conversation},
                                                {"text", "Hello, this is Anna"},
                                                {"id", "m1"}}));
    ASSERT_TRUE(reply_with(customer, "Hello, this is Anna")) << teller_->log();

    // The customer answers; the agent sees it.
    customer.say("My card was charged twice");
    auto answer = desk_update(desk, "customer_message", conversation);
    ASSERT_TRUE(answer) << teller_->log();
    EXPECT_EQ(answer->at("lines").at(0).at("text"), "My card was charged twice");

    // The agent closes; the customer is told and the desk drops the conversation.
    desk.send_text(json::serialize(
        json::object{{"type", "close"}, {"conversation", conversation}, {"id", "c1"}}));
    auto closed = desk_update(desk, "closed", conversation);
    ASSERT_TRUE(closed) << teller_->log();
    EXPECT_EQ(closed->at("conversation").at("state"), "closed");
    EXPECT_TRUE(reply_with(customer, "left the chat")) << teller_->log();
}

}  // namespace
}  // namespace teller::testing
