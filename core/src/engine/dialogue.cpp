// One dialogue turn: intent choice, clarification, system intents, skill calls and the session.
#include "teller/core/dialogue.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "teller/core/log.hpp"
#include "teller/nlg/responder.hpp"

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
constexpr Text kSignIn{
    "To see or change your accounts and cards I need to know it's you: please sign in to "
    "online banking and open the chat from there.",
    "查看或办理账户、银行卡业务需要先验证身份：请登录网上银行后从那里打开在线客服。"};
constexpr Text kCodeSent{
    "For your security I've sent a one-time code to your registered phone. Please type it here.",
    "为了您的账户安全，我们已向您的预留手机发送一次性验证码，请在这里输入。"};
constexpr Text kCodeWrong{"That code isn't right. Please check it and type it again.",
                          "验证码不正确，请核对后重新输入。"};
constexpr Text kCodeLocked{
    "That code was wrong too many times, so I've stopped. Type \"agent\" to talk to a person.",
    "验证码错误次数过多，本次操作已停止。输入“人工”可转接客服。"};
constexpr Text kUnknownNumber{
    "I can't find an account registered to this number, so I can't verify you here. Please "
    "call the bank, or type \"agent\" to talk to a person.",
    "找不到登记此号码的账户，无法在此验证您的身份。请致电银行，或输入“人工”联系客服。"};
constexpr Text kVerified{"Thank you, you're verified.", "谢谢，身份验证已通过。"};
constexpr Text kResume{"Back to where we were: ", "回到刚才的事项："};
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

    // `nlg` (which act, template or generator, which article) goes into the bot_uttered event.
    void reply(std::string_view text, std::vector<Choice> quick_replies = {},
               json::object nlg = {}) {
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
        json::object data{{"text", mask_personal_data(text)}, {"sequence", m.sequence}};
        if (!nlg.empty()) {
            data["nlg"] = std::move(nlg);
        }
        event(DialogueEventType::bot_uttered, std::move(data));
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

// Channels whose sender is a phone number the bank can send a one-time code to.
bool phone_channel(std::string_view channel) {
    return channel == "sms" || channel == "whatsapp";
}

// A one-time code as customers type it: 4 to 8 ASCII digits, spaces allowed.
std::optional<std::string> typed_code(std::string_view text) {
    std::string digits;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            digits.push_back(c);
        } else if (c != ' ') {
            return std::nullopt;
        }
    }
    if (digits.size() < 4 || digits.size() > 8) {
        return std::nullopt;
    }
    return digits;
}

