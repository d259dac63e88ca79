// Tests of the agent desk: its state, its frames, and /agent + /agent/ws on a real gateway.
#include "teller/channels/agent_desk.hpp"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent_desk_protocol.hpp"
#include "gateway_test_support.hpp"
#include "teller/channels/gateway.hpp"
#include "teller/core/error.hpp"
#include "teller/core/handoff.hpp"

namespace teller::channels {
namespace {

using namespace teller::testing;
namespace json = boost::json;
using core::HandoffEvent;
using core::HandoffEventType;

constexpr std::string_view kToken = "desk-token-0123456789abcdef";

HandoffEvent event(HandoffEventType type, std::string id, std::string conversation,
                   std::int64_t at_ms, std::string text = {}, std::string agent = {}) {
    HandoffEvent e;
    e.type = type;
    e.id = std::move(id);
    e.conversation = std::move(conversation);
    e.channel = "webchat";
    e.locale = "en";
    e.text = std::move(text);
    e.agent = std::move(agent);
    e.at_ms = at_ms;
    if (type == HandoffEventType::queued) {
        e.reason = "customer_request";
        e.transcript = {{"customer", "I want to talk to an agent", at_ms - 1}};
    }
    return e;
}

core::Record handoff_record(const HandoffEvent& e) {
    core::Record r;
    r.topic = std::string(core::kHandoffTopic);
    r.key = e.conversation;
    r.value = core::to_json(e);
    return r;
}

// ---- AgentDeskState -----------------------------------------------------------------------------

TEST(AgentDeskStateTest, QueuedEventOpensAConversationWithItsTranscript) {
    AgentDeskState desk;
    EXPECT_EQ(desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100)),
              DeskChange::opened);

    auto c = desk.find("webchat:a");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, DeskState::queued);
    EXPECT_EQ(c->channel, "webchat");
    EXPECT_EQ(c->locale, "en");
    EXPECT_EQ(c->reason, "customer_request");
    ASSERT_EQ(c->transcript.size(), 1U);
    EXPECT_EQ(c->transcript[0].text, "I want to talk to an agent");
    EXPECT_EQ(c->last_activity_ms, 100);
}

TEST(AgentDeskStateTest, LaterEventsSetTheAgentAndExtendTheTranscript) {
    AgentDeskState desk;
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    EXPECT_EQ(
        desk.apply(event(HandoffEventType::customer_message, "e2", "webchat:a", 110, "还在吗？")),
        DeskChange::updated);
    desk.apply(event(HandoffEventType::assigned, "e3", "webchat:a", 120, {}, "Anna"));
    desk.apply(event(HandoffEventType::agent_message, "e4", "webchat:a", 130, "Hello", "Anna"));

    auto c = desk.find("webchat:a");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, DeskState::assigned);
    EXPECT_EQ(c->agent, "Anna");
    ASSERT_EQ(c->transcript.size(), 3U);
    EXPECT_EQ(c->transcript[1].from, "customer");
    EXPECT_EQ(c->transcript[1].text, "还在吗？");
    EXPECT_EQ(c->transcript[2].from, "agent");
    EXPECT_EQ(c->transcript[2].text, "Hello");
    EXPECT_EQ(c->last_activity_ms, 130);
}

TEST(AgentDeskStateTest, ClosedEventRemovesTheConversationAndUnknownOnesAreIgnored) {
    AgentDeskState desk;
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    EXPECT_EQ(desk.apply(event(HandoffEventType::closed, "e2", "webchat:a", 110)),
              DeskChange::closed);
    EXPECT_FALSE(desk.find("webchat:a"));
    EXPECT_EQ(desk.size(), 0U);
    EXPECT_EQ(desk.apply(event(HandoffEventType::closed, "e3", "webchat:b", 120)),
              DeskChange::ignored);
}

