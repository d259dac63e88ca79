// Locale formatting of money, dates, percentages and numbers, on exact decimal digits.
#include "teller/nlg/format.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace teller::nlg {
namespace {

constexpr int kMaxDigits = 18;  // an int64 holds every 18-digit number

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

struct Currency {
    std::string_view code;
    std::string_view symbol;  // en, before the figure
    std::string_view word;    // zh-CN, after the figure
};

constexpr Currency kCurrencies[] = {
    {"CNY", "¥", "元"}, {"USD", "$", "美元"}, {"EUR", "€", "欧元"}, {"GBP", "£", "英镑"}};

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
    constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<std::int64_t> parse_scaled(std::string_view text, int decimals) {
    if (decimals < 0 || decimals > 9) {
        return std::nullopt;
    }
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }
    bool negative = false;
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        negative = text.front() == '-';
        text.remove_prefix(1);
    }

    // Mantissa digits (commas skipped in the integer part), then an optional exponent.
    std::string digits;
    int fraction = 0;
    bool point = false;
    std::size_t i = 0;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (is_digit(c)) {
            digits.push_back(c);
            fraction += point ? 1 : 0;
        } else if (c == ',' && !point && !digits.empty()) {
            continue;
        } else if (c == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (digits.empty()) {
        return std::nullopt;
    }
    int exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        if (i + 1 >= text.size()) {
            return std::nullopt;
        }
        auto [end, ec] = std::from_chars(text.data() + i + 1 + (text[i + 1] == '+' ? 1 : 0),
                                         text.data() + text.size(), exponent);
        if (ec != std::errc() || end != text.data() + text.size() || exponent > 40 ||
            exponent < -40) {
            return std::nullopt;
        }
        i = text.size();
    }
    if (i != text.size()) {
        return std::nullopt;
    }

    // Shift the point to `decimals` places; cut digits round half away from zero.
    int shift = exponent - fraction + decimals;
    bool round_up = false;
    if (shift >= 0) {
        digits.append(static_cast<std::size_t>(shift), '0');
    } else {
        std::size_t cut = static_cast<std::size_t>(-shift);
        if (cut >= digits.size()) {
            round_up = cut == digits.size() && digits.front() >= '5';
            digits = "0";
        } else {
            round_up = digits[digits.size() - cut] >= '5';
            digits.resize(digits.size() - cut);
        }
    }
    std::size_t first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "0" : digits.substr(first);
    if (digits.size() > kMaxDigits) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    value += round_up ? 1 : 0;
    return negative ? -value : value;
}

std::optional<std::int64_t> scaled_value(const boost::json::value& value, int decimals) {
    if (value.is_string()) {
        return parse_scaled(value.as_string(), decimals);
    }
    if (value.is_int64() || value.is_uint64()) {
        std::string text =
            value.is_int64() ? std::to_string(value.as_int64()) : std::to_string(value.as_uint64());
        return parse_scaled(text, decimals);
    }
    if (value.is_double()) {
        double d = value.as_double();
        if (!std::isfinite(d)) {
            return std::nullopt;
        }
        char buffer[64];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
        if (ec != std::errc()) {
            return std::nullopt;
        }
        return parse_scaled(std::string_view(buffer, static_cast<std::size_t>(end - buffer)),
                            decimals);
    }
    return std::nullopt;
}

std::string format_scaled(std::int64_t scaled, int decimals) {
    // Magnitude as digits, padded so there is at least one integer digit.
    bool negative = scaled < 0;
    std::uint64_t magnitude = negative ? static_cast<std::uint64_t>(-(scaled + 1)) + 1
                                       : static_cast<std::uint64_t>(scaled);
    std::string digits = std::to_string(magnitude);
    if (digits.size() <= static_cast<std::size_t>(decimals)) {
        digits.insert(0, static_cast<std::size_t>(decimals) + 1 - digits.size(), '0');
    }
    std::string integer = digits.substr(0, digits.size() - static_cast<std::size_t>(decimals));
    std::string fraction = digits.substr(integer.size());

    std::string out = negative && scaled != 0 ? "-" : "";
    for (std::size_t k = 0; k < integer.size(); ++k) {
        if (k > 0 && (integer.size() - k) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(integer[k]);
    }
    if (decimals > 0) {
        out += "." + fraction;
    }
    return out;
}

std::string format_money(std::int64_t minor, std::string_view currency, std::string_view locale) {
    const Currency* known = nullptr;
    for (const Currency& c : kCurrencies) {
        if (c.code == currency) {
            known = &c;
        }
    }
    std::string figure = format_scaled(minor < 0 ? -minor : minor, 2);
    std::string sign = minor < 0 ? "-" : "";
    if (known == nullptr) {
        return sign + figure + " " + std::string(currency);
    }
    if (locale == "zh-CN") {
        return sign + figure + " " + std::string(known->word);
    }
    return sign + std::string(known->symbol) + figure;
}

std::string format_date(int year, int month, int day, std::string_view locale) {
    if (locale == "zh-CN") {
        return std::to_string(year) + "年" + std::to_string(month) + "月" + std::to_string(day) +
               "日";
    }
    return std::string(kMonths[(month - 1) % 12]) + " " + std::to_string(day) + ", " +
           std::to_string(year);
}

std::optional<std::string> format_iso_date(std::string_view iso, std::string_view locale) {
    if (iso.size() < 10 || iso[4] != '-' || iso[7] != '-') {
        return std::nullopt;
    }
    int y = 0;
    int m = 0;
    int d = 0;
    auto field = [&](std::size_t at, std::size_t n, int& out) {
        auto [end, ec] = std::from_chars(iso.data() + at, iso.data() + at + n, out);
        return ec == std::errc() && end == iso.data() + at + n;
    };
    if (!field(0, 4, y) || !field(5, 2, m) || !field(8, 2, d) || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m)) {
        return std::nullopt;
    }
    return format_date(y, m, d, locale);
}

std::optional<std::string> format_percent(const boost::json::value& value, int decimals,
                                          std::string_view /*locale*/) {
    auto scaled = scaled_value(value, decimals);
    if (!scaled) {
        return std::nullopt;
    }
    return format_scaled(*scaled, decimals) + "%";
}

}  // namespace teller::nlg
