// The investment skill: products, a risk questionnaire, suitability and required disclosures.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "investment_examples.hpp"
#include "teller/plugins/skill.hpp"
#include "teller/plugins/skill_api.h"

namespace teller::skills::investment {
namespace json = boost::json;
namespace {

/// Unusable answers one question accepts before the questionnaire stops.
constexpr int kMaxAttempts = 3;

/// Slots this skill keeps in the session beyond one flow.
constexpr std::string_view kProfileSlot = "risk_profile";  // 1 (conservative) .. 5
constexpr std::string_view kDisclosedSlot = "investment_disclosed";
/// The highest risk profile (and product risk level).
constexpr int kHighestProfile = 5;

// The built-in product range, the same shape as the skill's configuration. Risk levels follow
// the usual 1 (lowest) to 5 (highest) scale of fund risk ratings.
constexpr std::string_view kDefaultCatalogue = R"({
  "products": [
    {"id": "money-market", "risk": 1,
     "name": {"en": "Teller Money Market Fund", "zh-CN": "Teller货币市场基金"},
     "summary": {"en": "short-term deposits and bills; aims to preserve capital",
                 "zh-CN": "投资短期存款和票据，力求保本"}},
    {"id": "gov-bond", "risk": 2,
     "name": {"en": "Government Bond Fund", "zh-CN": "国债基金"},
     "summary": {"en": "government bonds; steady income, some price movement",
                 "zh-CN": "投资国债，收益稳定，价格有一定波动"}},
    {"id": "balanced", "risk": 3,
     "name": {"en": "Balanced Fund", "zh-CN": "平衡型基金"},
     "summary": {"en": "about 50% bonds and 50% shares",
                 "zh-CN": "约50%债券、50%股票"}},
    {"id": "global-equity", "risk": 4,
     "name": {"en": "Global Equity Index Fund", "zh-CN": "全球股票指数基金"},
     "summary": {"en": "shares of large companies worldwide; can fall sharply",
                 "zh-CN": "投资全球大型公司股票，可能大幅下跌"}},
    {"id": "emerging", "risk": 5,
     "name": {"en": "Emerging Markets Equity Fund", "zh-CN": "新兴市场股票基金"},
     "summary": {"en": "shares in emerging economies; high volatility",
                 "zh-CN": "投资新兴经济体股票，波动很大"}}
  ]
})";

struct Product {
    std::string id;
    int risk = 0;
    std::string name_en, name_zh;
    std::string summary_en, summary_zh;
};

struct Skill {
    const teller_host_v1* host = nullptr;
    std::vector<Product> products;  // sorted by risk, then id

    void log(int level, const std::string& message) const {
        if (host != nullptr && host->log != nullptr) {
            host->log(host->host, level, message.c_str());
        }
    }
};

/// One question of the risk questionnaire: four answers scoring 1 to 4 points.
struct Question {
    std::string_view en;
    std::string_view zh;
    std::array<std::string_view, 4> answers_en;
    std::array<std::string_view, 4> answers_zh;
};

// TODO(teller): the questionnaire is a fixed five-question form; banks need theirs, with
// their regulator's wording and scoring, as configuration rather than code.
constexpr std::array<Question, 5> kQuestions{{
    {"How long do you plan to keep this money invested?",
     "这笔钱您计划投资多久？",
     {"Less than 1 year", "1 to 3 years", "3 to 7 years", "More than 7 years"},
     {"1年以内", "1至3年", "3至7年", "7年以上"}},
    {"If your investment fell 20% in a year, what would you do?",
     "如果您的投资一年内下跌20%，您会怎么做？",
     {"Sell everything", "Sell some", "Hold on", "Buy more"},
     {"全部卖出", "卖出一部分", "继续持有", "加仓买入"}},
    {"Which investments have you held before?",
     "您以前投资过哪些产品？",
     {"None, only deposits", "Bonds or bond funds", "Mixed or equity funds",
      "Shares or derivatives"},
     {"没有，只有存款", "债券或债券基金", "混合或股票基金", "股票或衍生品"}},
    {"What is your main goal?",
     "您的主要投资目标是什么？",
     {"Keep my money safe", "Steady income", "Balanced growth", "Maximum growth"},
     {"保住本金", "稳定收益", "稳健增长", "追求最大增长"}},
    {"What share of your savings would this be?",
     "这笔投资占您储蓄的多少？",
     {"More than half", "25% to 50%", "10% to 25%", "Less than 10%"},
     {"一半以上", "25%至50%", "10%至25%", "10%以下"}},
}};

