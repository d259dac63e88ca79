// Tests of the gateway over real loopback sockets: HTTP routes and the web chat protocol.
#include "teller/channels/gateway.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "gateway_test_support.hpp"
#include "teller/core/error.hpp"
#include "teller/core/events.hpp"

namespace teller::channels {
namespace {

using namespace teller::testing;
namespace json = boost::json;

class GatewayTest : public ::testing::Test {
protected:
    void start(GatewayOptions options = {}) {
        options.host = "127.0.0.1";
        options.port = 0;
        options.instance_id = "gw-test";
        gateway_ = std::make_unique<Gateway>(std::move(options), producer_);
        port_ = gateway_->start();
    }

    core::OutboundMessage reply(const std::string& conversation, std::string text,
                                std::string in_reply_to = "", std::uint32_t sequence = 0) {
        core::OutboundMessage m;
        m.conversation = conversation;
        m.channel = "webchat";
        m.text = std::move(text);
        m.in_reply_to = std::move(in_reply_to);
        m.sequence = sequence;
        m.reply_to = "gw-test";
        return m;
    }

    FakeProducer producer_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t port_ = 0;
};

// ---- HTTP -------------------------------------------------------------------------------------

TEST_F(GatewayTest, ServesTheChatPageWithTheWebSocketPath) {
    start();
    auto response = http_request(port_, http::verb::get, "/");

    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_NE(response[http::field::content_type].find("text/html"), std::string::npos);
    EXPECT_EQ(response[http::field::server], "teller");
    EXPECT_NE(response.body().find("/ws"), std::string::npos);
    EXPECT_NE(response.body().find("<script>"), std::string::npos);
    EXPECT_NE(response.body().find("在线客服"), std::string::npos);
    // Self-contained: nothing is fetched from another host.
    EXPECT_EQ(response.body().find("http://"), std::string::npos);
    EXPECT_EQ(response.body().find("https://"), std::string::npos);
    EXPECT_NE(response["Content-Security-Policy"].find("script-src 'sha256-"), std::string::npos);
}

// The page's client logic, run in Node with a fake DOM and WebSocket (skipped without Node):
// hello/welcome, ack, reply dedupe, quick replies, IME Enter, reconnect with resend, reload.
TEST_F(GatewayTest, PageScriptBehavesInNode) {
    if (std::system("command -v node >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "node is not installed";
    }
    start();
    const std::string page = http_request(port_, http::verb::get, "/").body();
    const std::size_t begin = page.find("<script>");
    const std::size_t end = page.find("</script>");
    ASSERT_NE(begin, std::string::npos);
    ASSERT_NE(end, std::string::npos);

    const std::string script_path = ::testing::TempDir() + "teller_webchat_page.js";
    {
        std::ofstream out(script_path, std::ios::binary);
        out << page.substr(begin + 8, end - begin - 8);
    }
    const std::string harness = TELLER_SOURCE_DIR "/tests/gateway/webchat_page_harness.js";
    const std::string command = "node '" + harness + "' '" + script_path + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(GatewayTest, HealthzSaysOk) {
    start();
    auto response = http_request(port_, http::verb::get, "/healthz");

    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(response.body(), "ok");
    EXPECT_EQ(response[http::field::server], "teller");
}

TEST_F(GatewayTest, ReadyzFollowsTheReadinessHook) {
    std::atomic<bool> ready{false};
    GatewayOptions options;
    options.port = 0;
    options.host = "127.0.0.1";
    Gateway gateway(options, producer_);
    gateway.set_readiness([&] { return ready.load(); });
    const std::uint16_t port = gateway.start();

    EXPECT_EQ(http_request(port, http::verb::get, "/readyz").result(),
              http::status::service_unavailable);
    ready = true;
    EXPECT_EQ(http_request(port, http::verb::get, "/readyz").result(), http::status::ok);
}

TEST_F(GatewayTest, UnknownPathIsNotFound) {
    start();
    EXPECT_EQ(http_request(port_, http::verb::get, "/nope").result(), http::status::not_found);
}

TEST_F(GatewayTest, WrongMethodIsNotAllowed) {
    start();
    auto response = http_request(port_, http::verb::post, "/healthz", "x");

    EXPECT_EQ(response.result(), http::status::method_not_allowed);
    EXPECT_EQ(response[http::field::allow], "GET");
}

TEST_F(GatewayTest, OversizedBodyIsRefusedWith413) {
    GatewayOptions options;
    options.max_http_body_bytes = 1024;
    start(options);
    auto response = http_request(port_, http::verb::post, "/", std::string(200 * 1024, 'a'));

    EXPECT_EQ(response.result(), http::status::payload_too_large);
}

TEST_F(GatewayTest, PlainGetOnTheWebSocketPathAsksForAnUpgrade) {
    start();
    EXPECT_EQ(http_request(port_, http::verb::get, "/ws").result(), http::status::upgrade_required);
}

TEST_F(GatewayTest, StartNamesTheAddressWhenThePortIsTaken) {
    start();
    GatewayOptions options;
    options.host = "127.0.0.1";
    options.port = port_;
    Gateway second(options, producer_);
    try {
        second.start();
        FAIL() << "a second gateway bound the same port";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port_)),
                  std::string::npos)
            << e.what();
    }
}

// ---- WebSocket: conversations -----------------------------------------------------------------

TEST_F(GatewayTest, HelloGetsAGeneratedConversation) {
    start();
    WsClient client(port_);
    const std::string conversation = client.hello();

    EXPECT_TRUE(std::regex_match(conversation, std::regex("webchat:[0-9a-f]{32}"))) << conversation;
    EXPECT_TRUE(gateway_->is_connected(conversation));
}

TEST_F(GatewayTest, HelloResumesAValidConversation) {
    start();
    const std::string id = "webchat:resume_me-0123456789";
    WsClient client(port_);

    EXPECT_EQ(client.hello(id), id);
}

TEST_F(GatewayTest, RefusedConversationIdGetsAnErrorAndANewConversation) {
    start();
    WsClient client(port_);
    client.send_text(R"({"type":"hello","conversation":"sms:+15551234567"})");

    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("type"), "error");
    EXPECT_EQ(error->at("code"), "bad_request");
    auto welcome = client.read();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->at("type"), "welcome");
    EXPECT_TRUE(std::string(welcome->at("conversation").as_string()).starts_with("webchat:"));
}

