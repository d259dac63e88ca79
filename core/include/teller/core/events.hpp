// Canonical events that cross Kafka: InboundMessage, OutboundMessage and DialogueEvent (JSON, v1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "teller/core/error.hpp"

namespace teller::core {

/// Schema version written as `"v"` in every event; readers reject other versions.
inline constexpr int kSchemaVersion = 1;

/// Largest event payload accepted from Kafka or a channel (bytes).
inline constexpr std::size_t kMaxEventBytes = 256 * 1024;

/// Kafka topics, as named in the design.
inline constexpr std::string_view kInboundTopic = "teller.inbound";
inline constexpr std::string_view kOutboundTopic = "teller.outbound";
inline constexpr std::string_view kEventsTopic = "teller.events";
inline constexpr std::string_view kDlqTopic = "teller.dlq";
/// Proactive notifications from the bank's CRM, read by NotificationRelay (notifications.hpp).
inline constexpr std::string_view kCrmTopic = "teller.crm";

/// A customer's message as a channel adapter normalised it. Key on Kafka: `conversation`.
struct InboundMessage {
    std::string id;            ///< the channel's own message id; dedupe key with `channel`
    std::string channel;       ///< "webchat", "sms", "telegram", "whatsapp", "wechat"
    std::string conversation;  ///< stable conversation id (channel + sender, or the chat id)
    std::string sender;
    std::string text;
    std::string locale;  ///< BCP 47 hint from the channel ("en", "zh-CN"); may be empty
    std::int64_t received_at_ms = 0;  ///< milliseconds since the Unix epoch
    std::string reply_to;             ///< gateway instance that holds the customer's connection
    std::string trace_id;
    boost::json::object metadata;  ///< channel-specific, opaque to the engine
    boost::json::array attachments;
};

/// A button or quick reply offered with a reply. `payload` is what the customer "says" by tapping.
struct Choice {
    std::string title;
    std::string payload;
};

/// A reply to a customer. Key on Kafka: `conversation`.
struct OutboundMessage {
    std::string conversation;
    std::string channel;
    std::string recipient;
    std::string text;
    std::string locale;
    std::vector<Choice> quick_replies;
    std::string in_reply_to;  ///< id of the InboundMessage this answers ("" for proactive)
    std::string reply_to;     ///< gateway instance to deliver through ("" = any)
    std::int64_t created_at_ms = 0;
    std::string trace_id;
    std::uint32_t sequence = 0;  ///< position of this reply among the replies to one inbound
};

/// Kinds of audit events on `teller.events`.
enum class DialogueEventType {
    user_uttered,
    slot_set,
    skill_invoked,
    bot_uttered,
    handoff_requested,
    session_started,
    session_expired,
    error,
    skill_event,  ///< an audit event a skill added (data: "skill" plus the skill's own fields)
};

std::string_view to_string(DialogueEventType type) noexcept;

/// One audit record. Personal data in `data` must already be masked.
struct DialogueEvent {
    DialogueEventType type = DialogueEventType::error;
    std::string conversation;
    std::string in_reply_to;
    std::int64_t at_ms = 0;
    std::string trace_id;
    boost::json::object data;
};

/// Serialises to compact JSON with `"v": 1`.
std::string to_json(const InboundMessage& message);
std::string to_json(const OutboundMessage& message);
std::string to_json(const DialogueEvent& event);

/// Parses and validates an event. Errors: payload_too_large, invalid_utf8, malformed_json,
/// unsupported_version, missing_field. Thread-safe.
Result<InboundMessage> parse_inbound(std::string_view json);
Result<OutboundMessage> parse_outbound(std::string_view json);
Result<DialogueEvent> parse_dialogue_event(std::string_view json);

/// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// Formats milliseconds since the epoch as RFC 3339 UTC ("2026-12-04T17:03:00.125Z").
std::string format_timestamp(std::int64_t ms_since_epoch);

/// Parses the output of format_timestamp; -1 when `text` is not such a timestamp.
std::int64_t parse_timestamp(std::string_view text) noexcept;

}  // namespace teller::core
