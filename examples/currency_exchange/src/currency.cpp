// The currency names the skill recognises, its demo rate table, and number formatting.
#include "currency.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace example::exchange {
namespace {

// DEMO RATES: units per one US dollar, rounded made-up figures for illustration only. They are
// not market rates and must never be used to price a real transaction.
constexpr double kDemoPerUsd[] = {1.0, 0.92, 0.79, 7.10, 150.0, 7.80, 1.34, 1.52, 1.36, 0.88};

// A name of a currency as customers write it (ASCII names in lower case).
struct Alias {
    std::string_view text;
    std::string_view code;
};

const std::vector<Alias>& aliases() {
    static const std::vector<Alias> all = {
        {"usd", "USD"},
        {"us dollar", "USD"},
        {"us dollars", "USD"},
        {"u.s. dollars", "USD"},
        {"american dollars", "USD"},
        {"dollar", "USD"},
        {"dollars", "USD"},
        {"bucks", "USD"},
        {"us$", "USD"},
        {"$", "USD"},
        {"美元", "USD"},
        {"美金", "USD"},
        {"eur", "EUR"},
        {"euro", "EUR"},
        {"euros", "EUR"},
        {"€", "EUR"},
        {"欧元", "EUR"},
        {"gbp", "GBP"},
        {"pound", "GBP"},
        {"pounds", "GBP"},
        {"british pounds", "GBP"},
        {"sterling", "GBP"},
        {"quid", "GBP"},
        {"£", "GBP"},
        {"英镑", "GBP"},
        {"cny", "CNY"},
        {"rmb", "CNY"},
        {"yuan", "CNY"},
        {"chinese yuan", "CNY"},
        {"renminbi", "CNY"},
        {"¥", "CNY"},
        {"￥", "CNY"},
        {"人民币", "CNY"},
        {"元", "CNY"},
        {"块", "CNY"},
        {"jpy", "JPY"},
        {"yen", "JPY"},
        {"japanese yen", "JPY"},
        {"日元", "JPY"},
        {"日币", "JPY"},
        {"hkd", "HKD"},
        {"hk$", "HKD"},
        {"hong kong dollar", "HKD"},
        {"hong kong dollars", "HKD"},
        {"港币", "HKD"},
        {"港元", "HKD"},
        {"sgd", "SGD"},
        {"singapore dollar", "SGD"},
        {"singapore dollars", "SGD"},
        {"新加坡元", "SGD"},
        {"新币", "SGD"},
        {"aud", "AUD"},
        {"australian dollar", "AUD"},
        {"australian dollars", "AUD"},
        {"澳元", "AUD"},
        {"澳币", "AUD"},
        {"cad", "CAD"},
        {"canadian dollar", "CAD"},
        {"canadian dollars", "CAD"},
        {"加元", "CAD"},
        {"加币", "CAD"},
        {"chf", "CHF"},
        {"swiss franc", "CHF"},
        {"swiss francs", "CHF"},
        {"franc", "CHF"},
        {"francs", "CHF"},
        {"瑞士法郎", "CHF"},
        {"瑞郎", "CHF"},
    };
    return all;
}

bool is_ascii_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// True when `word` (lower-case ASCII) stands at `pos` of `lower` as a whole word.
bool word_at(std::string_view lower, std::size_t pos, std::string_view word) {
    if (lower.substr(pos, word.size()) != word) {
        return false;
    }
    bool starts_word =
        !is_ascii_letter(word.front()) || pos == 0 || !is_ascii_letter(lower[pos - 1]);
    std::size_t end = pos + word.size();
    bool ends_word =
        !is_ascii_letter(word.back()) || end == lower.size() || !is_ascii_letter(lower[end]);
    return starts_word && ends_word;
}

}  // namespace

const std::vector<Currency>& currencies() {
    static const std::vector<Currency> all = {
        {"USD", "US dollars", "美元", 2},
        {"EUR", "euros", "欧元", 2},
        {"GBP", "British pounds", "英镑", 2},
        {"CNY", "Chinese yuan", "人民币", 2},
        {"JPY", "Japanese yen", "日元", 0},
        {"HKD", "Hong Kong dollars", "港币", 2},
        {"SGD", "Singapore dollars", "新加坡元", 2},
        {"AUD", "Australian dollars", "澳元", 2},
        {"CAD", "Canadian dollars", "加元", 2},
        {"CHF", "Swiss francs", "瑞士法郎", 2},
    };
    return all;
}

const Currency* find_currency(std::string_view code) {
    for (const Currency& c : currencies()) {
        if (c.code == code) {
            return &c;
        }
    }
    return nullptr;
}

