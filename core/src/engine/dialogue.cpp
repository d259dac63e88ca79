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
constexpr Text kHandoffQueued{
    "I'm connecting you with a colleague; they will see our conversation so far. Please stay in "
    "this chat. To go back to the bot instead, type \"cancel\".",
    "正在为您转接人工客服，客服会看到我们之前的聊天记录，请不要离开对话。如想回到智能客服，请输入"
    "“取消”。"};
// Follows the agent's name.
constexpr Text kHandoffJoined{" has joined the chat. (Type \"end chat\" to go back to the bot.)",
                              "已加入对话。（输入“结束对话”可回到智能客服。）"};
constexpr Text kHandoffLeft{
    "You've left the chat with our colleague; I'm the bot again. How can I "
    "help?",
    "您已结束人工对话，现在由智能客服为您服务。请问有什么可以帮您？"};

constexpr Text kHandoffClosed{
    "Our colleague has left the chat; I'm the bot again. Is there anything else I can do?",
    "人工客服已结束对话，现在由智能客服继续为您服务。还有什么可以帮您？"};
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

// The intent of the satisfaction survey (the crm skill's).
constexpr std::string_view kSurveyIntent = "crm.feedback";

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

// True when the customer asks to leave a chat with a person (the whole message, so "I want to
// end the chat about my card" still reaches the agent).
bool ends_agent_chat(std::string_view text) {
    std::string n = normalise(text);
    for (std::string_view phrase :
         {"end chat", "/end", "end the chat", "leave chat", "back to the bot", "结束对话",
          "结束人工", "结束聊天", "退出人工"}) {
        if (n == phrase) {
            return true;
        }
    }
    return false;
}

bool has_ascii_letter(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// Builds turns' outputs; keeps the sequence numbering and the bot_uttered events together.
class TurnBuilder {
public:
    TurnBuilder(const InboundMessage& in, std::string locale, std::int64_t now,
                std::uint32_t first_sequence = 0)
        : in_(in), locale_(std::move(locale)), now_(now), first_sequence_(first_sequence) {}

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
        m.sequence = first_sequence_ + static_cast<std::uint32_t>(out.replies.size());
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
    std::uint32_t first_sequence_;
};

// `text` cut to at most `limit` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) {
        return std::string(text);
    }
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
        --end;
    }
    return std::string(text.substr(0, end));
}

// Appends a line to the session's bounded transcript (the last `limit` lines).
void add_transcript_line(json::object& session, std::string_view from, std::string_view text,
                         std::int64_t at, std::size_t limit) {
    json::value& value = session["transcript"];
    if (!value.is_array()) {
        value = json::array{};
    }
    json::array& lines = value.as_array();
    lines.push_back(
        json::object{{"from", from}, {"text", cut_utf8(text, kTranscriptLineBytes)}, {"at", at}});
    while (lines.size() > std::max<std::size_t>(limit, 1)) {
        lines.erase(lines.begin());
    }
}

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The session's handoff record, or nullptr when no person holds or awaits the conversation.
json::object* handoff_of(json::object& session) {
    json::value* h = session.if_contains("handoff");
    if (h == nullptr || !h->is_object()) {
        return nullptr;
    }
    std::string state = string_at(h->as_object(), "state");
    return state == "queued" || state == "active" ? &h->as_object() : nullptr;
}

// A teller.handoff record about `conversation`, filled from the session's handoff record.
HandoffEvent handoff_event(HandoffEventType type, std::string id, std::string_view conversation,
                           const json::object& handoff, std::int64_t now) {
    HandoffEvent e;
    e.type = type;
    e.id = std::move(id);
    e.conversation = std::string(conversation);
    e.channel = string_at(handoff, "channel");
    e.customer = string_at(handoff, "customer");
    const json::value* verified = handoff.if_contains("verified");
    e.verified = verified != nullptr && verified->is_bool() && verified->as_bool();
    e.locale = string_at(handoff, "locale");
    e.agent = string_at(handoff, "agent");
    e.at_ms = now;
    return e;
}

