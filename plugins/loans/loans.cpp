// The loans skill: loan products, installment quotes, eligibility, applications and their status.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "annuity.hpp"
#include "loans_examples.hpp"
#include "teller/plugins/skill.hpp"
#include "teller/plugins/skill_api.h"

namespace teller::skills::loans {
namespace json = boost::json;
namespace {

/// How many unusable answers a step accepts before the flow gives up.
constexpr int kMaxAttempts = 3;
/// Eligibility rule: the installment (at the product's representative rate) may take at most
/// this share of the customer's monthly income, and the amount must be within the product's
/// limits.
constexpr double kMaxIncomeShare = 0.40;
/// The number in the first application id this skill hands out ("LN-1001").
constexpr int kFirstApplicationNumber = 1001;
/// Rates a customer may name for a quote, in percent a year.
constexpr double kMaxQuotedRate = 50.0;

// The built-in catalogue, the same shape as the skill's configuration (and as the "loans"
// member of deploy/demo-bank.json).
constexpr std::string_view kDefaultCatalogue = R"({
  "currency": "USD",
  "products": [
    {"id": "personal", "name": {"en": "personal loan", "zh-CN": "个人贷款"},
     "keywords": ["personal", "consumer", "个人", "消费", "信用贷"],
     "min_amount": 1000, "max_amount": 50000, "min_months": 12, "max_months": 60,
     "min_rate": 6.9, "max_rate": 14.9, "rate": 8.9},
    {"id": "car", "name": {"en": "car loan", "zh-CN": "汽车贷款"},
     "keywords": ["car", "auto", "vehicle", "车"],
     "min_amount": 5000, "max_amount": 100000, "min_months": 12, "max_months": 84,
     "min_rate": 4.9, "max_rate": 9.9, "rate": 6.9},
    {"id": "home", "name": {"en": "home loan", "zh-CN": "住房贷款"},
     "keywords": ["home", "mortgage", "house", "property", "房", "按揭"],
     "min_amount": 50000, "max_amount": 2000000, "min_months": 60, "max_months": 360,
     "min_rate": 3.5, "max_rate": 6.5, "rate": 4.5}
  ]
})";

struct Product {
    std::string id;
    std::string name_en;
    std::string name_zh;
    std::vector<std::string> keywords;
    double min_amount = 0;
    double max_amount = 0;
    int min_months = 0;
    int max_months = 0;
    double min_rate = 0;
    double max_rate = 0;
    double rate = 0;  // the representative rate used for quotes and eligibility
};

struct Skill {
    const teller_host_v1* host = nullptr;
    std::string currency;
    std::vector<Product> products;

    std::mutex mutex;  // guards what follows
    // TODO(teller): applications live only in this process (the demo backend has no
    // loans.submit / loans.status operations), so they vanish on restart and are invisible to
    // other engine instances; a real backend adapter should receive them.
    std::map<std::string, json::array> applications;  // by customer id
    int next_number = kFirstApplicationNumber;

    void log(int level, const std::string& message) const {
        if (host != nullptr && host->log != nullptr) {
            host->log(host->host, level, message.c_str());
        }
    }
};

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<double> number_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_number()) {
        return std::nullopt;
    }
    return v->to_number<double>();
}

// Reads the catalogue from a configuration object; false (with `problem`) when it is unusable.
bool read_catalogue(const json::object& config, Skill& skill, std::string& problem) {
    skill.currency = string_at(config, "currency");
    if (skill.currency.empty()) {
        skill.currency = "USD";
    }
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
        if (const json::value* n = o->if_contains("name"); n && n->is_object()) {
            p.name_en = string_at(n->as_object(), "en");
            p.name_zh = string_at(n->as_object(), "zh-CN");
        }
        if (const json::value* k = o->if_contains("keywords"); k && k->is_array()) {
            for (const json::value& word : k->as_array()) {
                if (word.is_string() && !word.as_string().empty()) {
                    p.keywords.emplace_back(word.as_string());
                }
            }
        }
        p.keywords.push_back(p.id);
        auto min_amount = number_at(*o, "min_amount");
        auto max_amount = number_at(*o, "max_amount");
        auto min_months = number_at(*o, "min_months");
        auto max_months = number_at(*o, "max_months");
        auto min_rate = number_at(*o, "min_rate");
        auto max_rate = number_at(*o, "max_rate");
        auto rate = number_at(*o, "rate");
        if (p.id.empty() || p.name_en.empty() || p.name_zh.empty() || !min_amount || !max_amount ||
            !min_months || !max_months || !min_rate || !max_rate || !rate || *min_amount <= 0 ||
            *max_amount < *min_amount || *min_months < 1 || *max_months < *min_months ||
            *min_rate < 0 || *max_rate < *min_rate || *rate < *min_rate || *rate > *max_rate) {
            problem = "product \"" + p.id +
                      "\" needs id, name.en, name.zh-CN and consistent amount, month and rate "
                      "ranges";
            return false;
        }
        p.min_amount = *min_amount;
        p.max_amount = *max_amount;
        p.min_months = static_cast<int>(*min_months);
        p.max_months = static_cast<int>(*max_months);
        p.min_rate = *min_rate;
        p.max_rate = *max_rate;
        p.rate = *rate;
        skill.products.push_back(std::move(p));
    }
    return true;
}

// One turn's request as the handlers use it.
struct Turn {
    Skill& skill;
    const json::object& request;
    bool zh;
    std::string text;
    std::string folded;  // ASCII-lowercased text, same byte offsets
    std::string intent;
    std::string customer;

    std::string say(std::string_view en, std::string_view zh_text) const {
        return std::string(zh ? zh_text : en);
    }

    const Product* product(std::string_view id) const {
        for (const Product& p : skill.products) {
            if (p.id == id) {
                return &p;
            }
        }
        return nullptr;
    }

    std::string name(const Product& p) const { return zh ? p.name_zh : p.name_en; }

    // The amount in cents, rounded half away from zero.
    static long long cents_of(double amount) { return std::llround(amount * 100.0); }

    // The fallback text's form ("5,000.00 USD", "5,000.00美元"); the response templates show
    // the locale's own form ("$5,000.00", "5,000.00 美元") from money_slot().
    std::string money(double amount) const {
        long long cents = cents_of(amount);
        bool negative = cents < 0;
        unsigned long long c = negative ? -static_cast<unsigned long long>(cents) : cents;
        std::string digits = std::to_string(c / 100);
        std::string whole;
        for (std::size_t i = 0; i < digits.size(); ++i) {
            if (i > 0 && (digits.size() - i) % 3 == 0) {
                whole.push_back(',');
            }
            whole.push_back(digits[i]);
        }
        char fraction[4];
        std::snprintf(fraction, sizeof fraction, "%02llu", c % 100);
        std::string unit = skill.currency;
        if (zh && unit == "USD") {
            unit = "美元";
        } else if (zh && unit == "CNY") {
            unit = "元";
        }
        return (negative ? "-" : "") + whole + "." + fraction + (zh ? "" : " ") + unit;
    }