RateTable::RateTable() : per_usd_(std::begin(kDemoPerUsd), std::end(kDemoPerUsd)) {}

bool RateTable::set(std::string_view code, double per_usd) {
    const Currency* c = find_currency(code);
    if (c == nullptr || !std::isfinite(per_usd) || per_usd <= 0) {
        return false;
    }
    per_usd_[static_cast<std::size_t>(c - currencies().data())] = per_usd;
    return true;
}

double RateTable::cross(const Currency& from, const Currency& to) const {
    const Currency* base = currencies().data();
    return per_usd_[static_cast<std::size_t>(&to - base)] /
           per_usd_[static_cast<std::size_t>(&from - base)];
}

std::vector<Mention> find_mentions(std::string_view text) {
    std::string lower = ascii_lower(text);
    std::vector<Mention> found;
    std::size_t pos = 0;
    while (pos < lower.size()) {
        // The longest name starting here, if any.
        const Alias* best = nullptr;
        for (const Alias& a : aliases()) {
            if ((best == nullptr || a.text.size() > best->text.size()) &&
                word_at(lower, pos, a.text)) {
                best = &a;
            }
        }
        if (best == nullptr) {
            ++pos;
            continue;
        }
        found.push_back({find_currency(best->code), pos, pos + best->text.size()});
        pos += best->text.size();
    }
    return found;
}

std::optional<Amount> find_amount(std::string_view text) {
    std::string lower = ascii_lower(text);
    for (std::size_t i = 0; i < lower.size(); ++i) {
        char before = i > 0 ? lower[i - 1] : ' ';
        if (!is_digit(lower[i]) || is_digit(before) || is_ascii_letter(before) || before == '.') {
            continue;
        }

        // Digits, comma-grouped thousands, and a decimal part.
        std::string digits;
        std::size_t end = i;
        while (end < lower.size()) {
            if (is_digit(lower[end])) {
                digits.push_back(lower[end++]);
            } else if (lower[end] == ',' && end + 3 < lower.size() && is_digit(lower[end + 1]) &&
                       is_digit(lower[end + 2]) && is_digit(lower[end + 3]) &&
                       (end + 4 == lower.size() || !is_digit(lower[end + 4]))) {
                end += 1;
            } else {
                break;
            }
        }
        if (end + 1 < lower.size() && lower[end] == '.' && is_digit(lower[end + 1])) {
            digits.push_back('.');
            ++end;
            while (end < lower.size() && is_digit(lower[end])) {
                digits.push_back(lower[end++]);
            }
        }
        double value = 0;
        std::from_chars(digits.data(), digits.data() + digits.size(), value);

        // A multiplier right after the number.
        std::size_t after = end;
        while (after < lower.size() && lower[after] == ' ') {
            ++after;
        }
        const std::pair<std::string_view, double> kMultipliers[] = {
            {"thousand", 1e3}, {"million", 1e6}, {"k", 1e3}, {"千", 1e3}, {"万", 1e4}};
        for (const auto& [word, factor] : kMultipliers) {
            if (word_at(lower, after, word)) {
                value *= factor;
                end = after + word.size();
                break;
            }
        }
        return Amount{value, i, end};
    }
    return std::nullopt;
}

bool only_spaces(std::string_view text, std::size_t from, std::size_t to) {
    if (from > to || to > text.size()) {
        return false;
    }
    for (std::size_t i = from; i < to; ++i) {
        if (text[i] != ' ') {
            return false;
        }
    }
    return true;
}

bool follows_to_word(std::string_view text, std::size_t pos) {
    std::string lower = ascii_lower(text.substr(0, pos));
    while (!lower.empty() && lower.back() == ' ') {
        lower.pop_back();
    }
    for (std::string_view word : {"to", "into", "in", "for", "成", "换", "兑", "对"}) {
        if (lower.size() >= word.size() && lower.ends_with(word) &&
            word_at(lower, lower.size() - word.size(), word)) {
            return true;
        }
    }
    return false;
}

std::string format_amount(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    std::string plain = buffer;
    std::size_t point = plain.find('.');
    std::size_t int_end = point == std::string::npos ? plain.size() : point;
    std::size_t int_begin = plain.front() == '-' ? 1 : 0;

    // Commas between groups of three integer digits.
    std::string out = plain.substr(0, int_begin);
    for (std::size_t i = int_begin; i < int_end; ++i) {
        if (i > int_begin && (int_end - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(plain[i]);
    }
    return out + plain.substr(int_end);
}

std::string format_rate(double rate) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", rate < 0.01 ? 6 : 4, rate);
    return buffer;
}

}  // namespace example::exchange
