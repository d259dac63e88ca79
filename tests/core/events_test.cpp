// Encoding, decoding and validation of the canonical events.
#include "teller/core/events.hpp"

#include <gtest/gtest.h>

namespace teller::core {
namespace {

InboundMessage sample_inbound() {
    InboundMessage m;
    m.id = "m-1";
    m.channel = "webchat";
    m.conversation = "webchat:abc";
    m.sender = "abc";
    m.text = "我的卡丢了";
    m.locale = "zh-CN";
    m.received_at_ms = 1796403723125;
    m.reply_to = "gw-1";
    m.trace_id = "t-1";
    m.metadata["ip"] = "127.0.0.1";
    return m;
}

TEST(EventsTest, InboundRoundTripsEveryField) {
    InboundMessage in = sample_inbound();
    auto parsed = parse_inbound(to_json(in));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->id, in.id);
    EXPECT_EQ(parsed->channel, in.channel);
    EXPECT_EQ(parsed->conversation, in.conversation);
    EXPECT_EQ(parsed->sender, in.sender);
    EXPECT_EQ(parsed->text, in.text);
    EXPECT_EQ(parsed->locale, in.locale);
    EXPECT_EQ(parsed->received_at_ms, in.received_at_ms);
    EXPECT_EQ(parsed->reply_to, in.reply_to);
    EXPECT_EQ(parsed->trace_id, in.trace_id);
    EXPECT_EQ(parsed->metadata.at("ip").as_string(), "127.0.0.1");
}

TEST(EventsTest, OutboundRoundTripsQuickReplies) {
    OutboundMessage out;
    out.conversation = "webchat:abc";
    out.channel = "webchat";
    out.text = "Which card?";
    out.quick_replies = {{"•••• 1234", "1234"}, {"•••• 9876", "9876"}};
    out.in_reply_to = "m-1";
    out.sequence = 2;
    out.created_at_ms = 1000;
    auto parsed = parse_outbound(to_json(out));
    ASSERT_TRUE(parsed) << parsed.error().message();
    ASSERT_EQ(parsed->quick_replies.size(), 2u);
    EXPECT_EQ(parsed->quick_replies[1].payload, "9876");
    EXPECT_EQ(parsed->sequence, 2u);
    EXPECT_EQ(parsed->in_reply_to, "m-1");
}

TEST(EventsTest, DialogueEventRoundTripsTypeAndData) {
    DialogueEvent e;
    e.type = DialogueEventType::handoff_requested;
    e.conversation = "c";
    e.data["queue"] = "cards";
    auto parsed = parse_dialogue_event(to_json(e));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->type, DialogueEventType::handoff_requested);
    EXPECT_EQ(parsed->data.at("queue").as_string(), "cards");
}

struct BadInput {
    std::string name;
    std::string payload;
    Errc expected;
};

class EventsRejectTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(EventsRejectTest, RejectsWithAPreciseReason) {
    auto parsed = parse_inbound(GetParam().payload);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), make_error_code(GetParam().expected)) << parsed.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EventsRejectTest,
    ::testing::Values(
        BadInput{"not_json", "{not json", Errc::malformed_json},
        BadInput{"array", "[1,2]", Errc::malformed_json},
        BadInput{"empty", "", Errc::malformed_json},
        BadInput{"no_version", R"({"id":"1","channel":"c","conversation":"x","text":""})",
                 Errc::missing_field},
        BadInput{"future_version", R"({"v":2,"id":"1","channel":"c","conversation":"x","text":""})",
                 Errc::unsupported_version},
        BadInput{"missing_id", R"({"v":1,"channel":"c","conversation":"x","text":"hi"})",
                 Errc::missing_field},
        BadInput{"text_not_string", R"({"v":1,"id":"1","channel":"c","conversation":"x","text":5})",
                 Errc::missing_field},
        BadInput{"bad_timestamp",
                 R"({"v":1,"id":"1","channel":"c","conversation":"x","text":"",)"
                 R"("received_at":"yesterday"})",
                 Errc::missing_field},
        BadInput{"invalid_utf8", "{\"v\":1,\"text\":\"\xC3\x28\"}", Errc::invalid_utf8},
        BadInput{"too_large", std::string(kMaxEventBytes + 1, ' '), Errc::payload_too_large}),
    [](const auto& info) { return info.param.name; });

TEST(EventsTest, Utf8ValidatorAcceptsValidAndRejectsMalformedSequences) {
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("我的卡丢了 €5 😀"));
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // UTF-16 surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xE6\x88"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(EventsTest, TimestampsRoundTripAtMillisecondPrecision) {
    EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_timestamp(1796403723125), "2026-12-04T17:02:03.125Z");
    EXPECT_EQ(parse_timestamp("2026-12-04T17:02:03.125Z"), 1796403723125);
    EXPECT_EQ(parse_timestamp("2026-02-30T00:00:00.000Z"), -1);
    EXPECT_EQ(parse_timestamp("2026-12-04 17:02:03"), -1);
}

}  // namespace
}  // namespace teller::core