TEST_F(GatewayTest, MessageBeforeHelloOpensAConversation) {
    start();
    WsClient client(port_);
    client.message("hi", "c1");

    auto welcome = client.read();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->at("type"), "welcome");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
    ASSERT_TRUE(producer_.wait_for(1));
    EXPECT_EQ(producer_.records()[0].key, std::string(welcome->at("conversation").as_string()));
}

// ---- WebSocket: publishing --------------------------------------------------------------------

TEST_F(GatewayTest, MessageIsPublishedToInboundThenAcked) {
    start();
    WsClient client(port_);
    const std::string conversation = client.hello("", "en-GB");
    client.message("What is my card balance?", "c-1");

    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
    EXPECT_EQ(ack->at("id"), "c-1");

    auto records = producer_.records();
    ASSERT_EQ(records.size(), 1U);
    const core::Record& record = records[0];
    EXPECT_EQ(record.topic, core::kInboundTopic);
    EXPECT_EQ(record.key, conversation);
    EXPECT_EQ(record.header("schema"), "teller.inbound.v1");
    EXPECT_EQ(record.header("trace_id").size(), 32U);

    auto inbound = core::parse_inbound(record.value);
    ASSERT_TRUE(inbound) << record.value;
    EXPECT_EQ(inbound->channel, "webchat");
    EXPECT_EQ(inbound->id, conversation + "/c-1");
    EXPECT_EQ(inbound->conversation, conversation);
    EXPECT_EQ(inbound->sender, conversation);
    EXPECT_EQ(inbound->text, "What is my card balance?");
    EXPECT_EQ(inbound->locale, "en-GB");
    EXPECT_EQ(inbound->reply_to, "gw-test");
    EXPECT_EQ(inbound->trace_id, record.header("trace_id"));
    EXPECT_GT(inbound->received_at_ms, 1'700'000'000'000);
}

