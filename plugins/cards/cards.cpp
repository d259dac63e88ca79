// The cards skill: lost/stolen block, balances, activation, transactions, limits, disputes.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "cards_examples.hpp"
#include "teller/plugins/skill.hpp"
#include "teller/plugins/skill_api.h"

namespace teller::skills::cards {
namespace json = boost::json;
namespace {

/// How many unusable answers a step accepts before the flow gives up.
constexpr int kMaxAttempts = 3;

struct Skill {
    const teller_host_v1* host = nullptr;
};

// One turn's request as the handlers use it.
struct Turn {
    const teller_host_v1* host;
    const json::object& request;
    bool zh;
    std::string text;
    std::string intent;
    std::string customer;

    std::string_view say(std::string_view en, std::string_view zh_text) const {
        return zh ? zh_text : en;
    }
};

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object reply(std::string_view text, json::array quick_replies = {}) {
    json::object r{{"text", text}};
    if (!quick_replies.empty()) {
        r["quick_replies"] = std::move(quick_replies);
    }
    return r;
}

// A reply the host renders from the templates (knowledge/responses/cards.yaml); `text` is what
// the customer sees when it cannot.
json::object act_reply(std::string_view act, json::object slots, std::string_view text,
                       json::array quick_replies = {}) {
    json::object r = reply(text, std::move(quick_replies));
    r["act"] = act;
    r["slots"] = std::move(slots);
    return r;
}

// A reply whose `items` are rendered one per line after its text (a list of figures).
json::object list_reply(std::string_view text, json::array items, json::array quick_replies = {}) {
    json::object r = reply(text, std::move(quick_replies));
    r["items"] = std::move(items);
    return r;
}

// One line of a list reply.
json::object item(std::string_view act, json::object slots, std::string_view text) {
    return json::object{{"act", act}, {"slots", std::move(slots)}, {"text", text}};
}

json::object respond(json::array replies, json::value state, json::object slots = {}) {
    json::object r{{"replies", std::move(replies)}, {"state", std::move(state)}};
    if (!slots.empty()) {
        r["slots"] = std::move(slots);
    }
    return r;
}

// The last four digits the customer gave: an entity, a 4-digit number or a full card number.
std::string last4_in(const Turn& t) {
    if (const json::value* e = t.request.if_contains("entities"); e && e->is_array()) {
        for (const json::value& entity : e->as_array()) {
            const json::object* o = entity.if_object();
            if (o != nullptr && string_at(*o, "type") == "card_last4") {
                return string_at(*o, "value");
            }
        }
    }
    std::string run;
    std::string found;
    for (std::size_t i = 0; i <= t.text.size(); ++i) {
        char c = i < t.text.size() ? t.text[i] : ' ';
        if (std::isdigit(static_cast<unsigned char>(c))) {
            run.push_back(c);
            continue;
        }
        if (c == ' ' || c == '-') {
            // Card numbers are often grouped; keep collecting across separators.
            if (!run.empty() && i + 1 < t.text.size() &&
                std::isdigit(static_cast<unsigned char>(t.text[i + 1])) && run.size() >= 4 &&
                run.size() % 4 == 0) {
                continue;
            }
        }
        if (run.size() == 4 || (run.size() >= 13 && run.size() <= 19)) {
            found = run.substr(run.size() - 4);
        }
        run.clear();
    }
    return found;
}

// Lowercased, trimmed text for the yes/no words.
std::string folded(std::string_view text) {
    std::string out;
    for (char c : text) {
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    while (!out.empty() && (out.back() == ' ' || out.back() == '!' || out.back() == '.')) {
        out.pop_back();
    }
    return out;
}

// 1 for yes, 0 for no, -1 when the answer is neither.
int yes_or_no(const Turn& t) {
    static const std::vector<std::string_view> kYes = {
        "/affirm", "yes",     "y",          "yeah",  "yep",      "sure", "ok",
        "okay",    "confirm", "yes please", "do it", "go ahead", "是",   "是的",
        "对",      "好",      "好的",       "确认",  "确定",     "可以", "嗯"};
    static const std::vector<std::string_view> kNo = {"/deny",  "no",        "n",  "nope", "don't",
                                                      "do not", "no thanks", "不", "不是", "不要",
                                                      "不用",   "否",        "别", "算了"};
    // Blocking cannot be undone: a question ("ok?", "是的吧？") or an answer that says both
    // yes and no is not a yes; the customer is asked again.
    std::string f = folded(t.text);
    const bool question =
        f.find('?') != std::string::npos ||
        f.find("\xEF\xBC\x9F") != std::string::npos ||                        // full-width ？
        f.ends_with("\xE5\x90\x97") ||                                        // 吗
        f.ends_with("\xE5\x90\xA7") ||                                        // 吧
        f.find("\xE6\x98\xAF\xE4\xB8\x8D\xE6\x98\xAF") != std::string::npos;  // 是不是
    for (std::string_view w : kYes) {
        if (f == w) {
            return 1;
        }
    }
    for (std::string_view w : kNo) {
        if (f == w) {
            return 0;
        }
    }
    auto has_word = [&f](const std::vector<std::string_view>& words) {
        std::string padded = " " + f + " ";
        for (std::string_view w : words) {
            if (w.size() > 1 && w.front() != '/' &&
                padded.find(" " + std::string(w) + " ") != std::string::npos) {
                return true;
            }
        }
        return false;
    };
    const bool mixed = has_word(kYes) && has_word(kNo);
    if (question || mixed) {
        return -1;
    }
    if (t.intent == "affirm") {
        return 1;
    }
    if (t.intent == "deny") {
        return 0;
    }
    return -1;
}

std::string card_label(const Turn& t, const json::object& card) {
    std::string last4 = string_at(card, "last4");
    if (t.zh) {
        std::string product = string_at(card, "product_zh");
        if (product.empty()) {
            product = string_at(card, "product");
        }
        return product + "（尾号" + last4 + "）";
    }
    std::string product = string_at(card, "product");
    return (product.empty() ? std::string("card") : product) + " ending " + last4;
}

// The customer's cards whose status passes `wanted`.
template <class Pred>
json::array cards_where(const Turn& t, Pred wanted, bool& ok) {
    json::value result =
        teller::plugins::call_backend(t.host, "cards.list", {{"customer", t.customer}});
    json::array out;
    ok = result.is_object() && result.as_object().contains("cards");
    if (!ok) {
        return out;
    }
    for (const json::value& card : result.at("cards").as_array()) {
        if (card.is_object() && wanted(string_at(card.as_object(), "status"))) {
            out.push_back(card);
        }
    }
    return out;
}

json::array card_choices(const Turn& t, const json::array& cards) {
    json::array choices;
    for (const json::value& card : cards) {
        choices.push_back(json::object{{"title", card_label(t, card.as_object())},
                                       {"payload", string_at(card.as_object(), "last4")}});
    }
    return choices;
}

const json::object* card_with(const json::array& cards, std::string_view last4) {
    for (const json::value& card : cards) {
        if (string_at(card.as_object(), "last4") == last4) {
            return &card.as_object();
        }
    }
    return nullptr;
}

json::object backend_down(const Turn& t) {
    return respond(
        {reply(t.say("Sorry, I can't reach your card details right now. Please try "
                     "again in a few minutes, or type \"agent\" to talk to a person.",
                     "抱歉，暂时无法获取您的银行卡信息。请几分钟后再试，或输入“人工”联系客服。"))},
        nullptr);
}

bool blockable(std::string_view status) {
    return status != "blocked";
}

json::object confirm_block(const Turn& t, const json::object& card, int attempts) {
    json::array yes_no{
        json::object{{"title", t.say("Yes, block it", "是的，挂失")}, {"payload", "/affirm"}},
        json::object{{"title", t.say("No", "不用了")}, {"payload", "/deny"}}};
    std::string text =
        t.zh ? "确认要挂失并冻结" + card_label(t, card) + "吗？冻结后这张卡将无法再使用。"
             : "Shall I block your " + card_label(t, card) +
                   "? Once blocked it can't be used again.";
    return respond({reply(text, std::move(yes_no))},
                   json::object{{"flow", "lost"},
                                {"step", "confirm"},
                                {"last4", string_at(card, "last4")},
                                {"attempts", attempts}});
}

// Runs the card operation on the chosen card and reports the outcome.
json::object change_card(const Turn& t, std::string_view operation, std::string_view last4) {
    json::value result = teller::plugins::call_backend(
        t.host, std::string(operation).c_str(), {{"customer", t.customer}, {"last4", last4}});
    if (!result.is_object()) {
        return backend_down(t);
    }
    const json::object& r = result.as_object();
    if (const json::value* card = r.if_contains("card"); card && card->is_object()) {
        std::string label = card_label(t, card->as_object());
        if (operation == "cards.block") {
            std::string text =
                t.zh ? "已完成：您的" + label +
                           "已冻结，任何人都无法再使用。如需补办新卡，请在手机银行中申请。"
                     : "Done: your " + label +
                           " is now blocked and can't be used by anyone. You can order a "
                           "replacement in the app.";
            return respond(
                {act_reply("cards.blocked", {{"card", label}, {"card_last4", last4}}, text)},
                nullptr, {{"blocked_card", last4}});
        }
        std::string text = t.zh ? "已激活：您的" + label + "现在可以使用了。"
                                : "Your " + label + " is active and ready to use.";
        return respond({reply(text)}, nullptr, {{"activated_card", last4}});
    }
    if (string_at(r, "error") == "card_blocked") {
        return respond({reply(t.say("That card is blocked, so it can't be activated.",
                                    "这张卡已被冻结，无法激活。"))},
                       nullptr);
    }
    return respond({reply(t.say("I couldn't find that card any more.", "找不到这张卡了。"))},
                   nullptr);
}

// Yes / no buttons for a confirmation.
json::array yes_no_choices(const Turn& t, std::string_view yes_en, std::string_view yes_zh) {
    return json::array{json::object{{"title", t.say(yes_en, yes_zh)}, {"payload", "/affirm"}},
                       json::object{{"title", t.say("No", "不用了")}, {"payload", "/deny"}}};
}

json::object done(const Turn& t, std::string_view en, std::string_view zh) {
    return respond({reply(t.say(en, zh))}, nullptr);
}

bool contains_any(std::string_view text, std::initializer_list<std::string_view> words) {
    return std::any_of(words.begin(), words.end(),
                       [&](std::string_view w) { return text.find(w) != std::string_view::npos; });
}

// True when `digits` ("800", "12.5") has at most two decimals: "0.001" or "999.999" is not a
// sum of money the customer meant, and rounding it would change what they said.
bool at_most_cents(std::string_view digits) {
    std::size_t dot = digits.find('.');
    return dot == std::string_view::npos || digits.size() - dot - 1 <= 2;
}

// A money amount the customer typed: an amount entity ("$800", "八百元") or a plain number
// ("800", "1,200.50"), negative when written with a minus. The card's own last four digits
// (`card_last4`, "the limit on 4821") are never taken for the amount. nullopt when there is
// none, or when it is written so that reading it would be a guess ("1e3", "0.001").
// TODO(teller): the amount's own currency is ignored, so "$800" for a card kept in CNY is
// taken as 800 CNY; the limit flow should refuse or convert an amount in another currency.

std::optional<double> amount_in(const Turn& t, std::string_view card_last4) {
    // "1e3" is not read as 1 (nor as 1000): better to ask again than to guess.
    for (std::size_t i = 1; i + 1 < t.text.size(); ++i) {
        if ((t.text[i] == 'e' || t.text[i] == 'E') &&
            std::isdigit(static_cast<unsigned char>(t.text[i - 1])) &&
            std::isdigit(static_cast<unsigned char>(t.text[i + 1]))) {
            return std::nullopt;
        }
    }
    if (const json::value* e = t.request.if_contains("entities"); e && e->is_array()) {
        for (const json::value& entity : e->as_array()) {
            const json::object* o = entity.if_object();
            if (o != nullptr && string_at(*o, "type") == "amount") {
                std::string value = string_at(*o, "value");
                // The card's own digits ("the limit on 4821") name the card, not an amount.
                if (!card_last4.empty() && string_at(*o, "text") == card_last4) {
                    continue;
                }
                // The entity's value is rounded to cents: check what the customer wrote.
                std::string surface = string_at(*o, "text");
                std::size_t first = surface.find_first_of("0123456789");
                if (first != std::string::npos &&
                    !at_most_cents(surface.substr(
                        first, surface.find_first_not_of("0123456789.,", first) - first))) {
                    return std::nullopt;
                }
                bool negative = t.text.find('-') != std::string::npos &&
                                t.text.find('-') < t.text.find_first_of("0123456789");
                double v = std::strtod(value.c_str(), nullptr);
                return negative ? -v : v;
            }
        }
    }
    // The first plain number that is not a card's last four digits ("ending 4821", "尾号4821").
    const std::string& text = t.text;
    for (std::size_t start = text.find_first_of("0123456789"); start != std::string::npos;) {
        std::string digits;
        std::size_t i = start;
        for (; i < text.size(); ++i) {
            char c = text[i];
            if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
                digits.push_back(c);
            } else if (c != ',') {
                break;
            }
        }
        std::string before =
            folded(text.substr(start > 16 ? start - 16 : 0, start > 16 ? 16 : start));
        bool card_digits = (digits.size() == 4 &&
                            contains_any(before, {"ending", "ends", "last four", "last 4", "card ",
                                                  "尾号", "尾数", "后四位", "末四位"})) ||
                           (!card_last4.empty() && digits == card_last4);
        if (!card_digits) {
            if (!at_most_cents(digits)) {
                return std::nullopt;
            }
            bool negative = (start > 0 && text[start - 1] == '-') ||
                            folded(text).starts_with("minus") ||
                            (start >= 3 && text.compare(start - 3, 3, "\xE8\xB4\x9F") == 0);  // 负
            char* end = nullptr;
            double v = std::strtod(digits.c_str(), &end);
            if (end != digits.c_str() + digits.size() || !std::isfinite(v)) {
                return std::nullopt;
            }
            return negative ? -v : v;
        }
        start = text.find_first_of("0123456789", i);
    }
    return std::nullopt;
}

std::string two_decimals(double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.2f", v);
    return buffer;
}

// ---- Limits: view the daily limits; change one (which, new amount, confirm, set). ----

constexpr std::string_view kLimitKinds[] = {"atm", "pos", "online"};

// The limit the customer names ("atm", "pos", "online"), or "".
std::string limit_kind_in(const Turn& t) {
    std::string f = folded(t.text);
    for (std::string_view kind : kLimitKinds) {
        if (f == kind) {
            return std::string(kind);  // a quick reply's payload
        }
    }
    if (contains_any(f, {"atm", "cash", "withdraw", "取现", "取款", "提现", "取钱"})) {
        return "atm";
    }
    if (contains_any(f, {"online", "internet", "e-commerce", "web", "网上", "网购", "线上",
                         "网络支付", "在线"})) {
        return "online";
    }
    if (contains_any(" " + f + " ", {" pos ", "in-store", "in store", "shop", "card payment",
                                     "purchase", "spend", "刷卡", "消费", "商户", "购物"})) {
        return "pos";
    }
    return "";
}

std::string limit_name(const Turn& t, std::string_view kind) {
    if (kind == "atm") {
        return std::string(t.say("ATM withdrawals", "ATM取现"));
    }
    if (kind == "pos") {
        return std::string(t.say("card payments in shops", "刷卡消费"));
    }
    return std::string(t.say("online payments", "网上支付"));
}

// Whether the text asks for a change rather than to see the limits.
bool wants_change(const Turn& t) {
    return contains_any(folded(t.text),
                        {"raise",  "increase", "lower",  "reduce", "decrease", "change", "set",
                         "adjust", "up my",    "higher", "提高",   "调高",     "调低",   "降低",
                         "调整",   "修改",     "设置",   "设为",   "改",       "提升"});
}

struct CardLimits {
    json::object limits;  // kind -> {daily, max}
    std::string currency;
};

std::optional<CardLimits> limits_of(const Turn& t, std::string_view last4) {
    json::value result = teller::plugins::call_backend(
        t.host, "cards.limits", {{"customer", t.customer}, {"last4", last4}});
    if (!result.is_object() || !result.as_object().contains("limits") ||
        !result.at("limits").is_object()) {
        return std::nullopt;
    }
    return CardLimits{result.at("limits").as_object(), string_at(result.as_object(), "currency")};
}

json::object limit_state(std::string_view step, std::string_view last4, std::string_view kind,
                         int attempts) {
    return json::object{{"flow", "limits"},
                        {"step", step},
                        {"last4", last4},
                        {"kind", kind},
                        {"attempts", attempts}};
}

json::object ask_limit_amount(const Turn& t, const CardLimits& l, std::string_view last4,
                              std::string_view kind) {
    std::string max = string_at(l.limits.at(kind).as_object(), "max");
    std::string name = limit_name(t, kind);
    std::string text =
        t.zh ? "请问" + name + "的每日限额要设为多少？最高可设" + max + " " + l.currency + "。"
             : "What should the new daily limit for " + name + " be? It can be up to " + max + " " +
                   l.currency + ".";
    return respond(
        {act_reply("cards.limit_ask",
                   {{"limit_kind", name}, {"max_limit", max}, {"currency", l.currency}}, text)},
        limit_state("limit_amount", last4, kind, 0));
}

// Checks the new amount: confirm it, ask again (at most twice), or give up.
json::object take_limit_amount(const Turn& t, const CardLimits& l, const json::object& card,
                               std::string_view kind, int retries) {
    constexpr int kMaxRetries = 2;
    std::string last4 = string_at(card, "last4");
    std::string name = limit_name(t, kind);
    std::string max = string_at(l.limits.at(kind).as_object(), "max");
    std::optional<double> amount = amount_in(t, last4);
    double max_value = std::strtod(max.c_str(), nullptr);
    if (amount && *amount >= 0 && *amount <= max_value + 1e-9) {
        std::string value = two_decimals(*amount);
        std::string label = card_label(t, card);
        std::string text = t.zh ? "确认将" + label + "的" + name + "每日限额设为" + value + " " +
                                      l.currency + "吗？"
                                : "Shall I set the daily limit for " + name + " on your " + label +
                                      " to " + value + " " + l.currency + "?";
        json::object state = limit_state("limit_confirm", last4, kind, 0);
        state["amount"] = value;
        return respond({act_reply("cards.limit_confirm",
                                  {{"limit_kind", name},
                                   {"card", label},
                                   {"daily_limit", value},
                                   {"currency", l.currency}},
                                  text, yes_no_choices(t, "Yes, change it", "确认修改"))},
                       std::move(state));
    }
    if (retries >= kMaxRetries) {
        std::string text =
            t.zh ? "仍然没有收到有效的金额，" + name + "的限额保持不变。您可以随时再来修改。"
                 : "I still don't have an amount I can use, so your limit for " + name +
                       " stays as it is. You can try again any time.";
        return respond({reply(text)}, nullptr);
    }
    json::object state = limit_state("limit_amount", last4, kind, retries + 1);
    if (amount && *amount > max_value) {
        std::string value = two_decimals(*amount);
        std::string text = t.zh ? value + " " + l.currency + "超过了" + name + "的最高限额" + max +
                                      " " + l.currency + "，请输入更小的金额。"
                                : value + " " + l.currency + " is above the maximum of " + max +
                                      " " + l.currency + " for " + name +
                                      ". Please give a smaller amount.";
        return respond({act_reply("cards.limit_over",
                                  {{"limit_kind", name},
                                   {"daily_limit", value},
                                   {"max_limit", max},
                                   {"currency", l.currency}},
                                  text)},
                       std::move(state));
    }
    std::string text = t.zh ? "请输入一个金额（0到" + max + " " + l.currency + "之间），例如800。"
                            : "Please give the new limit as an amount between 0 and " + max + " " +
                                  l.currency + ", for example 800.";
    return respond(
        {act_reply("cards.limit_invalid",
                   {{"limit_kind", name}, {"max_limit", max}, {"currency", l.currency}}, text)},
        std::move(state));
}

// The card's daily limits, then the offer to change one (or straight to the change when the
// customer already said which).
json::object start_limits(const Turn& t, const json::object& card) {
    std::string last4 = string_at(card, "last4");
    std::optional<CardLimits> l = limits_of(t, last4);
    if (!l) {
        return backend_down(t);
    }
    std::string kind = limit_kind_in(t);
    if (!kind.empty() && l->limits.contains(kind)) {
        if (amount_in(t, last4)) {
            return take_limit_amount(t, *l, card, kind, 0);
        }
        if (wants_change(t)) {
            return ask_limit_amount(t, *l, last4, kind);
        }
    }

    json::array items;
    json::array choices;
    for (std::string_view k : kLimitKinds) {
        const json::value* v = l->limits.if_contains(k);
        if (v == nullptr || !v->is_object()) {
            continue;
        }
        std::string name = limit_name(t, k);
        std::string daily = string_at(v->as_object(), "daily");
        std::string max = string_at(v->as_object(), "max");
        std::string text = t.zh ? name + "：每日" + daily + " " + l->currency + "（最高" + max +
                                      " " + l->currency + "）"
                                : name + ": " + daily + " " + l->currency + " a day (up to " + max +
                                      " " + l->currency + ")";
        items.push_back(item("cards.limit",
                             {{"limit_kind", name},
                              {"daily_limit", daily},
                              {"max_limit", max},
                              {"currency", l->currency}},
                             text));
        choices.push_back(json::object{{"title", name}, {"payload", k}});
    }
    choices.push_back(json::object{{"title", t.say("No, thanks", "不用了")}, {"payload", "/deny"}});
    std::string header = t.zh ? card_label(t, card) + "的每日限额："
                              : "Daily limits on your " + card_label(t, card) + ":";
    return respond(
        {list_reply(header, std::move(items)),
         reply(t.say("Would you like to change one of them?", "需要修改其中某项限额吗？"),
               std::move(choices))},
        limit_state("limit_kind", last4, "", 0));
}

json::object continue_limits(const Turn& t, const json::object& s, int attempts) {
    std::string step = string_at(s, "step");
    std::string last4 = string_at(s, "last4");
    std::string kind = string_at(s, "kind");
    bool ok = false;
    json::array cards = cards_where(
        t, [](std::string_view st) { return st == "active"; }, ok);
    const json::object* card = card_with(cards, last4);
    std::optional<CardLimits> l = card != nullptr ? limits_of(t, last4) : std::nullopt;
    if (!ok || card == nullptr || !l || (!kind.empty() && !l->limits.contains(kind))) {
        return backend_down(t);
    }

    if (step == "limit_kind") {
        std::string chosen = limit_kind_in(t);
        if (!chosen.empty() && l->limits.contains(chosen)) {
            return amount_in(t, last4) ? take_limit_amount(t, *l, *card, chosen, 0)
                                       : ask_limit_amount(t, *l, last4, chosen);
        }
        if (yes_or_no(t) == 0) {
            return done(t, "All right, your limits stay as they are.", "好的，限额保持不变。");
        }
        if (attempts + 1 >= kMaxAttempts) {
            return done(t, "I'll leave your limits as they are for now.", "那就先不修改限额了。");
        }
        json::array choices;
        for (std::string_view k : kLimitKinds) {
            choices.push_back(json::object{{"title", limit_name(t, k)}, {"payload", k}});
        }
        return respond(
            {reply(t.say("Which limit would you like to change: ATM withdrawals, card payments "
                         "in shops or online payments?",
                         "您想修改哪项限额：ATM取现、刷卡消费还是网上支付？"),
                   std::move(choices))},
            limit_state("limit_kind", last4, "", attempts + 1));
    }
    if (step == "limit_amount") {
        return take_limit_amount(t, *l, *card, kind, attempts);
    }

    // step == "limit_confirm"
    std::string amount = string_at(s, "amount");
    std::string name = limit_name(t, kind);
    int answer = yes_or_no(t);
    if (answer == 0) {
        return done(t, "All right, I haven't changed your limit.", "好的，限额没有修改。");
    }
    if (answer != 1) {
        if (attempts + 1 >= kMaxAttempts) {
            return done(t, "I'll leave the limit as it is for now.", "那就先不修改限额了。");
        }
        std::string label = card_label(t, *card);
        std::string text = t.zh ? "请确认：将" + label + "的" + name + "每日限额设为" + amount +
                                      " " + l->currency + "？"
                                : "Please confirm: set the daily limit for " + name + " on your " +
                                      label + " to " + amount + " " + l->currency + "?";
        json::object state = limit_state("limit_confirm", last4, kind, attempts + 1);
        state["amount"] = amount;
        return respond({act_reply("cards.limit_confirm",
                                  {{"limit_kind", name},
                                   {"card", label},
                                   {"daily_limit", amount},
                                   {"currency", l->currency}},
                                  text, yes_no_choices(t, "Yes, change it", "确认修改"))},
                       std::move(state));
    }
    json::value result = teller::plugins::call_backend(
        t.host, "cards.set_limit",
        {{"customer", t.customer}, {"last4", last4}, {"kind", kind}, {"amount", amount}});
    if (!result.is_object()) {
        return backend_down(t);
    }
    const json::object& r = result.as_object();
    if (r.contains("limit")) {
        std::string text =
            t.zh ? "已完成：" + name + "的每日限额现在是" + amount + " " + l->currency + "。"
                 : "Done: your daily limit for " + name + " is now " + amount + " " + l->currency +
                       ".";
        json::object response = respond(
            {act_reply("cards.limit_set",
                       {{"limit_kind", name}, {"daily_limit", amount}, {"currency", l->currency}},
                       text)},
            nullptr);
        response["events"] = json::array{
            json::object{{"type", "card_limit_changed"}, {"kind", kind}, {"card_last4", last4}}};
        return response;
    }
    if (string_at(r, "error") == "over_maximum") {
        return done(t,
                    "The bank refused that amount: it is above the card's maximum. Your limit "
                    "is unchanged.",
                    "银行拒绝了这个金额：超过了该卡的最高限额。限额保持不变。");
    }
    return done(t, "I couldn't change that limit. Type \"agent\" to talk to a person.",
                "无法修改该限额。输入“人工”可转接客服。");
}

// ---- Transactions and disputes ----

json::array recent_transactions(const Turn& t, std::string_view last4, bool& ok) {
    json::value result = teller::plugins::call_backend(
        t.host, "cards.transactions", {{"customer", t.customer}, {"last4", last4}, {"limit", 5}});
    ok = result.is_object() && result.as_object().contains("transactions") &&
         result.at("transactions").is_array();
    return ok ? result.at("transactions").as_array() : json::array{};
}

json::object transaction_slots(const json::object& tx) {
    return json::object{{"tx_date", string_at(tx, "date")},
                        {"merchant", string_at(tx, "merchant")},
                        {"amount", string_at(tx, "amount")},
                        {"currency", string_at(tx, "currency")}};
}

std::string transaction_text(const json::object& tx) {
    return string_at(tx, "date") + " " + string_at(tx, "merchant") + " " + string_at(tx, "amount") +
           " " + string_at(tx, "currency");
}

json::object show_transactions(const Turn& t, const json::object& card) {
    bool ok = false;
    json::array list = recent_transactions(t, string_at(card, "last4"), ok);
    if (!ok) {
        return backend_down(t);
    }
    std::string label = card_label(t, card);
    if (list.empty()) {
        return respond({reply(t.zh ? label + "最近没有交易。"
                                   : "There are no recent transactions on your " + label + ".")},
                       nullptr);
    }
    json::array items;
    for (const json::value& tx : list) {
        items.push_back(item("cards.transaction", transaction_slots(tx.as_object()),
                             transaction_text(tx.as_object())));
    }
    std::string header =
        t.zh ? label + "最近的交易：" : "Recent transactions on your " + label + ":";
    return respond({list_reply(header, std::move(items))}, nullptr);
}

// The transactions the customer's words point at: a quick reply's id, a position in the list
// ("2"), a merchant's name or an amount.
std::vector<const json::object*> matching_transactions(const Turn& t, const json::array& list) {
    std::vector<const json::object*> out;
    std::string f = folded(t.text);
    for (const json::value& tx : list) {
        if (string_at(tx.as_object(), "id") == f) {
            return {&tx.as_object()};
        }
    }
    if (!f.empty() && f.size() <= 2 && std::all_of(f.begin(), f.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        })) {
        std::size_t position = std::stoul(f);
        if (position >= 1 && position <= list.size()) {
            return {&list[position - 1].as_object()};
        }
        return {};
    }
    for (const json::value& tx : list) {
        std::string merchant = folded(string_at(tx.as_object(), "merchant"));
        // The merchant's first word is enough ("the Apple one"); in Chinese its first two
        // characters ("美团" for 美团外卖).
        bool cjk = !merchant.empty() && static_cast<unsigned char>(merchant.front()) >= 0xE0;
        std::string first_word =
            cjk ? merchant.substr(0, 6) : merchant.substr(0, merchant.find_first_of(" ("));
        if (!merchant.empty() &&
            (f.find(merchant) != std::string::npos ||
             (first_word.size() >= 4 && f.find(first_word) != std::string::npos))) {
            out.push_back(&tx.as_object());
        }
    }
    if (!out.empty()) {
        return out;
    }
    if (std::optional<double> amount = amount_in(t, {})) {
        for (const json::value& tx : list) {
            double v = std::strtod(string_at(tx.as_object(), "amount").c_str(), nullptr);
            if (std::fabs(v - *amount) < 0.005) {
                out.push_back(&tx.as_object());
            }
        }
    }
    return out;
}

json::object dispute_state(std::string_view step, std::string_view last4, int attempts) {
    return json::object{
        {"flow", "dispute"}, {"step", step}, {"last4", last4}, {"attempts", attempts}};
}

// Lists `shown` (some or all of `list`, numbered by their place in `list`) to pick from.
json::object ask_dispute_transaction(const json::object& card, const json::array& list,
                                     const std::vector<const json::object*>& shown,
                                     std::string_view header, int attempts) {
    json::array items;
    json::array choices;
    for (const json::object* tx : shown) {
        std::size_t position = 1;
        while (position < list.size() && &list[position - 1].as_object() != tx) {
            ++position;
        }
        json::object slots = transaction_slots(*tx);
        slots["position"] = std::to_string(position);
        items.push_back(item("cards.transaction_choice", std::move(slots),
                             std::to_string(position) + ". " + transaction_text(*tx)));
        choices.push_back(
            json::object{{"title", std::to_string(position) + ". " + string_at(*tx, "merchant")},
                         {"payload", string_at(*tx, "id")}});
    }
    return respond({list_reply(header, std::move(items), std::move(choices))},
                   dispute_state("dispute_pick", string_at(card, "last4"), attempts));
}

json::array dispute_reason_choices(const Turn& t) {
    return json::array{
        json::object{{"title", t.say("I don't recognise it", "不认识这笔交易")},
                     {"payload", "not_recognised"}},
        json::object{{"title", t.say("Charged twice", "重复扣款")}, {"payload", "charged_twice"}},
        json::object{{"title", t.say("Wrong amount", "金额不对")}, {"payload", "wrong_amount"}},
        json::object{{"title", t.say("Goods not received", "没有收到商品")},
                     {"payload", "not_received"}}};
}

std::string dispute_reason_in(const Turn& t) {
    std::string f = folded(t.text);
    for (std::string_view r : {"not_recognised", "charged_twice", "wrong_amount", "not_received"}) {
        if (f == r) {
            return std::string(r);
        }
    }
    if (contains_any(f, {"twice", "double", "duplicate", "two times", "two charges", "两次", "重复",
                         "扣了两"})) {
        return "charged_twice";
    }
    if (contains_any(f, {"receiv", "arrive", "deliver", "never came", "never got", "没收到",
                         "未收到", "没到", "没有收到", "没发货"})) {
        return "not_received";
    }
    if (contains_any(f, {"recogni", "not me", "wasn't me", "didn't make", "fraud", "don't know",
                         "不认识", "不是我", "没消费", "盗刷", "陌生"})) {
        return "not_recognised";
    }
    if (contains_any(f, {"amount", "overcharged", "too much", "more than", "金额", "多扣", "扣多",
                         "不对"})) {
        return "wrong_amount";
    }
    return "";
}

std::string dispute_reason_name(const Turn& t, std::string_view reason) {
    if (reason == "not_recognised") {
        return std::string(t.say("you don't recognise it", "不认识这笔交易"));
    }
    if (reason == "charged_twice") {
        return std::string(t.say("charged twice", "重复扣款"));
    }
    if (reason == "wrong_amount") {
        return std::string(t.say("wrong amount", "金额不对"));
    }
    return std::string(t.say("goods not received", "没有收到商品"));
}

json::object ask_dispute_reason(const Turn& t, const json::object& card, const json::object& tx,
                                int attempts) {
    json::object state = dispute_state("dispute_reason", string_at(card, "last4"), attempts);
    state["transaction"] = string_at(tx, "id");
    std::string text = t.zh ? "这笔交易有什么问题？" : "What's wrong with this payment?";
    return respond({act_reply("cards.dispute_reason", transaction_slots(tx),
                              text + " " + transaction_text(tx), dispute_reason_choices(t))},
                   std::move(state));
}

json::object confirm_dispute(const Turn& t, const json::object& card, const json::object& tx,
                             std::string_view reason, int attempts) {
    json::object state = dispute_state("dispute_confirm", string_at(card, "last4"), attempts);
    state["transaction"] = string_at(tx, "id");
    state["reason"] = reason;
    json::object slots = transaction_slots(tx);
    slots["dispute_reason"] = dispute_reason_name(t, reason);
    std::string text = (t.zh ? "确认对这笔交易提出争议吗？" : "Shall I dispute this payment? ") +
                       transaction_text(tx) + " (" + dispute_reason_name(t, reason) + ")";
    return respond({act_reply("cards.dispute_confirm", std::move(slots), text,
                              yes_no_choices(t, "Yes, dispute it", "确认提交"))},
                   std::move(state));
}

json::object start_dispute(const Turn& t, const json::object& card, int attempts) {
    bool ok = false;
    json::array list = recent_transactions(t, string_at(card, "last4"), ok);
    if (!ok) {
        return backend_down(t);
    }
    std::string label = card_label(t, card);
    if (list.empty()) {
        return respond(
            {reply(t.zh ? label + "最近没有可以提出争议的交易。"
                        : "There are no recent transactions on your " + label + " to dispute.")},
            nullptr);
    }
    // A customer who starts with "dispute the Netflix charge" has already said which.
    std::vector<const json::object*> matches = matching_transactions(t, list);
    if (matches.size() == 1) {
        return ask_dispute_reason(t, card, *matches.front(), 0);
    }
    std::vector<const json::object*> all;
    for (const json::value& tx : list) {
        all.push_back(&tx.as_object());
    }
    std::string header =
        t.zh ? "您要对哪笔交易提出争议？" + label + "最近的交易："
             : "Which payment would you like to dispute? Recent ones on your " + label + ":";
    return ask_dispute_transaction(card, list, all, header, attempts);
}

json::object continue_dispute(const Turn& t, const json::object& s, int attempts) {
    std::string step = string_at(s, "step");
    bool ok = false;
    json::array cards = cards_where(
        t, [](std::string_view st) { return st != "inactive"; }, ok);
    const json::object* card = card_with(cards, string_at(s, "last4"));
    json::array list =
        card != nullptr ? recent_transactions(t, string_at(s, "last4"), ok) : json::array{};
    if (!ok || card == nullptr) {
        return backend_down(t);
    }
    const json::object* tx = nullptr;
    for (const json::value& x : list) {
        if (string_at(x.as_object(), "id") == string_at(s, "transaction")) {
            tx = &x.as_object();
        }
    }

    if (step == "dispute_pick") {
        std::vector<const json::object*> matches = matching_transactions(t, list);
        if (matches.size() == 1) {
            return ask_dispute_reason(t, *card, *matches.front(), 0);
        }
        if (attempts >= kMaxAttempts) {
            return done(t,
                        "I still can't tell which payment you mean, so I've stopped here. Type "
                        "\"agent\" to talk to a person.",
                        "仍然无法确定是哪笔交易，本次操作已结束。输入“人工”可转接客服。");
        }
        std::vector<const json::object*> shown = matches;
        if (shown.empty()) {
            for (const json::value& x : list) {
                shown.push_back(&x.as_object());
            }
        }
        std::string_view header =
            matches.empty()
                ? t.say("I couldn't match that to a payment. Please pick one:",
                        "没有找到对应的交易，请选择：")
                : t.say("More than one payment matches. Which one?", "有多笔交易符合，是哪一笔？");
        return ask_dispute_transaction(*card, list, shown, header, attempts);
    }
    if (tx == nullptr) {
        return done(t, "I can't find that payment any more.", "找不到这笔交易了。");
    }
    if (step == "dispute_reason") {
        std::string reason = dispute_reason_in(t);
        if (!reason.empty()) {
            return confirm_dispute(t, *card, *tx, reason, 0);
        }
        if (attempts >= kMaxAttempts) {
            return done(t, "I've stopped here without opening a dispute.",
                        "本次没有提交争议，操作已结束。");
        }
        return ask_dispute_reason(t, *card, *tx, attempts);
    }

    // step == "dispute_confirm"
    std::string reason = string_at(s, "reason");
    int answer = yes_or_no(t);
    if (answer == 0) {
        return done(t, "All right, I haven't opened a dispute.", "好的，没有提交争议。");
    }
    if (answer != 1) {
        if (attempts >= kMaxAttempts) {
            return done(t, "I've stopped here without opening a dispute.",
                        "本次没有提交争议，操作已结束。");
        }
        return confirm_dispute(t, *card, *tx, reason, attempts);
    }
    json::value result = teller::plugins::call_backend(t.host, "cards.dispute",
                                                       {{"customer", t.customer},
                                                        {"last4", string_at(s, "last4")},
                                                        {"transaction", string_at(*tx, "id")},
                                                        {"reason", reason}});
    if (!result.is_object()) {
        return backend_down(t);
    }
    const json::object& r = result.as_object();
    std::string error = string_at(r, "error");
    if (error.empty() && r.contains("case")) {
        json::object slots = transaction_slots(*tx);
        slots["case_ref"] = string_at(r, "case");
        std::string text =
            t.zh ? "已提交争议，案件编号" + string_at(r, "case") + "。" + transaction_text(*tx)
                 : "Your dispute is open, case reference " + string_at(r, "case") + ". " +
                       transaction_text(*tx);
        json::object response = respond({act_reply("cards.dispute_opened", std::move(slots), text)},
                                        nullptr, {{"dispute_case", string_at(r, "case")}});
        response["events"] = json::array{json::object{
            {"type", "dispute_opened"}, {"case", string_at(r, "case")}, {"reason", reason}}};
        return response;
    }
    if (error == "already_disputed") {
        std::string ref = string_at(r, "case");
        return respond(
            {reply(t.zh ? "这笔交易已经在争议处理中（案件编号" + ref + "）。"
                        : "That payment is already being disputed (case reference " + ref + ").")},
            nullptr);
    }
    return done(t,
                "I couldn't open a dispute for that payment. Type \"agent\" to talk to a person.",
                "无法对这笔交易提交争议。输入“人工”可转接客服。");
}

// The cards a flow can work on: not yet blocked (lost), waiting (activate), active (limits),
// or anything that has been used (transactions, dispute).
bool usable_for(std::string_view flow, std::string_view status) {
    if (flow == "lost") {
        return status != "blocked";
    }
    if (flow == "activate") {
        return status == "inactive";
    }
    if (flow == "limits") {
        return status == "active";
    }
    return status != "inactive";
}

// Runs the flow on the card the customer chose.
json::object with_card(const Turn& t, std::string_view flow, const json::object& card) {
    if (flow == "lost") {
        return confirm_block(t, card, 0);
    }
    if (flow == "activate") {
        return change_card(t, "cards.activate", string_at(card, "last4"));
    }
    if (flow == "limits") {
        return start_limits(t, card);
    }
    if (flow == "dispute") {
        return start_dispute(t, card, 0);
    }
    return show_transactions(t, card);
}

// Asks which card, or handles the answer to that question. The newer flows (transactions,
// limits, dispute) take a customer's only card without asking.
json::object choose_card(const Turn& t, std::string_view flow, int attempts, bool first) {
    bool lost = flow == "lost";
    bool ok = false;
    json::array cards = cards_where(
        t, [flow](std::string_view status) { return usable_for(flow, status); }, ok);
    if (!ok) {
        return backend_down(t);
    }
    if (cards.empty()) {
        std::string_view text =
            lost ? t.say(
                       "I can't find a card on your profile that can still be blocked. "
                       "Type \"agent\" if you need more help.",
                       "您名下没有可以挂失的银行卡。如需更多帮助，请输入“人工”。")
            : flow == "activate"
                ? t.say("None of your cards is waiting to be activated.", "您没有待激活的银行卡。")
                : t.say("I can't find an active card on your profile.",
                        "您名下没有正在使用的银行卡。");
        return respond({reply(text)}, nullptr);
    }

    std::string last4 = last4_in(t);
    if (const json::object* card = last4.empty() ? nullptr : card_with(cards, last4)) {
        return with_card(t, flow, *card);
    }
    bool newer = !lost && flow != "activate";
    if (newer && first && cards.size() == 1) {
        return with_card(t, flow, cards.front().as_object());
    }

    json::object state{{"flow", flow}, {"step", "ask_card"}, {"attempts", attempts}};
    if (first) {
        std::string_view text =
            lost ? t.say(
                       "I'm sorry to hear that. Which card is it? Tell me its last four digits "
                       "or pick one below.",
                       "很遗憾听到这个消息。是哪张卡？请告诉我卡号后四位，或在下面选择。")
            : flow == "activate"
                ? t.say(
                      "Which card would you like to activate? Tell me its last four digits or "
                      "pick one below.",
                      "您要激活哪张卡？请告诉我卡号后四位，或在下面选择。")
                : t.say("Which card? Tell me its last four digits or pick one below.",
                        "是哪张卡？请告诉我卡号后四位，或在下面选择。");
        return respond({reply(text, card_choices(t, cards))}, std::move(state));
    }
    if (attempts >= kMaxAttempts) {
        return respond(
            {reply(t.say("I still can't match that to one of your cards, so I've "
                         "stopped here. Type \"agent\" to talk to a person.",
                         "仍然无法匹配到您的银行卡，本次操作已结束。输入“人工”可转接客服。"))},
            nullptr);
    }
    std::string text =
        last4.empty()
            ? std::string(t.say("Please tell me the last four digits of the card, or pick one "
                                "below.",
                                "请告诉我卡号后四位，或在下面选择。"))
            : (t.zh ? "没有找到尾号" + last4 + "的卡，请在下面选择："
                    : "I couldn't find a card ending " + last4 + ". Please pick one below:");
    return respond({reply(text, card_choices(t, cards))}, std::move(state));
}

json::object balance(const Turn& t) {
    json::value result =
        teller::plugins::call_backend(t.host, "accounts.balance", {{"customer", t.customer}});
    if (!result.is_object() || !result.as_object().contains("accounts")) {
        return backend_down(t);
    }
    json::array items;
    for (const json::value& account : result.at("accounts").as_array()) {
        const json::object& a = account.as_object();
        std::string name = t.zh ? string_at(a, "name_zh") : string_at(a, "name");
        if (name.empty()) {
            name = string_at(a, "name");
        }
        std::string text =
            name + (t.zh ? "：" : ": ") + string_at(a, "balance") + " " + string_at(a, "currency");
        items.push_back(item("cards.balance",
                             {{"account_name", name},
                              {"balance", string_at(a, "balance")},
                              {"currency", string_at(a, "currency")}},
                             text));
    }
    return respond({list_reply(t.say("Your balances:", "您的账户余额："), std::move(items))},
                   nullptr);
}

json::object handle_turn(const Skill& skill, const json::object& request) {
    const json::value* intent = request.if_contains("intent");
    const json::value* customer = request.if_contains("customer");
    Turn t{skill.host,
           request,
           string_at(request, "locale") == "zh-CN",
           string_at(request, "text"),
           intent && intent->is_object() ? string_at(intent->as_object(), "name") : "",
           customer && customer->is_object() ? string_at(customer->as_object(), "id") : ""};

    // A flow in progress keeps the conversation.
    const json::value* state = request.if_contains("state");
    if (state != nullptr && state->is_object()) {
        const json::object& s = state->as_object();
        std::string flow = string_at(s, "flow");
        std::string step = string_at(s, "step");
        int attempts = 0;
        if (const json::value* a = s.if_contains("attempts"); a && a->is_int64()) {
            attempts = static_cast<int>(a->as_int64());
        }
        if (step == "ask_card") {
            return choose_card(t, flow, attempts + 1, false);
        }
        if (flow == "limits") {
            return continue_limits(t, s, attempts);
        }
        if (flow == "dispute") {
            return continue_dispute(t, s, attempts + 1);
        }
        if (step == "confirm") {
            int answer = yes_or_no(t);
            if (answer == 1) {
                return change_card(t, "cards.block", string_at(s, "last4"));
            }
            if (answer == 0) {
                return respond({reply(t.say("All right, I haven't blocked anything.",
                                            "好的，没有挂失任何卡。"))},
                               nullptr);
            }
            if (attempts + 1 >= kMaxAttempts) {
                return respond({reply(t.say("I'll leave the card as it is for now.",
                                            "那就先不处理这张卡了。"))},
                               nullptr);
            }
            json::object card{{"last4", string_at(s, "last4")}};
            bool ok = false;
            json::array cards = cards_where(t, blockable, ok);
            if (const json::object* c = card_with(cards, string_at(s, "last4"))) {
                card = *c;
            }
            return confirm_block(t, card, attempts + 1);
        }
        return respond({}, nullptr);  // unknown state: end the flow quietly
    }

    if (t.intent == "cards.lost_or_stolen") {
        return choose_card(t, "lost", 0, true);
    }
    if (t.intent == "cards.activate") {
        return choose_card(t, "activate", 0, true);
    }
    if (t.intent == "cards.balance") {
        return balance(t);
    }
    if (t.intent == "cards.transactions") {
        return choose_card(t, "transactions", 0, true);
    }
    if (t.intent == "cards.limits") {
        return choose_card(t, "limits", 0, true);
    }
    if (t.intent == "cards.dispute") {
        return choose_card(t, "dispute", 0, true);
    }
    return respond({reply(t.say("Sorry, I can't help with that.", "抱歉，这个我帮不了。"))},
                   nullptr);
}

const char* manifest() {
    static const std::string text = teller::plugins::build_manifest(
        "cards", "1.1.0",
        "Lost or stolen card blocking, balances, activation, recent transactions, daily limits "
        "and disputes",
        intent_examples(), reply_acts());
    return text.c_str();
}

int init(const teller_host_v1* host, const char*, void** state) {
    if (host == nullptr || host->api_version != TELLER_SKILL_API_VERSION || state == nullptr) {
        return 1;
    }
    *state = new (std::nothrow) Skill{host};
    return *state != nullptr ? 0 : 2;
}

}  // namespace
}  // namespace teller::skills::cards

TELLER_SKILL_EXPORT const teller_skill_v1* teller_skill_entry(uint32_t host_api_version) {
    using namespace teller::skills::cards;
    static const teller_skill_v1 table = {TELLER_SKILL_API_VERSION,
                                          "cards",
                                          manifest(),
                                          &init,
                                          &teller::plugins::handle_turns<Skill, handle_turn>,
                                          &teller::plugins::free_c_string,
                                          &teller::plugins::delete_skill<Skill>};
    return teller::plugins::table_for_host(host_api_version, table);
}