    // A money slot for the templates: the exact cents as a decimal string, and the currency.
    json::object money_slot(double amount) const {
        long long cents = cents_of(amount);
        bool negative = cents < 0;
        unsigned long long c = negative ? -static_cast<unsigned long long>(cents) : cents;
        char fraction[4];
        std::snprintf(fraction, sizeof fraction, "%02llu", c % 100);
        return json::object{
            {"amount", (negative ? "-" : "") + std::to_string(c / 100) + "." + fraction},
            {"currency", skill.currency}};
    }

    std::string months(int n) const {
        return zh ? std::to_string(n) + "个月"
                  : std::to_string(n) + (n == 1 ? " month" : " months");
    }
};

std::string percent(double rate) {
    char out[32];
    std::snprintf(out, sizeof out, "%.2f%%", rate);
    return out;
}

// The product a flow's state names; throws std::out_of_range (a failed turn) when it names none.
const Product& product_of(const Turn& t, const json::object& s) {
    const Product* p = t.product(string_at(s, "product"));
    if (p == nullptr) {
        throw std::out_of_range("loans: the state names no known product");
    }
    return *p;
}

json::object reply(std::string_view text, json::array quick_replies = {}) {
    json::object r{{"text", text}};
    if (!quick_replies.empty()) {
        r["quick_replies"] = std::move(quick_replies);
    }
    return r;
}

/// What the skill says: the text in the customer's locale and, for a reply that shows figures,
/// the act and slots the response templates (knowledge/responses/loans.yaml) render it from.
struct Said {
    std::string text;
    std::string act;  ///< "" for words without figures
    json::object slots;

    bool empty() const { return text.empty(); }
};

