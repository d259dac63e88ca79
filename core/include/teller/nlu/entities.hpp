// Rule-based entity extractors (English and Simplified Chinese): amounts, dates, percentages,
// phone, card and account numbers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/nlu.hpp"

namespace teller::nlu {

/// What relative expressions ("tomorrow", "下周五", "5k") are resolved against.
struct EntityContext {
    /// The reference date. Its weekday is derived from it (so the two cannot disagree). A date
    /// that is not ok() (the default) means today's date in UTC, read once per call.
    std::chrono::year_month_day today{};
    /// ISO 4217 code given to amounts that name no currency ("5k", "5万", "1.5 million").
    std::string default_currency = "USD";

    /// The weekday of `today` (Monday..Sunday); of today's UTC date when `today` is not ok().
    std::chrono::weekday weekday() const;
};

/// The context of a message sent at `sent_at_ms[i]` (milliseconds since the epoch): its UTC
/// date as `today`. The default context (today) when there is no such entry or it is not
/// positive.
EntityContext context_sent_at(std::span<const std::int64_t> sent_at_ms, std::size_t i);

/// Finds the entities in `text` that rules can find exactly. Types and normalised values:
///  - `amount`: "5000.00 USD" (two decimals and an ISO code). A number is an amount only with a
///    currency (symbol, code, word: "$5,000", "EUR 300", "300 euros", "2,000.50元", "三千五百块")
///    or a multiplier ("5k", "$1.2m", "1.5 million", "5万", or a Chinese numeral with 千/万/亿
///    such as "五千"); a bare "2026" or "1234" is not one (nor "转账1000"). "¥" is read as
///    CNY; 块/元 may be followed by jiao and fen ("三块五" = 3.50, "五毛" = 0.50). Thousands may
///    be grouped by commas, or by spaces when a currency is written ("10 000 USD"); a decimal
///    comma ("5,00") is not read. Rounded half up to cents; 10^15 and above is not an amount.
///  - `date`: "YYYY-MM-DD". today/tomorrow/yesterday, "in 3 days", "2 weeks ago", weekday
///    names ("Friday" / "on Friday" / "this Friday": that day or the next 6; "next Friday": the
///    first one strictly after today; "last Friday": the last one strictly before), month-name
///    dates ("Dec 4", "4 December 2026"; no year: the reference year), ISO "2026-12-05",
///    US "12/05/2026" (month/day/year); 今天/明天/后天/大后天/昨天/前天, 周三/星期三/礼拜三
///    (that day or the next 6), 下周五/上周五/这周五 (calendar weeks from Monday),
///    "12月5日", "2026年12月5日", "3天后", "两周后", "3天前".
///  - `percentage`: "5.5" for "5.5%", "5.5 percent", "百分之五点五".
///  - `phone`: "+447911123456" for numbers with a "+" country code (8-15 digits); without one,
///    the digits of a North American "(555) 123-4567" / "555-123-4567" or a Chinese mobile
///    "138 1234 5678" / "13812345678".
///  - `card_number`: 13-19 digits (single spaces or dashes between groups), Luhn-valid only.
///    Value and text are masked ("************1111", "**** **** **** 1111"): the full number
///    appears nowhere in the entity.
///  - `card_last4`: the 4 digits after "ending (in|with)", "ends (in|with)", "last four
///    (digits)", "last 4", 尾号, 尾数, 末四位, 后四位 (fillers such as "is", ":", 是 between).
///  - `account_number`: an IBAN passing the ISO 13616 mod-97 check (value compact, upper case),
///    or 6-20 digits after "account (number|no|#)", "acct", "a/c", 账号, 帐号, 账户.
/// Entities never overlap: a card number wins first, then the longest span, then the order of
/// the list above. The result is sorted by position; offsets are bytes into `text`.
/// Total on any input (invalid UTF-8, huge numbers, long texts); linear in the text's length;
/// throws nothing but std::bad_alloc. Thread-safe (no shared state).
std::vector<core::Entity> extract_entities(std::string_view text,
                                           const EntityContext& context = {});

/// Converts a Chinese numeral to a plain decimal string: "三千五百" -> "3500",
/// "一万二" -> "12000" (a trailing digit counts in the unit below the last one), "一千零五" ->
/// "1005", "二零二六" -> "2026", "三点五" -> "3.5", "1.5万" -> "15000", "两亿" -> "200000000".
/// Accepts 零〇一二两三四五六七八九十百千万亿, the financial forms 壹贰叁肆伍陆柒捌玖拾佰仟,
/// 萬億, ASCII and full-width digits, and 点 or "." for decimals. Returns nullopt when the
/// whole of `text` is not one numeral or the value is 10^18 or more. Thread-safe.
std::optional<std::string> parse_chinese_number(std::string_view text);

/// True when `digits` (ASCII digits only, at least 2) passes the Luhn check. Thread-safe.
bool luhn_valid(std::string_view digits);

/// True when `iban` (compact, letters of either case) is 15-34 characters, starts with two
/// letters and two digits, and passes the ISO 13616 mod-97 check. Thread-safe.
bool iban_valid(std::string_view iban);

}  // namespace teller::nlu
