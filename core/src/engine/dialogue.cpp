// One dialogue turn: intent choice, clarification, system intents, skill calls and the session.
#include "teller/core/dialogue.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "teller/core/log.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

// A reply text in both locales.
struct Text {
    std::string_view en;
    std::string_view zh;

    std::string_view in(std::string_view locale) const { return locale == "zh-CN" ? zh : en; }
};

// TODO(teller): the greeting and the out-of-scope answer name the shipped skills' tasks; they
// should be built from the loaded skills' manifests so a bank's own skills are offered too.
constexpr Text kGreet{
    "Hello! I can block a lost or stolen card, activate a card, tell you your balance, and help "
    "with loans: products, monthly payments, eligibility and applications.",
    "您好！我可以帮您挂失或激活银行卡、查询余额，也可以介绍贷款产品、计算月供、评估资格和申请贷款"
    "。"};
constexpr Text kGoodbye{"Goodbye, and thank you for banking with us.", "再见，感谢您的使用。"};
constexpr Text kThanks{"You're welcome! Anything else I can do for you?",
                       "不客气！还有什么可以帮您？"};
// A yes or no with nothing waiting for it (e.g. a button tapped after the session expired).
constexpr Text kNothingToConfirm{
    "Nothing is waiting for your confirmation, so nothing was changed. What would you like to do?",
    "目前没有需要您确认的操作，也没有做任何更改。请问您想办理什么业务？"};
constexpr Text kCancelled{"Okay, I've stopped that. Nothing was changed.",
                          "好的，已取消，没有做任何更改。"};
constexpr Text kNothingToCancel{"There's nothing to cancel. How can I help?",
                                "目前没有可取消的操作。请问有什么可以帮您？"};
constexpr Text kHandoff{
    "I'm connecting you with a colleague. Please stay in this chat; they will see our "
    "conversation so far.",
    "正在为您转接人工客服，请不要离开对话，客服会看到我们之前的聊天记录。"};
constexpr Text kOutOfScope{
    "Sorry, I can't help with that here yet. I can block a lost or stolen card, tell you your "
    "balance, activate a card or help with a loan. Type \"agent\" to talk to a person.",
    "抱歉，这个问题我暂时无法处理。我可以帮您挂失银行卡、查询余额、激活新卡或办理贷款。"
    "输入“人工”可转接客服。"};
constexpr Text kClarify{"Sorry, I'm not sure I understood. Did you mean one of these?",
                        "抱歉，我没有完全理解。您是想办理以下哪一项？"};
constexpr Text kNotUnderstood{"Sorry, I didn't understand that. Could you say it another way?",
                              "抱歉，我没有理解。您能换个说法吗？"};
constexpr Text kApology{
    "Sorry, something went wrong on our side. Please try again in a moment, or type \"agent\" "
    "to talk to a person.",
    "抱歉，我们这边出了点问题。请稍后再试，或输入“人工”联系客服。"};

