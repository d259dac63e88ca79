// Locale formatting tables: money, dates, percentages, exact decimal rounding.
#include "teller/nlg/format.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace teller::nlg {
namespace {

TEST(FormatTest, ParsesDecimalsExactlyAndRoundsHalfAwayFromZero) {
    EXPECT_EQ(parse_scaled("5000", 2), 500000);
    EXPECT_EQ(parse_scaled("5,000.50", 2), 500050);
    EXPECT_EQ(parse_scaled("0.005", 2), 1);
    EXPECT_EQ(parse_scaled("0.004", 2), 0);
    EXPECT_EQ(parse_scaled("-0.005", 2), -1);
    EXPECT_EQ(parse_scaled("1.005", 2), 101);
    EXPECT_EQ(parse_scaled("2.675", 2), 268);
    EXPECT_EQ(parse_scaled("1e9", 2), 100000000000);
    EXPECT_EQ(parse_scaled("1.5E-2", 2), 2);
    EXPECT_EQ(parse_scaled("0", 2), 0);
    EXPECT_EQ(parse_scaled("  42 ", 0), 42);
    EXPECT_FALSE(parse_scaled("", 2));
    EXPECT_FALSE(parse_scaled("abc", 2));
    EXPECT_FALSE(parse_scaled("1.2.3", 2));
    EXPECT_FALSE(parse_scaled("5e", 2));
    EXPECT_FALSE(parse_scaled("五千", 2));
    EXPECT_FALSE(parse_scaled("99999999999999999999", 2));
}

TEST(FormatTest, JsonDoublesRoundOnTheirShortestDecimalForm) {
    // 2.675 is 2.67499999... in binary; the decimal form the customer typed rounds up.
    EXPECT_EQ(scaled_value(boost::json::value(2.675), 2), 268);
    EXPECT_EQ(scaled_value(boost::json::value(1e9), 2), 100000000000);
    EXPECT_EQ(scaled_value(boost::json::value(-12), 2), -1200);
    EXPECT_EQ(scaled_value(boost::json::value("0.00"), 2), 0);
    EXPECT_FALSE(scaled_value(boost::json::value(true), 2));
    EXPECT_FALSE(scaled_value(boost::json::value(nullptr), 2));
}

TEST(FormatTest, MoneyTablePerLocaleAndCurrency) {
    struct Row {
        std::int64_t minor;
        const char* currency;
        const char* en;
        const char* zh;
    };
    const Row rows[] = {
        {500000, "CNY", "¥5,000.00", "5,000.00 元"},
        {0, "CNY", "¥0.00", "0.00 元"},
        {-123456, "CNY", "-¥1,234.56", "-1,234.56 元"},
        {1, "USD", "$0.01", "0.01 美元"},
        {100000000000, "EUR", "€1,000,000,000.00", "1,000,000,000.00 欧元"},
        {99999, "GBP", "£999.99", "999.99 英镑"},
        {150000, "JPY", "1,500.00 JPY", "1,500.00 JPY"},
    };
    for (const Row& r : rows) {
        EXPECT_EQ(format_money(r.minor, r.currency, "en"), r.en);
        EXPECT_EQ(format_money(r.minor, r.currency, "zh-CN"), r.zh);
    }
    EXPECT_EQ(format_money(INT64_MIN + 1, "CNY", "en"), "-¥92,233,720,368,547,758.07");
}

TEST(FormatTest, DatesPerLocaleAndInvalidDatesRefused) {
    EXPECT_EQ(format_date(2026, 12, 4, "en"), "Dec 4, 2026");
    EXPECT_EQ(format_date(2026, 12, 4, "zh-CN"), "2026年12月4日");
    EXPECT_EQ(format_iso_date("2024-02-29", "en"), "Feb 29, 2024");
    EXPECT_EQ(format_iso_date("2026-01-05T10:00:00Z", "zh-CN"), "2026年1月5日");
    EXPECT_FALSE(format_iso_date("2025-02-29", "en"));
    EXPECT_FALSE(format_iso_date("2026-13-01", "en"));
    EXPECT_FALSE(format_iso_date("4 Dec 2026", "en"));
}

TEST(FormatTest, PercentagesAndGrouping) {
    EXPECT_EQ(format_percent(boost::json::value(3.85), 2, "en"), "3.85%");
    EXPECT_EQ(format_percent(boost::json::value("18.25"), 2, "zh-CN"), "18.25%");
    EXPECT_EQ(format_percent(boost::json::value(0.005), 2, "en"), "0.01%");
    EXPECT_EQ(format_percent(boost::json::value(-1), 2, "en"), "-1.00%");
    EXPECT_FALSE(format_percent(boost::json::value("high"), 2, "en"));
    EXPECT_EQ(format_scaled(123456789, 0), "123,456,789");
    EXPECT_EQ(format_scaled(-5, 2), "-0.05");
    EXPECT_EQ(format_scaled(100, 2), "1.00");
}

}  // namespace
}  // namespace teller::nlg