/// The profile (1..5) a questionnaire score of 5..20 points gives.
int profile_for_score(int score) {
    if (score <= 7) {
        return 1;
    }
    if (score <= 10) {
        return 2;
    }
    if (score <= 13) {
        return 3;
    }
    if (score <= 16) {
        return 4;
    }
    return 5;
}

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t int_at(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
        return fallback;
    }
    if (v->is_int64()) {
        return v->as_int64();
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(v->as_uint64());
    }
    return fallback;
}

/// One customer turn as the skill sees it.
struct Turn {
    const Skill& skill;
    bool zh = false;
    std::string text;
    std::string folded;  // lower-case ASCII, trimmed
    std::string intent;
    json::object slots;

    std::string say(std::string_view en, std::string_view zh_text) const {
        return std::string(zh ? zh_text : en);
    }
    std::string name(const Product& p) const { return zh ? p.name_zh : p.name_en; }
    std::string summary(const Product& p) const { return zh ? p.summary_zh : p.summary_en; }

    /// The customer's risk profile from an earlier questionnaire, if any.
    std::optional<int> profile() const {
        std::int64_t p = int_at(slots, kProfileSlot);
        return p >= 1 && p <= 5 ? std::optional<int>(static_cast<int>(p)) : std::nullopt;
    }
    bool disclosed() const {
        const json::value* v = slots.if_contains(kDisclosedSlot);
        return v != nullptr && v->is_bool() && v->as_bool();
    }
};

std::string profile_name(const Turn& t, int profile) {
    static constexpr std::array<std::string_view, 5> en{"conservative", "moderately conservative",
                                                        "balanced", "growth", "aggressive"};
    static constexpr std::array<std::string_view, 5> zh{"保守型", "稳健型", "平衡型", "成长型",
                                                        "进取型"};
    return std::string(t.zh ? zh[profile - 1] : en[profile - 1]);
}

std::string risk_label(const Turn& t, int risk) {
    return t.zh ? "风险等级R" + std::to_string(risk) : "risk " + std::to_string(risk) + "/5";
}

json::object reply(std::string_view text, json::array quick_replies = {}) {
    json::object r{{"text", text}};
    if (!quick_replies.empty()) {
        r["quick_replies"] = std::move(quick_replies);
    }
    return r;
}

json::object choice(std::string_view title, std::string_view payload) {
    return json::object{{"title", title}, {"payload", payload}};
}

json::object respond(json::array replies, json::value state, json::object slots = {},
                     json::array events = {}) {
    json::object r{{"replies", std::move(replies)}, {"state", std::move(state)}};
    if (!slots.empty()) {
        r["slots"] = std::move(slots);
    }
    if (!events.empty()) {
        r["events"] = std::move(events);
    }
    return r;
}

// The disclosure a regulator expects before any product is named (capital at risk, past
// performance, not a deposit, not personal advice).
std::string disclosure(const Turn& t) {
    return t.say(
        "Important: the value of investments can go down as well as up, and you may get back "
        "less than you invest. Past performance is not a reliable guide to future returns. "
        "Funds are not deposits and are not protected by deposit insurance. This is general "
        "information matched to your risk profile, not personal advice.",
        "重要提示：投资有风险，产品净值可能上涨也可能下跌，您可能损失部分本金。过往业绩不代表"
        "未来表现。基金不是存款，不受存款保险保障。以下为根据您的风险等级提供的一般信息，不构成"
        "个人投资建议。");
}

json::object disclosed_slot() {
    return json::object{{kDisclosedSlot, true}};
}

json::object questionnaire_buttons_reply(const Turn& t, std::size_t index, std::string prefix) {
    const Question& q = kQuestions[index];
    std::string text = prefix + t.say("Question ", "第") + std::to_string(index + 1) +
                       t.say(" of 5: ", "题（共5题）：") + std::string(t.zh ? q.zh : q.en);
    json::array buttons;
    for (std::size_t i = 0; i < 4; ++i) {
        std::string_view title = t.zh ? q.answers_zh[i] : q.answers_en[i];
        text += "\n" + std::to_string(i + 1) + ". " + std::string(title);
        buttons.push_back(choice(title, std::to_string(i + 1)));
    }
    return reply(text, std::move(buttons));
}

