// Text decoding, exact decimals, and the ASCII and Chinese number readers behind the extractors.
#include <algorithm>
#include <array>

#include "entities_detail.hpp"

namespace teller::nlu {
namespace detail {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
// Chinese numerals longer than this are not read further (keeps every start bounded).
constexpr std::size_t kMaxNumeralChars = 64;

// Decodes the code point at `p`, returning its length; invalid sequences are one byte of U+FFFD.
std::size_t decode(std::string_view s, std::size_t p, char32_t& cp) {
    const auto b0 = static_cast<unsigned char>(s[p]);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t n = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2;
        cp = b0 & 0x1F;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3;
        cp = b0 & 0x0F;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4;
        cp = b0 & 0x07;
        min = 0x10000;
    } else {
        cp = kReplacement;
        return 1;
    }
    if (p + n > s.size()) {
        cp = kReplacement;
        return 1;
    }
    for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[p + k]);
        if ((b & 0xC0) != 0x80) {
            cp = kReplacement;
            return 1;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = kReplacement;
        return 1;
    }
    return n;
}

// ASCII to lower case, full-width ASCII (but the Chinese comma) to ASCII, odd spaces to ' '.
char32_t fold(char32_t c) {
    if (c >= 0xFF01 && c <= 0xFF5E && c != 0xFF0C) {
        c -= 0xFEE0;
    }
    if (c >= U'A' && c <= U'Z') {
        return c + 32;
    }
    switch (c) {
        case 0xFFE5:  // full-width yen sign
            return 0xA5;
        case U'\t':
        case U'\n':
        case U'\r':
        case 0xA0:
        case 0x2009:
        case 0x202F:
        case 0x3000:
            return U' ';
        default:
            return c;
    }
}

std::uint64_t pow10(int n) {
    std::uint64_t p = 1;
    for (int i = 0; i < n; ++i) {
        p *= 10;
    }
    return p;
}

// The value of 十/百/千 (and financial forms), or 0.
std::uint64_t small_unit(char32_t c) {
    switch (c) {
        case U'十':
        case U'拾':
            return 10;
        case U'百':
        case U'佰':
            return 100;
        case U'千':
        case U'仟':
            return 1000;
        default:
            return 0;
    }
}

// The power of ten of 万/亿, or 0.
int big_unit(char32_t c) {
    switch (c) {
        case U'万':
        case U'萬':
            return 4;
        case U'亿':
        case U'億':
            return 8;
        default:
            return 0;
    }
}

}  // namespace

Text::Text(std::string_view raw) : raw_(raw) {
    chars_.reserve(raw.size());
    std::size_t p = 0;
    while (p < raw.size()) {
        char32_t cp = 0;
        const std::size_t n = decode(raw, p, cp);
        chars_.push_back(Char{fold(cp), p, p + n});
        p += n;
    }
}

std::string_view Text::slice(std::size_t begin, std::size_t end) const {
    if (begin >= end || end > chars_.size()) {
        return {};
    }
    return raw_.substr(chars_[begin].begin, chars_[end - 1].end - chars_[begin].begin);
}

std::optional<std::size_t> Text::match(std::size_t i, std::u32string_view s) const {
    for (std::size_t k = 0; k < s.size(); ++k) {
        if (at(i + k) != s[k]) {
            return std::nullopt;
        }
    }
    return i + s.size();
}

std::optional<std::size_t> Text::match_word(std::size_t i, std::u32string_view s) const {
    if (!starts_word(i)) {
        return std::nullopt;
    }
    auto end = match(i, s);
    if (!end || !ends_word(*end)) {
        return std::nullopt;
    }
    return end;
}

std::size_t Text::skip_spaces(std::size_t i, std::size_t limit) const {
    for (std::size_t k = 0; k < limit && at(i) == U' '; ++k) {
        ++i;
    }
    return i;
}

