// Encoding, decoding and validation of the agent desk protocol (teller.handoff, teller.agent).
#include "teller/core/handoff.hpp"

#include <gtest/gtest.h>

#include "teller/core/events.hpp"

namespace teller::core {
namespace {

HandoffEvent sample_event() {
    HandoffEvent e;
    e.type = HandoffEventType::queued;
    e.id = "h-1";
    e.conversation = "webchat:abc";
    e.channel = "webchat";
    e.customer = "C123";
    e.verified = true;
    e.locale = "zh-CN";
    e.reason = "customer_request";
    e.transcript = {{"customer", "我的卡丢了", 1000}, {"bot", "Your card is blocked.", 2000}};
    e.at_ms = 1796403723125;
    return e;
}

TEST(HandoffCodecTest, EventRoundTripsEveryField) {
    HandoffEvent in = sample_event();
    auto parsed = parse_handoff_event(to_json(in));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->type, HandoffEventType::queued);
    EXPECT_EQ(parsed->id, in.id);
    EXPECT_EQ(parsed->conversation, in.conversation);
    EXPECT_EQ(parsed->channel, in.channel);
    EXPECT_EQ(parsed->customer, in.customer);
    EXPECT_TRUE(parsed->verified);
    EXPECT_EQ(parsed->locale, in.locale);
    EXPECT_EQ(parsed->reason, in.reason);
    EXPECT_EQ(parsed->at_ms, in.at_ms);
    ASSERT_EQ(parsed->transcript.size(), 2u);
    EXPECT_EQ(parsed->transcript[0].from, "customer");
    EXPECT_EQ(parsed->transcript[0].text, "我的卡丢了");
    EXPECT_EQ(parsed->transcript[1].at_ms, 2000);
}

TEST(HandoffCodecTest, EveryEventTypeRoundTrips) {
    for (auto type :
         {HandoffEventType::queued, HandoffEventType::customer_message, HandoffEventType::assigned,
          HandoffEventType::agent_message, HandoffEventType::closed}) {
        HandoffEvent e = sample_event();
        e.type = type;
        e.agent = "Alice";
        e.text = "hello";
        auto parsed = parse_handoff_event(to_json(e));
        ASSERT_TRUE(parsed) << to_string(type);
        EXPECT_EQ(parsed->type, type);
        EXPECT_EQ(parsed->agent, "Alice");
        EXPECT_EQ(parsed->text, "hello");
    }
}

TEST(HandoffCodecTest, CommandRoundTripsEveryType) {
    for (auto type : {AgentCommandType::join, AgentCommandType::message, AgentCommandType::close}) {
        AgentCommand c;
        c.type = type;
        c.id = "a-1";
        c.conversation = "sms:+4915100000000";
        c.agent = "Bob";
        c.text = "How can I help?";
        c.at_ms = 42;
        auto parsed = parse_agent_command(to_json(c));
        ASSERT_TRUE(parsed) << to_string(type);
        EXPECT_EQ(parsed->type, type);
        EXPECT_EQ(parsed->id, "a-1");
        EXPECT_EQ(parsed->conversation, c.conversation);
        EXPECT_EQ(parsed->agent, "Bob");
        EXPECT_EQ(parsed->text, c.text);
        EXPECT_EQ(parsed->at_ms, 42);
    }
}

TEST(HandoffCodecTest, RejectsOversizedRecords) {
    std::string big = R"({"v":1,"type":"join","id":"a","conversation":"c","agent":"x","text":")" +
                      std::string(kMaxEventBytes, 'a') + "\"}";
    EXPECT_EQ(parse_agent_command(big).error(), Errc::payload_too_large);
    EXPECT_EQ(parse_handoff_event(big).error(), Errc::payload_too_large);
}

TEST(HandoffCodecTest, RejectsInvalidUtf8) {
    std::string bad =
        "{\"v\":1,\"type\":\"join\",\"id\":\"a\",\"conversation\":\"c\xff\",\"agent\":\"x\"}";
    EXPECT_EQ(parse_agent_command(bad).error(), Errc::invalid_utf8);
    EXPECT_EQ(parse_handoff_event(bad).error(), Errc::invalid_utf8);
}

TEST(HandoffCodecTest, RejectsMalformedJson) {
    EXPECT_EQ(parse_agent_command("{\"v\":1,").error(), Errc::malformed_json);
    EXPECT_EQ(parse_agent_command("[1,2]").error(), Errc::malformed_json);
    EXPECT_EQ(parse_handoff_event("not json").error(), Errc::malformed_json);
}

TEST(HandoffCodecTest, RejectsOtherVersions) {
    EXPECT_EQ(
        parse_agent_command(R"({"v":2,"type":"join","id":"a","conversation":"c","agent":"x"})")
            .error(),
        Errc::unsupported_version);
    EXPECT_EQ(
        parse_agent_command(R"({"type":"join","id":"a","conversation":"c","agent":"x"})").error(),
        Errc::missing_field);
}

TEST(HandoffCodecTest, RejectsMissingRequiredFields) {
    EXPECT_EQ(
        parse_agent_command(R"({"v":1,"type":"join","conversation":"c","agent":"x"})").error(),
        Errc::missing_field);
    EXPECT_EQ(parse_agent_command(R"({"v":1,"type":"join","id":"a","agent":"x"})").error(),
              Errc::missing_field);
    EXPECT_EQ(parse_agent_command(R"({"v":1,"type":"join","id":"a","conversation":"c"})").error(),
              Errc::missing_field);
    EXPECT_EQ(parse_handoff_event(R"({"v":1,"type":"queued","conversation":"c"})").error(),
              Errc::missing_field);
}

TEST(HandoffCodecTest, RejectsUnknownTypes) {
    EXPECT_EQ(
        parse_agent_command(R"({"v":1,"type":"kick","id":"a","conversation":"c","agent":"x"})")
            .error(),
        Errc::missing_field);
    EXPECT_EQ(parse_handoff_event(R"({"v":1,"type":"lost","id":"a","conversation":"c"})").error(),
              Errc::missing_field);
}

TEST(HandoffCodecTest, RejectsMessageWithoutText) {
    EXPECT_EQ(
        parse_agent_command(R"({"v":1,"type":"message","id":"a","conversation":"c","agent":"x"})")
            .error(),
        Errc::missing_field);
    EXPECT_TRUE(
        parse_agent_command(R"({"v":1,"type":"close","id":"a","conversation":"c","agent":"x"})"));
}

TEST(HandoffCodecTest, RejectsWronglyTypedFields) {
    EXPECT_EQ(parse_agent_command(
                  R"({"v":1,"type":"join","id":"a","conversation":"c","agent":"x","at_ms":"now"})")
                  .error(),
              Errc::missing_field);
    EXPECT_EQ(parse_handoff_event(
                  R"({"v":1,"type":"queued","id":"a","conversation":"c","transcript":{}})")
                  .error(),
              Errc::missing_field);
    EXPECT_EQ(
        parse_handoff_event(
            R"({"v":1,"type":"queued","id":"a","conversation":"c","transcript":[{"text":"x"}]})")
            .error(),
        Errc::missing_field);
}

}  // namespace
}  // namespace teller::core