TEST_F(GatewayTest, MessageWithoutIdGetsAGeneratedOne) {
    start();
    WsClient client(port_);
    const std::string conversation = client.hello();
    client.message("hello");

    auto ack = client.read();
    ASSERT_TRUE(ack);
    const std::string id(ack->at("id").as_string());
    EXPECT_FALSE(id.empty());
    auto inbound = core::parse_inbound(producer_.records().at(0).value);
    ASSERT_TRUE(inbound);
    EXPECT_EQ(inbound->id, conversation + "/" + id);
}

TEST_F(GatewayTest, CardNumbersAreMaskedBeforeTheyReachKafka) {
    start();
    WsClient client(port_);
    client.hello();
    client.message("block card 4111 1111 1111 1111 ending 1111", "pii-1");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    auto inbound = core::parse_inbound(producer_.records().at(0).value);
    ASSERT_TRUE(inbound);
    EXPECT_EQ(inbound->text, "block card **** **** **** 1111 ending 1111");
    EXPECT_EQ(producer_.records().at(0).value.find("4111 1111"), std::string::npos);
}

TEST_F(GatewayTest, ChineseTextRoundTrips) {
    start();
    WsClient client(port_);
    const std::string conversation = client.hello("", "zh-CN");
    client.message("我的信用卡丢了，请帮我挂失", "zh-1");

    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
    auto inbound = core::parse_inbound(producer_.records().at(0).value);
    ASSERT_TRUE(inbound);
    EXPECT_EQ(inbound->text, "我的信用卡丢了，请帮我挂失");
    EXPECT_EQ(inbound->locale, "zh-CN");

    core::OutboundMessage out = reply(conversation, "好的，您要挂失尾号1234的卡吗？", inbound->id);
    out.quick_replies = {{"确认", "是"}, {"取消", "否"}};
    ASSERT_TRUE(gateway_->deliver(out));

    auto frame = client.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->at("type"), "reply");
    EXPECT_EQ(frame->at("text"), "好的，您要挂失尾号1234的卡吗？");
    EXPECT_EQ(frame->at("in_reply_to"), "zh-1");
    const json::array& choices = frame->at("quick_replies").as_array();
    ASSERT_EQ(choices.size(), 2U);
    EXPECT_EQ(choices[0].at("title"), "确认");
    EXPECT_EQ(choices[0].at("payload"), "是");
}

TEST_F(GatewayTest, ProducerRefusalGetsUnavailable) {
    start();
    producer_.set_mode(FakeProducer::Mode::refuse);
    WsClient client(port_);
    client.hello();
    client.message("hello", "r-1");

    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("type"), "error");
    EXPECT_EQ(error->at("code"), "unavailable");
    EXPECT_EQ(error->at("id"), "r-1");
}

TEST_F(GatewayTest, FailedDeliveryReportGetsUnavailableAndAResendIsAcked) {
    start();
    producer_.set_mode(FakeProducer::Mode::fail_delivery);
    WsClient client(port_);
    client.hello();
    client.message("hello", "f-1");

    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "unavailable");
    EXPECT_EQ(error->at("id"), "f-1");

    producer_.set_mode(FakeProducer::Mode::ack);
    client.message("hello", "f-1");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
    EXPECT_EQ(ack->at("id"), "f-1");
}

// ---- WebSocket: bad input keeps the connection ------------------------------------------------

TEST_F(GatewayTest, InvalidJsonGetsAnErrorAndTheConnectionKeepsWorking) {
    start();
    WsClient client(port_);
    client.hello();
    client.send_text("{not json");

    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "invalid_json");

    client.message("still here", "j-1");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
}

TEST_F(GatewayTest, WrongShapesGetBadRequest) {
    start();
    WsClient client(port_);
    client.hello();
    for (const char* frame :
         {R"([1,2])", R"({"type":"dance"})", R"({"type":"message"})",
          R"({"type":"message","text":""})", R"({"type":"message","text":"x","id":"has space"})"}) {
        client.send_text(frame);
        auto error = client.read();
        ASSERT_TRUE(error) << frame;
        EXPECT_EQ(error->at("type"), "error") << frame;
        EXPECT_TRUE(error->at("code") == "bad_request" || error->at("code") == "invalid_json")
            << frame;
    }
    EXPECT_TRUE(producer_.records().empty());
}

