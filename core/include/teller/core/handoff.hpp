// The human agent desk protocol: conversations handed to people (teller.handoff) and what the
// people do with them (teller.agent), as JSON records keyed by conversation id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/error.hpp"

namespace teller::core {

/// Engine -> agent desks: every change of a handed-off conversation, in order per conversation.
/// Holds customer text unmasked (agents must read it): protect it like teller.inbound.
inline constexpr std::string_view kHandoffTopic = "teller.handoff";
/// Agent desks -> engine: agents joining, writing and closing.
inline constexpr std::string_view kAgentTopic = "teller.agent";
/// The consumer group the engine side (HandoffRelay) reads teller.agent in.
inline constexpr std::string_view kHandoffRelayGroup = "teller-handoff";

/// What happened to a handed-off conversation.
enum class HandoffEventType {
    queued,            ///< the customer waits for a person; `reason`, `transcript` set
    customer_message,  ///< the customer wrote while queued or with an agent; `text` set
    assigned,          ///< an agent took the conversation; `agent` set
    agent_message,     ///< an agent's reply was sent to the customer; `agent`, `text` set
    closed,            ///< back to the bot; `reason`: "agent", "customer" or "expired"
};

std::string_view to_string(HandoffEventType type) noexcept;

/// One line of the conversation so far, shown to the agent who takes it.
struct TranscriptLine {
    std::string from;  ///< "customer", "bot" or "agent"
    std::string text;
    std::int64_t at_ms = 0;
};

/// A record on teller.handoff. `id` is unique per record, so a desk can drop redeliveries.
struct HandoffEvent {
    HandoffEventType type = HandoffEventType::queued;
    std::string id;
    std::string conversation;
    std::string channel;   ///< the customer's channel ("webchat", "sms", ...)
    std::string customer;  ///< verified customer id; "" for an anonymous customer
    bool verified = false;
    std::string locale;  ///< the customer's language ("en", "zh-CN")
    std::string text;    ///< customer_message, agent_message
    std::string agent;   ///< assigned, agent_message, closed (when an agent closed it)
    std::string reason;  ///< queued: "customer_request", "skill", "faq_unknown"; closed: see above
    std::vector<TranscriptLine> transcript;  ///< queued: the most recent lines, oldest first
    std::int64_t at_ms = 0;
};

/// What an agent asks for.
enum class AgentCommandType {
    join,     ///< take the conversation (the first join wins; a later one is refused)
    message,  ///< send `text` to the customer
    close,    ///< end the conversation with a person; the bot takes over again
};

std::string_view to_string(AgentCommandType type) noexcept;

/// A record on teller.agent. `id` is unique per command, so the engine acts on it once.
struct AgentCommand {
    AgentCommandType type = AgentCommandType::message;
    std::string id;
    std::string conversation;
    std::string agent;  ///< the agent's display name
    std::string text;   ///< message: what the customer will read
    std::int64_t at_ms = 0;
};

/// Compact JSON with `"v": 1`; field names as in the structs, `type` as to_string.
std::string to_json(const HandoffEvent& event);
std::string to_json(const AgentCommand& command);

/// Parse and validate a record. Errors as parse_inbound (payload_too_large, invalid_utf8,
/// malformed_json, unsupported_version, missing_field), plus missing_field for an unknown
/// `type`. A message command needs a non-empty `text`. Thread-safe.
Result<HandoffEvent> parse_handoff_event(std::string_view json);
Result<AgentCommand> parse_agent_command(std::string_view json);

}  // namespace teller::core
