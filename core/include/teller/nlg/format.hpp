// Locale formatting of the figures in replies: money, dates, percentages and plain numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace teller::nlg {

/// Parses a decimal amount ("5000", "-12.345", "5,000.50", "1e9", "0.005") into units of
/// 10^-`decimals`, rounding half away from zero on the decimal digits themselves (so "0.005"
/// with two decimals is exactly 1, never 0 through binary floating point). Commas are digit
/// group separators and are ignored. nullopt for anything else (letters, two dots, empty,
/// more than 18 significant integer digits). Thread-safe.
std::optional<std::int64_t> parse_scaled(std::string_view decimal, int decimals);

/// As parse_scaled for a JSON value: a string, an integer, or a double (taken through its
/// shortest round-trip decimal form, so 2.675 is "2.675" and rounds to 2.68). Thread-safe.
std::optional<std::int64_t> scaled_value(const boost::json::value& value, int decimals);

/// `scaled` (units of 10^-decimals) with comma thousands separators and exactly `decimals`
/// digits after the point: (-500000, 2) -> "-5,000.00". Both locales group the same way.
std::string format_scaled(std::int64_t scaled, int decimals);

/// Money in `minor` units (cents, fen) of `currency` (ISO 4217). Forms, documented in
/// knowledge/README.md:
///   en:    symbol before the figure: ¥5,000.00 (CNY), $5,000.00 (USD), €5,000.00 (EUR),
///          £5,000.00 (GBP); other codes "5,000.00 JPY"; negatives "-¥5,000.00".
///   zh-CN: figure, a space, then the currency word: 5,000.00 元, 5,000.00 美元, 5,000.00 欧元,
///          5,000.00 英镑; other codes "5,000.00 JPY"; negatives "-5,000.00 元".
/// Every currency is shown with two decimals. Any locale other than zh-CN formats as en.
std::string format_money(std::int64_t minor, std::string_view currency, std::string_view locale);

/// A calendar date: en "Dec 4, 2026", zh-CN "2026年12月4日". Thread-safe.
std::string format_date(int year, int month, int day, std::string_view locale);

/// An ISO date "YYYY-MM-DD" (a longer timestamp is cut to its date) formatted as format_date;
/// nullopt when it is not a valid calendar date.
std::optional<std::string> format_iso_date(std::string_view iso, std::string_view locale);

/// A percentage given in percent (3.85 means 3.85%) with `decimals` digits: "3.85%" in both
/// locales (the form Chinese banks print). nullopt when `value` is not a number.
std::optional<std::string> format_percent(const boost::json::value& value, int decimals,
                                          std::string_view locale);

}  // namespace teller::nlg