TEST_F(GatewayTest, InvalidUtf8InABinaryFrameGetsAnErrorAndTheConnectionKeepsWorking) {
    start();
    WsClient client(port_);
    client.hello();
    client.send_binary("{\"type\":\"message\",\"text\":\"\xC3\x28\"}");

    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "invalid_utf8");

    client.send_binary(R"({"type":"message","text":"binary but fine","id":"b-1"})");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("id"), "b-1");
}

// RFC 6455 section 8.1 and Beast: invalid UTF-8 in a *text* frame fails the connection (1007).
// The client keeps its conversation by reconnecting with hello.
TEST_F(GatewayTest, InvalidUtf8InATextFrameFailsWith1007AndTheConversationResumes) {
    start();
    std::string conversation;
    {
        WsClient client(port_);
        conversation = client.hello();
        client.send_text("{\"type\":\"message\",\"text\":\"\xFF\xFE\"}");
        EXPECT_FALSE(client.read());
        EXPECT_EQ(client.close_reason().code, websocket::close_code::bad_payload);
    }
    WsClient again(port_);
    EXPECT_EQ(again.hello(conversation), conversation);
    again.message("back again", "u-1");
    auto ack = again.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("id"), "u-1");
}

TEST_F(GatewayTest, OneMebibyteFrameGetsTooLargeAndTheConnectionKeepsWorking) {
    start();
    WsClient client(port_);
    client.hello();
    client.send_text(R"({"type":"message","text":")" + std::string(1024 * 1024, 'a') + "\"}");

    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "too_large");

    client.message("small again", "s-1");
    auto ack = client.read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("id"), "s-1");
    EXPECT_EQ(producer_.records().size(), 1U);
}

TEST_F(GatewayTest, MessagePastTheDiscardLimitFailsWith1009) {
    GatewayOptions options;
    options.max_ws_message_bytes = 1024;
    options.max_ws_discard_bytes = 64 * 1024;
    start(options);
    WsClient client(port_);
    client.hello();
    // Two fragments, the second small, so the client has finished writing before the server
    // fails the connection at the second frame's header.
    client.send_fragment(std::string(60 * 1024, 'a'), false);
    client.send_fragment(std::string(8 * 1024, 'a'), true);

    EXPECT_FALSE(client.read());
    EXPECT_EQ(client.close_reason().code, websocket::close_code::too_big);
}

// ---- Replies ----------------------------------------------------------------------------------

TEST_F(GatewayTest, DeliverReachesOnlyTheSocketOfTheConversation) {
    start();
    WsClient alice(port_);
    WsClient bob(port_);
    const std::string alice_conversation = alice.hello();
    const std::string bob_conversation = bob.hello();
    ASSERT_NE(alice_conversation, bob_conversation);

    EXPECT_TRUE(gateway_->deliver(reply(alice_conversation, "for alice", "x", 0)));
    auto frame = alice.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->at("text"), "for alice");
    EXPECT_FALSE(bob.read(200ms));

    EXPECT_FALSE(gateway_->deliver(reply("webchat:nobody_is_here_0000", "lost")));
}

TEST_F(GatewayTest, DuplicateReplyIsShownOnce) {
    start();
    WsClient client(port_);
    const std::string conversation = client.hello();

    EXPECT_TRUE(gateway_->deliver(reply(conversation, "first", conversation + "/m1", 0)));
    EXPECT_TRUE(gateway_->deliver(reply(conversation, "first", conversation + "/m1", 0)));
    EXPECT_TRUE(gateway_->deliver(reply(conversation, "second", conversation + "/m1", 1)));

    auto first = client.read();
    auto second = client.read();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->at("text"), "first");
    EXPECT_EQ(first->at("in_reply_to"), "m1");
    EXPECT_EQ(second->at("text"), "second");
    EXPECT_EQ(second->at("sequence"), 1);
}

TEST_F(GatewayTest, RedeliveredReplyReachesASocketThatReconnected) {
    start();
    std::string conversation;
    {
        WsClient first(port_);
        conversation = first.hello();
        EXPECT_TRUE(gateway_->deliver(reply(conversation, "answer", conversation + "/m1", 0)));
        ASSERT_TRUE(first.read());
    }

    // The customer reconnected and resent m1; the engine re-sent the stored reply.
    WsClient again(port_);
    ASSERT_EQ(again.hello(conversation), conversation);
    EXPECT_TRUE(gateway_->deliver(reply(conversation, "answer", conversation + "/m1", 0)));
    auto frame = again.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->at("text"), "answer");
}

