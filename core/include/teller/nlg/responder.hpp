// The interface the dialogue manager phrases replies through: templates and FAQ answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "teller/core/error.hpp"

namespace teller::nlg {

/// The acts the dialogue manager renders itself; a template set used by the dialogue must
/// define each of them (checked at start-up).
namespace act {
inline constexpr std::string_view greet = "system.greet";
inline constexpr std::string_view goodbye = "system.goodbye";
inline constexpr std::string_view thanks = "system.thanks";
inline constexpr std::string_view nothing_to_confirm = "system.nothing_to_confirm";
inline constexpr std::string_view cancelled = "system.cancelled";
inline constexpr std::string_view nothing_to_cancel = "system.nothing_to_cancel";
inline constexpr std::string_view handoff = "system.handoff";
inline constexpr std::string_view out_of_scope = "system.out_of_scope";
inline constexpr std::string_view clarify = "system.clarify";
inline constexpr std::string_view not_understood = "system.not_understood";
inline constexpr std::string_view apology = "system.apology";
/// The FAQ had no article above the threshold: say so and offer a person.
inline constexpr std::string_view faq_unknown = "faq.unknown";
/// The quick-reply title that offers a person after faq_unknown.
inline constexpr std::string_view offer_agent = "faq.offer_agent";
inline constexpr std::string_view all[] = {
    greet,      goodbye,      thanks,  nothing_to_confirm, cancelled, nothing_to_cancel,
    handoff,    out_of_scope, clarify, not_understood,     apology,   faq_unknown,
    offer_agent};
}  // namespace act

/// Who a reply is for; `conversation` and `turn` seed the choice of variation so a replay of
/// the same turn picks the same words.
struct ReplyContext {
    std::string locale = "en";
    std::string channel;
    std::string conversation;
    std::int64_t turn = 0;
    std::string skill;  ///< the skill the reply belongs to ("" for the dialogue's own)
};

/// A rendered reply and where its words came from: "template" or "generator".
struct RenderedReply {
    std::string text;
    std::string source;
    std::string guard;  ///< the guard's verdict on the generator's try; "" when not tried
};

/// The knowledge base's verdict on a question.
struct FaqDecision {
    bool answered = false;  ///< the best article scored at or above the threshold
    std::string article;    ///< the best article (even when not answered)
    float score = 0;
    std::string answer;  ///< the article's answer, verbatim, when answered
};

/// Implemented by nlg::Nlg; the dialogue manager works without one (built-in English and
/// Chinese texts, no FAQ). Implementations must be thread-safe.
class Responder {
public:
    virtual ~Responder() = default;

    /// Renders `act` with `slots`. Errors: nlg::Errc::no_template, missing_slot,
    /// bad_slot_value.
    virtual core::Result<RenderedReply> render(std::string_view act,
                                               const boost::json::object& slots,
                                               const ReplyContext& context) const = 0;

    /// Asks the knowledge base; nullopt when no FAQ model is loaded.
    virtual std::optional<FaqDecision> ask_faq(std::string_view text,
                                               std::string_view locale) const = 0;
};

}  // namespace teller::nlg