bool Decimal::push_digit(int d) {
    if (scale != 0 || mantissa > (kLimit - 1 - static_cast<std::uint64_t>(d)) / 10) {
        return false;
    }
    mantissa = mantissa * 10 + static_cast<std::uint64_t>(d);
    return true;
}

bool Decimal::push_fraction_digit(int d) {
    if (scale >= kMaxScale) {
        return true;
    }
    if (mantissa > (kLimit - 1 - static_cast<std::uint64_t>(d)) / 10) {
        return false;
    }
    mantissa = mantissa * 10 + static_cast<std::uint64_t>(d);
    ++scale;
    return true;
}

bool Decimal::shift(int places) {
    if (places < 0) {
        scale -= places;
        if (scale > kMaxScale) {
            mantissa /= pow10(std::min(scale - kMaxScale, 19));
            scale = kMaxScale;
        }
        return true;
    }
    const int from_scale = std::min(places, scale);
    scale -= from_scale;
    for (int i = from_scale; i < places; ++i) {
        if (mantissa > (kLimit - 1) / 10) {
            return false;
        }
        mantissa *= 10;
    }
    return true;
}

bool Decimal::add(const Decimal& other) {
    Decimal a = *this;
    Decimal b = other;
    while (a.scale < b.scale) {
        if (a.mantissa > (kLimit - 1) / 10) {
            return false;
        }
        a.mantissa *= 10;
        ++a.scale;
    }
    while (b.scale < a.scale) {
        if (b.mantissa > (kLimit - 1) / 10) {
            return false;
        }
        b.mantissa *= 10;
        ++b.scale;
    }
    if (a.mantissa >= kLimit - b.mantissa) {
        return false;
    }
    mantissa = a.mantissa + b.mantissa;
    scale = a.scale;
    return true;
}

bool Decimal::multiply(std::uint64_t factor) {
    if (factor != 0 && mantissa > (kLimit - 1) / factor) {
        return false;
    }
    mantissa *= factor;
    return true;
}

bool Decimal::integral() const {
    return mantissa % pow10(scale) == 0;
}

std::uint64_t Decimal::whole() const {
    return mantissa / pow10(scale);
}

std::string Decimal::format(int min_decimals, int max_decimals) const {
    std::uint64_t m = mantissa;
    int s = scale;
    if (s > max_decimals) {
        const std::uint64_t p = pow10(s - max_decimals);
        const std::uint64_t r = m % p;
        m /= p;
        if (r >= p - r) {
            ++m;
        }
        s = max_decimals;
    }
    std::string digits = std::to_string(m);
    if (digits.size() <= static_cast<std::size_t>(s)) {
        digits.insert(0, static_cast<std::size_t>(s) + 1 - digits.size(), '0');
    }
    std::string whole_part = digits.substr(0, digits.size() - static_cast<std::size_t>(s));
    std::string fraction = digits.substr(digits.size() - static_cast<std::size_t>(s));
    while (fraction.size() > static_cast<std::size_t>(min_decimals) && fraction.back() == '0') {
        fraction.pop_back();
    }
    while (fraction.size() < static_cast<std::size_t>(min_decimals)) {
        fraction.push_back('0');
    }
    return fraction.empty() ? whole_part : whole_part + "." + fraction;
}

int numeral_digit(char32_t c) {
    if (c >= U'0' && c <= U'9') {
        return static_cast<int>(c - U'0');
    }
    switch (c) {
        case U'零':
        case U'〇':
            return 0;
        case U'一':
        case U'壹':
            return 1;
        case U'二':
        case U'两':
        case U'贰':
            return 2;
        case U'三':
        case U'叁':
            return 3;
        case U'四':
        case U'肆':
            return 4;
        case U'五':
        case U'伍':
            return 5;
        case U'六':
        case U'陆':
            return 6;
        case U'七':
        case U'柒':
            return 7;
        case U'八':
        case U'捌':
            return 8;
        case U'九':
        case U'玖':
            return 9;
        default:
            return -1;
    }
}