TEST_F(GatewayTest, TwoTabsOfOneConversationBothGetTheReply) {
    start();
    WsClient first(port_);
    const std::string conversation = first.hello();
    WsClient second(port_);
    ASSERT_EQ(second.hello(conversation), conversation);

    EXPECT_TRUE(gateway_->deliver(reply(conversation, "to both")));
    auto a = first.read();
    auto b = second.read();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->at("text"), "to both");
    EXPECT_EQ(b->at("text"), "to both");
}

TEST_F(GatewayTest, ClosedSocketNoLongerHoldsTheConversation) {
    start();
    std::string conversation;
    {
        WsClient client(port_);
        conversation = client.hello();
    }
    for (int i = 0; i < 200 && gateway_->is_connected(conversation); ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_FALSE(gateway_->is_connected(conversation));
    EXPECT_FALSE(gateway_->deliver(reply(conversation, "too late")));
}

TEST_F(GatewayTest, ManyClientsOnSeveralIoThreadsGetEveryAckAndReply) {
    GatewayOptions options;
    options.io_threads = 4;
    // Each client sends its messages in one burst; this test is about concurrency, not limits.
    options.conversation_burst = 1000;
    start(options);
    constexpr int kClients = 6;
    constexpr int kMessages = 25;

    // Each client thread sends its messages; every ack comes back, and a reply pushed from this
    // thread for each produced record reaches the right client.
    std::vector<std::thread> threads;
    std::atomic<int> acks{0};
    std::atomic<int> replies{0};
    for (int c = 0; c < kClients; ++c) {
        threads.emplace_back([&, c] {
            WsClient client(port_);
            const std::string conversation = client.hello();
            for (int m = 0; m < kMessages; ++m) {
                client.message("message " + std::to_string(m), "c" + std::to_string(m));
            }
            for (int frames = 0; frames < 2 * kMessages; ++frames) {
                auto frame = client.read();
                if (!frame) {
                    break;
                }
                if (frame->at("type") == "ack") {
                    ++acks;
                } else if (frame->at("type") == "reply" &&
                           frame->at("text").as_string() ==
                               std::string_view("to " + conversation)) {
                    ++replies;
                }
            }
        });
    }
    std::size_t answered = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (answered < kClients * kMessages && std::chrono::steady_clock::now() < deadline) {
        producer_.wait_for(answered + 1, 100ms);
        auto records = producer_.records();
        for (; answered < records.size(); ++answered) {
            auto inbound = core::parse_inbound(records[answered].value);
            ASSERT_TRUE(inbound);
            gateway_->deliver(
                reply(inbound->conversation, "to " + inbound->conversation, inbound->id, 0));
        }
    }
    for (std::thread& t : threads) {
        t.join();
    }

    EXPECT_EQ(acks.load(), kClients * kMessages);
    EXPECT_EQ(replies.load(), kClients * kMessages);
}

// ---- Origins and shutdown ---------------------------------------------------------------------

TEST_F(GatewayTest, ForeignOriginIsRefusedAndSameHostOriginIsAccepted) {
    start();
    EXPECT_THROW(WsClient(port_, "https://evil.example"), beast::system_error);

    WsClient same(port_, "http://127.0.0.1:" + std::to_string(port_));
    EXPECT_FALSE(same.hello().empty());
}

TEST_F(GatewayTest, ListedOriginIsAccepted) {
    GatewayOptions options;
    options.allowed_origins = {"https://bank.example"};
    start(options);

    WsClient listed(port_, "https://bank.example");
    EXPECT_FALSE(listed.hello().empty());
    EXPECT_THROW(WsClient(port_, "https://other.example"), beast::system_error);
}

TEST_F(GatewayTest, StopSendsGoingAwayToOpenSockets) {
    start();
    WsClient client(port_);
    client.hello();
    std::thread stopper([this] { gateway_->stop(); });

    EXPECT_FALSE(client.read());
    stopper.join();
    EXPECT_EQ(client.close_reason().code, websocket::close_code::going_away);
    EXPECT_EQ(gateway_->connection_count(), 0U);
}

}  // namespace
}  // namespace teller::channels