TEST(AgentDeskStateTest, DuplicateEventIdIsIgnored) {
    AgentDeskState desk;
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    const auto message = event(HandoffEventType::customer_message, "e2", "webchat:a", 110, "hi");
    EXPECT_EQ(desk.apply(message), DeskChange::updated);
    EXPECT_EQ(desk.apply(message), DeskChange::duplicate);
    // A redelivered close after a reopen does not close the new episode.
    desk.apply(event(HandoffEventType::closed, "e3", "webchat:a", 120));
    desk.apply(event(HandoffEventType::queued, "e4", "webchat:a", 130));
    EXPECT_EQ(desk.apply(event(HandoffEventType::closed, "e3", "webchat:a", 120)),
              DeskChange::duplicate);

    auto c = desk.find("webchat:a");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->transcript.size(), 1U);
    EXPECT_EQ(desk.stats().duplicates, 2U);
    EXPECT_EQ(desk.stats().events, 4U);
}

TEST(AgentDeskStateTest, TranscriptKeepsOnlyTheNewestLines) {
    AgentDeskOptions options;
    options.max_transcript_lines = 3;
    AgentDeskState desk(options);
    desk.apply(event(HandoffEventType::queued, "e0", "webchat:a", 100));
    for (int i = 1; i <= 5; ++i) {
        desk.apply(event(HandoffEventType::customer_message, "m" + std::to_string(i), "webchat:a",
                         100 + i, "line " + std::to_string(i)));
    }
    auto c = desk.find("webchat:a");
    ASSERT_TRUE(c);
    ASSERT_EQ(c->transcript.size(), 3U);
    EXPECT_EQ(c->transcript.front().text, "line 3");
    EXPECT_EQ(c->transcript.back().text, "line 5");
}

TEST(AgentDeskStateTest, PastTheCapTheLeastRecentlyActiveConversationIsForgotten) {
    AgentDeskOptions options;
    options.max_conversations = 2;
    AgentDeskState desk(options);
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    desk.apply(event(HandoffEventType::queued, "e2", "webchat:b", 200));
    desk.apply(event(HandoffEventType::customer_message, "e3", "webchat:a", 300, "still here"));
    desk.apply(event(HandoffEventType::queued, "e4", "webchat:c", 400));

    EXPECT_EQ(desk.size(), 2U);
    EXPECT_TRUE(desk.find("webchat:a"));
    EXPECT_FALSE(desk.find("webchat:b"));
    EXPECT_TRUE(desk.find("webchat:c"));
    EXPECT_EQ(desk.stats().evicted, 1U);
}

TEST(AgentDeskStateTest, RememberedIdsAreBounded) {
    AgentDeskOptions options;
    options.remembered_event_ids = 2;
    AgentDeskState desk(options);
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    desk.apply(event(HandoffEventType::customer_message, "e2", "webchat:a", 101, "x"));
    desk.apply(event(HandoffEventType::customer_message, "e3", "webchat:a", 102, "y"));
    // e1 was forgotten: a queued event with that id applies again (and requeues).
    EXPECT_EQ(desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 103)),
              DeskChange::updated);
    EXPECT_EQ(desk.apply(event(HandoffEventType::customer_message, "e3", "webchat:a", 102, "y")),
              DeskChange::duplicate);
}

TEST(AgentDeskStateTest, EventForAnUnseenConversationOpensIt) {
    AgentDeskState desk;
    EXPECT_EQ(desk.apply(event(HandoffEventType::assigned, "e1", "sms:+1", 100, {}, "Bo")),
              DeskChange::opened);
    auto c = desk.find("sms:+1");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, DeskState::assigned);
    EXPECT_EQ(c->agent, "Bo");
}