// Lowercases ASCII, trims spaces and trailing punctuation, so "Cancel!" matches "cancel".
std::string normalise(std::string_view text) {
    std::string out;
    for (char c : text) {
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    std::string_view view = out;
    for (bool trimmed = true; trimmed;) {
        trimmed = false;
        for (std::string_view tail : {" ", "\t", "\n", "!", ".", "?", "！", "。", "？"}) {
            if (view.ends_with(tail)) {
                view.remove_suffix(tail.size());
                trimmed = true;
            }
        }
    }
    while (!view.empty() && (view.front() == ' ' || view.front() == '\t')) {
        view.remove_prefix(1);
    }
    return std::string(view);
}

// The keywords that cancel or hand off anywhere, whatever the model says.
std::string_view keyword_intent(std::string_view text) {
    static const std::pair<std::string_view, std::string_view> kKeywords[] = {
        {"cancel", system_intent::cancel},      {"stop", system_intent::cancel},
        {"取消", system_intent::cancel},        {"agent", system_intent::human_agent},
        {"human", system_intent::human_agent},  {"人工", system_intent::human_agent},
        {"转人工", system_intent::human_agent}, {"人工客服", system_intent::human_agent},
    };
    std::string n = normalise(text);
    for (const auto& [word, intent] : kKeywords) {
        if (n == word) {
            return intent;
        }
    }
    return {};
}

bool has_ascii_letter(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// Builds turns' outputs; keeps the sequence numbering and the bot_uttered events together.
class TurnBuilder {
public:
    TurnBuilder(const InboundMessage& in, std::string locale, std::int64_t now)
        : in_(in), locale_(std::move(locale)), now_(now) {}

    void reply(std::string_view text, std::vector<Choice> quick_replies = {}) {
        OutboundMessage m;
        m.conversation = in_.conversation;
        m.channel = in_.channel;
        m.recipient = in_.sender;
        m.text = std::string(text);
        m.locale = locale_;
        m.quick_replies = std::move(quick_replies);
        m.in_reply_to = in_.id;
        m.reply_to = in_.reply_to;
        m.created_at_ms = now_;
        m.trace_id = in_.trace_id;
        m.sequence = static_cast<std::uint32_t>(out.replies.size());
        event(DialogueEventType::bot_uttered,
              {{"text", mask_personal_data(text)}, {"sequence", m.sequence}});
        out.replies.push_back(std::move(m));
    }

    void event(DialogueEventType type, json::object data) {
        out.events.push_back({type, in_.conversation, in_.id, now_, in_.trace_id, std::move(data)});
    }

    TurnOutput out;

private:
    const InboundMessage& in_;
    std::string locale_;
    std::int64_t now_;
};

// Masks every string inside a JSON value (slot values may carry personal data).
json::value masked(const json::value& v) {
    if (v.is_string()) {
        return json::value(mask_personal_data(v.as_string()));
    }
    if (v.is_object()) {
        json::object o;
        for (const auto& [k, x] : v.as_object()) {
            o[k] = masked(x);
        }
        return o;
    }
    if (v.is_array()) {
        json::array a;
        for (const json::value& x : v.as_array()) {
            a.push_back(masked(x));
        }
        return a;
    }
    return v;
}

}  // namespace

// Whether a turn inside `active_skill`'s flow is a clear request for another skill's task.
// The bar is higher than the clarify threshold: an answer to the flow's question ("20000",
// "the one ending 4821") must not be taken for a new request.
static bool switches_skill(const IntentInfo* info, const std::string& active_skill,
                           float confidence) {
    constexpr float kSwitchConfidence = 0.8f;
    return info != nullptr && !info->skill.empty() && info->skill != active_skill &&
           confidence >= kSwitchConfidence;
}

std::string reply_locale(std::string_view text, std::string_view fallback) {
    std::string detected = detect_locale(text);
    if (detected == "zh-CN") {
        return detected;
    }
    if (has_ascii_letter(text) && !text.starts_with("/")) {
        return "en";
    }
    // Replies exist in English and Simplified Chinese: any Chinese tag ("zh", "zh-Hans-CN",
    // "zh-TW") gets Chinese, everything else English.
    // TODO(teller): Traditional Chinese customers get Simplified replies; there are no zh-TW
    // templates yet.
    std::string tag(fallback);
    for (char& c : tag) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return tag == "zh" || tag.starts_with("zh-") || tag.starts_with("zh_") ? "zh-CN" : "en";
}

DialogueManager::DialogueManager(const SkillHost& skills, DialogueOptions options)
    : skills_(skills), options_(options) {}

std::optional<std::vector<OutboundMessage>> DialogueManager::find_recent(
    const json::object& session, std::string_view inbound_id) {
    const json::value* recent = session.if_contains("recent");
    if (recent == nullptr || !recent->is_array()) {
        return std::nullopt;
    }
    for (const json::value& entry : recent->as_array()) {
        const json::object* e = entry.if_object();
        const json::value* id = e ? e->if_contains("id") : nullptr;
        if (id == nullptr || !id->is_string() || id->as_string() != inbound_id) {
            continue;
        }
        std::vector<OutboundMessage> replies;
        if (const json::value* r = e->if_contains("replies"); r && r->is_array()) {
            for (const json::value& text : r->as_array()) {
                if (!text.is_string()) {
                    continue;
                }
                if (auto m = parse_outbound(text.as_string())) {
                    replies.push_back(std::move(*m));
                }
            }
        }
        return replies;
    }
    return std::nullopt;
}

TurnOutput DialogueManager::run_turn(const InboundMessage& in, const NluResult& nlu,
                                     json::object session, std::int64_t now_ms) const {
    // Locale: the customer's text decides; digits and button payloads keep the session's.
    std::string previous_locale;
    if (const json::value* l = session.if_contains("locale"); l && l->is_string()) {
        previous_locale = std::string(l->as_string());
    }
    std::string locale =
        reply_locale(in.text, previous_locale.empty() ? std::string_view(in.locale)
                                                      : std::string_view(previous_locale));
    TurnBuilder turn(in, locale, now_ms);

    bool fresh = session.empty();
    if (fresh) {
        session["started_at"] = now_ms;
        session["skill"] = nullptr;
        session["state"] = nullptr;
        session["slots"] = json::object{};
        session["turns"] = 0;
        session["recent"] = json::array{};
        turn.event(DialogueEventType::session_started,
                   {{"channel", in.channel}, {"locale", locale}});
    }
    session["locale"] = locale;

    // Intent: an anywhere keyword, then a tapped "/intent" payload, then the model's best.
    std::string intent;
    float confidence = 0.0f;
    bool certain = false;
    if (std::string_view k = keyword_intent(in.text); !k.empty()) {
        intent = std::string(k);
        confidence = 1.0f;
        certain = true;
    } else if (in.text.starts_with("/") && skills_.find_intent(in.text.substr(1)) != nullptr) {
        intent = in.text.substr(1);
        confidence = 1.0f;
        certain = true;
    } else if (!nlu.ranking.empty()) {
        intent = nlu.ranking.front().intent;
        confidence = nlu.ranking.front().confidence;
    }

    json::array entities;
    for (const Entity& e : nlu.entities) {
        entities.push_back(json::object{{"type", e.type}, {"value", mask_personal_data(e.value)}});
    }
    turn.event(DialogueEventType::user_uttered, {{"intent", intent},
                                                 {"confidence", confidence},
                                                 {"text", mask_personal_data(in.text)},
                                                 {"entities", entities},
                                                 {"locale", locale}});

    std::string active_skill;
    if (const json::value* s = session.if_contains("skill"); s && s->is_string()) {
        active_skill = std::string(s->as_string());
    }
    auto end_skill = [&session] {
        session["skill"] = nullptr;
        session["state"] = nullptr;
    };
    bool confident = certain || confidence >= options_.confidence_threshold;

    // Runs a skill for this turn and applies its response.
    auto run_skill = [&](const std::string& skill) {
        json::array request_entities;
        for (const Entity& e : nlu.entities) {
            request_entities.push_back(
                json::object{{"type", e.type}, {"value", e.value}, {"text", e.text}});
        }
        json::value state = session.contains("state") ? session.at("state") : json::value();
        json::object request{
            {"conversation", in.conversation},
            {"channel", in.channel},
            {"locale", locale},
            {"text", in.text},
            // Below the threshold the skill gets no intent name, only the text: a guess must
            // never confirm an action (a "?" once blocked a card as a low-confidence "affirm").
            {"intent", json::object{{"name", confident ? intent : std::string()},
                                    {"confidence", confidence}}},
            {"entities", request_entities},
            {"state", state},
            {"slots", session.contains("slots") ? session.at("slots") : json::object{}},
            // TODO(teller): customers are never verified yet (no signed web-chat token or
            // one-time code step-up), so sensitive skills run for unverified customers.
            {"customer", json::object{{"id", in.sender}, {"verified", false}}},
        };
        turn.event(DialogueEventType::skill_invoked, {{"skill", skill}, {"intent", intent}});

        auto response = skills_.call(skill, request);
        if (!response) {
            turn.event(DialogueEventType::error, {{"code", response.error().value()},
                                                  {"error", response.error().message()},
                                                  {"skill", skill}});
            turn.reply(kApology.in(locale));
            end_skill();
            return;
        }
        const json::object& r = *response;
        if (const json::value* replies = r.if_contains("replies")) {
            for (const json::value& reply : replies->as_array()) {
                const json::object& o = reply.as_object();
                std::vector<Choice> choices;
                if (const json::value* qr = o.if_contains("quick_replies")) {
                    for (const json::value& q : qr->as_array()) {
                        choices.push_back({std::string(q.at("title").as_string()),
                                           std::string(q.at("payload").as_string())});
                    }
                }
                turn.reply(o.at("text").as_string(), std::move(choices));
            }
        }
        if (const json::value* slots = r.if_contains("slots")) {
            json::value& slots_value = session["slots"];
            if (!slots_value.is_object()) {
                slots_value = json::object{};
            }
            json::object& session_slots = slots_value.as_object();
            for (const auto& [name, value] : slots->as_object()) {
                session_slots[name] = value;
                turn.event(DialogueEventType::slot_set, {{"name", name}, {"value", masked(value)}});
            }
        }
        // A skill's own audit events, masked like slots (they may name a phone or a card).
        if (const json::value* extra = r.if_contains("events"); extra && extra->is_array()) {
            for (const json::value& e : extra->as_array()) {
                if (!e.is_object()) {
                    continue;
                }
                json::object data = masked(e).as_object();
                data["skill"] = skill;
                turn.event(DialogueEventType::skill_event, std::move(data));
            }
        }
        const json::value* next = r.if_contains("state");
        if (next != nullptr && next->is_object()) {
            session["skill"] = skill;
            session["state"] = *next;
        } else {
            end_skill();
        }
        if (const json::value* h = r.if_contains("handoff"); h && h->as_bool()) {
            turn.event(DialogueEventType::handoff_requested,
                       {{"reason", "skill"}, {"skill", skill}});
            session["handoff"] = true;
            end_skill();
        }
    };

    // Decide what answers this turn.
    const IntentInfo* info = skills_.find_intent(intent);
    if (confident && intent == system_intent::cancel) {
        turn.reply(active_skill.empty() ? kNothingToCancel.in(locale) : kCancelled.in(locale));
        end_skill();
    } else if (confident && intent == system_intent::human_agent) {
        // TODO(teller): nothing routes the conversation to a person yet (no agent desk
        // integration); the handoff is only an event and later messages are still answered by
        // the bot.
        turn.event(DialogueEventType::handoff_requested,
                   {{"reason", "customer_request"}, {"skill", active_skill}});
        turn.reply(kHandoff.in(locale));
        session["handoff"] = true;
        end_skill();
    } else if (!active_skill.empty() && switches_skill(info, active_skill, confidence)) {
        // A clear request for another skill's task ends the current flow (nothing it was
        // about to do is done) and starts the new one.
        // TODO(teller): the first flow is dropped, not resumed afterwards ("digression").
        end_skill();
        run_skill(info->skill);
    } else if (!active_skill.empty()) {
        run_skill(active_skill);
    } else if (!confident) {
        // Never guess: offer the two best skill intents as buttons ("yes" or "thanks" would
        // not help someone who was not understood).
        std::vector<Choice> choices;
        for (std::size_t i = 0; i < nlu.ranking.size() && choices.size() < 2; ++i) {
            const std::string& name = nlu.ranking[i].intent;
            const IntentInfo* candidate = skills_.find_intent(name);
            if (candidate != nullptr && !candidate->skill.empty()) {
                choices.push_back({skills_.intent_title(name, locale), "/" + name});
            }
        }
        // The prompt is chosen before `choices` is moved into the call.
        const Text& prompt = choices.empty() ? kNotUnderstood : kClarify;
        turn.reply(prompt.in(locale), std::move(choices));
    } else if (info != nullptr && !info->skill.empty()) {
        run_skill(info->skill);
    } else if (intent == system_intent::greet) {
        turn.reply(kGreet.in(locale));
    } else if (intent == system_intent::goodbye) {
        turn.reply(kGoodbye.in(locale));
    } else if (intent == system_intent::thanks) {
        turn.reply(kThanks.in(locale));
    } else if (intent == system_intent::affirm || intent == system_intent::deny) {
        turn.reply(kNothingToConfirm.in(locale));
    } else {
        turn.reply(kOutOfScope.in(locale));
    }

    // Remember this inbound id and its replies so a redelivery is answered identically.
    json::array stored;
    for (const OutboundMessage& m : turn.out.replies) {
        stored.push_back(json::value(to_json(m)));
    }
    json::value& recent_value = session["recent"];
    if (!recent_value.is_array()) {
        recent_value = json::array{};
    }
    json::array& recent = recent_value.as_array();
    recent.push_back(json::object{{"id", in.id}, {"replies", std::move(stored)}});
    while (recent.size() > std::max<std::size_t>(options_.recent_limit, 1)) {
        recent.erase(recent.begin());
    }
    std::int64_t turns = 0;
    if (const json::value* t = session.if_contains("turns"); t && t->is_int64()) {
        turns = t->as_int64();
    }
    session["turns"] = turns + 1;

    turn.out.session = std::move(session);
    return std::move(turn.out);
}

}  // namespace teller::core