json::object ask(const Turn& t, json::object s, std::string prefix = {}) {
    std::size_t index = static_cast<std::size_t>(int_at(s, "question"));
    json::object r = questionnaire_buttons_reply(t, index, std::move(prefix));
    return respond({std::move(r)}, std::move(s));
}

/// The answer (1..4) to question `index` in the customer's words, if one is recognisable: the
/// button payload or a digit, or the text of one of the answers.
std::optional<int> answer_in(const Turn& t, std::size_t index) {
    std::string f = t.folded;
    // Full-width digits, as Chinese keyboards type them.
    static constexpr std::array<std::string_view, 4> kWide{"１", "２", "３", "４"};
    for (std::size_t i = 0; i < 4; ++i) {
        if (f == std::to_string(i + 1) || f == kWide[i]) {
            return static_cast<int>(i + 1);
        }
    }
    const Question& q = kQuestions[index];
    for (std::size_t i = 0; i < 4; ++i) {
        if (f == teller::plugins::fold_answer(q.answers_en[i]) || f == q.answers_zh[i]) {
            return static_cast<int>(i + 1);
        }
    }
    return std::nullopt;
}

bool wants_cancel(const Turn& t) {
    static const std::vector<std::string_view> kCancel = {
        "cancel", "stop", "never mind", "forget it", "quit", "取消", "算了", "不做了", "退出"};
    return t.intent == "cancel" ||
           std::find(kCancel.begin(), kCancel.end(), t.folded) != kCancel.end();
}

std::vector<const Product*> suitable(const Turn& t, int profile) {
    std::vector<const Product*> out;
    for (const Product& p : t.skill.products) {
        if (p.risk <= profile) {
            out.push_back(&p);
        }
    }
    return out;
}

json::object start_questionnaire(const Turn& t, bool then_recommend) {
    json::object s{{"flow", "questionnaire"},
                   {"question", 0},
                   {"score", 0},
                   {"attempts", 0},
                   {"then_recommend", then_recommend}};
    std::string intro = t.say(
        "Five short questions help me find the level of risk that suits you. Answer with the "
        "number or tap an answer; say \"cancel\" to stop.\n",
        "回答五个简短问题，帮您确定适合的风险等级。请回复序号或点选答案；说“取消”可随时退出。\n");
    return ask(t, std::move(s), std::move(intro));
}

// TODO(teller): the product lists (recommend, products) are plain text, not acts: their risk
// levels are small whole numbers that read the same in both locales, but a catalogue that adds
// minimums or returns would show them unformatted until these replies become templated acts.
json::object recommend(const Turn& t, int profile, json::object slots, std::string prefix) {
    std::vector<const Product*> fits = suitable(t, profile);
    std::string text = prefix + disclosure(t) + "\n\n" +
                       t.say("For a " + profile_name(t, profile) + " investor (profile " +
                                 std::to_string(profile) + " of 5), these products fit:",
                             "适合" + profile_name(t, profile) + "投资者（风险等级" +
                                 std::to_string(profile) + "/5）的产品：");
    for (const Product* p : fits) {
        text += "\n• " + t.name(*p) + " (" + risk_label(t, p->risk) + "): " + t.summary(*p);
    }
    std::size_t above = t.skill.products.size() - fits.size();
    if (above > 0) {
        text +=
            "\n" + t.say(std::to_string(above) +
                             " product(s) carry more risk than your profile and are not "
                             "offered to you.",
                         "另有" + std::to_string(above) + "款产品风险高于您的等级，不向您推荐。");
    }
    json::object merged = disclosed_slot();
    for (auto& [k, v] : slots) {
        merged[k] = v;
    }
    json::array events{json::object{{"type", "investment_suitability"},
                                    {"profile", profile},
                                    {"offered", static_cast<std::int64_t>(fits.size())},
                                    {"disclosure_shown", true}}};
    return respond({reply(text)}, nullptr, std::move(merged), std::move(events));
}