// The session's transcript as the queued record carries it.
std::vector<TranscriptLine> transcript_of(const json::object& session) {
    std::vector<TranscriptLine> out;
    const json::value* t = session.if_contains("transcript");
    if (t == nullptr || !t->is_array()) {
        return out;
    }
    for (const json::value& line : t->as_array()) {
        if (!line.is_object()) {
            continue;
        }
        const json::value* at = line.as_object().if_contains("at");
        out.push_back({string_at(line.as_object(), "from"), string_at(line.as_object(), "text"),
                       at != nullptr && at->is_int64() ? at->as_int64() : 0});
    }
    return out;
}

// An answer to the survey's rating question: a digit (with "/5", "分", "stars"...) or "skip".
bool looks_like_rating(std::string_view normalised) {
    static constexpr std::string_view kSkip[] = {"skip", "no", "nothing", "跳过",
                                                 "没有", "无", "不用"};
    for (std::string_view word : kSkip) {
        if (normalised == word) {
            return true;
        }
    }
    // A digit, a full-width digit, or 一 to 五 ("五分", "四颗星").
    return !normalised.empty() && normalised.size() <= 12 &&
           ((normalised[0] >= '0' && normalised[0] <= '9') || normalised.starts_with("\xef\xbc") ||
            normalised.starts_with("一") || normalised.starts_with("二") ||
            normalised.starts_with("三") || normalised.starts_with("四") ||
            normalised.starts_with("五"));
}

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

std::vector<HandoffEvent> DialogueManager::find_recent_handoff(const json::object& session,
                                                               std::string_view inbound_id) {
    std::vector<HandoffEvent> out;
    const json::value* recent = session.if_contains("recent");
    if (recent == nullptr || !recent->is_array()) {
        return out;
    }
    for (const json::value& entry : recent->as_array()) {
        const json::object* e = entry.if_object();
        if (e == nullptr || string_at(*e, "id") != inbound_id) {
            continue;
        }
        if (const json::value* h = e->if_contains("handoff"); h && h->is_array()) {
            for (const json::value& text : h->as_array()) {
                if (!text.is_string()) {
                    continue;
                }
                if (auto record = parse_handoff_event(text.as_string())) {
                    out.push_back(std::move(*record));
                }
            }
        }
    }
    return out;
}

TurnOutput DialogueManager::run_turn(const InboundMessage& in, const NluResult& nlu,
                                     json::object session, std::int64_t now_ms) const {
    return turn(in, nlu, std::move(session), now_ms, false, 0);
}

TurnOutput DialogueManager::start_intent(const SystemTurn& route, std::string_view intent,
                                         json::object session, std::int64_t now_ms) const {
    const IntentInfo* info = skills_.find_intent(intent);
    bool busy = session.contains("skill") && !session.at("skill").is_null();
    if (info == nullptr || info->skill.empty() || busy || handoff_of(session) != nullptr) {
        TurnOutput none;
        none.session = std::move(session);
        none.session_changed = false;
        return none;
    }
    InboundMessage in;
    in.id = route.id;
    in.channel = route.channel;
    in.conversation = route.conversation;
    in.sender = route.recipient;
    in.locale = route.locale;
    in.reply_to = route.reply_to;
    in.trace_id = route.trace_id;
    NluResult nlu;
    nlu.ranking.push_back({std::string(intent), 1.0f});
    return turn(in, nlu, std::move(session), now_ms, true, 0);
}

