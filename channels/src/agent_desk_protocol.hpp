// The agent desk's WebSocket frames: parsing agents' frames, building the desk's frames (private).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "teller/channels/agent_desk.hpp"
#include "teller/core/handoff.hpp"

namespace teller::channels::detail {

/// Path of the desk's page and of its WebSocket.
inline constexpr std::string_view kAgentPagePath = "/agent";
inline constexpr std::string_view kAgentSocketPath = "/agent/ws";

/// Longest agent name, conversation id and reply accepted from an agent (bytes).
inline constexpr std::size_t kMaxAgentNameBytes = 64;
inline constexpr std::size_t kMaxDeskConversationBytes = 256;
inline constexpr std::size_t kMaxAgentTextBytes = 4096;

/// Codes of the desk's error frames.
enum class DeskError {
    invalid_json,
    invalid_utf8,
    too_large,
    bad_request,
    unauthorized,
    not_found,
    conflict,
    unavailable,
};

std::string_view to_string(DeskError code) noexcept;

/// `{"type":"hello","token":"...","agent":"Anna"}`: must be the first frame.
struct DeskHello {
    std::string token;
    std::string agent;
};

/// `{"type":"join"|"message"|"close","conversation":"...","text":"...","id":"..."}`. `id` is
/// the client's own id for the command ("" when it gave none); `text` only for message.
struct DeskCommand {
    core::AgentCommandType type = core::AgentCommandType::join;
    std::string conversation;
    std::string text;
    std::string id;
};

/// `{"type":"view","conversation":"..."}`: asks for one conversation's transcript.
struct DeskView {
    std::string conversation;
};

/// A refused frame: the code, a reason for people, and the client's id when it could be read.
struct DeskFailure {
    DeskError code;
    std::string message;
    std::string id;
};

using DeskFrame = std::variant<DeskHello, DeskCommand, DeskView, DeskFailure>;

/// Parses one agent frame. Never throws; every problem becomes a DeskFailure (invalid_json for
/// a payload that is no JSON object, bad_request for a missing or ill-typed field, an unknown
/// type, an agent name or conversation id that is empty, too long or holds control characters,
/// a message text that is blank or longer than kMaxAgentTextBytes). `payload` must already be
/// known to be valid UTF-8. Thread-safe.
DeskFrame parse_desk_frame(std::string_view payload);

/// Whether `given` equals `expected`, in time independent of where they differ (both are
/// hashed with SHA-256 first, so their lengths do not show either). False when `expected` is
/// empty. Thread-safe.
bool agent_token_matches(std::string_view expected, std::string_view given) noexcept;

/// Server frames, as compact JSON. A conversation is written as a summary object: conversation,
/// channel, customer, verified, locale, reason, state ("queued", "assigned", or "closed" in
/// the update of a closing event), agent, queued_at_ms, last_activity_ms.
std::string make_desk_snapshot(std::string_view agent,
                               const std::vector<DeskConversation>& conversations);
std::string make_desk_update(const core::HandoffEvent& event, DeskChange change,
                             const DeskConversation& conversation);
std::string make_desk_transcript(const DeskConversation& conversation);
std::string make_desk_ack(std::string_view id, std::string_view command_id,
                          core::AgentCommandType type, std::string_view conversation);
std::string make_desk_error(DeskError code, std::string_view message, std::string_view id = {});

}  // namespace teller::channels::detail