json::object products(const Turn& t) {
    std::string text = disclosure(t) + "\n\n" + t.say("Our funds:", "我们的基金：");
    for (const Product& p : t.skill.products) {
        text += "\n• " + t.name(p) + " (" + risk_label(t, p.risk) + "): " + t.summary(p);
    }
    std::optional<int> profile = t.profile();
    text += "\n" + (profile ? t.say("Your risk profile is " + profile_name(t, *profile) +
                                        "; I can show the products that suit it.",
                                    "您的风险等级为" + profile_name(t, *profile) +
                                        "，可以为您列出适合的产品。")
                            : t.say("Before any suggestion I need your risk profile: it takes "
                                    "five questions.",
                                    "推荐产品前需要先做风险评估，共五个问题。"));
    json::array buttons{
        choice(t.say("Suitable for me", "适合我的产品"), "/investment.recommend"),
        choice(t.say("Risk questionnaire", "风险评估"), "/investment.risk_profile")};
    return respond({reply(text, std::move(buttons))}, nullptr, disclosed_slot());
}

json::object finish_questionnaire(const Turn& t, const json::object& s) {
    int score = static_cast<int>(int_at(s, "score"));
    int profile = profile_for_score(score);
    std::string text = t.say("Thank you. Your risk profile is " + profile_name(t, profile) + " (" +
                                 std::to_string(profile) + " of 5).",
                             "谢谢。您的风险等级为" + profile_name(t, profile) + "（" +
                                 std::to_string(profile) + "/5）。");
    json::object slots{{kProfileSlot, profile}};
    json::array events{
        json::object{{"type", "risk_profile_set"}, {"profile", profile}, {"score", score}}};
    // The profile's figures are slots of investment.risk_profile (knowledge/responses).
    auto profile_reply = [&](json::array buttons) {
        json::object r = reply(text, std::move(buttons));
        r["act"] = "investment.risk_profile";
        r["slots"] = json::object{{"profile_name", profile_name(t, profile)},
                                  {"risk_profile", profile},
                                  {"profile_max", kHighestProfile}};
        return r;
    };
    const json::value* then = s.if_contains("then_recommend");
    if (then != nullptr && then->is_bool() && then->as_bool()) {
        json::object r = recommend(t, profile, std::move(slots), {});
        r["replies"].as_array().insert(r["replies"].as_array().begin(), profile_reply({}));
        r["events"].as_array().insert(r["events"].as_array().begin(), events.front());
        return r;
    }
    json::array buttons{
        choice(t.say("Show suitable products", "查看适合的产品"), "/investment.recommend")};
    return respond({profile_reply(std::move(buttons))}, nullptr, std::move(slots),
                   std::move(events));
}

json::object continue_questionnaire(const Turn& t, json::object s) {
    if (wants_cancel(t)) {
        return respond({reply(t.say("All right, I've stopped the questionnaire. Your answers "
                                    "were not kept.",
                                    "好的，已退出问卷，您的回答未被保存。"))},
                       nullptr);
    }
    std::size_t index = static_cast<std::size_t>(int_at(s, "question"));
    if (index >= kQuestions.size()) {
        return respond({}, nullptr);  // a state this version never writes: end quietly
    }
    std::optional<int> answer = answer_in(t, index);
    if (!answer) {
        // A confident other investment intent is a change of mind, not an answer.
        if (t.intent == "investment.products") {
            return products(t);
        }
        std::int64_t attempts = int_at(s, "attempts") + 1;
        if (attempts >= kMaxAttempts) {
            return respond({reply(t.say("Let's stop the questionnaire here; you can start it "
                                        "again any time.",
                                        "问卷先到这里，您可以随时重新开始。"))},
                           nullptr);
        }
        s["attempts"] = attempts;
        return ask(t, std::move(s),
                   t.say("Please answer with 1, 2, 3 or 4.\n", "请回复1、2、3或4。\n"));
    }
    s["score"] = int_at(s, "score") + *answer;
    s["question"] = static_cast<std::int64_t>(index + 1);
    s["attempts"] = 0;
    if (index + 1 == kQuestions.size()) {
        return finish_questionnaire(t, s);
    }
    return ask(t, std::move(s));
}