TEST(AgentDeskStateTest, SubscribeGivesTheSnapshotThenEveryLaterChangeInOrder) {
    AgentDeskState desk;
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));

    std::vector<std::string> told;
    std::vector<DeskConversation> snapshot;
    const auto id = desk.subscribe(
        [&](const HandoffEvent& e, DeskChange change, const DeskConversation& c) {
            told.push_back(std::string(core::to_string(e.type)) + "/" +
                           std::string(to_string(change)) + "/" + c.conversation);
        },
        &snapshot);
    ASSERT_EQ(snapshot.size(), 1U);
    EXPECT_EQ(snapshot[0].conversation, "webchat:a");
    EXPECT_TRUE(snapshot[0].transcript.empty());  // summaries only

    desk.apply(event(HandoffEventType::queued, "e2", "webchat:b", 200));
    desk.apply(event(HandoffEventType::queued, "e2", "webchat:b", 200));  // duplicate: not told
    desk.apply(event(HandoffEventType::closed, "e3", "webchat:a", 300));
    desk.unsubscribe(id);
    desk.apply(event(HandoffEventType::closed, "e4", "webchat:b", 400));

    EXPECT_EQ(told,
              (std::vector<std::string>{"queued/opened/webchat:b", "closed/closed/webchat:a"}));
}

TEST(AgentDeskStateTest, ZeroLimitsAreRefused) {
    AgentDeskOptions options;
    options.max_conversations = 0;
    EXPECT_THROW(AgentDeskState{options}, core::Error);
}

// ---- AgentDesk
// -------------------------------------------------------------------------------------

TEST(AgentDeskTest, ConsumesHandoffRecordsAndSkipsMalformedOnes) {
    FakeConsumer consumer;
    FakeProducer producer;
    AgentDesk desk(consumer, producer);
    core::Record junk;
    junk.topic = std::string(core::kHandoffTopic);
    junk.value = "{not json";
    consumer.push({junk, handoff_record(event(HandoffEventType::queued, "e1", "webchat:a", 100))});
    desk.start();

    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (desk.state().size() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    desk.stop();
    EXPECT_TRUE(desk.state().find("webchat:a"));
    EXPECT_EQ(desk.state().stats().malformed, 1U);
    EXPECT_TRUE(consumer.wait_committed(1, 0ms).empty());  // the desk never commits
}

TEST(AgentDeskTest, SendProducesAnAgentCommandWithAUniqueId) {
    FakeConsumer consumer;
    FakeProducer producer;
    AgentDesk desk(consumer, producer);

    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        core::AgentCommand command;
        command.type = core::AgentCommandType::message;
        command.conversation = "webchat:a";
        command.agent = "Anna";
        command.text = "Hello, this is Anna";
        ASSERT_FALSE(desk.send(command, {}));
        ids.insert(command.id);
    }
    EXPECT_EQ(ids.size(), 3U);

    ASSERT_TRUE(producer.wait_for(3));
    const core::Record record = producer.records().front();
    EXPECT_EQ(record.topic, core::kAgentTopic);
    EXPECT_EQ(record.key, "webchat:a");
    EXPECT_EQ(record.header("schema"), "teller.agent.v1");
    EXPECT_FALSE(record.header("trace_id").empty());
    auto parsed = core::parse_agent_command(record.value);
    ASSERT_TRUE(parsed) << record.value;
    EXPECT_EQ(parsed->type, core::AgentCommandType::message);
    EXPECT_EQ(parsed->agent, "Anna");
    EXPECT_EQ(parsed->text, "Hello, this is Anna");
    EXPECT_TRUE(ids.contains(parsed->id));
    EXPECT_GT(parsed->at_ms, 0);
}

TEST(AgentDeskTest, SendReportsAProducerThatRefuses) {
    FakeConsumer consumer;
    FakeProducer producer;
    producer.set_mode(FakeProducer::Mode::refuse);
    AgentDesk desk(consumer, producer);
    core::AgentCommand command;
    command.type = core::AgentCommandType::join;
    command.conversation = "webchat:a";
    command.agent = "Anna";
    EXPECT_EQ(desk.send(command, {}), core::Errc::broker_unavailable);
}

// ---- Frames ------------------------------------------------------------------------------------

