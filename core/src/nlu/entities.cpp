// Rule-based entities: amounts, percentages, phone, card and account numbers, and the resolver.
#include "teller/nlu/entities.hpp"

#include <algorithm>
#include <array>

#include "entities_detail.hpp"

namespace teller::nlu {
namespace {

using detail::Candidate;
using detail::Decimal;
using detail::Text;

// TODO(teller): a bare number is never an amount, so "转账1000" / "send 1000 to Anna" give no
// amount entity; the skill must read such numbers itself (or the model's tagger, once it exists).
// TODO(teller): European decimal commas ("1.000,50 €") and Indian grouping ("1,00,000") are not
// read; such text yields no amount or a wrong split, never a wrong value with a comma decimal.
// TODO(teller): phone numbers in national formats other than North American and Chinese
// mobiles ("07911 123456", "020 7946 0958") are not recognised without their "+" country code.
// TODO(teller): Luhn accepts one random digit string in ten, so a 13-19 digit reference number
// can be taken for a card; it is then masked, which errs on the safe side.

// Amounts at or above this are not amounts a customer means (and keep formatting exact).
constexpr std::uint64_t kMaxAmount = 1'000'000'000'000'000ULL;

struct Currency {
    std::u32string_view word;
    std::string_view code;
    bool whole_word;  ///< an ASCII word, needing boundaries
};

constexpr std::array kPrefixCurrencies{
    Currency{U"us$", "USD", true}, Currency{U"hk$", "HKD", true}, Currency{U"c$", "CAD", true},
    Currency{U"a$", "AUD", true},  Currency{U"$", "USD", false},  Currency{U"€", "EUR", false},
    Currency{U"£", "GBP", false},  Currency{U"¥", "CNY", false},  Currency{U"人民币", "CNY", false},
    Currency{U"usd", "USD", true}, Currency{U"eur", "EUR", true}, Currency{U"gbp", "GBP", true},
    Currency{U"cny", "CNY", true}, Currency{U"rmb", "CNY", true}, Currency{U"jpy", "JPY", true},
    Currency{U"hkd", "HKD", true}, Currency{U"chf", "CHF", true}, Currency{U"cad", "CAD", true},
    Currency{U"aud", "AUD", true},
};

// Longer spellings first where one is a prefix of another.
constexpr std::array kSuffixCurrencies{
    Currency{U"块钱", "CNY", false},   Currency{U"块", "CNY", false},
    Currency{U"元", "CNY", false},     Currency{U"圆", "CNY", false},
    Currency{U"人民币", "CNY", false}, Currency{U"美元", "USD", false},
    Currency{U"美金", "USD", false},   Currency{U"欧元", "EUR", false},
    Currency{U"英镑", "GBP", false},   Currency{U"港币", "HKD", false},
    Currency{U"港元", "HKD", false},   Currency{U"日元", "JPY", false},
    Currency{U"€", "EUR", false},      Currency{U"$", "USD", false},
    Currency{U"usd", "USD", true},     Currency{U"dollars", "USD", true},
    Currency{U"dollar", "USD", true},  Currency{U"bucks", "USD", true},
    Currency{U"buck", "USD", true},    Currency{U"eur", "EUR", true},
    Currency{U"euros", "EUR", true},   Currency{U"euro", "EUR", true},
    Currency{U"gbp", "GBP", true},     Currency{U"pounds", "GBP", true},
    Currency{U"pound", "GBP", true},   Currency{U"quid", "GBP", true},
    Currency{U"cny", "CNY", true},     Currency{U"rmb", "CNY", true},
    Currency{U"yuan", "CNY", true},    Currency{U"hkd", "HKD", true},
    Currency{U"jpy", "JPY", true},     Currency{U"yen", "JPY", true},
    Currency{U"chf", "CHF", true},     Currency{U"cad", "CAD", true},
    Currency{U"aud", "AUD", true},
};

struct Multiplier {
    std::u32string_view word;
    int power;
    bool spaced;  ///< an English word after a space ("1.5 million") rather than a suffix ("5k")
};

constexpr std::array kMultipliers{
    Multiplier{U"千万", 7, false},   Multiplier{U"百万", 6, false},
    Multiplier{U"千", 3, false},     Multiplier{U"万", 4, false},
    Multiplier{U"亿", 8, false},     Multiplier{U"k", 3, false},
    Multiplier{U"m", 6, false},      Multiplier{U"mn", 6, false},
    Multiplier{U"bn", 9, false},     Multiplier{U"thousand", 3, true},
    Multiplier{U"grand", 3, true},   Multiplier{U"million", 6, true},
    Multiplier{U"billion", 9, true},
};

struct CurrencyMatch {
    std::string_view code;
    std::size_t end;
};

std::optional<CurrencyMatch> currency_at(const Text& text, std::size_t i, const auto& table) {
    // Codes and words need no letter either side; a digit may touch them ("USD300", "300usd").
    for (const Currency& c : table) {
        auto end = text.match(i, c.word);
        if (end && c.whole_word && ((i > 0 && text.letter(i - 1)) || text.letter(*end))) {
            end.reset();
        }
        if (end) {
            return CurrencyMatch{c.code, *end};
        }
    }
    return std::nullopt;
}

// A number in any supported spelling at `i`, with its multiplier.
struct Quantity {
    Decimal value;
    std::size_t end = 0;
    bool magnitude = false;  // a multiplier or 千/万/亿 makes it an amount by itself
    bool fraction = false;
    bool single_digit = false;     // one digit, no unit: "五" (may be jiao after 块)
    std::size_t plain_digits = 0;  // ASCII digits with no separator, fraction or multiplier
};

bool chinese_start(const Text& text, std::size_t i) {
    return detail::numeral_char(text.at(i)) &&
           !(i > 0 && (detail::numeral_char(text.at(i - 1)) || text.digit(i - 1)));
}

std::optional<Quantity> quantity_at(const Text& text, std::size_t i, bool after_prefix) {
    if (chinese_start(text, i)) {
        auto n = detail::parse_numeral(text, i);
        if (!n) {
            return std::nullopt;
        }
        return Quantity{n->value, n->end, n->magnitude, n->value.scale != 0, n->single_digit};
    }
    auto n = detail::parse_number(text, i, !after_prefix);
    if (!n) {
        return std::nullopt;
    }

    // Digits mixed with Chinese units ("3千5百") read as one Chinese numeral.
    if (detail::numeral_char(text.at(n->end)) && !n->grouped) {
        if (auto c = detail::parse_numeral(text, i); c && c->end > n->end) {
            return Quantity{c->value, c->end, c->magnitude, c->value.scale != 0, false};
        }
    }
    Quantity q{n->value, n->end, false, n->fraction, n->digits == 1 && !n->fraction};
    if (!n->grouped && !n->fraction) {
        q.plain_digits = n->digits;
    }

    // "5k", "1.2m", "5万", "1.5 million".
    for (const Multiplier& m : kMultipliers) {
        const std::size_t at = m.spaced ? text.skip_spaces(q.end) : q.end;
        if (m.spaced && at == q.end) {
            continue;
        }
        auto end = text.match(at, m.word);
        if (!end || (m.word[0] < 0x80 && text.letter(*end))) {
            continue;
        }
        if (!q.value.shift(m.power)) {
            return std::nullopt;
        }
        q.end = *end;
        q.magnitude = true;
        q.single_digit = false;
        q.plain_digits = 0;
        break;
    }
    return q;
}

// The jiao and fen after 块/元 or alone: "五" / "五毛" / "五毛二" / "五角二分".
std::size_t small_change(const Text& text, std::size_t i, Decimal& value) {
    const int jiao = detail::numeral_digit(text.at(i));
    if (jiao < 0 || detail::numeral_digit(text.at(i + 1)) >= 0 || text.at(i + 1) == U'.' ||
        text.at(i + 1) == U'点') {
        return i;
    }
    std::size_t end = i + 1;
    if (text.at(end) == U'毛' || text.at(end) == U'角') {
        ++end;
        const int fen = detail::numeral_digit(text.at(end));
        if (fen >= 0 && detail::numeral_digit(text.at(end + 1)) < 0) {
            Decimal f{static_cast<std::uint64_t>(fen), 2};
            const std::size_t fen_end = text.at(end + 1) == U'分' ? end + 2 : end + 1;
            if (value.add(f)) {
                end = fen_end;
            }
        }
    }
    value.add(Decimal{static_cast<std::uint64_t>(jiao), 1});
    return end;
}

// Thousands grouped by spaces ("10 000 USD", "$1 250 000.50") are read only when a currency is
// written; three digits after "<digit> " are never an amount by themselves ("10 500" is not
// "500"). Returns false when the quantity at `start` must not be an amount.
bool spaced_thousands(const Text& text, std::size_t start, bool has_prefix, Quantity& q) {
    if (q.plain_digits == 0) {
        return true;
    }
    if (q.plain_digits == 3 && start >= 2 && text.at(start - 1) == U' ' && text.digit(start - 2)) {
        return false;
    }
    if (q.plain_digits > 3) {
        return true;
    }
    Decimal v = q.value;
    std::size_t k = q.end;
    while (text.at(k) == U' ' && text.digit(k + 1) && text.digit(k + 2) && text.digit(k + 3) &&
           !text.digit(k + 4)) {
        for (std::size_t d = 1; d <= 3; ++d) {
            if (!v.push_digit(static_cast<int>(text.at(k + d) - U'0'))) {
                return true;
            }
        }
        k += 4;
    }
    if (k == q.end) {
        return true;
    }
    if (text.at(k) == U'.' && text.digit(k + 1)) {
        ++k;
        while (text.digit(k)) {
            if (!v.push_fraction_digit(static_cast<int>(text.at(k) - U'0'))) {
                return true;
            }
            ++k;
        }
    }
    if (has_prefix || currency_at(text, text.skip_spaces(k), kSuffixCurrencies)) {
        q.value = v;
        q.end = k;
        q.single_digit = false;
    }
    return true;
}

std::string amount_value(const Decimal& v, std::string_view code) {
    return v.format(2, 2) + " " + std::string(code);
}

void find_amount(const Text& text, std::size_t i, const EntityContext& context,
                 std::vector<Candidate>& out) {
    // Optional currency before the number.
    std::optional<CurrencyMatch> prefix;
    std::size_t j = i;
    if (auto p = currency_at(text, i, kPrefixCurrencies)) {
        prefix = p;
        j = text.skip_spaces(p->end);
    }
    auto q = quantity_at(text, j, prefix.has_value());
    if (!q) {
        return;
    }
    if (!spaced_thousands(text, j, prefix.has_value(), *q)) {
        return;
    }

    // "五毛": jiao with no yuan.
    if (!prefix && q->single_digit && (text.at(q->end) == U'毛' || text.at(q->end) == U'角')) {
        Decimal v = q->value;
        v.shift(-1);
        out.push_back(Candidate{"amount", amount_value(v, "CNY"), i, q->end + 1, false});
        return;
    }

    // Optional currency after it, then any jiao after 块/元.
    std::optional<CurrencyMatch> suffix;
    std::size_t end = q->end;
    const std::size_t s = text.skip_spaces(q->end);
    auto c = currency_at(text, s, kSuffixCurrencies);
    if (c && s != q->end && (text.at(s) == U'$' || text.at(s) == U'€')) {
        c.reset();  // "$5 $6": a symbol after a space belongs to the next amount
    }
    if (c) {
        suffix = c;
        end = c->end;
        const char32_t unit = text.at(c->end - 1);
        if (!q->fraction && (unit == U'块' || unit == U'元' || unit == U'钱' || unit == U'圆')) {
            end = small_change(text, end, q->value);
        }
    }
    if (!prefix && !suffix && !q->magnitude) {
        return;
    }
    if (q->value.whole() >= kMaxAmount) {
        return;
    }
    const std::string_view code =
        prefix ? prefix->code
               : (suffix ? suffix->code : std::string_view(context.default_currency));
    out.push_back(Candidate{"amount", amount_value(q->value, code), i, end, false});
}

void find_percentage(const Text& text, std::size_t i, std::vector<Candidate>& out) {
    // 百分之五, 百分之5.5
    if (auto after = text.match(i, U"百分之")) {
        std::optional<Quantity> q;
        if (text.digit(*after)) {
            if (auto n = detail::parse_number(text, *after)) {
                q = Quantity{n->value, n->end};
            }
        } else if (detail::numeral_char(text.at(*after))) {
            if (auto n = detail::parse_numeral(text, *after)) {
                q = Quantity{n->value, n->end};
            }
        }
        if (q) {
            out.push_back(Candidate{"percentage", q->value.format(0, 6), i, q->end, false});
        }
        return;
    }

    // 5%, 5.5 percent, 五%.
    std::optional<Quantity> q;
    if (chinese_start(text, i)) {
        if (auto n = detail::parse_numeral(text, i)) {
            q = Quantity{n->value, n->end};
        }
    } else if (auto n = detail::parse_number(text, i)) {
        q = Quantity{n->value, n->end};
    }
    if (!q) {
        return;
    }
    const std::size_t s = text.skip_spaces(q->end);
    std::optional<std::size_t> end;
    if (text.at(s) == U'%') {
        end = s + 1;
    } else if (s != q->end) {
        for (std::u32string_view w : {U"percent", U"per cent", U"pct"}) {
            if ((end = text.match_word(s, w))) {
                break;
            }
        }
    }
    if (end) {
        out.push_back(Candidate{"percentage", q->value.format(0, 6), i, *end, false});
    }
}

// Runs of digits separated by single separators from `allowed`, as in "4111 1111-1111".
struct Groups {
    std::vector<std::size_t> sizes;  // digits per group
    std::vector<std::size_t> ends;   // char index after each group
    std::size_t digits = 0;
};

Groups digit_groups(const Text& text, std::size_t i, std::u32string_view allowed,
                    std::size_t max_digits) {
    Groups g;
    std::size_t j = i;
    while (text.digit(j)) {
        std::size_t k = j;
        while (text.digit(k)) {
            ++k;
            if (g.digits + (k - j) > max_digits) {
                g.sizes.push_back(k - j);
                g.digits += k - j;
                return g;  // too long; callers see digits > max_digits
            }
        }
        g.sizes.push_back(k - j);
        g.ends.push_back(k);
        g.digits += k - j;
        if (allowed.find(text.at(k)) == std::u32string_view::npos || !text.digit(k + 1)) {
            break;
        }
        j = k + 1;
    }
    return g;
}

bool number_start(const Text& text, std::size_t i) {
    return text.digit(i) && !(i > 0 && (text.alnum(i - 1) || text.at(i - 1) == U'+'));
}

// The ASCII digits among chars [begin, end).
std::string digits_in(const Text& text, std::size_t begin, std::size_t end) {
    std::string d;
    for (std::size_t k = begin; k < end; ++k) {
        if (text.digit(k)) {
            d.push_back(static_cast<char>(text.at(k)));
        }
    }
    return d;
}

void find_card(const Text& text, std::size_t i, std::vector<Candidate>& out) {
    // A letter right before may start a card number ("no4111..."): masking errs on the safe
    // side, as it does for a card number glued to a word after it.
    if (!text.digit(i) || (i > 0 && (text.digit(i - 1) || text.at(i - 1) == U'+'))) {
        return;
    }
    const Groups g = digit_groups(text, i, U" -", 19 + 4);

    // The longest Luhn-valid prefix of whole groups with 13-19 digits.
    std::size_t total = 0;
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < g.ends.size(); ++k) {
        if (g.sizes[k] < 3 && g.ends.size() > 1) {
            break;
        }
        total += g.sizes[k];
        if (total > 19) {
            break;
        }
        if (total >= 13 && luhn_valid(digits_in(text, i, g.ends[k]))) {
            best = k;
        }
    }
    if (!best) {
        return;
    }
    const std::string d = digits_in(text, i, g.ends[*best]);
    std::string masked(d.size() - 4, '*');
    masked += d.substr(d.size() - 4);
    out.push_back(Candidate{"card_number", masked, i, g.ends[*best], true});
}

void find_phone(const Text& text, std::size_t i, std::vector<Candidate>& out) {
    // "+44 7911 123456", "+1 (555) 123-4567", "+86 138-1234-5678".
    if (text.at(i) == U'+' && text.digit(i + 1) && !(i > 0 && text.alnum(i - 1))) {
        std::string digits;
        std::size_t j = i + 1;
        std::size_t end = j;
        while (j < text.size() && digits.size() <= 15) {
            if (text.digit(j)) {
                digits.push_back(static_cast<char>(text.at(j)));
                end = ++j;
                continue;
            }
            const char32_t c = text.at(j);
            const bool sep = c == U' ' || c == U'-' || c == U'.';
            if (sep && (text.digit(j + 1) || text.at(j + 1) == U'(')) {
                ++j;
            } else if (c == U'(' && text.at(j + 1) == U'0' && text.at(j + 2) == U')') {
                j += 3;  // the UK "(0)" trunk prefix is not dialled from abroad
                if ((text.at(j) == U' ' || text.at(j) == U'-') && text.digit(j + 1)) {
                    ++j;
                }
            } else if (c == U'(' && text.digit(j + 1)) {
                ++j;
            } else if (c == U')' && j > 0 && text.digit(j - 1) &&
                       (text.digit(j + 1) || text.at(j + 1) == U' ' || text.at(j + 1) == U'-')) {
                ++j;
                if ((text.at(j) == U' ' || text.at(j) == U'-') && text.digit(j + 1)) {
                    ++j;
                }
            } else {
                break;
            }
        }
        if (digits.size() >= 8 && digits.size() <= 15 && !text.digit(end)) {
            out.push_back(Candidate{"phone", "+" + digits, i, end, false});
        }
        return;
    }

    // "(555) 123-4567".
    if (text.at(i) == U'(' && !(i > 0 && text.alnum(i - 1))) {
        const Groups area = digit_groups(text, i + 1, U"", 3);
        if (area.sizes.size() == 1 && area.sizes[0] == 3 && text.at(i + 4) == U')') {
            const std::size_t j = text.skip_spaces(i + 5);
            const Groups rest = digit_groups(text, j, U"-. ", 8);
            if (rest.digits == 7 && rest.ends.size() == 2 && rest.sizes[0] == 3 &&
                rest.sizes[1] == 4 && !text.digit(rest.ends[1])) {
                out.push_back(
                    Candidate{"phone", digits_in(text, i, rest.ends[1]), i, rest.ends[1], false});
            }
        }
        return;
    }
    if (!number_start(text, i)) {
        return;
    }

    // "555-123-4567", "138 1234 5678", "13812345678".
    const Groups g = digit_groups(text, i, U"-. ", 12);
    if (g.digits > 11 || g.ends.empty()) {
        return;
    }
    const std::size_t end = g.ends.back();
    const std::string d = digits_in(text, i, end);
    const bool chinese_mobile =
        d.size() == 11 && d[0] == '1' && d[1] >= '3' &&
        ((g.sizes.size() == 1) || (g.sizes.size() == 3 && g.sizes[0] == 3 && g.sizes[1] == 4));
    const bool north_american =
        d.size() == 10 && g.sizes.size() == 3 && g.sizes[0] == 3 && g.sizes[1] == 3 && d[0] >= '2';
    if (chinese_mobile || north_american) {
        out.push_back(Candidate{"phone", d, i, end, false});
    }
}

// The position after the first of `cues` that starts at `i`: Latin cues as whole words,
// CJK cues anywhere.
template <std::size_t N>
std::optional<std::size_t> match_cue(const Text& text, std::size_t i,
                                     const std::array<std::u32string_view, N>& cues) {
    for (std::u32string_view cue : cues) {
        if (auto after = cue[0] < 0x80 ? text.match_word(i, cue) : text.match(i, cue)) {
            return after;
        }
    }
    return std::nullopt;
}

// "card ending 1234", "last four digits are 1234", "尾号1234".
void find_last4(const Text& text, std::size_t i, std::vector<Candidate>& out) {
    static constexpr std::array<std::u32string_view, 13> kCues{
        U"ending in",        U"ending with",   U"ending",    U"ends in", U"ends with",
        U"last four digits", U"last 4 digits", U"last four", U"last 4",  U"尾号",
        U"末四位",           U"后四位",        U"尾数"};
    std::optional<std::size_t> after = match_cue(text, i, kCues);
    if (!after) {
        return;
    }

    // Fillers between the cue and the digits: "are", "is", ":", "#", 是, 为.
    std::size_t j = *after;
    for (int round = 0; round < 4; ++round) {
        j = text.skip_spaces(j, 3);
        const char32_t c = text.at(j);
        if (c == U':' || c == U'#' || c == U'：' || c == U'是' || c == U'为' || c == U'=') {
            ++j;
            continue;
        }
        bool filler = false;
        for (std::u32string_view w : {U"is", U"are", U"in", U"with", U"of", U"no"}) {
            if (auto end = text.match_word(j, w)) {
                j = *end;
                filler = true;
                break;
            }
        }
        if (!filler) {
            break;
        }
    }
    if (text.digit(j) && text.digit(j + 1) && text.digit(j + 2) && text.digit(j + 3) &&
        !text.digit(j + 4) && !(j > 0 && text.alnum(j - 1))) {
        out.push_back(Candidate{"card_last4", digits_in(text, j, j + 4), j, j + 4, false});
    }
}

void find_account(const Text& text, std::size_t i, std::vector<Candidate>& out) {
    // IBAN: two letters, two digits, then letters and digits in optional groups of any size.
    if (text.letter(i) && text.letter(i + 1) && text.digit(i + 2) && text.digit(i + 3) &&
        text.starts_word(i)) {
        std::string compact;
        std::vector<std::pair<std::size_t, std::size_t>> cuts;  // (compact length, char end)
        std::size_t j = i;
        while (compact.size() < 34) {
            if (text.alnum(j)) {
                compact.push_back(static_cast<char>(text.at(j)));
                ++j;
                continue;
            }
            cuts.emplace_back(compact.size(), j);
            if (text.at(j) == U' ' && text.alnum(j + 1)) {
                ++j;
                continue;
            }
            break;
        }
        if (!text.alnum(j)) {
            cuts.emplace_back(compact.size(), j);
        }
        for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
            const std::string candidate = compact.substr(0, it->first);
            if (iban_valid(candidate)) {
                std::string upper = candidate;
                std::transform(upper.begin(), upper.end(), upper.begin(),
                               [](char c) { return c >= 'a' && c <= 'z' ? c - 32 : c; });
                out.push_back(Candidate{"account_number", upper, i, it->second, false});
                break;
            }
        }
    }