json::object start(const Turn& t) {
    if (t.intent == "investment.products") {
        return products(t);
    }
    if (t.intent == "investment.risk_profile") {
        return start_questionnaire(t, false);
    }
    if (t.intent == "investment.recommend") {
        std::optional<int> profile = t.profile();
        if (!profile) {
            // Suitability rules: no suggestion without a risk profile.
            return start_questionnaire(t, true);
        }
        return recommend(t, *profile, {}, {});
    }
    return respond({reply(t.say("Sorry, I can't help with that.", "抱歉，这个我帮不了。"))},
                   nullptr);
}

json::object handle_turn(Skill& skill, const json::object& request) {
    const json::value* intent = request.if_contains("intent");
    const json::value* slots = request.if_contains("slots");
    std::string text = string_at(request, "text");
    Turn t{skill,
           string_at(request, "locale") == "zh-CN",
           text,
           teller::plugins::fold_answer(text),
           intent && intent->is_object() ? string_at(intent->as_object(), "name") : "",
           slots && slots->is_object() ? slots->as_object() : json::object{}};

    const json::value* state = request.if_contains("state");
    if (state != nullptr && state->is_object() &&
        string_at(state->as_object(), "flow") == "questionnaire") {
        return continue_questionnaire(t, state->as_object());
    }
    return start(t);
}

// Reads the product range; false (with `problem`) when it is unusable.
bool read_catalogue(const json::object& config, Skill& skill, std::string& problem) {
    const json::value* list = config.if_contains("products");
    if (list == nullptr || !list->is_array() || list->as_array().empty()) {
        problem = "\"products\" must be a non-empty array";
        return false;
    }
    for (const json::value& v : list->as_array()) {
        const json::object* o = v.if_object();
        if (o == nullptr) {
            problem = "a product is not an object";
            return false;
        }
        Product p;
        p.id = string_at(*o, "id");
        p.risk = static_cast<int>(int_at(*o, "risk"));
        for (auto [key, en, zh] : {std::tuple{"name", &p.name_en, &p.name_zh},
                                   std::tuple{"summary", &p.summary_en, &p.summary_zh}}) {
            if (const json::value* n = o->if_contains(key); n && n->is_object()) {
                *en = string_at(n->as_object(), "en");
                *zh = string_at(n->as_object(), "zh-CN");
            }
        }
        if (p.id.empty() || p.risk < 1 || p.risk > 5 || p.name_en.empty() || p.name_zh.empty()) {
            problem = "product \"" + p.id +
                      "\" needs an id, a risk from 1 to 5 and a name in en and zh-CN";
            return false;
        }
        skill.products.push_back(std::move(p));
    }
    std::stable_sort(skill.products.begin(), skill.products.end(),
                     [](const Product& a, const Product& b) { return a.risk < b.risk; });
    return true;
}

const char* manifest() {
    static const std::string text = teller::plugins::build_manifest(
        "investment", "1.0.0",
        "Investment products, a risk questionnaire, suitable products and disclosures",
        intent_examples(), {"investment.risk_profile"});
    return text.c_str();
}

// Config: { "products": [...] } replaces the built-in range.
int init(const teller_host_v1* host, const char* config_json, void** state) {
    if (host == nullptr || host->api_version != TELLER_SKILL_API_VERSION || state == nullptr) {
        return 1;
    }
    try {
        auto skill = std::make_unique<Skill>();
        skill->host = host;
        boost::system::error_code ec;
        json::value config = json::parse(config_json != nullptr ? config_json : "{}", ec);
        bool custom = !ec && config.is_object() && config.as_object().contains("products");
        json::value catalogue = custom ? config : json::parse(kDefaultCatalogue);
        std::string problem;
        if (!read_catalogue(catalogue.as_object(), *skill, problem)) {
            skill->log(4, "investment: bad configuration: " + problem);
            return 3;
        }
        *state = skill.release();
        return 0;
    } catch (...) {
        return 2;
    }
}

}  // namespace
}  // namespace teller::skills::investment

TELLER_SKILL_EXPORT const teller_skill_v1* teller_skill_entry(uint32_t host_api_version) {
    using namespace teller::skills::investment;
    static const teller_skill_v1 table = {TELLER_SKILL_API_VERSION,
                                          "investment",
                                          manifest(),
                                          &init,
                                          &teller::plugins::handle_turns<Skill, handle_turn>,
                                          &teller::plugins::free_c_string,
                                          &teller::plugins::delete_skill<Skill>};
    return teller::plugins::table_for_host(host_api_version, table);
}