bool numeral_char(char32_t c) {
    if (c < 0x80) {
        return false;
    }
    return numeral_digit(c) >= 0 || small_unit(c) != 0 || big_unit(c) != 0;
}

std::optional<NumeralMatch> parse_numeral(const Text& text, std::size_t i) {
    const char32_t first = text.at(i);
    if (!numeral_char(first) && !text.digit(i)) {
        return std::nullopt;
    }

    // Walk the numeral; `end` only moves past chars that leave a complete numeral behind.
    Decimal total;
    std::uint64_t section = 0;  // below 万
    Decimal pending;            // digits not yet given a unit
    bool has_pending = false;
    int pending_chars = 0;
    bool last_was_digit = false;
    bool fraction = false;
    bool zero_after_unit = false;    // 零 after a unit: no "一万二" shorthand
    std::uint64_t section_unit = 0;  // the last 十/百/千 in this section
    int last_big = 0;                // the last 万/亿 power
    std::uint64_t last_unit = 0;     // the last unit of any kind, as a value
    int last_unit_power = 0;
    bool magnitude = false;
    bool any = false;
    std::size_t end = i;
    const std::size_t limit = std::min(text.size(), i + kMaxNumeralChars);
    for (std::size_t j = i; j < limit; ++j) {
        const char32_t c = text.at(j);
        if (const int d = numeral_digit(c); d >= 0) {
            if (fraction) {
                if (!pending.push_fraction_digit(d)) {
                    return std::nullopt;
                }
            } else if (has_pending && last_was_digit) {
                if (!pending.push_digit(d)) {
                    return std::nullopt;
                }
                ++pending_chars;
            } else {
                pending = Decimal::of(static_cast<std::uint64_t>(d));
                has_pending = true;
                pending_chars = 1;
                if (d == 0 && last_unit != 0) {
                    zero_after_unit = true;
                }
            }
            last_was_digit = true;
            any = true;
            end = j + 1;
            continue;
        }
        last_was_digit = false;
        if (c == U'点' || c == U'.') {
            if (!has_pending || fraction || numeral_digit(text.at(j + 1)) < 0) {
                break;
            }
            fraction = true;
            continue;
        }
        if (const std::uint64_t unit = small_unit(c); unit != 0) {
            if (fraction || (section_unit != 0 && unit >= section_unit)) {
                break;
            }
            if (!has_pending && unit != 10) {
                break;
            }
            const std::uint64_t base = has_pending ? pending.whole() : 1;
            if (base > Decimal::kLimit / 1000 || section + base * unit >= Decimal::kLimit) {
                return std::nullopt;
            }
            section += base * unit;
            has_pending = false;
            section_unit = unit;
            last_unit = unit;
            last_unit_power = unit == 10 ? 1 : (unit == 100 ? 2 : 3);
            zero_after_unit = false;
            magnitude = magnitude || unit == 1000;
            any = true;
            end = j + 1;
            continue;
        }
        if (const int power = big_unit(c); power != 0) {
            if (power == last_big) {
                break;
            }
            Decimal chunk = has_pending ? pending : Decimal{};
            if (!chunk.add(Decimal::of(section))) {
                return std::nullopt;
            }
            if (power == 8 && !chunk.add(total)) {
                return std::nullopt;
            }
            if (chunk.zero()) {
                break;
            }
            if (!chunk.shift(power)) {
                return std::nullopt;
            }
            if (power == 8) {
                total = chunk;
            } else if (!total.add(chunk)) {
                return std::nullopt;
            }
            const bool stop = fraction;
            section = 0;
            has_pending = false;
            fraction = false;
            section_unit = 0;
            last_big = power;
            last_unit = power == 4 ? 10000 : 100000000;
            last_unit_power = power;
            zero_after_unit = false;
            magnitude = true;
            end = j + 1;
            if (stop) {
                break;
            }
            continue;
        }
        break;
    }
    if (!any) {
        return std::nullopt;
    }

    // Add what is left; a lone digit after a unit counts in the unit below ("一万二" = 12000).
    NumeralMatch m;
    m.value = total;
    if (has_pending) {
        Decimal rest = pending;
        if (!fraction && pending_chars == 1 && !zero_after_unit && last_unit >= 10) {
            if (!rest.shift(last_unit_power - 1)) {
                return std::nullopt;
            }
        }
        if (!m.value.add(rest)) {
            return std::nullopt;
        }
    }
    if (!m.value.add(Decimal::of(section))) {
        return std::nullopt;
    }
    m.end = end;
    m.magnitude = magnitude;
    m.single_digit = has_pending && pending_chars == 1 && last_unit == 0 && !fraction;
    return m;
}