    // "account 12345678", "account number: 12-345678", "账号 6222 0212 3456".
    static constexpr std::array<std::u32string_view, 7> kCues{U"account", U"acct", U"a/c", U"账号",
                                                              U"帐号",    U"账户", U"帐户"};
    std::optional<std::size_t> after = match_cue(text, i, kCues);
    if (!after) {
        return;
    }
    std::size_t j = *after;
    for (int round = 0; round < 4; ++round) {
        j = text.skip_spaces(j, 3);
        const char32_t c = text.at(j);
        if (c == U':' || c == U'#' || c == U'：' || c == U'是' || c == U'为' || c == U'.') {
            ++j;
            continue;
        }
        bool filler = false;
        for (std::u32string_view w : {U"number", U"no", U"num", U"is"}) {
            if (auto end = text.match_word(j, w)) {
                j = *end;
                filler = true;
                break;
            }
        }
        if (!filler) {
            break;
        }
    }
    if (!number_start(text, j)) {
        return;
    }
    const Groups g = digit_groups(text, j, U" -", 20);
    if (g.digits < 6 || g.digits > 20 || g.ends.empty() || text.letter(g.ends.back())) {
        return;
    }
    out.push_back(
        Candidate{"account_number", digits_in(text, j, g.ends.back()), j, g.ends.back(), false});
}

