// Currencies, the fixed demo rate table, and reading currencies and amounts from customer text.
// Thread-safe throughout, except RateTable::set, which is for start-up only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace example::exchange {

/// One currency the skill knows by name.
struct Currency {
    std::string_view code;     ///< ISO 4217
    std::string_view name_en;  ///< "US dollars"
    std::string_view name_zh;  ///< "美元"
    int decimals;              ///< minor units shown in amounts
};

/// Every currency the skill knows, in display order (US dollar first).
const std::vector<Currency>& currencies();

/// The currency with ISO code `code` (upper case), or nullptr.
const Currency* find_currency(std::string_view code);

/// Exchange rates as units of each currency for one US dollar. A default-constructed table
/// holds the DEMO rates: fixed, made-up illustration figures, NOT market data. Immutable once
/// set up, so concurrent readers are safe.
class RateTable {
public:
    RateTable();

    /// Replaces the rate of `code`; false when the code is unknown or `per_usd` is not a
    /// positive finite number. Not thread-safe: call it before the table is shared.
    bool set(std::string_view code, double per_usd);

    /// How many units of `to` one unit of `from` buys.
    double cross(const Currency& from, const Currency& to) const;

private:
    std::vector<double> per_usd_;  ///< parallel to currencies()
};

/// A currency named in the text, with its byte span.
struct Mention {
    const Currency* currency;
    std::size_t begin;
    std::size_t end;
};

/// Every currency named in `text` ("USD", "dollars", "$", "欧元", "人民币", ...), in order.
/// Matching is case-insensitive for ASCII; at each position the longest name wins, so "hong
/// kong dollar" is HKD and "美元" is not read as "元".
std::vector<Mention> find_mentions(std::string_view text);

/// A number in the text with its byte span.
struct Amount {
    double value;
    std::size_t begin;
    std::size_t end;
};

/// The first plain number in `text`: digits with optional thousands commas and decimals,
/// optionally followed by k / thousand / million / 千 / 万. nullopt when there is none.
std::optional<Amount> find_amount(std::string_view text);

/// True when `text` between `from` and `to` holds only spaces (or nothing).
bool only_spaces(std::string_view text, std::size_t from, std::size_t to);

/// True when the word just before byte `pos` (spaces skipped) says "to": "to", "into", "in",
/// "for", 成, 换, 兑, 对.
bool follows_to_word(std::string_view text, std::size_t pos);

/// `value` with `decimals` decimals and comma thousands separators: "1,234.50".
std::string format_amount(double value, int decimals);

/// A rate for display: 4 decimals, or 6 when it is below 0.01.
std::string format_rate(double rate);

}  // namespace example::exchange
