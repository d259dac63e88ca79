// Internals shared by the entity extractors: decoded text, exact decimals and candidates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "teller/nlu/entities.hpp"

namespace teller::nlu::detail {

/// One code point of the text, folded (ASCII upper case to lower, full-width ASCII to ASCII,
/// odd spaces to ' '), with the bytes it came from. Invalid UTF-8 becomes U+FFFD per byte.
struct Char {
    char32_t c = 0;
    std::size_t begin = 0;
    std::size_t end = 0;
};

/// Decoded, folded text with the small matching helpers every extractor uses.
class Text {
public:
    explicit Text(std::string_view raw);

    std::size_t size() const { return chars_.size(); }
    /// The folded code point at `i`, or 0 past either end.
    char32_t at(std::size_t i) const { return i < chars_.size() ? chars_[i].c : 0; }
    const Char& ch(std::size_t i) const { return chars_[i]; }
    std::string_view raw() const { return raw_; }
    /// The original bytes of chars [begin, end).
    std::string_view slice(std::size_t begin, std::size_t end) const;

    bool digit(std::size_t i) const { return at(i) >= U'0' && at(i) <= U'9'; }
    bool letter(std::size_t i) const { return at(i) >= U'a' && at(i) <= U'z'; }
    bool alnum(std::size_t i) const { return digit(i) || letter(i); }
    /// No ASCII letter or digit right before `i`.
    bool starts_word(std::size_t i) const { return i == 0 || !alnum(i - 1); }
    /// No ASCII letter or digit at `i`.
    bool ends_word(std::size_t i) const { return !alnum(i); }

    /// End of `s` when the folded text at `i` spells it exactly, else nullopt.
    std::optional<std::size_t> match(std::size_t i, std::u32string_view s) const;
    /// As match(), but `s` must also be a whole ASCII word (no letter or digit either side).
    std::optional<std::size_t> match_word(std::size_t i, std::u32string_view s) const;
    /// Skips at most `limit` spaces.
    std::size_t skip_spaces(std::size_t i, std::size_t limit = 1) const;

private:
    std::string_view raw_;
    std::vector<Char> chars_;
};

/// An exact non-negative decimal: mantissa / 10^scale, mantissa below 10^18, scale at most 9.
/// Every operation reports overflow instead of wrapping.
struct Decimal {
    static constexpr std::uint64_t kLimit = 1'000'000'000'000'000'000ULL;
    static constexpr int kMaxScale = 9;

    std::uint64_t mantissa = 0;
    int scale = 0;

    static Decimal of(std::uint64_t v) { return Decimal{v, 0}; }
    /// Appends a digit to the integer part (only while scale is 0).
    bool push_digit(int d);
    /// Appends a fraction digit; digits past kMaxScale are dropped.
    bool push_fraction_digit(int d);
    /// Multiplies by 10^places (places may be negative).
    bool shift(int places);
    bool add(const Decimal& other);
    bool multiply(std::uint64_t factor);
    bool integral() const;
    /// The integer part.
    std::uint64_t whole() const;
    bool zero() const { return mantissa == 0; }
    /// Rounded half up to `max_decimals`, trailing zeros cut down to `min_decimals`.
    std::string format(int min_decimals, int max_decimals) const;
};

/// A Chinese (or mixed digit/Chinese) numeral found in a text.
struct NumeralMatch {
    Decimal value;
    std::size_t end = 0;        ///< one past its last char
    bool magnitude = false;     ///< it uses 千, 万 or 亿
    bool single_digit = false;  ///< one digit char and nothing else
};

/// True for the characters a Chinese numeral may start with or contain (digits and units).
bool numeral_char(char32_t c);
/// The value of a Chinese or ASCII digit char, or -1.
int numeral_digit(char32_t c);
/// The longest Chinese numeral starting at `i` (ASCII digits allowed inside), or nullopt.
std::optional<NumeralMatch> parse_numeral(const Text& text, std::size_t i);

/// A plain ASCII number at `i`: digits, optional thousands groups ("5,000"), optional fraction.
struct NumberMatch {
    Decimal value;
    std::size_t end = 0;
    std::size_t digits = 0;  ///< integer digits, without separators
    bool grouped = false;
    bool fraction = false;
};
/// Nullopt unless `i` starts a number (no letter, digit or "5." before it, when `check_start`).
std::optional<NumberMatch> parse_number(const Text& text, std::size_t i, bool check_start = true);

/// A small non-negative integer written in ASCII digits or a Chinese numeral (dates, counts).
struct CountMatch {
    std::uint64_t value = 0;
    std::size_t end = 0;
};
std::optional<CountMatch> parse_count(const Text& text, std::size_t i, std::uint64_t max);

/// An entity before overlaps are resolved; begin/end are char indices.
struct Candidate {
    std::string type;
    std::string value;
    std::size_t begin = 0;
    std::size_t end = 0;
    bool masked = false;  ///< the text must be shown with all but the last four digits hidden
};

void find_dates(const Text& text, std::chrono::year_month_day today, std::vector<Candidate>& out);

}  // namespace teller::nlu::detail