std::optional<NumberMatch> parse_number(const Text& text, std::size_t i, bool check_start) {
    if (!text.digit(i)) {
        return std::nullopt;
    }
    if (check_start && i > 0) {
        const char32_t prev = text.at(i - 1);
        if (text.alnum(i - 1) || ((prev == U'.' || prev == U',') && i >= 2 && text.digit(i - 2))) {
            return std::nullopt;
        }
    }
    NumberMatch m;
    std::size_t j = i;
    while (text.digit(j)) {
        if (!m.value.push_digit(static_cast<int>(text.at(j) - U'0'))) {
            return std::nullopt;
        }
        ++j;
    }
    m.digits = j - i;

    // Thousands groups: "5,000", "1,234,567" (a first group of at most three digits).
    if (m.digits <= 3) {
        while (text.at(j) == U',' && text.digit(j + 1) && text.digit(j + 2) && text.digit(j + 3) &&
               !text.digit(j + 4)) {
            for (std::size_t k = 1; k <= 3; ++k) {
                if (!m.value.push_digit(static_cast<int>(text.at(j + k) - U'0'))) {
                    return std::nullopt;
                }
            }
            m.digits += 3;
            m.grouped = true;
            j += 4;
        }
    }
    if (text.at(j) == U'.' && text.digit(j + 1)) {
        ++j;
        while (text.digit(j)) {
            if (!m.value.push_fraction_digit(static_cast<int>(text.at(j) - U'0'))) {
                return std::nullopt;
            }
            ++j;
        }
        m.fraction = true;
    }

    // "1.2.3" or "1,23": not a number we can read without guessing.
    if ((text.at(j) == U'.' || text.at(j) == U',') && text.digit(j + 1)) {
        return std::nullopt;
    }
    m.end = j;
    return m;
}

std::optional<CountMatch> parse_count(const Text& text, std::size_t i, std::uint64_t max) {
    if (text.digit(i)) {
        if (i > 0 && text.digit(i - 1)) {
            return std::nullopt;
        }
        std::uint64_t v = 0;
        std::size_t j = i;
        while (text.digit(j)) {
            if (j - i >= 6) {
                return std::nullopt;
            }
            v = v * 10 + (text.at(j) - U'0');
            ++j;
        }
        if (v > max) {
            return std::nullopt;
        }
        return CountMatch{v, j};
    }
    if (!numeral_char(text.at(i))) {
        return std::nullopt;
    }
    auto n = parse_numeral(text, i);
    if (!n || n->value.scale != 0 || n->value.mantissa > max) {
        return std::nullopt;
    }
    return CountMatch{n->value.mantissa, n->end};
}

}  // namespace detail

std::optional<std::string> parse_chinese_number(std::string_view text) {
    const detail::Text t(text);
    if (t.size() == 0) {
        return std::nullopt;
    }
    auto m = detail::parse_numeral(t, 0);
    if (!m || m->end != t.size()) {
        return std::nullopt;
    }
    return m->value.format(0, detail::Decimal::kMaxScale);
}

}  // namespace teller::nlu
