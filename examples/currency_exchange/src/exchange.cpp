// The exchange skill: quotes DEMO exchange rates and converts amounts, in English or Chinese.
#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "currency.hpp"
#include "exchange_examples.hpp"
#include "teller/plugins/skill.hpp"
#include "teller/plugins/skill_api.h"

namespace example::exchange {
namespace json = boost::json;
namespace {

/// How many follow-up questions a conversion asks before it gives up.
constexpr int kMaxAttempts = 3;

/// Amounts at or above this are refused (they would print as nonsense).
constexpr double kMaxAmount = 1e12;

constexpr std::string_view kDemoNoteEn =
    " (Demo rates for illustration only, not live market rates.)";
constexpr std::string_view kDemoNoteZh = "（演示汇率，仅作示例，并非实时市场汇率。）";

struct Skill {
    const teller_host_v1* host = nullptr;
    RateTable rates;
};

// One customer turn as the handlers use it.
struct Turn {
    const Skill& skill;
    const json::object& request;
    bool zh;
    std::string text;
    std::string intent;

    std::string_view say(std::string_view en, std::string_view zh_text) const {
        return zh ? zh_text : en;
    }
    // The currency a customer of this locale thinks in when they name only one.
    const Currency& home() const { return *find_currency(zh ? "CNY" : "USD"); }
    std::string name(const Currency& c) const {
        return zh ? std::string(c.name_zh) : std::string(c.code);
    }
    std::string money(double value, const Currency& c) const {
        std::string amount = format_amount(value, c.decimals);
        return zh ? amount + std::string(c.name_zh) : amount + " " + std::string(c.code);
    }
};

// What a conversion knows so far; kept as the skill's state between turns.
struct Conversion {
    std::optional<double> amount;
    const Currency* from = nullptr;
    const Currency* to = nullptr;
    int attempts = 0;
};

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Writes `message` to the host's log for this skill (level 0 trace .. 4 error).
void log(const teller_host_v1* host, int level, const std::string& message) {
    if (host != nullptr && host->log != nullptr) {
        host->log(host->host, level, message.c_str());
    }
}

json::object reply(std::string_view text, json::array quick_replies = {}) {
    json::object r{{"text", text}};
    if (!quick_replies.empty()) {
        r["quick_replies"] = std::move(quick_replies);
    }
    return r;
}

json::object respond(json::object one_reply, json::value state) {
    return json::object{{"replies", json::array{std::move(one_reply)}},
                        {"state", std::move(state)}};
}

// Quick replies offering a few currencies other than `except`.
json::array currency_choices(const Turn& t, const Currency* except) {
    json::array choices;
    for (const Currency& c : currencies()) {
        if (&c != except && choices.size() < 5) {
            choices.push_back(json::object{{"title", t.name(c)}, {"payload", c.code}});
        }
    }
    return choices;
}

// The amount of this turn: the host's `amount` entity when there is one (it reads "5k",
// "三千五百块" and the like), else the first number in the text. The span locates it in the text.
std::optional<Amount> amount_in(const Turn& t) {
    if (const json::value* e = t.request.if_contains("entities"); e != nullptr && e->is_array()) {
        for (const json::value& entity : e->as_array()) {
            const json::object* o = entity.if_object();
            if (o == nullptr || string_at(*o, "type") != "amount") {
                continue;
            }
            // Entity values read "5000.00 USD": the number comes first.
            std::string value = string_at(*o, "value");
            std::optional<Amount> number = find_amount(value);
            if (!number) {
                continue;
            }
            std::string span = string_at(*o, "text");
            std::size_t at = span.empty() ? std::string::npos : t.text.find(span);
            if (at == std::string::npos) {
                return Amount{number->value, std::string::npos, std::string::npos};
            }
            return Amount{number->value, at, at + span.size()};
        }
    }
    return find_amount(t.text);
}

// Reads what this turn says about a conversion into `c`.
void read_conversion(const Turn& t, Conversion& c) {
    std::vector<Mention> mentions = find_mentions(t.text);
    std::optional<Amount> amount = amount_in(t);
    if (amount) {
        c.amount = amount->value;
    }

    // The currency written next to the amount is what the customer has ("100 dollars", "$100",
    // "100美元"); a currency after "to" / "into" / 换 is what they want.
    const Mention* source = nullptr;
    if (amount && amount->begin != std::string::npos) {
        for (const Mention& m : mentions) {
            bool inside = m.begin >= amount->begin && m.end <= amount->end;
            bool after = only_spaces(t.text, amount->end, m.begin);
            bool before = only_spaces(t.text, m.end, amount->begin);
            if (inside || after || (before && source == nullptr)) {
                source = &m;
                if (inside || after) {
                    break;
                }
            }
        }
    }
    std::vector<const Mention*> others;
    for (const Mention& m : mentions) {
        if (&m != source && (source == nullptr || m.currency != source->currency)) {
            others.push_back(&m);
        }
    }
    if (source != nullptr) {
        c.from = source->currency;
    }
    for (const Mention* m : others) {
        if (c.from == nullptr && !follows_to_word(t.text, m->begin) &&
            (others.size() > 1 || !amount)) {
            c.from = m->currency;
        } else if (m->currency != c.from) {
            c.to = m->currency;
        }
    }
}

json::value state_of(const Conversion& c) {
    json::object s{{"flow", "convert"}, {"attempts", c.attempts}};
    if (c.amount) {
        s["amount"] = *c.amount;
    }
    if (c.from != nullptr) {
        s["from"] = c.from->code;
    }
    if (c.to != nullptr) {
        s["to"] = c.to->code;
    }
    return s;
}

Conversion conversion_from_state(const json::object& s) {
    Conversion c;
    if (const json::value* a = s.if_contains("amount"); a != nullptr && a->is_number()) {
        c.amount = a->to_number<double>();
    }
    c.from = find_currency(string_at(s, "from"));
    c.to = find_currency(string_at(s, "to"));
    if (const json::value* n = s.if_contains("attempts"); n != nullptr && n->is_int64()) {
        c.attempts = static_cast<int>(n->as_int64());
    }
    return c;
}

// Answers a complete conversion, or asks for the first missing piece.
json::object convert(const Turn& t, Conversion c) {
    // A customer naming one currency means their home currency for the other side.
    if (c.from == nullptr && c.to != nullptr && c.to != &t.home()) {
        c.from = &t.home();
    }
    if (c.to == nullptr && c.from != nullptr && c.from != &t.home()) {
        c.to = &t.home();
    }

    if (c.attempts >= kMaxAttempts) {
        return respond(reply(t.say("I still don't have what I need for that conversion, so I'll "
                                   "stop here. Just ask again whenever you like.",
                                   "还是缺少换算所需的信息，先到这里。需要时请随时再问我。")),
                       nullptr);
    }
    if (c.from == nullptr) {
        return respond(
            reply(t.say("Which currency are you converting from?", "您要用哪种货币兑换？"),
                  currency_choices(t, c.to)),
            state_of(c));
    }
    if (c.to == nullptr || c.to == c.from) {
        c.to = nullptr;
        std::string text = t.zh ? "您想把" + t.name(*c.from) + "换成哪种货币？"
                                : "Which currency would you like your " +
                                      std::string(c.from->code) + " converted to?";
        return respond(reply(text, currency_choices(t, c.from)), state_of(c));
    }
    if (!c.amount || *c.amount <= 0) {
        c.amount.reset();
        std::string text = t.zh ? "您想把多少" + t.name(*c.from) + "换成" + t.name(*c.to) + "？"
                                : "How much " + std::string(c.from->code) +
                                      " would you like to convert to " + std::string(c.to->code) +
                                      "?";
        return respond(reply(text), state_of(c));
    }
    if (*c.amount >= kMaxAmount) {
        return respond(reply(t.say("That amount is too large for me to quote. For large "
                                   "exchanges, please talk to our foreign exchange desk.",
                                   "金额过大，无法报价。大额换汇请联系我们的外汇业务柜台。")),
                       nullptr);
    }

    double rate = t.skill.rates.cross(*c.from, *c.to);
    double result = *c.amount * rate;
    std::string text = t.zh ? "按演示汇率 1" + t.name(*c.from) + " = " + format_rate(rate) +
                                  t.name(*c.to) + "，" + t.money(*c.amount, *c.from) + "约合" +
                                  t.money(result, *c.to) + "。" + std::string(kDemoNoteZh)
                            : t.money(*c.amount, *c.from) + " is about " + t.money(result, *c.to) +
                                  " at the demo rate of 1 " + std::string(c.from->code) + " = " +
                                  format_rate(rate) + " " + std::string(c.to->code) + "." +
                                  std::string(kDemoNoteEn);
    return respond(reply(text), nullptr);
}

// Quotes one pair in both directions, or every rate against the home currency.
json::object quote_rate(const Turn& t) {
    std::vector<const Currency*> named;
    for (const Mention& m : find_mentions(t.text)) {
        if (std::find(named.begin(), named.end(), m.currency) == named.end()) {
            named.push_back(m.currency);
        }
    }
    const Currency& home = t.home();
    if (named.size() == 1 && named.front() != &home) {
        named.push_back(&home);
    }

    if (named.size() >= 2) {
        const Currency& a = *named[0];
        const Currency& b = *named[1];
        std::string text = t.zh ? "演示汇率：1" + t.name(a) + " = " +
                                      format_rate(t.skill.rates.cross(a, b)) + t.name(b) + "，1" +
                                      t.name(b) + " = " + format_rate(t.skill.rates.cross(b, a)) +
                                      t.name(a) + "。" + std::string(kDemoNoteZh)
                                : "Demo rate: 1 " + std::string(a.code) + " = " +
                                      format_rate(t.skill.rates.cross(a, b)) + " " +
                                      std::string(b.code) + ", and 1 " + std::string(b.code) +
                                      " = " + format_rate(t.skill.rates.cross(b, a)) + " " +
                                      std::string(a.code) + "." + std::string(kDemoNoteEn);
        return respond(reply(text), nullptr);
    }

    // No pair named: the whole table against the customer's home currency.
    std::string text = t.zh ? "演示汇率，1" + t.name(home) + "可兑换："
                            : "Demo rates for 1 " + std::string(home.code) + ": ";
    bool first = true;
    for (const Currency& c : currencies()) {
        if (&c == &home) {
            continue;
        }
        if (!first) {
            text += t.say(", ", "、");
        }
        text += format_rate(t.skill.rates.cross(home, c));
        if (!t.zh) {
            text += ' ';
        }
        text += t.name(c);
        first = false;
    }
    text += t.say(".", "。");
    text += t.say(kDemoNoteEn, kDemoNoteZh);
    return respond(reply(text), nullptr);
}

json::object handle_turn(const Skill& skill, const json::object& request) {
    const json::value* intent = request.if_contains("intent");
    Turn t{skill, request, string_at(request, "locale") == "zh-CN", string_at(request, "text"),
           intent != nullptr && intent->is_object() ? string_at(intent->as_object(), "name") : ""};

    // A conversion waiting for an answer keeps the conversation, unless the customer gives up.
    const json::value* state = request.if_contains("state");
    if (state != nullptr && state->is_object()) {
        if (t.intent == "cancel" || t.intent == "deny") {
            return respond(reply(t.say("All right, no conversion.", "好的，不换算了。")), nullptr);
        }
        Conversion c = conversion_from_state(state->as_object());
        Conversion before = c;
        read_conversion(t, c);
        if (c.amount == before.amount && c.from == before.from && c.to == before.to) {
            ++c.attempts;  // nothing new: another unusable answer
        }
        return convert(t, c);
    }

    if (t.intent == "exchange.rate") {
        return quote_rate(t);
    }
    if (t.intent == "exchange.convert") {
        Conversion c;
        read_conversion(t, c);
        return convert(t, c);
    }
    return respond(reply(t.say("Sorry, I can only quote exchange rates and convert amounts.",
                               "抱歉，我只能查询汇率和换算金额。")),
                   nullptr);
}

const char* manifest() {
    static const std::string text = teller::plugins::build_manifest(
        "exchange", "1.0.0", "Exchange rates and currency conversion (fixed demo rates)",
        intent_examples());
    return text.c_str();
}

// A configured rate: a number, or a string holding one (YAML configuration arrives as strings).
std::optional<double> rate_value(const json::value& v) {
    if (v.is_number()) {
        return v.to_number<double>();
    }
    if (!v.is_string()) {
        return std::nullopt;
    }
    const json::string& s = v.as_string();
    double rate = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), rate);
    if (ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return rate;
}

// The configuration may replace demo rates, as units per US dollar: { "EUR": 0.93, ... }.
// An unknown code or a bad rate refuses the configuration rather than quoting wrong figures.
int init(const teller_host_v1* host, const char* config_json, void** state) {
    if (host == nullptr || host->api_version != TELLER_SKILL_API_VERSION || state == nullptr) {
        return 1;
    }
    try {
        auto skill = std::make_unique<Skill>();
        skill->host = host;
        boost::system::error_code ec;
        json::value config = json::parse(config_json != nullptr ? config_json : "{}", ec);
        if (ec || !config.is_object()) {
            return 3;
        }
        for (const auto& [code, value] : config.as_object()) {
            std::optional<double> rate = rate_value(value);
            if (!rate || !skill->rates.set(code, *rate)) {
                log(host, 4,
                    "exchange: configuration key \"" + std::string(code) +
                        "\" is not a known currency code with a positive rate");
                return 3;
            }
        }
        *state = skill.release();
        return 0;
    } catch (...) {
        return 2;
    }
}

}  // namespace
}  // namespace example::exchange

TELLER_SKILL_EXPORT const teller_skill_v1* teller_skill_entry(uint32_t host_api_version) {
    using namespace example::exchange;
    static const teller_skill_v1 table = {TELLER_SKILL_API_VERSION,
                                          "exchange",
                                          manifest(),
                                          &init,
                                          &teller::plugins::handle_turns<Skill, handle_turn>,
                                          &teller::plugins::free_c_string,
                                          &teller::plugins::delete_skill<Skill>};
    return teller::plugins::table_for_host(host_api_version, table);
}