using namespace teller::channels::detail;

TEST(AgentDeskProtocolTest, ParsesHelloAndCommands) {
    auto hello = parse_desk_frame(R"({"type":"hello","token":"t","agent":"安娜 Anna"})");
    ASSERT_TRUE(std::holds_alternative<DeskHello>(hello));
    EXPECT_EQ(std::get<DeskHello>(hello).agent, "安娜 Anna");
    EXPECT_EQ(std::get<DeskHello>(hello).token, "t");

    auto join = parse_desk_frame(R"({"type":"join","conversation":"webchat:a","id":"j1"})");
    ASSERT_TRUE(std::holds_alternative<DeskCommand>(join));
    EXPECT_EQ(std::get<DeskCommand>(join).type, core::AgentCommandType::join);
    EXPECT_EQ(std::get<DeskCommand>(join).id, "j1");

    auto message = parse_desk_frame(R"({"type":"message","conversation":"webchat:a","text":"Hi"})");
    ASSERT_TRUE(std::holds_alternative<DeskCommand>(message));
    EXPECT_EQ(std::get<DeskCommand>(message).text, "Hi");

    auto close = parse_desk_frame(R"({"type":"close","conversation":"webchat:a"})");
    ASSERT_TRUE(std::holds_alternative<DeskCommand>(close));
    EXPECT_EQ(std::get<DeskCommand>(close).type, core::AgentCommandType::close);

    auto view = parse_desk_frame(R"({"type":"view","conversation":"webchat:a"})");
    ASSERT_TRUE(std::holds_alternative<DeskView>(view));
}

DeskError failure_code(std::string_view payload) {
    auto frame = parse_desk_frame(payload);
    EXPECT_TRUE(std::holds_alternative<DeskFailure>(frame)) << payload;
    return std::holds_alternative<DeskFailure>(frame) ? std::get<DeskFailure>(frame).code
                                                      : DeskError::bad_request;
}

TEST(AgentDeskProtocolTest, RefusesBadFrames) {
    EXPECT_EQ(failure_code("{nope"), DeskError::invalid_json);
    EXPECT_EQ(failure_code("[1,2]"), DeskError::invalid_json);
    EXPECT_EQ(failure_code(R"({"type":7})"), DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"dance","conversation":"a"})"), DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"hello","agent":"Anna"})"), DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"hello","token":"t"})"), DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"hello","token":"t","agent":"A\nB"})"),
              DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"hello","token":"t","agent":"   "})"),
              DeskError::bad_request);
    EXPECT_EQ(
        failure_code(R"({"type":"hello","token":"t","agent":")" + std::string(65, 'a') + "\"}"),
        DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"join"})"), DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"join","conversation":"a","id":"bad id!"})"),
              DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"message","conversation":"a","text":"  "})"),
              DeskError::bad_request);
    EXPECT_EQ(failure_code(R"({"type":"message","conversation":"a","text":")" +
                           std::string(4097, 'x') + "\"}"),
              DeskError::too_large);
}

TEST(AgentDeskProtocolTest, TokenComparisonNeedsTheExactToken) {
    EXPECT_TRUE(agent_token_matches(kToken, kToken));
    EXPECT_FALSE(agent_token_matches(kToken, std::string(kToken) + "x"));
    EXPECT_FALSE(agent_token_matches(kToken, ""));
    EXPECT_FALSE(agent_token_matches("", ""));
}