// Lower ranks win ties of equal length.
int rank(const std::string& type) {
    static constexpr std::array<std::string_view, 7> kOrder{
        "card_number", "card_last4", "account_number", "phone", "date", "percentage", "amount"};
    for (std::size_t k = 0; k < kOrder.size(); ++k) {
        if (kOrder[k] == type) {
            return static_cast<int>(k);
        }
    }
    return static_cast<int>(kOrder.size());
}

std::chrono::year_month_day utc_today() {
    return std::chrono::year_month_day{
        std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
}

}  // namespace

EntityContext context_sent_at(std::span<const std::int64_t> sent_at_ms, std::size_t i) {
    EntityContext context;
    if (i < sent_at_ms.size() && sent_at_ms[i] > 0) {
        const std::chrono::sys_time<std::chrono::milliseconds> sent{
            std::chrono::milliseconds(sent_at_ms[i])};
        context.today = std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(sent));
    }
    return context;
}

std::chrono::weekday EntityContext::weekday() const {
    const auto date = today.ok() ? today : utc_today();
    return std::chrono::weekday{std::chrono::sys_days{date}};
}

bool luhn_valid(std::string_view digits) {
    if (digits.size() < 2) {
        return false;
    }
    int sum = 0;
    bool twice = false;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (*it < '0' || *it > '9') {
            return false;
        }
        int d = *it - '0';
        if (twice) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
        twice = !twice;
    }
    return sum % 10 == 0;
}

