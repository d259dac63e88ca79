// The dialogue manager: one customer turn from message, NLU result and session to replies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "teller/core/events.hpp"
#include "teller/core/handoff.hpp"
#include "teller/core/nlu.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::nlg {
class Responder;
}  // namespace teller::nlg

namespace teller::core {

struct DialogueOptions {
    /// Below this top-intent confidence the bot asks which of the two best intents was meant.
    float confidence_threshold = 0.5f;
    /// Intents marked "verified" in their manifest run only for a verified customer (a signed
    /// web chat token, or a one-time code on SMS and WhatsApp); anyone else gets the step-up.
    /// Off only for demos and tests that hold no real customer data.
    bool require_verification = true;
    /// How many processed inbound ids (with their replies) a session remembers for redelivery.
    std::size_t recent_limit = 20;
    /// Templates and FAQ answers (nlg/responder.hpp); must outlive the manager. Without one the
    /// built-in English and Chinese texts are used and no FAQ is asked.
    const nlg::Responder* responder = nullptr;
    /// Offer the satisfaction survey (a skill's `crm.feedback` intent) after a goodbye in a
    /// conversation that ran a skill or had an agent, and after an agent closes a handoff.
    /// Skipped silently when no skill provides `crm.feedback`.
    bool survey = true;
    /// How many lines (customer, bot, agent) of the conversation the session keeps for the
    /// agent who takes it over; each line is cut to kTranscriptLineBytes.
    std::size_t transcript_limit = 10;
};

/// The longest transcript line kept in a session (bytes, cut at a UTF-8 boundary).
inline constexpr std::size_t kTranscriptLineBytes = 500;

/// What one turn produces. `session` replaces the session passed in.
struct TurnOutput {
    std::vector<OutboundMessage> replies;
    std::vector<DialogueEvent> events;
    /// Records for the agent desks (kHandoffTopic), in order.
    std::vector<HandoffEvent> handoff;
    boost::json::object session;
    /// False when the session needs no write (a refused agent command).
    bool session_changed = true;
};

/// Where the replies of a turn nobody typed go (an agent's command, the survey after a
/// handoff): the customer's last route, as the session's `handoff` keeps it.
struct SystemTurn {
    std::string id;  ///< `in_reply_to` of the replies and events, e.g. "agent:<command id>"
    std::string conversation;
    std::string channel;
    std::string recipient;
    std::string reply_to;  ///< gateway instance that held the customer's connection
    std::string locale;
    std::string trace_id;
};

/// Pure dialogue logic (no Kafka, no Redis). The session is a JSON object:
/// `{ "locale", "skill", "state", "slots", "turns", "started_at", "handoff", "transcript",
///    "survey", "recent": [ { "id", "replies": [ "<OutboundMessage JSON>", ... ],
///    "handoff": [ "<HandoffEvent JSON>", ... ] } ] }`.
/// `handoff`, while a person holds or is about to take the conversation: `{ "state": "queued" |
/// "active", "reason", "since", "agent", "channel", "recipient", "reply_to", "locale",
/// "customer", "verified" }`; the route fields follow the customer's latest message. While it
/// is set the bot does not answer: each customer message becomes a `customer_message` record
/// (and, while queued, "cancel" leaves the queue).
/// Thread-safe: run_turn is const and the skill host is shared.
class DialogueManager {
public:
    DialogueManager(const SkillHost& skills, DialogueOptions options = {});

    /// Runs one turn. Never throws for anything a skill does: a failing skill becomes an
    /// apology reply plus an `error` event. All text in events is masked.
    TurnOutput run_turn(const InboundMessage& inbound, const NluResult& nlu,
                        boost::json::object session, std::int64_t now_ms) const;

    /// Runs `intent` (a skill intent) as if the customer had asked for it, in a turn nobody
    /// typed, answering through `route`. Returns an output with no replies and
    /// session_changed false when no skill provides `intent` or a flow holds the conversation.
    /// Thread-safe.
    TurnOutput start_intent(const SystemTurn& route, std::string_view intent,
                            boost::json::object session, std::int64_t now_ms) const;

    /// Applies an agent's command to the conversation's session (`session` empty: there is
    /// none): join (queued -> active; a join on a conversation another agent holds is refused
    /// with an `assigned` record naming that agent; on a conversation not handed off, a
    /// `closed` record with reason "expired"), message (sent to the customer only from the
    /// assigned agent of an active handoff, else an `error` event and session_changed false),
    /// close (back to the bot, the customer told, then the survey). Replies go to the route the
    /// handoff keeps, `in_reply_to` "agent:<command id>". Thread-safe.
    TurnOutput agent_turn(const AgentCommand& command, boost::json::object session,
                          std::int64_t now_ms) const;

    /// The replies already sent for `inbound_id` when the session remembers it, else nullopt.
    static std::optional<std::vector<OutboundMessage>> find_recent(
        const boost::json::object& session, std::string_view inbound_id);

    /// The agent desk records produced for `inbound_id` when the session remembers it (to send
    /// again after a redelivery; desks drop repeated ids).
    static std::vector<HandoffEvent> find_recent_handoff(const boost::json::object& session,
                                                         std::string_view inbound_id);

    const DialogueOptions& options() const noexcept { return options_; }

private:
    // run_turn with an intent chosen by the system (no user_uttered event, not remembered for
    // redelivery) when `system` is set; reply sequence numbers start at `first_sequence`.
    TurnOutput turn(const InboundMessage& inbound, const NluResult& nlu,
                    boost::json::object session, std::int64_t now_ms, bool system,
                    std::uint32_t first_sequence) const;

    const SkillHost& skills_;
    DialogueOptions options_;
};

/// The locale to answer in: zh-CN for CJK text, en for Latin letters, otherwise (digits,
/// button payloads) `fallback` when non-empty, else "en".
std::string reply_locale(std::string_view text, std::string_view fallback);

}  // namespace teller::core