json::object reply(const Said& said, json::array quick_replies = {}) {
    json::object r = reply(said.text, std::move(quick_replies));
    if (!said.act.empty()) {
        r["act"] = said.act;
        r["slots"] = said.slots;
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

json::object choice(std::string_view title, std::string_view payload) {
    return json::object{{"title", title}, {"payload", payload}};
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// The text without surrounding spaces and trailing punctuation.
std::string trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    for (bool again = true; again;) {
        again = false;
        for (std::string_view tail : {" ", "\t", "\n", "!", ".", "?", "！", "。", "？"}) {
            if (text.ends_with(tail)) {
                text.remove_suffix(tail.size());
                again = true;
            }
        }
    }
    return std::string(text);
}

template <class Words>
bool contains_any(std::string_view text, const Words& words) {
    return std::any_of(std::begin(words), std::end(words),
                       [text](std::string_view w) { return text.find(w) != std::string::npos; });
}

bool contains_any(std::string_view text, std::initializer_list<std::string_view> words) {
    return contains_any<std::initializer_list<std::string_view>>(text, words);
}

// 1 for yes, 0 for no, -1 when the answer is neither.
int yes_or_no(const Turn& t) {
    static const std::vector<std::string_view> kYes = {
        "/affirm",    "yes",      "y",      "yeah",  "yep",   "sure", "ok",   "okay", "confirm",
        "yes please", "go ahead", "submit", "apply", "do it", "是",   "是的", "对",   "好",
        "好的",       "确认",     "确定",   "可以",  "嗯",    "提交", "申请", "行"};
    static const std::vector<std::string_view> kNo = {
        "/deny", "no",   "n",    "nope", "no thanks", "not now", "don't",   "不",
        "不是",  "不要", "不用", "否",   "别",        "先不要",  "暂时不用"};
    if (t.intent == "affirm") {
        return 1;
    }
    if (t.intent == "deny") {
        return 0;
    }
    std::string f = trimmed(t.folded);
    if (std::find(kYes.begin(), kYes.end(), f) != kYes.end()) {
        return 1;
    }
    if (std::find(kNo.begin(), kNo.end(), f) != kNo.end()) {
        return 0;
    }
    return -1;
}

bool wants_cancel(const Turn& t) {
    static const std::vector<std::string_view> kCancel = {
        "cancel", "stop", "never mind", "forget it", "quit", "abort", "cancel that",
        "取消",   "算了", "不办了",     "不申请了",  "退出", "不贷了"};
    std::string f = trimmed(t.folded);
    return t.intent == "cancel" || std::find(kCancel.begin(), kCancel.end(), f) != kCancel.end();
}

// ---- Numbers in free text ------------------------------------------------------------------

enum class Unit { none, amount, percent, months, years };

struct Mention {
    double value = 0;
    Unit unit = Unit::none;
};

struct ChineseDigit {
    std::string_view text;
    int value;  // 0-9 digits; 10, 100, 1000 small units; 10000, 100000000 big units; -1 point
};

constexpr ChineseDigit kChineseDigits[] = {
    {"零", 0},  {"〇", 0},   {"一", 1},    {"二", 2},     {"两", 2},         {"三", 3},
    {"四", 4},  {"五", 5},   {"六", 6},    {"七", 7},     {"八", 8},         {"九", 9},
    {"十", 10}, {"百", 100}, {"千", 1000}, {"万", 10000}, {"亿", 100000000}, {"点", -1}};

const ChineseDigit* chinese_digit_at(std::string_view text, std::size_t i) {
    for (const ChineseDigit& d : kChineseDigits) {
        if (text.substr(i).starts_with(d.text)) {
            return &d;
        }
    }
    return nullptr;
}

// Reads a Chinese numeral ("三十六", "两万五千", "一点五") at `i`; advances `i` past it.
std::optional<double> chinese_number(std::string_view text, std::size_t& i, bool& has_multiplier) {
    double total = 0;
    double section = 0;
    double digit = 0;
    bool any_digit = false;
    bool seen_unit_first = false;
    std::size_t start = i;
    has_multiplier = false;
    while (i < text.size()) {
        const ChineseDigit* d = chinese_digit_at(text, i);
        if (d == nullptr) {
            break;
        }
        if (d->value == -1) {
            // Decimal part: digits after 点.
            std::size_t j = i + d->text.size();
            double scale = 0.1;
            double fraction = 0;
            bool any = false;
            while (j < text.size()) {
                const ChineseDigit* f = chinese_digit_at(text, j);
                if (f == nullptr || f->value < 0 || f->value > 9) {
                    break;
                }
                fraction += f->value * scale;
                scale /= 10;
                j += f->text.size();
                any = true;
            }
            if (!any) {
                break;
            }
            digit += fraction;
            i = j;
            continue;
        }
        if (d->value <= 9) {
            digit = d->value;
            any_digit = true;
        } else if (d->value < 10000) {
            if (i == start && d->value != 10) {
                seen_unit_first = true;
                break;
            }
            section += (digit == 0 && d->value == 10 ? 1 : digit) * d->value;
            digit = 0;
            any_digit = true;
            has_multiplier = has_multiplier || d->value >= 1000;
        } else {
            if (i == start) {
                seen_unit_first = true;
                break;
            }
            total += (section + digit) * d->value;
            section = 0;
            digit = 0;
            has_multiplier = true;
        }
        i += d->text.size();
    }
    if (!any_digit || seen_unit_first) {
        i = start;
        return std::nullopt;
    }
    return total + section + digit;
}

// Reads an ASCII number ("10,000.50") at `i`; advances `i` past it.
double ascii_number(std::string_view text, std::size_t& i) {
    std::string digits;
    while (i < text.size()) {
        char c = text[i];
        if (std::isdigit(static_cast<unsigned char>(c))) {
            digits.push_back(c);
        } else if (c == ',' && i + 3 < text.size() &&
                   std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
            // a thousands separator
        } else if (c == '.' && i + 1 < text.size() &&
                   std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                   digits.find('.') == std::string::npos) {
            digits.push_back('.');
        } else {
            break;
        }
        ++i;
    }
    return std::strtod(digits.c_str(), nullptr);
}

bool starts_word(std::string_view text, std::size_t i, std::string_view word) {
    if (!text.substr(i).starts_with(word)) {
        return false;
    }
    std::size_t end = i + word.size();
    return end >= text.size() || !std::isalpha(static_cast<unsigned char>(text[end]));
}

// Reads a small English number word ("five", "thirty") at `i`; advances `i` past it.
std::optional<double> english_number(std::string_view text, std::size_t& i) {
    static const std::pair<std::string_view, int> kWords[] = {
        {"one", 1},     {"two", 2},     {"three", 3},    {"four", 4},      {"five", 5},
        {"six", 6},     {"seven", 7},   {"eight", 8},    {"nine", 9},      {"ten", 10},
        {"eleven", 11}, {"twelve", 12}, {"fifteen", 15}, {"eighteen", 18}, {"twenty", 20},
        {"thirty", 30}, {"forty", 40},  {"fifty", 50},   {"sixty", 60},    {"hundred", 100}};
    for (const auto& [word, value] : kWords) {
        if (starts_word(text, i, word)) {
            i += word.size();
            return value;
        }
    }
    return std::nullopt;
}

// Every number in `folded` with the unit written after it (or a currency sign before it).
std::vector<Mention> numbers_in(std::string_view folded) {
    std::vector<Mention> out;
    std::size_t i = 0;
    while (i < folded.size()) {
        std::size_t start = i;
        bool percent_prefix = false;
        if (folded.substr(i).starts_with("百分之")) {
            percent_prefix = true;
            i += std::string_view("百分之").size();
        }

        // The number itself.
        std::optional<double> value;
        bool multiplier = false;
        if (i < folded.size() && std::isdigit(static_cast<unsigned char>(folded[i]))) {
            value = ascii_number(folded, i);
        } else if (chinese_digit_at(folded, i) != nullptr) {
            value = chinese_number(folded, i, multiplier);
        } else if (i == 0 || !std::isalpha(static_cast<unsigned char>(folded[i - 1]))) {
            value = english_number(folded, i);
        }
        if (!value) {
            i = start + 1;
            continue;
        }

        Mention m{*value, multiplier ? Unit::amount : Unit::none};
        if (percent_prefix) {
            m.unit = Unit::percent;
        }
        bool negative = start > 0 && folded[start - 1] == '-' &&
                        (start < 2 || !std::isalnum(static_cast<unsigned char>(folded[start - 2])));
        if (start > 0 && (folded[start - 1] == '$')) {
            m.unit = Unit::amount;
        }
        for (std::string_view sign : {"¥", "￥"}) {
            if (start >= sign.size() && folded.substr(start - sign.size()).starts_with(sign)) {
                m.unit = Unit::amount;
            }
        }

        // The unit after it.
        std::size_t j = i;
        while (j < folded.size() && (folded[j] == ' ' || folded[j] == '-')) {
            ++j;
        }
        auto take = [&](std::string_view word) {
            if (folded.substr(j).starts_with(word)) {
                j += word.size();
                return true;
            }
            return false;
        };
        if (m.unit != Unit::percent) {
            if (take("万")) {
                m.value *= 10000;
                m.unit = Unit::amount;
            } else if (take("千")) {
                m.value *= 1000;
                m.unit = Unit::amount;
            } else if (starts_word(folded, j, "k") || starts_word(folded, j, "thousand")) {
                m.value *= 1000;
                m.unit = Unit::amount;
            } else if (starts_word(folded, j, "million") || starts_word(folded, j, "mn") ||
                       starts_word(folded, j, "mln")) {
                m.value *= 1000000;
                m.unit = Unit::amount;
            }
            std::size_t k = j;
            while (k < folded.size() && folded[k] == ' ') {
                ++k;
            }
            j = k;
            if (take("%") || take("％") || starts_word(folded, j, "percent") ||
                starts_word(folded, j, "pct")) {
                m.unit = Unit::percent;
            } else if (take("个月") || take("月") || take("期") ||
                       starts_word(folded, j, "month") || starts_word(folded, j, "months") ||
                       starts_word(folded, j, "mo") || starts_word(folded, j, "mos")) {
                m.unit = Unit::months;
            } else if (take("年") || starts_word(folded, j, "year") ||
                       starts_word(folded, j, "years") || starts_word(folded, j, "yr") ||
                       starts_word(folded, j, "yrs")) {
                m.unit = Unit::years;
            } else if (take("元") || take("块") || take("美元") || take("美金") ||
                       starts_word(folded, j, "usd") || starts_word(folded, j, "dollars") ||
                       starts_word(folded, j, "dollar") || starts_word(folded, j, "bucks") ||
                       starts_word(folded, j, "cny") || starts_word(folded, j, "rmb") ||
                       starts_word(folded, j, "yuan")) {
                m.unit = Unit::amount;
            }
        }
        if (negative) {
            m.value = -m.value;
        }
        out.push_back(m);
        i = std::max(i, start + 1);
    }
    return out;
}

// ---- What the customer said this turn -------------------------------------------------------

struct Heard {
    std::optional<std::string> product;
    std::optional<double> amount;
    std::optional<double> months;
    std::optional<double> rate;
    std::optional<double> income;
    std::optional<std::string> purpose;
    std::optional<std::string> employment;
};

std::optional<double> entity_number(const Turn& t, std::string_view type) {
    const json::value* e = t.request.if_contains("entities");
    if (e == nullptr || !e->is_array()) {
        return std::nullopt;
    }
    for (const json::value& entity : e->as_array()) {
        const json::object* o = entity.if_object();
        if (o == nullptr || string_at(*o, "type") != type) {
            continue;
        }
        std::string value = string_at(*o, "value");  // "5000.00 USD", "5.5"
        char* end = nullptr;
        double number = std::strtod(value.c_str(), &end);
        if (end != value.c_str()) {
            return number;
        }
    }
    return std::nullopt;
}

std::optional<std::string> product_in(const Turn& t) {
    std::size_t best = std::string::npos;
    std::optional<std::string> found;
    for (const Product& p : t.skill.products) {
        for (const std::string& word : p.keywords) {
            std::size_t at = t.folded.find(ascii_lower(word));
            if (at != std::string::npos && at < best) {
                best = at;
                found = p.id;
            }
        }
    }
    return found;
}

std::optional<std::string> employment_in(std::string_view folded) {
    static const std::pair<std::string_view, std::vector<std::string_view>> kKinds[] = {
        {"self_employed",
         {"self_employed", "self-employed", "self employed", "freelance", "own business",
          "business owner", "contractor", "自雇", "个体", "自由职业", "做生意", "自己开"}},
        {"unemployed",
         {"unemployed", "not working", "no job", "jobless", "between jobs", "无业", "失业", "待业",
          "没工作", "没有工作"}},
        {"retired", {"retired", "pension", "退休"}},
        {"student", {"student", "studying", "学生", "在校", "读书"}},
        {"employed",
         {"employed", "employee", "full-time", "full time", "part-time", "part time", "salaried",
          "work for", "working", "job", "在职", "上班", "受雇", "工薪", "打工", "雇员", "员工"}},
    };
    for (const auto& [kind, words] : kKinds) {
        if (contains_any(folded, words)) {
            return std::string(kind);
        }
    }
    return std::nullopt;
}

// Picks the values in this turn's text. Slots already filled change only when asked for.
Heard hear(const Turn& t, const json::object& s, std::string_view asking) {
    Heard h;
    auto open = [&](std::string_view slot) { return asking == slot || !s.contains(slot); };
    std::vector<Mention> mentions = numbers_in(t.folded);

    if (open("product")) {
        h.product = product_in(t);
    }
    if (auto rate = entity_number(t, "percentage")) {
        h.rate = rate;
    }
    for (const Mention& m : mentions) {
        if (!h.rate && m.unit == Unit::percent) {
            h.rate = m.value;
        }
    }

    if (asking == "income") {
        std::optional<double> income = entity_number(t, "amount");
        for (const Mention& m : mentions) {
            if (!income && m.unit != Unit::percent) {
                income = m.value;
            }
        }
        bool yearly = contains_any(t.folded, {"year", "annual", "annum", "年"}) &&
                      !contains_any(t.folded, {"month", "月"});
        if (income && yearly) {
            *income /= 12.0;
        }
        h.income = income;
        return h;
    }

    if (open("term")) {
        for (const Mention& m : mentions) {
            if (!h.months && (m.unit == Unit::months || m.unit == Unit::years)) {
                h.months = m.unit == Unit::years ? m.value * 12 : m.value;
            }
        }
        if (!h.months && asking == "term") {
            for (const Mention& m : mentions) {
                if (!h.months && m.unit == Unit::none) {
                    h.months = m.value;
                }
            }
        }
    }
    if (open("amount")) {
        h.amount = entity_number(t, "amount");
        for (const Mention& m : mentions) {
            if (!h.amount && m.unit == Unit::amount) {
                h.amount = m.value;
            }
        }
        // A bare number is an amount when the amount was asked for, or a large one otherwise.
        for (const Mention& m : mentions) {
            bool bare_ok = asking == "amount" || (asking != "term" && std::abs(m.value) >= 100);
            if (!h.amount && m.unit == Unit::none && bare_ok) {
                h.amount = m.value;
            }
        }
    }
    if (asking == "purpose") {
        std::string text = trimmed(t.text);
        bool has_word = std::any_of(text.begin(), text.end(), [](char c) {
            return std::isalpha(static_cast<unsigned char>(c)) || (c & 0x80) != 0;
        });
        if (has_word && text.size() >= 2 && yes_or_no(t) < 0) {
            h.purpose = text.substr(0, 200);
        }
    }
    if (asking == "employment") {
        h.employment = employment_in(t.folded);
    }
    return h;
}

// ---- Flows -----------------------------------------------------------------------------------

const std::vector<std::string_view>& slots_of(std::string_view flow) {
    static const std::vector<std::string_view> kInstallment = {"product", "amount", "term"};
    static const std::vector<std::string_view> kEligibility = {"product", "amount", "term",
                                                               "income"};
    static const std::vector<std::string_view> kApply = {"product", "amount", "term",
                                                         "purpose", "income", "employment"};
    if (flow == "loans.installment") {
        return kInstallment;
    }
    return flow == "loans.eligibility" ? kEligibility : kApply;
}

std::string employment_label(const Turn& t, std::string_view kind) {
    if (kind == "self_employed") {
        return t.say("self-employed", "自雇");
    }
    if (kind == "unemployed") {
        return t.say("not employed", "待业");
    }
    if (kind == "retired") {
        return t.say("retired", "退休");
    }
    if (kind == "student") {
        return t.say("student", "学生");
    }
    return t.say("employed", "在职");
}

// The question for a slot, with its buttons, after `prefix` (a problem with the last answer):
// one reply, or two when the prefix shows figures (it is then rendered from its own act).
json::array question(const Turn& t, const json::object& s, std::string_view slot,
                     const Said& prefix) {
    const Product* p = t.product(string_at(s, "product"));
    json::array buttons;
    Said said;
    if (slot == "product") {
        said.text = t.say("Which loan is it for?", "请问是哪种贷款？");
        for (const Product& q : t.skill.products) {
            buttons.push_back(choice(t.name(q), q.id));
        }
    } else if (slot == "amount" && p != nullptr) {
        said.text = t.zh ? "您想借多少钱？（" + t.name(*p) + "可贷" + t.money(p->min_amount) +
                               "至" + t.money(p->max_amount) + "）"
                         : "How much would you like to borrow? (a " + t.name(*p) + " is " +
                               t.money(p->min_amount) + " to " + t.money(p->max_amount) + ")";
        said.act = "loans.ask_amount";
        said.slots = {{"product", t.name(*p)},
                      {"min_amount", t.money_slot(p->min_amount)},
                      {"max_amount", t.money_slot(p->max_amount)}};
    } else if (slot == "amount") {
        said.text = t.say("How much would you like to borrow?", "您想借多少钱？");
    } else if (slot == "term" && p != nullptr) {
        said.text = t.zh ? "您打算分多少个月还清？（" + t.name(*p) + "期限为" +
                               std::to_string(p->min_months) + "至" +
                               std::to_string(p->max_months) + "个月，也可以说“3年”）"
                         : "Over how many months would you repay it? A " + t.name(*p) + " runs " +
                               std::to_string(p->min_months) + " to " +
                               std::to_string(p->max_months) +
                               " months; you can also say \"3 years\".";
        said.act = "loans.ask_term";
        said.slots = {
            {"product", t.name(*p)}, {"min_months", p->min_months}, {"max_months", p->max_months}};
    } else if (slot == "term") {
        said.text = t.say("Over how many months would you repay it?", "您打算分多少个月还清？");
    } else if (slot == "purpose") {
        said.text = t.say("What is the loan for?", "请问贷款用途是什么？");
    } else if (slot == "income") {
        said.text = t.say("What is your monthly income after tax?", "您的税后月收入是多少？");
    } else {
        said.text = t.say("What is your employment status?", "请问您的就业状况是？");
        for (std::string_view kind :
             {"employed", "self_employed", "retired", "student", "unemployed"}) {
            buttons.push_back(choice(employment_label(t, kind), kind));
        }
    }
    if (prefix.empty()) {
        return json::array{reply(said, std::move(buttons))};
    }
    if (!prefix.act.empty() || !said.act.empty()) {
        return json::array{reply(prefix), reply(said, std::move(buttons))};
    }
    said.text = prefix.text + (t.zh ? "" : " ") + said.text;
    return json::array{reply(said, std::move(buttons))};
}

// Why a value cannot fill its slot; empty when it can.
Said amount_problem(const Turn& t, const Product* p, double amount, bool within_limits) {
    if (!(amount > 0)) {
        return {t.say("The amount has to be more than zero.", "金额必须大于零。"), "", {}};
    }
    if (within_limits && p != nullptr && (amount < p->min_amount || amount > p->max_amount)) {
        return {t.zh ? t.name(*p) + "的金额须在" + t.money(p->min_amount) + "至" +
                           t.money(p->max_amount) + "之间。"
                     : "A " + t.name(*p) + " can be from " + t.money(p->min_amount) + " to " +
                           t.money(p->max_amount) + ".",
                "loans.amount_range",
                {{"product", t.name(*p)},
                 {"min_amount", t.money_slot(p->min_amount)},
                 {"max_amount", t.money_slot(p->max_amount)}}};
    }
    return {};
}

Said term_problem(const Turn& t, const Product* p, double months) {
    if (!(months >= 1) || std::abs(months - std::round(months)) > 1e-9) {
        return {
            t.say("The term has to be a whole number of months.", "期限必须是整数个月。"), "", {}};
    }
    if (p != nullptr && (months < p->min_months || months > p->max_months)) {
        return {t.zh ? t.name(*p) + "的期限须在" + std::to_string(p->min_months) + "至" +
                           std::to_string(p->max_months) + "个月之间。"
                     : "A " + t.name(*p) + " runs from " + std::to_string(p->min_months) + " to " +
                           std::to_string(p->max_months) + " months.",
                "loans.term_range",
                {{"product", t.name(*p)},
                 {"min_months", p->min_months},
                 {"max_months", p->max_months}}};
    }
    return {};
}

std::string not_caught(const Turn& t, std::string_view slot) {
    if (slot == "product") {
        return t.say("Sorry, I didn't catch which loan.", "抱歉，没听清是哪种贷款。");
    }
    if (slot == "amount" || slot == "income") {
        return t.say("Sorry, I didn't catch an amount.", "抱歉，没有识别到金额。");
    }
    if (slot == "term") {
        return t.say("Sorry, I didn't catch the term.", "抱歉，没有识别到期限。");
    }
    if (slot == "purpose") {
        return t.say("Please tell me in a few words.", "请简单说明一下。");
    }
    return t.say("Sorry, I didn't catch that.", "抱歉，没有听懂。");
}

json::object products(const Turn& t);
json::object status(const Turn& t);
json::object finish(const Turn& t, json::object s);

// Fills slots from this turn and asks for the next one, or finishes the flow.
json::object advance(const Turn& t, json::object s, std::string_view asking) {
    std::string flow = string_at(s, "flow");
    bool strict_amount = flow != "loans.eligibility";
    Heard h = hear(t, s, asking);
    Said problem;
    auto note = [&problem](const Said& why) {
        if (!why.empty() && problem.empty()) {
            problem = why;
        }
    };

    if (h.product) {
        s["product"] = *h.product;
    } else if (s.contains("product") && t.product(string_at(s, "product")) == nullptr) {
        s.erase("product");  // a state from an older catalogue: ask again
    }
    const Product* p = t.product(string_at(s, "product"));
    if (h.rate) {
        if (*h.rate >= 0 && *h.rate <= kMaxQuotedRate) {
            s["rate"] = *h.rate;
        }
    }
    if (h.amount) {
        Said why = amount_problem(t, p, *h.amount, strict_amount);
        note(why);
        if (why.empty()) {
            s["amount"] = std::round(*h.amount * 100) / 100;
        } else {
            s.erase("amount");
        }
    }
    if (h.months) {
        Said why = term_problem(t, p, *h.months);
        note(why);
        if (why.empty()) {
            s["months"] = static_cast<std::int64_t>(std::llround(*h.months));
        } else {
            s.erase("months");
        }
    }
    if (h.income) {
        // Below one unit a month is a typo (or a rounding of one to zero), never an income:
        // dividing an installment by it would give an absurd or infinite share.
        if (std::isfinite(*h.income) && *h.income >= 1) {
            s["income"] = std::round(*h.income * 100) / 100;
        } else {
            note({t.say("Your income has to be at least 1.00 a month.", "月收入至少为1.00。"),
                  "",
                  {}});
        }
    }
    if (h.purpose) {
        s["purpose"] = *h.purpose;
    }
    if (h.employment) {
        s["employment"] = *h.employment;
    }

    // Values given before the product was known are checked against it now.
    if (p != nullptr) {
        if (auto amount = number_at(s, "amount")) {
            Said why = amount_problem(t, p, *amount, strict_amount);
            if (!why.empty()) {
                note(why);
                s.erase("amount");
            }
        }
        if (auto months = number_at(s, "months")) {
            Said why = term_problem(t, p, *months);
            if (!why.empty()) {
                note(why);
                s.erase("months");
            }
        }
    }

    std::string_view next;
    for (std::string_view slot : slots_of(flow)) {
        std::string_view key = slot == "term" ? std::string_view("months") : slot;
        if (!s.contains(key)) {
            next = slot;
            break;
        }
    }
    if (next.empty()) {
        s.erase("attempts");
        return finish(t, std::move(s));
    }

    std::int64_t attempts = 0;
    if (!asking.empty() && next == asking) {
        // The slot asked for is still empty: a digression, or one more unusable answer.
        if (problem.empty() && t.intent == "loans.products") {
            json::object listing = products(t);
            json::array replies = listing.at("replies").as_array();
            for (json::value& r : question(t, s, next, {})) {
                replies.push_back(std::move(r));
            }
            return respond(std::move(replies), std::move(s));
        }
        if (const json::value* a = s.if_contains("attempts"); a && a->is_int64()) {
            attempts = a->as_int64();
        }
        ++attempts;
        if (attempts >= kMaxAttempts) {
            return respond({reply(t.say("I still can't use that answer, so I've stopped here. "
                                        "Nothing was submitted. Type \"agent\" to talk to a "
                                        "person.",
                                        "仍然无法识别您的回答，本次操作已结束，没有提交任何内容。"
                                        "输入“人工”可转接客服。"))},
                           nullptr);
        }
        if (problem.empty()) {
            problem = {not_caught(t, next), "", {}};
        }
    }
    s["step"] = next;
    s["attempts"] = attempts;
    json::array replies = question(t, s, next, problem);  // reads `s` before it moves
    return respond(std::move(replies), std::move(s));
}

json::array yes_no_buttons(const Turn& t, std::string_view yes_en, std::string_view yes_zh) {
    return json::array{choice(t.say(yes_en, yes_zh), "/affirm"),
                       choice(t.say("No, thanks", "不用了"), "/deny")};
}

// The application summary with its confirmation question, after `prefix` (no figures).
json::object confirm_application(const Turn& t, json::object s, std::string prefix) {
    const Product& p = product_of(t, s);
    double amount = number_at(s, "amount").value();
    int months = static_cast<int>(number_at(s, "months").value());
    double income = number_at(s, "income").value();
    std::string purpose = string_at(s, "purpose");
    std::string employment = employment_label(t, string_at(s, "employment"));
    Said said{t.zh ? "请确认您的申请：" + t.name(p) + "，金额" + t.money(amount) + "，期限" +
                         t.months(months) + "，用途：" + purpose + "，税后月收入" +
                         t.money(income) + "，就业状况：" + employment + "。确认提交吗？"
                   : "Please check your application: " + t.name(p) + " of " + t.money(amount) +
                         " over " + t.months(months) + ", for: " + purpose + ", monthly income " +
                         t.money(income) + ", " + employment + ". Shall I submit it?",
              "loans.confirm",
              {{"product", t.name(p)},
               {"principal", t.money_slot(amount)},
               {"term_months", months},
               {"purpose", purpose},
               {"income", t.money_slot(income)},
               {"employment", employment}}};
    json::array replies;
    if (!prefix.empty()) {
        replies.push_back(reply(prefix));
    }
    replies.push_back(reply(said, yes_no_buttons(t, "Yes, submit", "确认提交")));
    s["step"] = "confirm";
    return respond(std::move(replies), std::move(s));
}

// `said` (a quote or an eligibility answer, whose templates end by offering to apply) after
// `notes`, and the state that waits for the answer.
json::object offer_application(const Turn& t, json::object s, json::array notes, Said said) {
    said.text += t.say(" Would you like to apply for it now?", "现在要申请吗？");
    json::object next{
        {"flow", "loans.apply"},      {"step", "offer"},          {"attempts", 0},
        {"product", s.at("product")}, {"amount", s.at("amount")}, {"months", s.at("months")}};
    if (s.contains("income")) {
        next["income"] = s.at("income");
    }
    notes.push_back(reply(said, yes_no_buttons(t, "Yes, apply", "好的，申请")));
    return respond(std::move(notes), std::move(next));
}

json::object submit(const Turn& t, const json::object& s) {
    const Product& p = product_of(t, s);
    json::object application{{"id", ""},
                             {"product", p.id},
                             {"amount", s.at("amount")},
                             {"months", s.at("months")},
                             {"purpose", s.at("purpose")},
                             {"income", s.at("income")},
                             {"employment", s.at("employment")},
                             {"status", "submitted"}};
    std::string id;
    {
        std::lock_guard lock(t.skill.mutex);
        id = "LN-" + std::to_string(t.skill.next_number++);
        application["id"] = id;
        t.skill.applications[t.customer].push_back(application);
    }
    t.skill.log(2, "loan application submitted: " + id + " (" + p.id + ")");

    double amount = number_at(s, "amount").value();
    int months = static_cast<int>(number_at(s, "months").value());
    Said said{t.zh ? "已提交：您的" + t.name(p) + "申请（" + t.money(amount) + "，" +
                         t.months(months) + "）编号为" + id +
                         "。我们审核后会通知您，您也可以随时问我申请进度。"
                   : "Submitted: your application for a " + t.name(p) + " of " + t.money(amount) +
                         " over " + t.months(months) + " is " + id +
                         ". We'll review it and let you know; ask me about its status any time.",
              "loans.submitted",
              {{"product", t.name(p)},
               {"principal", t.money_slot(amount)},
               {"term_months", months},
               {"application_id", id}}};
    return respond({reply(said)}, nullptr, {{"loan_application", id}});
}

json::object finish(const Turn& t, json::object s) {
    std::string flow = string_at(s, "flow");
    const Product& p = product_of(t, s);
    double amount = number_at(s, "amount").value();
    int months = static_cast<int>(number_at(s, "months").value());

    if (flow == "loans.apply") {
        return confirm_application(t, std::move(s), {});
    }

    // A rate the customer names is used only within the product's range: a quote at a rate the
    // bank does not offer, followed by an offer to apply, would mislead.
    double rate = number_at(s, "rate").value_or(p.rate);
    json::array notes;
    if (rate < p.min_rate || rate > p.max_rate) {
        notes.push_back(reply(Said{
            t.zh ? t.name(p) + "的年利率为" + percent(p.min_rate) + "至" + percent(p.max_rate) +
                       "，以下按" + percent(p.rate) + "计算。"
                 : "A " + t.name(p) + " is offered at " + percent(p.min_rate) + " to " +
                       percent(p.max_rate) + " a year, so this quote uses " + percent(p.rate) + ".",
            "loans.rate_adjusted",
            {{"product", t.name(p)},
             {"min_rate", p.min_rate},
             {"max_rate", p.max_rate},
             {"rate", p.rate}}}));
        rate = p.rate;
    }
    if (flow == "loans.installment") {
        Quote q = quote(amount, rate, months).value();
        Said said{t.zh ? t.name(p) + t.money(amount) + "，期限" + t.months(months) + "，年利率" +
                             percent(rate) + "：每月还款" + t.money(q.monthly_cents / 100.0) +
                             "，总利息" + t.money(q.total_interest_cents / 100.0) + "。"
                       : "A " + t.name(p) + " of " + t.money(amount) + " over " + t.months(months) +
                             " at " + percent(rate) + " a year costs " +
                             t.money(q.monthly_cents / 100.0) + " a month, with " +
                             t.money(q.total_interest_cents / 100.0) + " interest in total.",
                  "loans.installment",
                  {{"product", t.name(p)},
                   {"principal", t.money_slot(amount)},
                   {"term_months", months},
                   {"rate", rate},
                   {"monthly_payment", t.money_slot(q.monthly_cents / 100.0)},
                   {"total_interest", t.money_slot(q.total_interest_cents / 100.0)}}};
        return offer_application(t, std::move(s), std::move(notes), std::move(said));
    }

    // Eligibility: within the product's limits, and the installment within the income share.
    double income = number_at(s, "income").value();
    if (amount < p.min_amount || amount > p.max_amount) {
        Said said{t.zh ? "很抱歉，您目前不符合条件：" + amount_problem(t, &p, amount, true).text
                       : "I'm afraid you're not eligible for this: " +
                             amount_problem(t, &p, amount, true).text,
                  "loans.not_eligible_amount",
                  {{"product", t.name(p)},
                   {"min_amount", t.money_slot(p.min_amount)},
                   {"max_amount", t.money_slot(p.max_amount)}}};
        return respond({reply(said)}, nullptr);
    }
    Quote q = quote(amount, p.rate, months).value();
    double monthly = q.monthly_cents / 100.0;
    double share = monthly / income;
    // The share of income in percent: whole in the fallback text, two decimals in the slot.
    double share_percent = std::round(share * 10000.0) / 100.0;
    const double limit_percent = kMaxIncomeShare * 100.0;
    const std::string share_text = std::to_string(std::lround(share * 100)) + "%";
    const std::string limit_text = std::to_string(std::lround(limit_percent)) + "%";
    if (share <= kMaxIncomeShare) {
        Said said{t.zh ? "好消息：您符合条件。按年利率" + percent(p.rate) + "，" + t.name(p) +
                             t.money(amount) + "分" + t.months(months) + "每月还款" +
                             t.money(monthly) + "，占您月收入的" + share_text + "，未超过" +
                             limit_text + "的上限。"
                       : "Good news: you're eligible. At " + percent(p.rate) + " a " + t.name(p) +
                             " of " + t.money(amount) + " over " + t.months(months) + " costs " +
                             t.money(monthly) + " a month, " + share_text +
                             " of your monthly income, within our " + limit_text + " limit.",
                  "loans.eligible",
                  {{"product", t.name(p)},
                   {"rate", p.rate},
                   {"principal", t.money_slot(amount)},
                   {"term_months", months},
                   {"monthly_payment", t.money_slot(monthly)},
                   {"income_share", share_percent},
                   {"share_limit", limit_percent}}};
        return offer_application(t, std::move(s), std::move(notes), std::move(said));
    }
    // The largest amount whose installment fits the income share over the same term.
    double factor = annuity_payment(1.0, p.rate, months).value();
    double affordable = std::floor(kMaxIncomeShare * income / factor / 100.0) * 100.0;
    Said said{t.zh ? "很抱歉，您目前不符合条件：每月还款" + t.money(monthly) + "将占您月收入的" +
                         share_text + "，超过了" + limit_text + "的上限。"
                   : "I'm afraid you're not eligible: the installment of " + t.money(monthly) +
                         " would take " + share_text + " of your monthly income, above our " +
                         limit_text + " limit.",
              "loans.not_eligible",
              {{"monthly_payment", t.money_slot(monthly)},
               {"income_share", share_percent},
               {"share_limit", limit_percent}}};
    if (affordable >= p.min_amount) {
        said.text +=
            t.zh ? "按同样期限，您最多可贷约" + t.money(affordable) + "。"
                 : " Over the same term you could borrow up to about " + t.money(affordable) + ".";
        said.act = "loans.not_eligible_max";
        said.slots["affordable"] = t.money_slot(affordable);
    }
    notes.push_back(reply(said));
    return respond(std::move(notes), nullptr);
}

// One line of a list reply ("items"): rendered from its act, `text` when that is not possible.
json::object item(const Said& said) {
    return json::object{{"text", said.text}, {"act", said.act}, {"slots", said.slots}};
}

// The catalogue: one message, a heading and a line per product (its figures rendered from the
// loans.product act), with the next steps as buttons.
json::object products(const Turn& t) {
    json::array lines;
    for (const Product& p : t.skill.products) {
        lines.push_back(item(Said{
            t.zh ? t.name(p) + "：" + t.money(p.min_amount) + "至" + t.money(p.max_amount) + "，" +
                       std::to_string(p.min_months) + "至" + std::to_string(p.max_months) +
                       "个月，年利率" + percent(p.min_rate) + "至" + percent(p.max_rate)
                 : t.name(p) + ": " + t.money(p.min_amount) + " to " + t.money(p.max_amount) +
                       ", " + std::to_string(p.min_months) + " to " + std::to_string(p.max_months) +
                       " months, " + percent(p.min_rate) + " to " + percent(p.max_rate) + " a year",
            "loans.product",
            {{"product", t.name(p)},
             {"min_amount", t.money_slot(p.min_amount)},
             {"max_amount", t.money_slot(p.max_amount)},
             {"min_months", p.min_months},
             {"max_months", p.max_months},
             {"min_rate", p.min_rate},
             {"max_rate", p.max_rate}}}));
    }
    json::array buttons{choice(t.say("Monthly installment", "计算月供"), "/loans.installment"),
                        choice(t.say("Am I eligible?", "查询资格"), "/loans.eligibility"),
                        choice(t.say("Apply", "申请贷款"), "/loans.apply")};
    json::object listing = reply(t.say("Our loans:", "我们的贷款产品："), std::move(buttons));
    listing["items"] = std::move(lines);
    return respond({std::move(listing)}, nullptr);
}

// The customer's applications: one message, a heading and a line per application
// (loans.application).
json::object status(const Turn& t) {
    json::array mine;
    {
        std::lock_guard lock(t.skill.mutex);
        if (auto it = t.skill.applications.find(t.customer); it != t.skill.applications.end()) {
            mine = it->second;
        }
    }
    if (mine.empty()) {
        return respond(
            {reply(t.say("You have no loan applications with us yet.", "您目前没有贷款申请。"),
                   json::array{choice(t.say("Apply for a loan", "申请贷款"), "/loans.apply")})},
            nullptr);
    }
    json::array lines;
    for (const json::value& v : mine) {
        const json::object& a = v.as_object();
        const Product* p = t.product(string_at(a, "product"));
        std::string name = p != nullptr ? t.name(*p) : string_at(a, "product");
        double amount = number_at(a, "amount").value();
        int months = static_cast<int>(number_at(a, "months").value());
        std::string id = string_at(a, "id");
        lines.push_back(item(Said{t.zh ? id + "：" + name + "，" + t.money(amount) + "，" +
                                             t.months(months) + "，已提交，正在审核"
                                       : id + ": " + name + ", " + t.money(amount) + " over " +
                                             t.months(months) + ", submitted and under review",
                                  "loans.application",
                                  {{"application_id", id},
                                   {"product", name},
                                   {"principal", t.money_slot(amount)},
                                   {"term_months", months}}}));
    }
    json::object listing = reply(t.say("Your loan applications:", "您的贷款申请："));
    listing["items"] = std::move(lines);
    return respond({std::move(listing)}, nullptr);
}

json::object start(const Turn& t) {
    if (t.intent == "loans.products") {
        return products(t);
    }
    if (t.intent == "loans.status") {
        return status(t);
    }
    if (t.intent == "loans.installment" || t.intent == "loans.eligibility" ||
        t.intent == "loans.apply") {
        return advance(t, json::object{{"flow", t.intent}, {"attempts", 0}}, {});
    }
    return respond({reply(t.say("Sorry, I can't help with that.", "抱歉，这个我帮不了。"))},
                   nullptr);
}

json::object continue_flow(const Turn& t, json::object s) {
    if (wants_cancel(t)) {
        return respond({reply(t.say("All right, I've stopped. Nothing was submitted.",
                                    "好的，已取消，没有提交任何内容。"))},
                       nullptr);
    }
    std::string step = string_at(s, "step");
    std::int64_t attempts = 0;
    if (const json::value* a = s.if_contains("attempts"); a && a->is_int64()) {
        attempts = a->as_int64();
    }

    if (step == "offer") {
        // "Apply for it" answers the offer too, keeping what the customer already told us.
        int answer = t.intent == "loans.apply" ? 1 : yes_or_no(t);
        if (answer == 1) {
            return advance(t, std::move(s), {});
        }
        if (answer == 0) {
            return respond({reply(t.say("All right. Anything else I can do for you?",
                                        "好的。还有什么可以帮您？"))},
                           nullptr);
        }
        // Another question instead of an answer: start it afresh.
        return start(t);
    }
    if (step == "confirm") {
        int answer = yes_or_no(t);
        if (answer == 1 && t.product(string_at(s, "product")) != nullptr) {
            return submit(t, s);
        }
        if (answer == 0) {
            return respond({reply(t.say("All right, I haven't submitted anything.",
                                        "好的，没有提交任何申请。"))},
                           nullptr);
        }
        if (attempts + 1 >= kMaxAttempts) {
            return respond({reply(t.say("I'll leave the application unsubmitted for now.",
                                        "那就先不提交这份申请了。"))},
                           nullptr);
        }
        s["attempts"] = attempts + 1;
        return confirm_application(t, std::move(s),
                                   t.say("Please answer yes or no.", "请回答“是”或“否”。"));
    }
    if (step == "product" || step == "amount" || step == "term" || step == "purpose" ||
        step == "income" || step == "employment") {
        return advance(t, std::move(s), step);
    }
    return respond({}, nullptr);  // unknown state: end the flow quietly
}

json::object handle_turn(Skill& skill, const json::object& request) {
    const json::value* intent = request.if_contains("intent");
    const json::value* customer = request.if_contains("customer");
    std::string text = string_at(request, "text");
    Turn t{skill,
           request,
           string_at(request, "locale") == "zh-CN",
           text,
           ascii_lower(text),
           intent && intent->is_object() ? string_at(intent->as_object(), "name") : "",
           customer && customer->is_object() ? string_at(customer->as_object(), "id") : ""};

    const json::value* state = request.if_contains("state");
    if (state != nullptr && state->is_object()) {
        return continue_flow(t, state->as_object());
    }
    return start(t);
}

const char* manifest() {
    static const std::string text = teller::plugins::build_manifest(
        "loans", "1.0.0", "Loan products, installment quotes, eligibility and applications",
        intent_examples(),
        {"loans.installment", "loans.rate_adjusted", "loans.eligible", "loans.not_eligible",
         "loans.not_eligible_max", "loans.not_eligible_amount", "loans.amount_range",
         "loans.term_range", "loans.ask_amount", "loans.ask_term", "loans.confirm",
         "loans.submitted", "loans.product", "loans.application"});
    return text.c_str();
}

// Config: { "currency": "USD", "products": [...] } replaces the built-in catalogue.
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
            skill->log(4, "loans: bad configuration: " + problem);
            return 3;
        }
        *state = skill.release();
        return 0;
    } catch (...) {
        return 2;
    }
}

}  // namespace
}  // namespace teller::skills::loans

TELLER_SKILL_EXPORT const teller_skill_v1* teller_skill_entry(uint32_t host_api_version) {
    using namespace teller::skills::loans;
    static const teller_skill_v1 table = {TELLER_SKILL_API_VERSION,
                                          "loans",
                                          manifest(),
                                          &init,
                                          &teller::plugins::handle_turns<Skill, handle_turn>,
                                          &teller::plugins::free_c_string,
                                          &teller::plugins::delete_skill<Skill>};
    return teller::plugins::table_for_host(host_api_version, table);
}
