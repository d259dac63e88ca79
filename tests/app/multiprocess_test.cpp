// Gateway and engine as separate deployables over one Kafka: two gateways, two engines (one
// consumer group), Redis sessions. Replies reach the gateway that holds the socket, in order.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>

#include <gtest/gtest.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "chat_client.hpp"
#include "fake_provider.hpp"
#include "redis_server.hpp"
#include "teller/core/events.hpp"
#include "teller/core/handoff.hpp"
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
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic,
          core::kCrmTopic, core::kHandoffTopic, core::kAgentTopic}) {
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

// POSTs a Telegram Update to a gateway's webhook; the HTTP status (0 when unreachable).
unsigned post_update(int port, const std::string& body) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(30s);
    boost::system::error_code ec;
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)},
                   ec);
    if (ec) {
        return 0;
    }
    http::request<http::string_body> request{http::verb::post, "/webhooks/telegram", 11};
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    request.set(http::field::content_type, "application/json");
    request.set("X-Telegram-Bot-Api-Secret-Token", "s3cret");
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request, ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response, ec);
    return ec ? 0 : response.result_int();
}

TEST(MultiProcessTest, TwoGatewaysDeliverProviderRepliesOnceAndInOrder) {
    RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    FakeProvider telegram;  // the Bot API: answers every sendMessage with 200

    core::MockCluster cluster(1);
    for (std::string_view topic :
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic,
          core::kCrmTopic, core::kHandoffTopic, core::kAgentTopic}) {
        cluster.create_topic(std::string(topic), 4);
    }
    const std::string brokers = cluster.bootstrap_servers();
    const std::string backend = std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
    const fs::path model =
        fs::temp_directory_path() / ("teller-mp-tg-" + std::to_string(::getpid()) + ".model");
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
    const std::map<std::string, std::string> channel_env = {
        {"TELLER_TELEGRAM_BOT_TOKEN", "123456:ABC-def"},
        {"TELLER_TELEGRAM_SECRET_TOKEN", "s3cret"},
        {"TELLER_TELEGRAM_BASE_URL", telegram.url()},
    };
    std::vector<std::unique_ptr<TellerProcess>> gateways;
    for (int i = 0; i < 2; ++i) {
        gateways.push_back(std::make_unique<TellerProcess>(
            teller_binary(),
            std::vector<std::string>{"gateway", "--kafka-brokers", brokers, "--redis-url",
                                     redis.url(), "--port", "0", "--instance-id",
                                     "gw-tg-" + std::to_string(i)},
            channel_env));
        ASSERT_TRUE(gateways.back()->start(60s)) << gateways.back()->log();
        EXPECT_NE(gateways.back()->log().find("Channel telegram: webhook http://127.0.0.1:"),
                  std::string::npos)
            << gateways.back()->log();
    }

    // Ten chats, each sending a greeting and then a loans question (a Telegram customer is not
    // verified, so a balance question would get the sign-in step-up), alternating gateways.
    const int chats = 10;
    for (int step = 0; step < 2; ++step) {
        for (int c = 0; c < chats; ++c) {
            const int chat = 5000 + c;
            json::object update{
                {"update_id", step * chats + c + 1},
                {"message",
                 json::object{{"message_id", step + 1},
                              {"chat", json::object{{"id", chat}, {"type", "private"}}},
                              {"date", 1700000000 + step},
                              {"text", step == 0 ? "hello" : "what loans do you offer"}}}};
            auto& gateway = gateways[static_cast<std::size_t>(c + step) % 2];
            ASSERT_EQ(post_update(gateway->port(), json::serialize(update)), 200U)
                << gateway->log();
        }
    }

    // Every chat gets both answers, once each, the greeting's first.
    auto calls = telegram.wait_requests(2 * chats, 90s);
    std::this_thread::sleep_for(2s);  // a duplicate would arrive by now
    calls = telegram.requests();
    std::map<long long, std::vector<std::string>> per_chat;
    for (const auto& call : calls) {
        EXPECT_EQ(call.target, "/bot123456:ABC-def/sendMessage");
        json::object body = json::parse(call.body).as_object();
        per_chat[body.at("chat_id").to_number<long long>()].push_back(
            std::string(body.at("text").as_string()));
    }
    ASSERT_EQ(per_chat.size(), static_cast<std::size_t>(chats))
        << gateways[0]->log() << gateways[1]->log();
    for (const auto& [chat, texts] : per_chat) {
        ASSERT_EQ(texts.size(), 2U) << "chat " << chat;
        EXPECT_EQ(texts[0].find("personal loan"), std::string::npos)
            << "chat " << chat << ": " << texts[0];
        EXPECT_NE(texts[1].find("personal loan"), std::string::npos)
            << "chat " << chat << ": " << texts[1];
    }
    std::cout << "multi-process: " << calls.size() << " Telegram replies delivered through "
              << "2 gateways and 2 engines\n";

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
