// Entity extractor tables (amounts, dates, percentages, phones, cards, accounts), Chinese
// numerals, overlaps, robustness on hostile input, and entities from IntentModel::parse.
#include "teller/nlu/entities.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "teller/nlu/intent_model.hpp"

namespace teller::nlu {
namespace {

using namespace std::chrono_literals;

// Friday 4 December 2026.
EntityContext friday() {
    return EntityContext{std::chrono::year{2026} / 12 / 4, "USD"};
}

EntityContext friday_cny() {
    return EntityContext{std::chrono::year{2026} / 12 / 4, "CNY"};
}

struct Case {
    std::string text;
    std::vector<std::string> values;  ///< values of the entities of the tested type, in order
};

// Values of the entities of `type` found in `text`.
std::vector<std::string> values_of(const std::string& type, const std::string& text,
                                   const EntityContext& context) {
    std::vector<std::string> out;
    for (const core::Entity& e : extract_entities(text, context)) {
        if (e.type == type) {
            out.push_back(e.value);
        }
    }
    return out;
}

void check_table(const std::string& type, const std::vector<Case>& table,
                 const EntityContext& context) {
    for (const Case& c : table) {
        EXPECT_EQ(values_of(type, c.text, context), c.values) << type << " in: " << c.text;
    }
}

// Every entity lies inside the text, entities are sorted and never overlap.
void check_well_formed(const std::string& text, const std::vector<core::Entity>& entities) {
    std::size_t last_end = 0;
    for (const core::Entity& e : entities) {
        ASSERT_LT(e.begin, e.end);
        ASSERT_LE(e.end, text.size());
        ASSERT_GE(e.begin, last_end);
        last_end = e.end;
        if (e.type != "card_number") {
            ASSERT_EQ(e.text, text.substr(e.begin, e.end - e.begin));
        }
    }
}

TEST(EntitiesTest, AmountsFollowTheTable) {
    check_table("amount",
                {
                    {"send $5,000 please", {"5000.00 USD"}},
                    {"about 5k", {"5000.00 USD"}},
                    {"about 5K", {"5000.00 USD"}},
                    {"EUR 300 to Anna", {"300.00 EUR"}},
                    {"300 euros", {"300.00 EUR"}},
                    {"¥2,000.50", {"2000.50 CNY"}},
                    {"￥2,000.50", {"2000.50 CNY"}},
                    {"转2,000.50元", {"2000.50 CNY"}},
                    {"转五千元", {"5000.00 CNY"}},
                    {"5万元", {"50000.00 CNY"}},
                    {"三千五百块", {"3500.00 CNY"}},
                    {"三块五", {"3.50 CNY"}},
                    {"五毛", {"0.50 CNY"}},
                    {"1.5 million", {"1500000.00 USD"}},
                    {"$1.2m", {"1200000.00 USD"}},
                    {"£12.345", {"12.35 GBP"}},
                    {"£ 7", {"7.00 GBP"}},
                    {"20 bucks and 3 pounds", {"20.00 USD", "3.00 GBP"}},
                    {"人民币5000", {"5000.00 CNY"}},
                    {"5000美元", {"5000.00 USD"}},
                    {"$5 $6", {"5.00 USD", "6.00 USD"}},
                    {"2 grand", {"2000.00 USD"}},
                    {"USD300 or 300usd", {"300.00 USD", "300.00 USD"}},
                    {"3千5百元", {"3500.00 CNY"}},
                    {"5百元", {"500.00 CNY"}},
                    {"5百", {}},
                    {"2,000万", {"20000000.00 USD"}},
                    {"1.5万元", {"15000.00 CNY"}},
                    {"A$5 but not data$5", {"5.00 AUD", "5.00 USD"}},
                    {"1,000,000 yen", {"1000000.00 JPY"}},
                    {"10 000 USD", {"10000.00 USD"}},
                    {"$1 250 000.50", {"1250000.50 USD"}},
                    {"10 500 dollars", {"10500.00 USD"}},
                    {"rooms 10 500", {}},
                    {"5,00 EUR", {}},
                    // Not amounts: bare numbers, years, last four digits, words with numerals.
                    {"in 2026", {}},
                    {"card 1234", {}},
                    {"5km away", {}},
                    {"等一下", {}},
                    {"千万别转", {}},
                    {"万一出错", {}},
                    {"3.5", {}},
                    {"version 1.2.3", {}},
                    {"$" + std::string(400, '9'), {}},
                },
                friday());
}

TEST(EntitiesTest, AmountsWithoutCurrencyTakeTheDefault) {
    check_table("amount",
                {
                    {"5万", {"50000.00 CNY"}},
                    {"一万二", {"12000.00 CNY"}},
                    {"5k", {"5000.00 CNY"}},
                    {"$5", {"5.00 USD"}},
                },
                friday_cny());
}

TEST(EntitiesTest, DatesFollowTheTable) {
    check_table("date",
                {
                    {"today", {"2026-12-04"}},
                    {"tomorrow", {"2026-12-05"}},
                    {"Yesterday", {"2026-12-03"}},
                    {"the day after tomorrow", {"2026-12-06"}},
                    {"next Friday", {"2026-12-11"}},
                    {"next fri", {"2026-12-11"}},
                    {"last Friday", {"2026-11-27"}},
                    {"this Friday", {"2026-12-04"}},
                    {"on Monday", {"2026-12-07"}},
                    {"Sunday", {"2026-12-06"}},
                    {"in 3 days", {"2026-12-07"}},
                    {"in two weeks", {"2026-12-18"}},
                    {"2 weeks ago", {"2026-11-20"}},
                    {"Dec 4", {"2026-12-04"}},
                    {"dec. 24th", {"2026-12-24"}},
                    {"4 December 2026", {"2026-12-04"}},
                    {"the 1st of March, 2027", {"2027-03-01"}},
                    {"January 15, 2027", {"2027-01-15"}},
                    {"2026-12-05", {"2026-12-05"}},
                    {"12/05/2026", {"2026-12-05"}},
                    {"明天", {"2026-12-05"}},
                    {"后天", {"2026-12-06"}},
                    {"大后天", {"2026-12-07"}},
                    {"昨天", {"2026-12-03"}},
                    {"下周五", {"2026-12-11"}},
                    {"上周五", {"2026-11-27"}},
                    {"这周一", {"2026-11-30"}},
                    {"周三", {"2026-12-09"}},
                    {"星期三", {"2026-12-09"}},
                    {"礼拜天", {"2026-12-06"}},
                    {"12月5日", {"2026-12-05"}},
                    {"2026年12月5日", {"2026-12-05"}},
                    {"二〇二七年一月三号", {"2027-01-03"}},
                    {"3天后", {"2026-12-07"}},
                    {"两周后", {"2026-12-18"}},
                    {"三天前", {"2026-12-01"}},
                    // Not dates.
                    {"I may pay", {}},
                    {"we march on", {}},
                    {"Feb 30", {}},
                    {"2026-13-01", {}},
                    {"13/05/2026", {}},
                    {"一周一次", {}},
                    {"in 99999 days", {}},
                    {"the sun is out", {}},
                },
                friday());
}

TEST(EntitiesTest, NextWeekdayCountsFromTheReferenceDate) {
    const EntityContext wednesday{std::chrono::year{2026} / 12 / 2, "USD"};
    EXPECT_EQ(wednesday.weekday(), std::chrono::Wednesday);
    EXPECT_EQ(values_of("date", "next Friday", wednesday), std::vector<std::string>{"2026-12-04"});
    EXPECT_EQ(values_of("date", "下周五", wednesday), std::vector<std::string>{"2026-12-11"});
    EXPECT_EQ(values_of("date", "周五", wednesday), std::vector<std::string>{"2026-12-04"});
    EXPECT_EQ(values_of("date", "Dec 31", EntityContext{std::chrono::year{2024} / 2 / 29, "USD"}),
              std::vector<std::string>{"2024-12-31"});
}

TEST(EntitiesTest, RelativeDatesAreReadAgainstTheTimeTheMessageWasSent) {
    // 2026-12-04T23:10:00Z: "yesterday" is Dec 3 whenever the message is read.
    const std::vector<std::int64_t> sent = {1796425800000, 0};
    const auto entities = extract_entities("yesterday", context_sent_at(sent, 0));
    ASSERT_EQ(entities.size(), 1u);
    EXPECT_EQ(entities[0].value, "2026-12-03");
    // No time (0, or no entry): today's date, as the default context.
    EXPECT_FALSE(context_sent_at(sent, 1).today.ok());
    EXPECT_FALSE(context_sent_at(sent, 7).today.ok());
}

TEST(EntitiesTest, DefaultContextUsesTodayInUtc) {
    auto utc_today = [] {
        const std::chrono::year_month_day d{
            std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                      static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
        return std::string(buf);
    };
    const std::string before = utc_today();
    const auto entities = extract_entities("today");
    const std::string after = utc_today();
    ASSERT_EQ(entities.size(), 1u);
    EXPECT_TRUE(entities[0].value == before || entities[0].value == after) << entities[0].value;
    EXPECT_EQ(values_of("amount", "5k", EntityContext{}), std::vector<std::string>{"5000.00 USD"});
}

TEST(EntitiesTest, PercentagesFollowTheTable) {
    check_table("percentage",
                {
                    {"5%", {"5"}},
                    {"5.5%", {"5.5"}},
                    {"5.5 percent", {"5.5"}},
                    {"3 per cent", {"3"}},
                    {"百分之五", {"5"}},
                    {"百分之五点五", {"5.5"}},
                    {"利率３％", {"3"}},
                    {"5.50 %", {"5.5"}},
                    {"5 per", {}},
                    {"5", {}},
                },
                friday());
}

TEST(EntitiesTest, PhonesFollowTheTable) {
    check_table("phone",
                {
                    {"call +44 7911 123456", {"+447911123456"}},
                    {"+1 (555) 123-4567", {"+15551234567"}},
                    {"(555) 123-4567", {"5551234567"}},
                    {"555-123-4567", {"5551234567"}},
                    {"138 1234 5678", {"13812345678"}},
                    {"13812345678", {"13812345678"}},
                    {"+86 138-1234-5678", {"+8613812345678"}},
                    {"打+86 13812345678", {"+8613812345678"}},
                    {"+44 (0)20 7946 0958", {"+442079460958"}},
                    {"+12 34", {}},
                    {"123-45-6789", {}},
                    {"2026-12-05", {}},
                    {"(555) 123-4567 89", {}},
                    {"+1234567890123456", {}},
                },
                friday());
}

TEST(EntitiesTest, CardNumbersAreLuhnCheckedAndMasked) {
    check_table("card_number",
                {
                    {"card 4111 1111 1111 1111", {"************1111"}},
                    {"4111-1111-1111-1111", {"************1111"}},
                    {"4111111111111111", {"************1111"}},
                    {"amex 3782 822463 10005", {"***********0005"}},
                    {"4111 1111 1111 1112", {}},
                    {"1234", {}},
                    {"4111 1111 1111 1111 2026", {"************1111"}},
                },
                friday());

    const std::string text = "my card is 4111 1111 1111 1111 thanks";
    const auto entities = extract_entities(text, friday());
    ASSERT_EQ(entities.size(), 1u);
    EXPECT_EQ(entities[0].text, "**** **** **** 1111");
    EXPECT_EQ(text.substr(entities[0].begin, entities[0].end - entities[0].begin),
              "4111 1111 1111 1111");
    for (const core::Entity& e : entities) {
        EXPECT_EQ(e.value.find("41111111"), std::string::npos);
        EXPECT_EQ(e.text.find("4111"), std::string::npos);
    }
}

TEST(EntitiesTest, CardLastFourFollowsItsCues) {
    check_table("card_last4",
                {
                    {"card ending 1234", {"1234"}},
                    {"the card ending in 9876 was lost", {"9876"}},
                    {"last four 1234", {"1234"}},
                    {"last four digits are 5678", {"5678"}},
                    {"尾号1234的卡", {"1234"}},
                    {"尾号是 4321", {"4321"}},
                    {"ending 12345", {}},
                    {"1234", {}},
                },
                friday());
}

TEST(EntitiesTest, AccountNumbersFollowTheTable) {
    check_table("account_number",
                {
                    {"IBAN GB82 WEST 1234 5698 7654 32 please", {"GB82WEST12345698765432"}},
                    {"gb82west12345698765432", {"GB82WEST12345698765432"}},
                    {"DE89 3704 0044 0532 0130 00", {"DE89370400440532013000"}},
                    {"GB83 WEST 1234 5698 7654 32", {}},
                    {"account 12345678", {"12345678"}},
                    {"account number: 12345678", {"12345678"}},
                    {"acct #0012-3456", {"00123456"}},
                    {"账号 62220212", {"62220212"}},
                    {"account 123", {}},
                    {"account ending 1234", {}},
                },
                friday());
}

// More tricky cases per type: grouping, symbols after the number, Chinese units and
// colloquial forms, calendar edges, separators and checksums.
TEST(EntitiesTest, TrickyAmounts) {
    check_table("amount",
                {
                    {"$5,000.00", {"5000.00 USD"}},
                    {"$5,000,000", {"5000000.00 USD"}},
                    {"5,000 dollars", {"5000.00 USD"}},
                    {"only $0.99", {"0.99 USD"}},
                    {"usd 1,234.56", {"1234.56 USD"}},
                    {"€300", {"300.00 EUR"}},
                    {"RMB 500", {"500.00 CNY"}},
                    {"500 rmb", {"500.00 CNY"}},
                    {"5k USD", {"5000.00 USD"}},
                    {"两万五千元", {"25000.00 CNY"}},
                    {"一百块钱", {"100.00 CNY"}},
                    {"十元", {"10.00 CNY"}},
                    {"0.5万", {"5000.00 USD"}},
                    {"¥ 2,000.50", {"2000.50 CNY"}},
                    {"JPY 1000", {"1000.00 JPY"}},
                    {"send $5,000.", {"5000.00 USD"}},
                    {"($300)", {"300.00 USD"}},
                    {"$5,000 and EUR 300", {"5000.00 USD", "300.00 EUR"}},
                    // Not amounts.
                    {"1,5", {}},
                    {"room 5", {}},
                    {"5 kids", {}},
                    {"order #5000", {}},
                    {"5000", {}},
                    {"一", {}},
                },
                friday());
}

TEST(EntitiesTest, TrickyDates) {
    check_table("date",
                {
                    {"tomorrow morning", {"2026-12-05"}},
                    {"TOMORROW", {"2026-12-05"}},
                    {"next monday", {"2026-12-07"}},
                    {"Friday", {"2026-12-04"}},
                    {"5th December", {"2026-12-05"}},
                    {"December 5th, 2026", {"2026-12-05"}},
                    {"2024-02-29", {"2024-02-29"}},
                    {"2026-02-29", {}},
                    {"on 2026-12-05.", {"2026-12-05"}},
                    {"明天下午", {"2026-12-05"}},
                    {"下周日", {"2026-12-13"}},
                    {"周日", {"2026-12-06"}},
                    {"这周五", {"2026-12-04"}},
                    {"1月1号", {"2026-01-01"}},
                    {"2027年1月1日", {"2027-01-01"}},
                    {"tomorrow or the day after tomorrow", {"2026-12-05", "2026-12-06"}},
                    // Not dates.
                    {"2026", {}},
                    {"12/31", {}},
                    {"may I", {}},
                },
                friday());
}

TEST(EntitiesTest, TrickyPercentagesPhonesCardsAndAccounts) {
    check_table("percentage",
                {
                    {"0.5%", {"0.5"}},
                    {"12.50%", {"12.5"}},
                    {"百分之十", {"10"}},
                    {"百分之零点五", {"0.5"}},
                    {"50％", {"50"}},
                    {"rate 3.5 per cent", {"3.5"}},
                    {"100%", {"100"}},
                },
                friday());
    check_table("phone",
                {
                    {"+1-555-123-4567", {"+15551234567"}},
                    {"(555)123-4567", {"5551234567"}},
                    {"call 555-123-4567.", {"5551234567"}},
                    {"+8613812345678", {"+8613812345678"}},
                    {"12345678901", {}},
                    {"1234", {}},
                },
                friday());
    check_table("card_number",
                {
                    {"5500 0000 0000 0004", {"************0004"}},
                    {"6011111111111117", {"************1117"}},
                    {"card: 4111-1111-1111-1111.", {"************1111"}},
                    {"4111  1111 1111 1111", {}},
                    {"41111111111111111111111", {}},
                },
                friday());
    check_table("account_number",
                {
                    {"a/c 123456", {"123456"}},
                    {"account no 12345678", {"12345678"}},
                    {"帐号62220212", {"62220212"}},
                    {"IBAN DE89370400440532013000", {"DE89370400440532013000"}},
                    {"account #12345", {}},
                },
                friday());
}

TEST(EntitiesTest, TrickyCasesOfEveryType) {
    check_table("amount",
                {
                    {"5 thousand dollars", {"5000.00 USD"}},
                    {"1.5k", {"1500.00 USD"}},
                    {"$1.5k", {"1500.00 USD"}},
                    {"5万块", {"50000.00 CNY"}},
                    {"5千", {"5000.00 USD"}},
                    {"三万", {"30000.00 USD"}},
                    {"¥5万", {"50000.00 CNY"}},
                    {"-$50", {"50.00 USD"}},
                    {"US$100", {"100.00 USD"}},
                    {"CNY500", {"500.00 CNY"}},
                    {"1,000.5", {}},
                    {"$1,00", {}},
                    {"5 million yuan", {"5000000.00 CNY"}},
                    {"两千块", {"2000.00 CNY"}},
                    {"十块", {"10.00 CNY"}},
                    {"一块钱", {"1.00 CNY"}},
                    {"5.5万元", {"55000.00 CNY"}},
                    {"$5 000", {"5000.00 USD"}},
                    {"pay 5,000", {}},
                    {"€ 1.000,00", {}},
                },
                friday());
    check_table("date",
                {
                    {"Dec 32", {}},
                    {"31/12/2026", {}},
                    {"十二月五日", {"2026-12-05"}},
                    {"12月5号", {"2026-12-05"}},
                    {"后天下午", {"2026-12-06"}},
                    {"next Fri.", {"2026-12-11"}},
                    {"in 1 day", {"2026-12-05"}},
                    {"2026/12/05", {"2026-12-05"}},
                    {"Dec 5 2026", {"2026-12-05"}},
                    {"5 Dec", {"2026-12-05"}},
                    {"friday the 13th", {"2026-12-04"}},
                    {"下周一", {"2026-12-07"}},
                    {"上周日", {"2026-11-29"}},
                    {"星期日", {"2026-12-06"}},
                    {"周五", {"2026-12-04"}},
                    {"今天", {"2026-12-04"}},
                    {"2月29日", {}},
                },
                friday());
    check_table("percentage",
                {
                    {"百分之一百", {"100"}},
                    {"5pct", {}},
                    {"-5%", {"5"}},
                    {"5.5 %", {"5.5"}},
                },
                friday());
    check_table("phone",
                {
                    {"+44 20 7946 0958", {"+442079460958"}},
                    {"138-1234-5678", {"13812345678"}},
                    {"+1 555 123 4567", {"+15551234567"}},
                    {"555 123 4567", {"5551234567"}},
                    {"(+86) 138 1234 5678", {"+8613812345678"}},
                    {"555.123.4567", {"5551234567"}},
                },
                friday());
    check_table("card_number",
                {
                    {"3782-822463-10005", {"***********0005"}},
                    // Glued to a word on either side: still masked (the safe side).
                    {"abc4111111111111111", {"************1111"}},
                    {"4111111111111111abc", {"************1111"}},
                    {"cardno4111 1111 1111 1111", {"************1111"}},
                    {"94111111111111111", {}},
                    {"4111 1111 1111 1111/2026", {"************1111"}},
                },
                friday());
    check_table("account_number",
                {
                    {"account number is 12345678", {"12345678"}},
                    {"账户：12345678", {"12345678"}},
                    {"acct no. 12345678", {"12345678"}},
                    {"account: 1234-5678", {"12345678"}},
                    {"account 1234567890123456789012", {}},
                },
                friday());
    check_table("card_last4",
                {
                    {"card ending with 1234", {"1234"}},
                    {"ends in 9876", {"9876"}},
                    {"last 4: 4321", {"4321"}},
                    {"末四位是5678", {"5678"}},
                    {"后四位1234", {"1234"}},
                    {"尾数 8888", {"8888"}},
                    {"ending in 123", {}},
                },
                friday());
}

TEST(EntitiesTest, MixedTextGivesSeparateEntitiesInOrder) {
    const std::string text = "$5,000 tomorrow";
    const auto entities = extract_entities(text, friday());
    ASSERT_EQ(entities.size(), 2u);
    EXPECT_EQ(entities[0].type, "amount");
    EXPECT_EQ(entities[0].value, "5000.00 USD");
    EXPECT_EQ(entities[0].text, "$5,000");
    EXPECT_EQ(entities[0].begin, 0u);
    EXPECT_EQ(entities[0].end, 6u);
    EXPECT_EQ(entities[1].type, "date");
    EXPECT_EQ(entities[1].value, "2026-12-05");
    EXPECT_EQ(entities[1].begin, 7u);
    EXPECT_EQ(entities[1].end, 15u);

    const std::string zh = "明天转5万元给138 1234 5678, 利率百分之三";
    const auto found = extract_entities(zh, friday());
    ASSERT_EQ(found.size(), 4u);
    EXPECT_EQ(found[0].type, "date");
    EXPECT_EQ(found[0].text, "明天");
    EXPECT_EQ(found[1].type, "amount");
    EXPECT_EQ(found[1].text, "5万元");
    EXPECT_EQ(found[2].type, "phone");
    EXPECT_EQ(found[3].type, "percentage");
    EXPECT_EQ(found[3].value, "3");
    check_well_formed(zh, found);

    const std::string en = "Pay 300 euros on Monday to +44 7911 123456 from card ending 4242";
    std::vector<std::string> types;
    for (const core::Entity& e : extract_entities(en, friday())) {
        types.push_back(e.type);
    }
    EXPECT_EQ(types, (std::vector<std::string>{"amount", "date", "phone", "card_last4"}));
}

TEST(EntitiesTest, ChineseNumeralsConvert) {
    const std::vector<std::pair<std::string, std::string>> table{
        {"零", "0"},
        {"十", "10"},
        {"十五", "15"},
        {"二十", "20"},
        {"一百零五", "105"},
        {"一千零五十", "1050"},
        {"三千五百", "3500"},
        {"三千五", "3500"},
        {"一万二", "12000"},
        {"两百五", "250"},
        {"一万零二", "10002"},
        {"十万", "100000"},
        {"一亿三千万", "130000000"},
        {"两亿", "200000000"},
        {"三点五", "3.5"},
        {"1.5万", "15000"},
        {"二零二六", "2026"},
        {"壹仟贰佰", "1200"},
        {"一万亿", "1000000000000"},
        {"3千5", "3500"},
        {"５万", "50000"},
        {"一点零五", "1.05"},
    };
    for (const auto& [text, value] : table) {
        EXPECT_EQ(parse_chinese_number(text), std::optional<std::string>(value)) << text;
    }
    for (const std::string bad :
         {"", "百", "万一", "千万", "三点", "十百", "abc", "一万二万", "一亿亿", "五块",
          "九九九九九九九九九九九九九九九九九九九九", "\xff"}) {
        EXPECT_EQ(parse_chinese_number(bad), std::nullopt) << bad;
    }
}

TEST(EntitiesTest, ChecksumsAreRight) {
    EXPECT_TRUE(luhn_valid("4111111111111111"));
    EXPECT_TRUE(luhn_valid("378282246310005"));
    EXPECT_FALSE(luhn_valid("4111111111111112"));
    EXPECT_FALSE(luhn_valid("41a1"));
    EXPECT_FALSE(luhn_valid("0"));
    EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
    EXPECT_TRUE(iban_valid("gb82west12345698765432"));
    EXPECT_FALSE(iban_valid("GB82WEST12345698765433"));
    EXPECT_FALSE(iban_valid("GB82"));
    EXPECT_FALSE(iban_valid("1282WEST12345698765432"));
}

TEST(EntitiesTest, InvalidUtf8KeepsByteOffsets) {
    const std::string text = "\xff\xfe$5\xc3 \xe6\x98";
    const auto entities = extract_entities(text, friday());
    ASSERT_EQ(entities.size(), 1u);
    EXPECT_EQ(entities[0].value, "5.00 USD");
    EXPECT_EQ(entities[0].begin, 2u);
    EXPECT_EQ(entities[0].end, 4u);
}

TEST(EntitiesTest, RandomBytesGiveWellFormedResults) {
    std::mt19937 rng(7);
    const std::vector<std::string> pieces{"$",   "5",    ",",  "000",  ".",        "万",     "元",
                                          "一",  "十",   " ",  "+",    "4111",     "-",      "%",
                                          "dec", "明天", "周", "\xff", "\xe4\xb8", "ending", "GB82",
                                          "(",   ")",    "/",  "年"};
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        const int n = static_cast<int>(rng() % 40);
        for (int k = 0; k < n; ++k) {
            if (rng() % 3 == 0) {
                text.push_back(static_cast<char>(rng() % 256));
            } else {
                text += pieces[rng() % pieces.size()];
            }
        }
        check_well_formed(text, extract_entities(text, friday()));
    }
}

TEST(EntitiesTest, HundredThousandCharactersTakeLittleTime) {
    const std::vector<std::string> inputs{
        std::string(100'000, '9'),
        "1." + std::string(100'000, '0'),
        std::string(100'000, '$'),
        [] {
            std::string s;
            for (int k = 0; k < 33'000; ++k) {
                s += "一";
            }
            return s;
        }(),
        [] {
            std::string s;
            while (s.size() < 100'000) {
                s += "$5,000 4111 1111 1111 1111 +44 7911 123456 明天 5% GB82 WEST 1 ";
            }
            return s;
        }(),
        [] {
            std::string s;
            while (s.size() < 100'000) {
                s += "1 2-3.4/5 ";
            }
            return s;
        }(),
        std::string(100'000, '\xff'),
    };
    for (const std::string& text : inputs) {
        const auto start = std::chrono::steady_clock::now();
        const auto entities = extract_entities(text, friday());
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_LT(took, 2s) << text.substr(0, 20);
        check_well_formed(text, entities);
    }
}

TEST(EntitiesTest, IntentModelParseReturnsEntities) {
    TrainOptions options;
    options.epochs = 2;
    options.embedding_dim = 8;
    options.hidden_dim = 8;
    options.buckets = 1 << 10;
    options.min_count = 1;
    options.ensemble = 1;
    const auto model = IntentModel::train(
        {{"send money to Anna", "transfer", {}}, {"what is my balance", "balance", {}}}, options);
    const std::vector<std::string> texts{"send $5,000 to Anna", "balance"};
    const auto results = model->parse(texts);
    ASSERT_EQ(results.size(), 2u);
    ASSERT_EQ(results[0].entities.size(), 1u);
    EXPECT_EQ(results[0].entities[0].type, "amount");
    EXPECT_EQ(results[0].entities[0].value, "5000.00 USD");
    EXPECT_TRUE(results[1].entities.empty());
}

}  // namespace
}  // namespace teller::nlu
