// The cards skill: report a lost or stolen card (block with confirmation), balances, activation.
#include <cctype>
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
bool activatable(std::string_view status) {
    return status == "inactive";
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
            return respond({reply(text)}, nullptr, {{"blocked_card", last4}});
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

// Asks which card, or handles the answer to that question.
json::object choose_card(const Turn& t, std::string_view flow, int attempts, bool first) {
    bool lost = flow == "lost";
    bool ok = false;
    json::array cards = lost ? cards_where(t, blockable, ok) : cards_where(t, activatable, ok);
    if (!ok) {
        return backend_down(t);
    }
    if (cards.empty()) {
        return respond(
            {reply(lost ? t.say("I can't find a card on your profile that can still be blocked. "
                                "Type \"agent\" if you need more help.",
                                "您名下没有可以挂失的银行卡。如需更多帮助，请输入“人工”。")
                        : t.say("None of your cards is waiting to be activated.",
                                "您没有待激活的银行卡。"))},
            nullptr);
    }

    std::string last4 = last4_in(t);
    if (const json::object* card = last4.empty() ? nullptr : card_with(cards, last4)) {
        return lost ? confirm_block(t, *card, 0) : change_card(t, "cards.activate", last4);
    }

    json::object state{{"flow", flow}, {"step", "ask_card"}, {"attempts", attempts}};
    if (first) {
        std::string_view text =
            lost ? t.say(
                       "I'm sorry to hear that. Which card is it? Tell me its last four digits "
                       "or pick one below.",
                       "很遗憾听到这个消息。是哪张卡？请告诉我卡号后四位，或在下面选择。")
                 : t.say(
                       "Which card would you like to activate? Tell me its last four digits or "
                       "pick one below.",
                       "您要激活哪张卡？请告诉我卡号后四位，或在下面选择。");
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
    std::string text = t.zh ? "您的账户余额：" : "Your balances: ";
    bool first = true;
    for (const json::value& account : result.at("accounts").as_array()) {
        const json::object& a = account.as_object();
        std::string name = t.zh ? string_at(a, "name_zh") : string_at(a, "name");
        if (name.empty()) {
            name = string_at(a, "name");
        }
        text += std::string(first  ? ""
                            : t.zh ? "；"
                                   : "; ") +
                name + " " + string_at(a, "balance") + " " + string_at(a, "currency");
        first = false;
    }
    text += t.zh ? "。" : ".";
    return respond({reply(text)}, nullptr);
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
    return respond({reply(t.say("Sorry, I can't help with that.", "抱歉，这个我帮不了。"))},
                   nullptr);
}

const char* manifest() {
    static const std::string text = teller::plugins::build_manifest(
        "cards", "1.0.0", "Lost or stolen card blocking, balances and card activation",
        intent_examples());
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