TEST(AgentDeskProtocolTest, UpdateFrameCarriesTheLinesTheEventAdds) {
    AgentDeskState desk;
    desk.apply(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    auto after = *desk.find("webchat:a");

    auto queued =
        json::parse(make_desk_update(event(HandoffEventType::queued, "e1", "webchat:a", 100),
                                     DeskChange::opened, after))
            .as_object();
    EXPECT_EQ(queued.at("type"), "update");
    EXPECT_EQ(queued.at("event"), "queued");
    EXPECT_EQ(queued.at("change"), "opened");
    EXPECT_EQ(queued.at("conversation").at("state"), "queued");
    ASSERT_EQ(queued.at("lines").as_array().size(), 1U);

    auto message = json::parse(make_desk_update(event(HandoffEventType::customer_message, "e2",
                                                      "webchat:a", 110, "你好"),
                                                DeskChange::updated, after))
                       .as_object();
    ASSERT_EQ(message.at("lines").as_array().size(), 1U);
    EXPECT_EQ(message.at("lines").at(0).at("text"), "你好");
    EXPECT_EQ(message.at("lines").at(0).at("from"), "customer");

    auto closed =
        json::parse(make_desk_update(event(HandoffEventType::closed, "e3", "webchat:a", 120),
                                     DeskChange::closed, after))
            .as_object();
    EXPECT_EQ(closed.at("conversation").at("state"), "closed");
}

// ---- /agent and /agent/ws on a gateway ---------------------------------------------------------

class AgentDeskGatewayTest : public ::testing::Test {
protected:
    void start(std::string token = std::string(kToken)) {
        GatewayOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.instance_id = "gw-desk";
        options.agent_token = std::move(token);
        gateway_ = std::make_unique<Gateway>(std::move(options), producer_);
        gateway_->set_agent_desk(desk_);
        desk_.start();
        port_ = gateway_->start();
    }

    void TearDown() override {
        if (gateway_) {
            gateway_->stop();
        }
        desk_.stop();
    }

    // A socket signed in as `agent`; the snapshot frame is returned through `snapshot`.
    std::unique_ptr<WsClient> sign_in(const std::string& agent, json::object* snapshot = nullptr) {
        auto client = std::make_unique<WsClient>(port_, std::string{}, "/agent/ws");
        client->send_text(
            json::serialize(json::object{{"type", "hello"}, {"token", kToken}, {"agent", agent}}));
        auto frame = client->read();
        EXPECT_TRUE(frame);
        if (frame) {
            EXPECT_EQ(frame->at("type"), "snapshot") << json::serialize(*frame);
            if (snapshot != nullptr) {
                *snapshot = *frame;
            }
        }
        return client;
    }

    void feed(const HandoffEvent& e) { desk_.state().apply(e); }

    FakeProducer producer_;
    FakeConsumer consumer_;
    AgentDesk desk_{consumer_, producer_};
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t port_ = 0;
};

TEST(AgentDeskGatewayOffTest, WithoutATokenTheDeskAnswers404SayingHowToTurnItOn) {
    FakeProducer producer;
    GatewayOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    Gateway gateway(options, producer);
    const std::uint16_t port = gateway.start();

    auto page = http_request(port, http::verb::get, "/agent");
    EXPECT_EQ(page.result(), http::status::not_found);
    EXPECT_EQ(page.body(), "agent desk disabled: set agent_token / TELLER_AGENT_TOKEN\n");
    EXPECT_THROW(WsClient(port, std::string{}, "/agent/ws"), std::exception);
}

TEST(AgentDeskGatewayOffTest, ShortTokenOrMissingDeskIsRefusedAtStartUp) {
    FakeProducer producer;
    GatewayOptions options;
    options.port = 0;
    options.agent_token = "short";
    EXPECT_THROW((Gateway{options, producer}), core::Error);
    options.agent_token = std::string(16, ' ');
    EXPECT_THROW((Gateway{options, producer}), core::Error);

    options.agent_token = std::string(kToken);
    Gateway gateway(options, producer);
    EXPECT_THROW(gateway.start(), core::Error);
}

TEST_F(AgentDeskGatewayTest, ServesASelfContainedDeskPage) {
    start();
    auto page = http_request(port_, http::verb::get, "/agent");
    EXPECT_EQ(page.result(), http::status::ok);
    EXPECT_NE(page[http::field::content_type].find("text/html; charset=utf-8"), std::string::npos);
    EXPECT_NE(page.body().find("<meta charset=\"utf-8\">"), std::string::npos);
    EXPECT_NE(page.body().find("/agent/ws"), std::string::npos);
    EXPECT_NE(page.body().find("location.hash"), std::string::npos);
    EXPECT_EQ(page.body().find("http://"), std::string::npos);
    EXPECT_EQ(page.body().find("https://"), std::string::npos);
    EXPECT_NE(page["Content-Security-Policy"].find("script-src 'sha256-"), std::string::npos);
    EXPECT_EQ(page["Referrer-Policy"], "no-referrer");
    // The token never travels in the request: the page is the same with or without one.
    EXPECT_EQ(page.body().find(kToken), std::string::npos);
}

// The page's logic, run in Node with a fake DOM and WebSocket (skipped without Node): token from
// the fragment into hello, queue and transcript, Take/reply/Close, reconnect unless refused.
TEST_F(AgentDeskGatewayTest, PageScriptBehavesInNode) {
    if (std::system("command -v node >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "node is not installed";
    }
    start();
    const std::string page = http_request(port_, http::verb::get, "/agent").body();
    const std::size_t begin = page.find("<script>");
    const std::size_t end = page.find("</script>");
    ASSERT_NE(begin, std::string::npos);
    ASSERT_NE(end, std::string::npos);

    const std::string script_path = ::testing::TempDir() + "teller_agent_desk_page.js";
    {
        std::ofstream out(script_path, std::ios::binary);
        out << page.substr(begin + 8, end - begin - 8);
    }
    const std::string harness = TELLER_SOURCE_DIR "/tests/gateway/agent_desk_page_harness.js";
    const std::string command = "node '" + harness + "' '" + script_path + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(AgentDeskGatewayTest, WrongTokenIsRefusedAndTheSocketClosed) {
    start();
    WsClient client(port_, std::string{}, "/agent/ws");
    client.send_text(R"({"type":"hello","token":"desk-token-guess-0000000","agent":"Eve"})");
    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("type"), "error");
    EXPECT_EQ(error->at("code"), "unauthorized");
    EXPECT_FALSE(client.read());
    EXPECT_EQ(client.close_reason().code, websocket::close_code::policy_error);
}

TEST_F(AgentDeskGatewayTest, CommandBeforeHelloIsRefused) {
    start();
    feed(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    WsClient client(port_, std::string{}, "/agent/ws");
    client.send_text(R"({"type":"join","conversation":"webchat:a"})");
    auto error = client.read();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "unauthorized");
    EXPECT_FALSE(client.read());
    EXPECT_TRUE(producer_.records().empty());
}

TEST_F(AgentDeskGatewayTest, SocketWithoutHelloIsClosed) {
    start();
    WsClient client(port_, std::string{}, "/agent/ws");
    auto error = client.read(10s);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->at("code"), "unauthorized");
    EXPECT_FALSE(client.read(5s));
    EXPECT_EQ(client.close_reason().code, websocket::close_code::policy_error);
}

TEST_F(AgentDeskGatewayTest, BadFramesGetErrorsAndTheSocketKeepsWorking) {
    start();
    feed(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    auto client = sign_in("Anna");

    client->send_text("{not json");
    EXPECT_EQ(client->read()->at("code"), "invalid_json");
    client->send_text(R"({"type":"dance","conversation":"webchat:a"})");
    EXPECT_EQ(client->read()->at("code"), "bad_request");
    client->send_binary("{\"type\":\"view\",\"conversation\":\"\xC3\x28\"}");
    EXPECT_EQ(client->read()->at("code"), "invalid_utf8");
    client->send_text(std::string(70 * 1024, ' '));
    EXPECT_EQ(client->read()->at("code"), "too_large");
    client->send_text(R"({"type":"hello","token":"x","agent":"Anna"})");
    EXPECT_EQ(client->read()->at("code"), "bad_request");
    client->send_text(R"({"type":"join","conversation":"webchat:none","id":"j0"})");
    auto missing = client->read();
    EXPECT_EQ(missing->at("code"), "not_found");
    EXPECT_EQ(missing->at("id"), "j0");

    client->send_text(R"({"type":"view","conversation":"webchat:a"})");
    auto transcript = client->read();
    ASSERT_TRUE(transcript);
    EXPECT_EQ(transcript->at("type"), "transcript");
    EXPECT_EQ(transcript->at("lines").as_array().size(), 1U);
}

TEST_F(AgentDeskGatewayTest, SnapshotUpdatesAndCommandsFollowTheDesk) {
    start();
    feed(event(HandoffEventType::queued, "e1", "webchat:a", 100));
    json::object snapshot;
    auto anna = sign_in("Anna", &snapshot);
    ASSERT_EQ(snapshot.at("conversations").as_array().size(), 1U);
    EXPECT_EQ(snapshot.at("conversations").at(0).at("conversation"), "webchat:a");
    EXPECT_EQ(snapshot.at("agent"), "Anna");

    // Writing before the conversation is hers is refused; joining is produced and acked.
    anna->send_text(R"({"type":"message","conversation":"webchat:a","text":"Hi","id":"m0"})");
    EXPECT_EQ(anna->read()->at("code"), "conflict");
    anna->send_text(R"({"type":"join","conversation":"webchat:a","id":"j1"})");
    auto ack = anna->read();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->at("type"), "ack");
    EXPECT_EQ(ack->at("id"), "j1");
    EXPECT_EQ(ack->at("command_type"), "join");
    ASSERT_EQ(producer_.records().size(), 1U);
    auto join = core::parse_agent_command(producer_.records()[0].value);
    ASSERT_TRUE(join);
    EXPECT_EQ(join->type, core::AgentCommandType::join);
    EXPECT_EQ(join->agent, "Anna");
    EXPECT_EQ(ack->at("command").as_string(), join->id);

    // The engine's answer arrives as an update; then Bo cannot take it, Anna can write.
    feed(event(HandoffEventType::assigned, "e2", "webchat:a", 110, {}, "Anna"));
    auto update = anna->read();
    ASSERT_TRUE(update);
    EXPECT_EQ(update->at("type"), "update");
    EXPECT_EQ(update->at("event"), "assigned");
    EXPECT_EQ(update->at("conversation").at("agent"), "Anna");

    auto bo = sign_in("Bo");
    bo->send_text(R"({"type":"join","conversation":"webchat:a","id":"j2"})");
    EXPECT_EQ(bo->read()->at("code"), "conflict");

    anna->send_text(R"({"type":"message","conversation":"webchat:a","text":"您好","id":"m1"})");
    EXPECT_EQ(anna->read()->at("type"), "ack");
    ASSERT_EQ(producer_.records().size(), 2U);
    auto message = core::parse_agent_command(producer_.records()[1].value);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->text, "您好");
    EXPECT_NE(message->id, join->id);

    // A command Kafka does not acknowledge is reported to the agent.
    producer_.set_mode(FakeProducer::Mode::fail_delivery);
    anna->send_text(R"({"type":"close","conversation":"webchat:a","id":"c1"})");
    auto failed = anna->read();
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->at("code"), "unavailable");
    EXPECT_EQ(failed->at("id"), "c1");
    producer_.set_mode(FakeProducer::Mode::refuse);
    anna->send_text(R"({"type":"close","conversation":"webchat:a","id":"c2"})");
    EXPECT_EQ(anna->read()->at("code"), "unavailable");

    // Closing leaves every desk.
    feed(event(HandoffEventType::closed, "e3", "webchat:a", 130, {}, "Anna"));
    auto closed = bo->read();
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->at("event"), "closed");
    EXPECT_EQ(closed->at("conversation").at("state"), "closed");
}

}  // namespace
}  // namespace teller::channels