bool iban_valid(std::string_view iban) {
    if (iban.size() < 15 || iban.size() > 34) {
        return false;
    }
    auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!is_letter(iban[0]) || !is_letter(iban[1]) || !is_digit(iban[2]) || !is_digit(iban[3])) {
        return false;
    }

    // Move the first four characters to the end, letters as 10..35, and take the rest mod 97.
    int remainder = 0;
    for (std::size_t k = 0; k < iban.size(); ++k) {
        const char c = iban[(k + 4) % iban.size()];
        if (is_digit(c)) {
            remainder = (remainder * 10 + (c - '0')) % 97;
        } else if (is_letter(c)) {
            const int v = (c | 0x20) - 'a' + 10;
            remainder = (remainder * 100 + v) % 97;
        } else {
            return false;
        }
    }
    return remainder == 1;
}

std::vector<core::Entity> extract_entities(std::string_view text, const EntityContext& context) {
    const Text t(text);
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < t.size(); ++i) {
        find_amount(t, i, context, candidates);
        find_percentage(t, i, candidates);
        find_card(t, i, candidates);
        find_phone(t, i, candidates);
        find_last4(t, i, candidates);
        find_account(t, i, candidates);
    }
    detail::find_dates(t, context.today.ok() ? context.today : utc_today(), candidates);

    // Keep card numbers first, then the longest, then by type rank; drop what overlaps.
    std::vector<std::size_t> order(candidates.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
        order[k] = k;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const Candidate& x = candidates[a];
        const Candidate& y = candidates[b];
        const bool x_card = x.type == "card_number";
        const bool y_card = y.type == "card_number";
        if (x_card != y_card) {
            return x_card;
        }
        if (x.end - x.begin != y.end - y.begin) {
            return x.end - x.begin > y.end - y.begin;
        }
        if (rank(x.type) != rank(y.type)) {
            return rank(x.type) < rank(y.type);
        }
        return x.begin < y.begin;
    });
    std::vector<bool> taken(t.size(), false);
    std::vector<const Candidate*> kept;
    for (std::size_t k : order) {
        const Candidate& c = candidates[k];
        if (c.begin >= c.end || c.end > t.size()) {
            continue;
        }
        if (std::any_of(taken.begin() + static_cast<std::ptrdiff_t>(c.begin),
                        taken.begin() + static_cast<std::ptrdiff_t>(c.end),
                        [](bool b) { return b; })) {
            continue;
        }
        std::fill(taken.begin() + static_cast<std::ptrdiff_t>(c.begin),
                  taken.begin() + static_cast<std::ptrdiff_t>(c.end), true);
        kept.push_back(&c);
    }
    std::sort(kept.begin(), kept.end(),
              [](const Candidate* a, const Candidate* b) { return a->begin < b->begin; });

    // Byte offsets and the written text; card digits but the last four become '*'.
    std::vector<core::Entity> entities;
    entities.reserve(kept.size());
    for (const Candidate* c : kept) {
        core::Entity e;
        e.type = c->type;
        e.value = c->value;
        e.begin = t.ch(c->begin).begin;
        e.end = t.ch(c->end - 1).end;
        if (c->masked) {
            std::size_t digits = 0;
            for (std::size_t k = c->begin; k < c->end; ++k) {
                digits += t.digit(k) ? 1 : 0;
            }
            std::size_t seen = 0;
            for (std::size_t k = c->begin; k < c->end; ++k) {
                if (t.digit(k) && seen++ < digits - 4) {
                    e.text.push_back('*');
                } else {
                    e.text.append(t.slice(k, k + 1));
                }
            }
        } else {
            e.text = std::string(t.slice(c->begin, c->end));
        }
        entities.push_back(std::move(e));
    }
    return entities;
}

}  // namespace teller::nlu