TurnOutput DialogueManager::turn(const InboundMessage& in, const NluResult& nlu,
                                 json::object session, std::int64_t now_ms, bool system,
                                 std::uint32_t first_sequence) const {
    // Locale: the customer's text decides; digits and button payloads keep the session's.
    std::string previous_locale;
    if (const json::value* l = session.if_contains("locale"); l && l->is_string()) {
        previous_locale = std::string(l->as_string());
    }
    std::string locale =
        reply_locale(in.text, previous_locale.empty() ? std::string_view(in.locale)
                                                      : std::string_view(previous_locale));
    TurnBuilder turn(in, locale, now_ms, first_sequence);

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
    if (system && !nlu.ranking.empty()) {
        intent = nlu.ranking.front().intent;
        confidence = 1.0f;
        certain = true;
    } else if (std::string_view k = keyword_intent(in.text); !k.empty()) {
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
    if (!system) {
        turn.event(
            DialogueEventType::user_uttered,
            {{"intent", intent},
             {"confidence", confidence},
             {"text", code_answer ? std::string("[one-time code]") : mask_personal_data(in.text)},
             {"entities", entities},
             {"locale", locale}});
        add_transcript_line(session, "customer", code_answer ? "[one-time code]" : in.text, now_ms,
                            options_.transcript_limit);
    }
    std::size_t handoff_serial = 0;
    auto next_handoff_id = [&] { return in.id + ":h" + std::to_string(handoff_serial++); };
    bool queued_now = false;

    // Remembers this inbound id with its replies (and desk records) so that a redelivery is
    // answered identically, adds the bot's lines to the transcript, and counts the turn.
    auto finish = [&]() -> TurnOutput {
        for (const OutboundMessage& m : turn.out.replies) {
            add_transcript_line(session, "bot", m.text, now_ms, options_.transcript_limit);
        }
        if (queued_now) {
            if (const json::object* h = handoff_of(session)) {
                HandoffEvent e = handoff_event(HandoffEventType::queued, next_handoff_id(),
                                               in.conversation, *h, now_ms);
                e.reason = string_at(*h, "reason");
                e.transcript = transcript_of(session);
                turn.out.handoff.push_back(std::move(e));
            }
        }
        if (!system) {
            json::array stored;
            for (const OutboundMessage& m : turn.out.replies) {
                stored.push_back(json::value(to_json(m)));
            }
            json::object entry{{"id", in.id}, {"replies", std::move(stored)}};
            if (!turn.out.handoff.empty()) {
                json::array records;
                for (const HandoffEvent& e : turn.out.handoff) {
                    records.push_back(json::value(to_json(e)));
                }
                entry["handoff"] = std::move(records);
            }
            json::value& recent_value = session["recent"];
            if (!recent_value.is_array()) {
                recent_value = json::array{};
            }
            json::array& recent = recent_value.as_array();
            recent.push_back(std::move(entry));
            while (recent.size() > std::max<std::size_t>(options_.recent_limit, 1)) {
                recent.erase(recent.begin());
            }
            std::int64_t turns = 0;
            if (const json::value* t = session.if_contains("turns"); t && t->is_int64()) {
                turns = t->as_int64();
            }
            session["turns"] = turns + 1;
        }
        turn.out.session = std::move(session);
        return std::move(turn.out);
    };

    // A person holds or is about to take the conversation: the bot stays quiet and forwards
    // the message to the desks; while still queued, "cancel" goes back to the bot.
    // TODO(teller): nothing ends a queued handoff that no agent takes (no queue timeout, no
    // `closed` record with reason "expired" when the session expires), so a customer nobody
    // joins waits in silence until they type "cancel" or the session's idle TTL runs out.
    if (json::object* h = system ? nullptr : handoff_of(session)) {
        (*h)["channel"] = in.channel;
        (*h)["recipient"] = in.sender;
        (*h)["reply_to"] = in.reply_to;
        (*h)["locale"] = locale;
        bool queued = string_at(*h, "state") == "queued";
        // "cancel" leaves the queue; "end chat" also leaves a chat an agent has joined (a
        // customer is never stuck with a desk nobody watches).
        const bool leaves = (queued && keyword_intent(in.text) == system_intent::cancel) ||
                            ends_agent_chat(in.text);
        if (leaves) {
            HandoffEvent closed = handoff_event(HandoffEventType::closed, next_handoff_id(),
                                                in.conversation, *h, now_ms);
            closed.reason = "customer";
            turn.out.handoff.push_back(std::move(closed));
            session.erase("handoff");
            const std::string_view act = queued ? nlg::act::cancelled : "handoff.left";
            std::string text(queued ? kCancelled.in(locale) : kHandoffLeft.in(locale));
            json::object info;
            if (options_.responder != nullptr) {
                const nlg::ReplyContext context{locale, in.channel, in.conversation, 0, ""};
                if (auto r = options_.responder->render(act, {}, context)) {
                    text = r->text;
                    info = {{"act", act}};
                }
            }
            turn.reply(text, {}, std::move(info));
            return finish();
        }
        HandoffEvent forwarded = handoff_event(HandoffEventType::customer_message,
                                               next_handoff_id(), in.conversation, *h, now_ms);
        forwarded.text = in.text;
        turn.out.handoff.push_back(std::move(forwarded));
        return finish();
    }

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

    // Queues the conversation for a person: the session's handoff record (with the customer's
    // route), the audit event, the customer told how to go back; the desks get a `queued`
    // record with the transcript when the turn is finished.
    bool offered_agent = flag_at(session, "offered_agent");
    session.erase("offered_agent");
    // "yes" right after the bot offered a person (it could not answer) takes the offer.
    if (offered_agent && confident && intent == system_intent::affirm) {
        intent = std::string(system_intent::human_agent);
    }
    auto enter_handoff = [&](std::string_view reason, std::string_view skill) {
        turn.event(DialogueEventType::handoff_requested, {{"reason", reason}, {"skill", skill}});
        session["handoff"] = json::object{
            {"state", "queued"},      {"reason", reason},
            {"since", now_ms},        {"channel", in.channel},
            {"recipient", in.sender}, {"reply_to", in.reply_to},
            {"locale", locale},       {"customer", verified ? customer_id : std::string()},
            {"verified", verified}};
        session.erase("paused");
        session.erase("pending");
        say("handoff.queued", kHandoffQueued);
        queued_now = true;
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
        session["offered_agent"] = true;
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
        session["ran_skill"] = true;
        if (starting && skill_intent == kSurveyIntent) {
            session["survey"] = json::object{{"state", "asked"}, {"at", now_ms}};
        }

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
                // A reply (and each of its "items") may carry an act and slots for the
                // templates; its text is the fallback.
                json::object info;
                auto render = [&](const json::object& part, bool first) -> std::string {
                    const json::value* act = part.if_contains("act");
                    if (nlg != nullptr && act != nullptr && act->is_string()) {
                        const json::value* slots = part.if_contains("slots");
                        nlg::ReplyContext context = reply_context;
                        context.skill = skill;
                        auto r = nlg->render(
                            act->as_string(),
                            slots && slots->is_object() ? slots->as_object() : json::object{},
                            context);
                        if (r) {
                            if (first) {
                                info = {{"act", act->as_string()},
                                        {"source", r->source},
                                        {"guard", r->guard}};
                            }
                            return r->text;
                        }
                    }
                    const json::value* text = part.if_contains("text");
                    return text != nullptr && text->is_string() ? std::string(text->as_string())
                                                                : std::string();
                };
                std::string text = render(o, true);

                // A list (recent transactions, balances): each item is a line of its own.
                if (const json::value* items = o.if_contains("items"); items && items->is_array()) {
                    for (const json::value& item : items->as_array()) {
                        if (!item.is_object()) {
                            continue;
                        }
                        std::string line = render(item.as_object(), false);
                        if (!line.empty()) {
                            text += (text.empty() ? "" : "\n") + line;
                        }
                    }
                }
                turn.reply(text, std::move(choices), std::move(info));
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
        if (const json::value* h = r.if_contains("handoff"); h && h->is_bool() && h->as_bool()) {
            end_skill();
            enter_handoff("skill", skill);
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

    // The first answer to the survey question: a customer who asks something else instead
    // gets that answered, and the survey is dropped (not paused, so it never comes back).
    // TODO(teller): only the rating question is checked; a request typed at the comment step
    // ("anything we could do better?") is stored as the comment and not answered.
    if (json::value* sv = session.if_contains("survey");
        !system && sv && sv->is_object() && string_at(sv->as_object(), "state") == "asked") {
        sv->as_object()["state"] = "answered";
        std::string started_by;
        if (const json::value* si = session.if_contains("skill_intent"); si && si->is_string()) {
            started_by = std::string(si->as_string());
        }
        bool other_request = confident && intent != system_intent::affirm &&
                             intent != system_intent::deny && intent != system_intent::cancel &&
                             intent != kSurveyIntent;
        if (!other_request && !confident && nlg != nullptr &&
            !looks_like_rating(normalise(in.text))) {
            faq_decision = nlg->ask_faq(in.text, locale);
            other_request = faq_decision.has_value() && faq_decision->answered;
            if (faq_decision) {
                turn.event(DialogueEventType::skill_invoked,
                           {{"skill", "faq"},
                            {"intent", intent},
                            {"article", faq_decision->article},
                            {"score", faq_decision->score},
                            {"answered", faq_decision->answered}});
            }
        }
        if (started_by == kSurveyIntent && !active_skill.empty() && !answered_by_code &&
            other_request && !looks_like_rating(normalise(in.text))) {
            turn.event(DialogueEventType::skill_event,
                       {{"type", "survey_ignored"}, {"skill", "dialogue"}});
            end_skill();
            active_skill.clear();
        }
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
        end_skill();
        enter_handoff(offered_agent ? "faq_unknown" : "customer_request", active_skill);
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
        // The survey, once per session, after a conversation that did something.
        const IntentInfo* survey = skills_.find_intent(kSurveyIntent);
        bool worked = flag_at(session, "ran_skill") || flag_at(session, "had_agent");
        if (options_.survey && !system && worked && !session.contains("survey") &&
            survey != nullptr && !survey->skill.empty()) {
            skill_text.clear();
            skill_intent = std::string(kSurveyIntent);
            skill_entities = json::array{};
            run_skill(survey->skill);
        }
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

    return finish();
}

TurnOutput DialogueManager::agent_turn(const AgentCommand& command, json::object session,
                                       std::int64_t now_ms) const {
    TurnOutput out;
    const std::string in_reply_to = "agent:" + command.id;
    std::size_t serial = 0;
    auto next_id = [&] { return command.id + ":h" + std::to_string(serial++); };
    auto event = [&](DialogueEventType type, json::object data) {
        out.events.push_back(
            {type, command.conversation, in_reply_to, now_ms, "", std::move(data)});
    };

    // A conversation nobody handed off (expired, closed, cancelled): tell the desks to drop it.
    json::object* h = handoff_of(session);
    if (h == nullptr) {
        if (command.type == AgentCommandType::message) {
            event(DialogueEventType::error,
                  {{"error", "agent message refused: not handed off"}, {"agent", command.agent}});
        } else {
            HandoffEvent closed = handoff_event(HandoffEventType::closed, next_id(),
                                                command.conversation, json::object{}, now_ms);
            closed.reason = "expired";
            out.handoff.push_back(std::move(closed));
        }
        out.session = std::move(session);
        out.session_changed = false;
        return out;
    }
    json::object& handoff = *h;
    const std::string state = string_at(handoff, "state");
    const std::string holder = string_at(handoff, "agent");
    const std::string locale = string_at(handoff, "locale");
    const bool held_by_other = state == "active" && holder != command.agent;

    // The customer's route, as the engine last recorded it.
    InboundMessage route;
    route.id = in_reply_to;
    route.conversation = command.conversation;
    route.channel = string_at(handoff, "channel");
    route.sender = string_at(handoff, "recipient");
    // Web chat: whichever gateway holds the customer's socket now delivers (the one that held
    // it when the customer last wrote may have restarted under a new id).
    route.reply_to = route.channel == "webchat" ? "" : string_at(handoff, "reply_to");
    route.locale = locale;
    TurnBuilder turn(route, locale, now_ms);
    auto say = [&](std::string_view act, json::object slots, std::string fallback) {
        json::object info;
        if (options_.responder != nullptr) {
            const nlg::ReplyContext context{locale, route.channel, route.conversation, 0, ""};
            if (auto r = options_.responder->render(act, slots, context)) {
                fallback = r->text;
                info = {{"act", act}};
            }
        }
        turn.reply(fallback, {}, std::move(info));
    };

    switch (command.type) {
        case AgentCommandType::join: {
            if (state == "active") {
                // Already taken (by this agent: a repeated join): name the agent who holds it so
                // every desk shows the truth.
                out.handoff.push_back(handoff_event(HandoffEventType::assigned, next_id(),
                                                    command.conversation, handoff, now_ms));
                out.session_changed = false;
                if (held_by_other) {
                    event(DialogueEventType::error, {{"error", "join refused: already assigned"},
                                                     {"agent", command.agent},
                                                     {"assigned", holder}});
                }
                break;
            }
            handoff["state"] = "active";
            handoff["agent"] = command.agent;
            handoff["assigned_at"] = now_ms;
            session["had_agent"] = true;
            out.handoff.push_back(handoff_event(HandoffEventType::assigned, next_id(),
                                                command.conversation, handoff, now_ms));
            std::string joined = command.agent + std::string(kHandoffJoined.in(locale));
            say("handoff.joined", json::object{{"agent", command.agent}}, std::move(joined));
            break;
        }
        case AgentCommandType::message: {
            if (state != "active" || held_by_other) {
                event(
                    DialogueEventType::error,
                    {{"error", state != "active" ? "agent message refused: nobody has joined"
                                                 : "agent message refused: not the assigned agent"},
                     {"agent", command.agent},
                     {"assigned", holder}});
                out.session_changed = false;
                break;
            }
            turn.reply(command.text);
            // The reply's audit event says who wrote it.
            turn.out.events.back().data["from"] = "agent";
            turn.out.events.back().data["agent"] = command.agent;
            HandoffEvent sent = handoff_event(HandoffEventType::agent_message, next_id(),
                                              command.conversation, handoff, now_ms);
            sent.text = command.text;
            out.handoff.push_back(std::move(sent));
            add_transcript_line(session, "agent", command.text, now_ms, options_.transcript_limit);
            break;
        }
        case AgentCommandType::close: {
            if (held_by_other) {
                out.handoff.push_back(handoff_event(HandoffEventType::assigned, next_id(),
                                                    command.conversation, handoff, now_ms));
                event(DialogueEventType::error, {{"error", "close refused: not the assigned agent"},
                                                 {"agent", command.agent},
                                                 {"assigned", holder}});
                out.session_changed = false;
                break;
            }
            HandoffEvent closed = handoff_event(HandoffEventType::closed, next_id(),
                                                command.conversation, handoff, now_ms);
            closed.agent = command.agent;
            closed.reason = "agent";
            out.handoff.push_back(std::move(closed));
            session.erase("handoff");
            say("handoff.closed", {}, std::string(kHandoffClosed.in(locale)));
            break;
        }
    }

    // Merge the customer-facing part: replies and their audit events, in order.
    for (DialogueEvent& e : turn.out.events) {
        out.events.push_back(std::move(e));
    }
    out.replies = std::move(turn.out.replies);

    // After an agent closed: the survey, numbered after the closing reply.
    if (command.type == AgentCommandType::close && !held_by_other && options_.survey &&
        !session.contains("survey")) {
        SystemTurn system{
            in_reply_to, command.conversation, route.channel, route.sender, route.reply_to, locale,
            ""};
        const IntentInfo* info = skills_.find_intent(kSurveyIntent);
        bool busy = session.contains("skill") && !session.at("skill").is_null();
        if (info != nullptr && !info->skill.empty() && !busy) {
            InboundMessage in;
            in.id = system.id;
            in.channel = system.channel;
            in.conversation = system.conversation;
            in.sender = system.recipient;
            in.locale = system.locale;
            in.reply_to = system.reply_to;
            NluResult nlu;
            nlu.ranking.push_back({std::string(kSurveyIntent), 1.0f});
            TurnOutput survey = this->turn(in, nlu, std::move(session), now_ms, true,
                                           static_cast<std::uint32_t>(out.replies.size()));
            session = std::move(survey.session);
            for (OutboundMessage& m : survey.replies) {
                out.replies.push_back(std::move(m));
            }
            for (DialogueEvent& e : survey.events) {
                out.events.push_back(std::move(e));
            }
        }
    }
    // Remember what this command produced, so a retry after a lost acknowledgement sends the
    // same records again instead of acting twice.
    if (out.session_changed) {
        json::array replies;
        for (const OutboundMessage& m : out.replies) {
            replies.push_back(json::value(to_json(m)));
        }
        json::array records;
        for (const HandoffEvent& e : out.handoff) {
            records.push_back(json::value(to_json(e)));
        }
        json::value& recent_value = session["recent"];
        if (!recent_value.is_array()) {
            recent_value = json::array{};
        }
        json::array& recent = recent_value.as_array();
        recent.push_back(json::object{
            {"id", in_reply_to}, {"replies", std::move(replies)}, {"handoff", std::move(records)}});
        while (recent.size() > std::max<std::size_t>(options_.recent_limit, 1)) {
            recent.erase(recent.begin());
        }
    }
    out.session = std::move(session);
    return out;
}

}  // namespace teller::core