bool flag_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->as_bool();
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

    // Who the customer is: a gateway that checked a signed web chat token says so in the
    // metadata; a one-time code checked earlier in this session is kept in the session.
    if (flag_at(in.metadata, "verified")) {
        const json::value* id = in.metadata.if_contains("customer_id");
        if (id != nullptr && id->is_string() && !id->as_string().empty()) {
            session["customer"] = json::object{{"id", *id}, {"verified", true}, {"via", "token"}};
        }
    }
    std::string customer_id = in.sender;
    bool verified = false;
    if (const json::value* c = session.if_contains("customer"); c && c->is_object()) {
        if (const json::value* id = c->as_object().if_contains("id"); id && id->is_string()) {
            customer_id = std::string(id->as_string());
        }
        verified = flag_at(c->as_object(), "verified");
    }

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
    // A one-time code the customer was asked for never reaches the audit stream.
    bool code_answer = session.contains("pending") && typed_code(in.text).has_value();
    turn.event(
        DialogueEventType::user_uttered,
        {{"intent", intent},
         {"confidence", confidence},
         {"text", code_answer ? std::string("[one-time code]") : mask_personal_data(in.text)},
         {"entities", entities},
         {"locale", locale}});

    std::string active_skill;
    if (const json::value* s = session.if_contains("skill"); s && s->is_string()) {
        active_skill = std::string(s->as_string());
    }
    auto end_skill = [&session] {
        session["skill"] = nullptr;
        session["state"] = nullptr;
        session.erase("prompt");
        session.erase("skill_intent");
    };
    bool confident = certain || confidence >= options_.confidence_threshold;

    // The dialogue's own replies: the responder's template for `act` when there is one, else
    // the built-in text.
    const nlg::Responder* nlg = options_.responder;
    std::int64_t turn_number = 0;
    if (const json::value* t = session.if_contains("turns"); t && t->is_int64()) {
        turn_number = t->as_int64();
    }
    const nlg::ReplyContext reply_context{locale, in.channel, in.conversation, turn_number, ""};
    auto phrase = [&](std::string_view act, const Text& fallback) -> std::string {
        if (nlg != nullptr) {
            if (auto r = nlg->render(act, {}, reply_context)) {
                return r->text;
            }
        }
        return std::string(fallback.in(locale));
    };
    auto say = [&](std::string_view act, const Text& fallback, std::vector<Choice> choices = {}) {
        json::object info;
        if (nlg != nullptr) {
            info = {{"act", act}};
        }
        turn.reply(phrase(act, fallback), std::move(choices), std::move(info));
    };

    // TODO(teller): the FAQ is not asked while a skill's flow is active (the flow gets every
    // turn), so "what are your opening hours?" in the middle of a card activation is answered
    // by the flow's re-prompt, not by the knowledge base.
    // Asks the knowledge base. An article above the threshold is answered verbatim; below it,
    // when `unknown_offers_agent`, the bot says it does not know and offers a person. Returns
    // whether the turn was answered.
    std::optional<nlg::FaqDecision> faq_decision;
    auto answer_from_faq = [&](bool unknown_offers_agent) -> bool {
        bool first = !faq_decision.has_value();
        if (first && nlg != nullptr) {
            faq_decision = nlg->ask_faq(in.text, locale);
        }
        const std::optional<nlg::FaqDecision>& d = faq_decision;
        if (!d) {
            return false;
        }
        if (first) {
            turn.event(DialogueEventType::skill_invoked, {{"skill", "faq"},
                                                          {"intent", intent},
                                                          {"article", d->article},
                                                          {"score", d->score},
                                                          {"answered", d->answered}});
        }
        if (d->answered) {
            turn.reply(d->answer, {},
                       {{"source", "faq"}, {"article", d->article}, {"score", d->score}});
            return true;
        }
        if (!unknown_offers_agent) {
            return false;
        }
        std::vector<Choice> agent{{phrase(nlg::act::offer_agent, kHandoff),
                                   "/" + std::string(system_intent::human_agent)}};
        say(nlg::act::faq_unknown, kOutOfScope, std::move(agent));
        return true;
    };

    // What a skill is asked: this turn's text, intent and entities, or those of a request held
    // back until the customer was verified.
    std::string skill_text = in.text;
    std::string skill_intent = confident ? intent : std::string();
    json::array skill_entities;
    for (const Entity& e : nlu.entities) {
        skill_entities.push_back(
            json::object{{"type", e.type}, {"value", e.value}, {"text", e.text}});
    }

    // Runs a skill for this turn and applies its response.
    auto run_skill = [&](const std::string& skill) {
        bool starting =
            active_skill != skill || !session.contains("state") || session.at("state").is_null();
        json::value state = session.contains("state") ? session.at("state") : json::value();
        json::object request{
            {"conversation", in.conversation},
            {"channel", in.channel},
            {"locale", locale},
            {"text", skill_text},
            // Below the threshold the skill gets no intent name, only the text: a guess must
            // never confirm an action (a "?" once blocked a card as a low-confidence "affirm").
            {"intent", json::object{{"name", skill_intent}, {"confidence", confidence}}},
            {"entities", skill_entities},
            {"state", state},
            {"slots", session.contains("slots") ? session.at("slots") : json::object{}},
            {"customer", json::object{{"id", customer_id}, {"verified", verified}}},
        };
        turn.event(DialogueEventType::skill_invoked, {{"skill", skill}, {"intent", intent}});

        auto response = skills_.call(skill, request);
        if (!response) {
            turn.event(DialogueEventType::error, {{"code", response.error().value()},
                                                  {"error", response.error().message()},
                                                  {"skill", skill}});
            say(nlg::act::apology, kApology);
            end_skill();
            return;
        }
        const json::object& r = *response;
        std::size_t first_reply = turn.out.replies.size();
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
                // A reply may carry an act and slots for the templates; its text is the fallback.
                const json::value* act = o.if_contains("act");
                if (nlg != nullptr && act != nullptr && act->is_string()) {
                    const json::value* slots = o.if_contains("slots");
                    nlg::ReplyContext context = reply_context;
                    context.skill = skill;
                    auto r = nlg->render(
                        act->as_string(),
                        slots && slots->is_object() ? slots->as_object() : json::object{}, context);
                    if (r) {
                        turn.reply(r->text, std::move(choices),
                                   {{"act", act->as_string()},
                                    {"source", r->source},
                                    {"guard", r->guard}});
                        continue;
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
            if (starting) {
                session["skill_intent"] = skill_intent;
            }
            // The question the flow now waits on, to ask again if it is resumed later.
            json::array prompt;
            for (std::size_t i = first_reply; i < turn.out.replies.size(); ++i) {
                json::array choices;
                for (const Choice& c : turn.out.replies[i].quick_replies) {
                    choices.push_back(json::object{{"title", c.title}, {"payload", c.payload}});
                }
                prompt.push_back(json::object{{"text", turn.out.replies[i].text},
                                              {"choices", std::move(choices)}});
            }
            session["prompt"] = std::move(prompt);
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

    // Sensitive intents need a verified customer: anyone else gets the step-up instead. On a
    // phone channel that is a one-time code (the request waits in the session until the code
    // is typed); elsewhere the customer must sign in (a signed web chat token).
    auto needs_step_up = [&](const IntentInfo* i) {
        return options_.require_verification && i != nullptr && i->requires_verification &&
               !verified;
    };
    auto step_up = [&](const IntentInfo& i) {
        turn.event(DialogueEventType::skill_event, {{"type", "verification_required"},
                                                    {"skill", "dialogue"},
                                                    {"intent", i.name},
                                                    {"channel", in.channel}});
        if (!phone_channel(in.channel)) {
            say("verify.sign_in", kSignIn);
            return;
        }
        // Wrong codes count for the whole session, not per request: asking again does not
        // buy more guesses.
        constexpr std::int64_t kMaxCodeFailures = 3;
        std::int64_t failures = 0;
        if (const json::value* f = session.if_contains("otp_failures"); f && f->is_int64()) {
            failures = f->as_int64();
        }
        if (failures >= kMaxCodeFailures) {
            say("verify.locked", kCodeLocked);
            return;
        }
        auto sent = skills_.backend().call("otp.send", {{"customer", customer_id}});
        if (sent && sent->is_object() && !flag_at(sent->as_object(), "sent") &&
            sent->as_object().contains("error")) {
            say("verify.unknown_number", kUnknownNumber);
            return;
        }
        if (!sent || !sent->is_object() || !flag_at(sent->as_object(), "sent")) {
            turn.event(DialogueEventType::error,
                       {{"error", "the one-time code could not be sent"}, {"skill", "dialogue"}});
            say(nlg::act::apology, kApology);
            return;
        }
        session["pending"] = json::object{{"skill", i.skill},
                                          {"intent", i.name},
                                          {"text", in.text},
                                          {"entities", skill_entities},
                                          {"attempts", 0}};
        say("verify.code_sent", kCodeSent);
    };
    // Pauses the active flow so that it resumes once the interrupting one is over.
    auto pause_active = [&] {
        constexpr std::size_t kMaxPaused = 3;
        json::value& paused_value = session["paused"];
        if (!paused_value.is_array()) {
            paused_value = json::array{};
        }
        json::array& paused = paused_value.as_array();
        std::string started_by;
        if (const json::value* si = session.if_contains("skill_intent"); si && si->is_string()) {
            started_by = std::string(si->as_string());
        }
        paused.push_back(json::object{
            {"skill", active_skill},
            {"state", session.contains("state") ? session.at("state") : json::value()},
            {"prompt", session.contains("prompt") ? session.at("prompt") : json::array{}},
            {"skill_intent", started_by}});
        while (paused.size() > kMaxPaused) {
            paused.erase(paused.begin());
        }
    };

    // A one-time code the customer was asked for: check it, then run the request it unlocks.
    bool answered_by_code = false;
    if (const json::value* p = session.if_contains("pending"); p && p->is_object()) {
        json::object pending = p->as_object();
        session.erase("pending");
        if (auto code = typed_code(in.text)) {
            answered_by_code = true;
            auto checked =
                skills_.backend().call("otp.verify", {{"customer", customer_id}, {"code", *code}});
            bool ok = checked && checked->is_object() && flag_at(checked->as_object(), "verified");
            if (ok) {
                session["customer"] =
                    json::object{{"id", customer_id}, {"verified", true}, {"via", "otp"}};
                verified = true;
                turn.event(DialogueEventType::skill_event,
                           {{"type", "customer_verified"}, {"skill", "dialogue"}, {"via", "otp"}});
                say("verify.ok", kVerified);
                const json::value* t = pending.if_contains("text");
                const json::value* i = pending.if_contains("intent");
                const json::value* s = pending.if_contains("skill");
                const json::value* e = pending.if_contains("entities");
                skill_text = t && t->is_string() ? std::string(t->as_string()) : std::string();
                skill_intent = i && i->is_string() ? std::string(i->as_string()) : std::string();
                skill_entities = e && e->is_array() ? e->as_array() : json::array{};
                if (s && s->is_string() && skills_.find_intent(skill_intent) != nullptr) {
                    run_skill(std::string(s->as_string()));
                }
            } else {
                std::int64_t attempts = 1;
                if (const json::value* a = session.if_contains("otp_failures");
                    a && a->is_int64()) {
                    attempts += a->as_int64();
                }
                session["otp_failures"] = attempts;
                turn.event(DialogueEventType::skill_event, {{"type", "verification_failed"},
                                                            {"skill", "dialogue"},
                                                            {"attempts", attempts}});
                constexpr std::int64_t kMaxCodeAttempts = 3;
                if (attempts >= kMaxCodeAttempts) {
                    say("verify.locked", kCodeLocked);
                } else {
                    pending["attempts"] = attempts;
                    session["pending"] = std::move(pending);
                    say("verify.code_wrong", kCodeWrong);
                }
            }
        }
        // Anything else: the customer moved on, and the held request is dropped.
    }

    // Decide what answers this turn.
    const IntentInfo* info = skills_.find_intent(intent);
    if (answered_by_code) {
        // The code was checked above.
    } else if (confident && intent == system_intent::cancel) {
        if (active_skill.empty()) {
            say(nlg::act::nothing_to_cancel, kNothingToCancel);
        } else {
            say(nlg::act::cancelled, kCancelled);
        }
        end_skill();
    } else if (confident && intent == system_intent::human_agent) {
        // TODO(teller): nothing routes the conversation to a person yet (no agent desk
        // integration); the handoff is only an event and later messages are still answered by
        // the bot.
        turn.event(DialogueEventType::handoff_requested,
                   {{"reason", "customer_request"}, {"skill", active_skill}});
        say(nlg::act::handoff, kHandoff);
        session["handoff"] = true;
        session.erase("paused");
        end_skill();
    } else if (!active_skill.empty() && switches_skill(info, active_skill, confidence)) {
        // A clear request for another skill's task interrupts the current flow ("digression"):
        // it is paused, the new task runs, and the paused one resumes when that is over.
        pause_active();
        end_skill();
        if (needs_step_up(info)) {
            step_up(*info);
        } else {
            run_skill(info->skill);
        }
    } else if (!active_skill.empty()) {
        run_skill(active_skill);
    } else if (!confident && answer_from_faq(false)) {
        // A question the knowledge base answers with confidence.
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
        if (choices.empty() && answer_from_faq(true)) {
            // Nothing to offer from the model: the knowledge base said it does not know.
        } else if (choices.empty()) {
            say(nlg::act::not_understood, kNotUnderstood);
        } else {
            say(nlg::act::clarify, kClarify, std::move(choices));
        }
    } else if (info != nullptr && !info->skill.empty() && needs_step_up(info)) {
        step_up(*info);
    } else if (info != nullptr && !info->skill.empty()) {
        run_skill(info->skill);
    } else if (intent == system_intent::greet) {
        say(nlg::act::greet, kGreet);
    } else if (intent == system_intent::goodbye) {
        say(nlg::act::goodbye, kGoodbye);
    } else if (intent == system_intent::thanks) {
        say(nlg::act::thanks, kThanks);
    } else if (intent == system_intent::affirm || intent == system_intent::deny) {
        say(nlg::act::nothing_to_confirm, kNothingToConfirm);
    } else if (answer_from_faq(true)) {
        // out_of_scope (or a `faq` intent): the knowledge base answered or offered a person.
    } else {
        say(nlg::act::out_of_scope, kOutOfScope);
    }

    // A paused flow resumes once nothing else holds the conversation: its question is asked
    // again.
    bool idle = !session.contains("skill") || session.at("skill").is_null();
    bool waiting_for_code = session.contains("pending");
    if (const json::value* p = session.if_contains("paused");
        idle && !waiting_for_code && p && p->is_array() && !p->as_array().empty()) {
        json::array paused = p->as_array();
        json::object resumed = paused.back().as_object();
        paused.pop_back();
        session["paused"] = std::move(paused);
        session["skill"] = resumed["skill"];
        session["state"] = resumed["state"];
        session["prompt"] = resumed["prompt"];
        session["skill_intent"] = resumed["skill_intent"];
        std::string title;
        if (const json::value* si = resumed.if_contains("skill_intent");
            si && si->is_string() && !si->as_string().empty()) {
            title = skills_.intent_title(si->as_string(), locale);
        }
        turn.event(DialogueEventType::skill_event,
                   {{"type", "flow_resumed"}, {"skill", resumed["skill"]}});
        bool first = true;
        for (const json::value& r : resumed["prompt"].as_array()) {
            const json::object& o = r.as_object();
            std::vector<Choice> choices;
            if (const json::value* cs = o.if_contains("choices"); cs && cs->is_array()) {
                for (const json::value& c : cs->as_array()) {
                    choices.push_back({std::string(c.at("title").as_string()),
                                       std::string(c.at("payload").as_string())});
                }
            }
            std::string text(o.at("text").as_string());
            if (first) {
                text = std::string(kResume.in(locale)) + (title.empty() ? "" : title + ". ") + text;
                first = false;
            }
            turn.reply(text, std::move(choices));
        }
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
