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
};

/// What one turn produces. `session` replaces the session passed in.
struct TurnOutput {
    std::vector<OutboundMessage> replies;
    std::vector<DialogueEvent> events;
    boost::json::object session;
};

/// Pure dialogue logic (no Kafka, no Redis). The session is a JSON object:
/// `{ "locale", "skill", "state", "slots", "turns", "started_at", "handoff",
///    "recent": [ { "id", "replies": [ "<OutboundMessage JSON>", ... ] } ] }`.
/// Thread-safe: run_turn is const and the skill host is shared.
class DialogueManager {
public:
    DialogueManager(const SkillHost& skills, DialogueOptions options = {});

    /// Runs one turn. Never throws for anything a skill does: a failing skill becomes an
    /// apology reply plus an `error` event. All text in events is masked.
    TurnOutput run_turn(const InboundMessage& inbound, const NluResult& nlu,
                        boost::json::object session, std::int64_t now_ms) const;

    /// The replies already sent for `inbound_id` when the session remembers it, else nullopt.
    static std::optional<std::vector<OutboundMessage>> find_recent(
        const boost::json::object& session, std::string_view inbound_id);

    const DialogueOptions& options() const noexcept { return options_; }

private:
    const SkillHost& skills_;
    DialogueOptions options_;
};

/// The locale to answer in: zh-CN for CJK text, en for Latin letters, otherwise (digits,
/// button payloads) `fallback` when non-empty, else "en".
std::string reply_locale(std::string_view text, std::string_view fallback);

}  // namespace teller::core
