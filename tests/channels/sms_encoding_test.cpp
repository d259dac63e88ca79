// GSM-7 / UCS-2 choice, segment counts, splitting and truncation; keywords; forms.
#include "teller/channels/sms.hpp"

#include <gtest/gtest.h>

#include <string>

#include "sms_text.hpp"

namespace teller::channels {
namespace {

std::string repeat(std::string_view piece, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += piece;
    }
    return out;
}

TEST(SmsEncodingTest, BasicSetHas127CharactersAndExtensionTableTen) {
    int basic = 0;
    int extension = 0;
    for (char32_t c = 0; c < 0x3000; ++c) {
        int septets = gsm7_septets(c);
        basic += septets == 1;
        extension += septets == 2;
    }
    EXPECT_EQ(basic, 127);  // 128 codes, one of them the escape
    EXPECT_EQ(extension, 10);
    EXPECT_EQ(gsm7_septets(U'€'), 2);
    for (char32_t c : std::u32string(U"^{}\\[~]|")) {
        EXPECT_EQ(gsm7_septets(c), 2) << static_cast<int>(c);
    }
}

TEST(SmsEncodingTest, AsciiOutsideGsmIsNotGsm) {
    EXPECT_EQ(gsm7_septets(U'`'), 0);
    EXPECT_EQ(gsm7_septets(U'\t'), 0);
    EXPECT_EQ(gsm7_septets(U'ç'), 0);  // only the capital is in the table
    EXPECT_EQ(gsm7_septets(U'你'), 0);
    EXPECT_EQ(gsm7_septets(U'@'), 1);
    EXPECT_EQ(gsm7_septets(U'$'), 1);
    EXPECT_EQ(gsm7_septets(U'\n'), 1);
}

TEST(SmsEncodingTest, NationalCharactersOfTheBasicSetStayGsm) {
    std::string text = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà";
    SmsMeasure m = measure_sms(text);
    EXPECT_EQ(m.encoding, SmsEncoding::gsm7);
    EXPECT_EQ(m.units, 42u);
    EXPECT_EQ(m.segments, 1u);
}

TEST(SmsEncodingTest, EmptyTextHasNoSegments) {
    SmsMeasure m = measure_sms("");
    EXPECT_EQ(m.encoding, SmsEncoding::gsm7);
    EXPECT_EQ(m.segments, 0u);
    EXPECT_TRUE(split_sms("").empty());
}

TEST(SmsEncodingTest, GsmSegmentBoundaries) {
    EXPECT_EQ(measure_sms(repeat("a", 160)).segments, 1u);
    EXPECT_EQ(measure_sms(repeat("a", 161)).segments, 2u);
    EXPECT_EQ(measure_sms(repeat("a", 306)).segments, 2u);
    EXPECT_EQ(measure_sms(repeat("a", 307)).segments, 3u);
    EXPECT_EQ(measure_sms(repeat("a", 161)).units, 161u);
}

TEST(SmsEncodingTest, ExtensionCharactersCountTwoSeptets) {
    SmsMeasure m = measure_sms(repeat("€", 80));
    EXPECT_EQ(m.encoding, SmsEncoding::gsm7);
    EXPECT_EQ(m.units, 160u);
    EXPECT_EQ(m.segments, 1u);

    // 81 euros: 76 fill 152 septets of the first part, the 77th would need 154.
    auto parts = split_sms(repeat("€", 81));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0], repeat("€", 76));
    EXPECT_EQ(parts[1], repeat("€", 5));
}

TEST(SmsEncodingTest, EscapePairIsNeverSplitAcrossParts) {
    std::string text = repeat("a", 152) + "{" + repeat("b", 10);
    SmsMeasure m = measure_sms(text);
    EXPECT_EQ(m.units, 164u);
    auto parts = split_sms(text);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0], repeat("a", 152));  // 152 + 2 would be 154 > 153
    EXPECT_EQ(parts[1], "{" + repeat("b", 10));
}

TEST(SmsEncodingTest, OneCharacterOutsideGsmMakesTheWholeTextUcs2) {
    SmsMeasure m = measure_sms("Don\xE2\x80\x99t worry");  // a curly apostrophe
    EXPECT_EQ(m.encoding, SmsEncoding::ucs2);
    EXPECT_EQ(m.units, 11u);
    EXPECT_EQ(measure_sms(repeat("a", 100) + "`").segments, 2u);  // 101 UCS-2 units
}

TEST(SmsEncodingTest, ChineseIsUcs2WithSeventyPerSegment) {
    EXPECT_EQ(measure_sms(repeat("你", 70)).encoding, SmsEncoding::ucs2);
    EXPECT_EQ(measure_sms(repeat("你", 70)).segments, 1u);
    EXPECT_EQ(measure_sms(repeat("你", 71)).segments, 2u);
    EXPECT_EQ(measure_sms(repeat("你", 134)).segments, 2u);
    EXPECT_EQ(measure_sms(repeat("你", 135)).segments, 3u);
    auto parts = split_sms(repeat("你", 71));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0], repeat("你", 67));
    EXPECT_EQ(parts[1], repeat("你", 4));
}

TEST(SmsEncodingTest, EmojiCountsTwoUnits) {
    SmsMeasure one = measure_sms(repeat("😀", 35));
    EXPECT_EQ(one.encoding, SmsEncoding::ucs2);
    EXPECT_EQ(one.units, 70u);
    EXPECT_EQ(one.segments, 1u);
    EXPECT_EQ(measure_sms("a" + repeat("😀", 35)).segments, 2u);
}

TEST(SmsEncodingTest, SurrogatePairIsNeverSplitAcrossParts) {
    std::string text = repeat("a", 66) + "😀" + repeat("b", 10);
    auto parts = split_sms(text);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0], repeat("a", 66));  // 66 + 2 would be 68 > 67
    EXPECT_EQ(parts[1], "😀" + repeat("b", 10));
}

TEST(SmsEncodingTest, PartsConcatenateBackToTheText) {
    for (std::string text : {repeat("Hello, world. ", 40), repeat("您好，世界😀", 50),
                             repeat("x€", 200), std::string("short")}) {
        auto parts = split_sms(text);
        std::string joined;
        for (const auto& p : parts) {
            joined += p;
        }
        EXPECT_EQ(joined, text);
        EXPECT_EQ(parts.size(), measure_sms(text).segments);
    }
}

TEST(SmsEncodingTest, BytesThatAreNotUtf8CountAsUcs2) {
    SmsMeasure m = measure_sms("abc\xFF");
    EXPECT_EQ(m.encoding, SmsEncoding::ucs2);
    EXPECT_EQ(m.units, 4u);
}

TEST(SmsEncodingTest, FitKeepsTextThatFits) {
    EXPECT_EQ(fit_sms("hello", "\n\nReply 1 for A", 1), "hello\n\nReply 1 for A");
}

TEST(SmsEncodingTest, FitTruncatesGsmTextWithDots) {
    std::string fitted = fit_sms(repeat("word ", 100), "", 2);
    EXPECT_TRUE(fitted.starts_with("word word "));
    EXPECT_TRUE(fitted.ends_with("..."));
    SmsMeasure m = measure_sms(fitted);
    EXPECT_EQ(m.encoding, SmsEncoding::gsm7);
    EXPECT_EQ(m.segments, 2u);
    EXPECT_GT(m.units, 290u);  // close to the 306 available
}

TEST(SmsEncodingTest, FitTruncatesChineseTextWithAnEllipsisCharacter) {
    std::string fitted = fit_sms(repeat("余额查询", 100), "", 1);
    EXPECT_EQ(fitted, repeat("余额查询", 17) + "余" + "…");  // 69 + 1 = 70 units
    EXPECT_EQ(measure_sms(fitted).segments, 1u);
}

TEST(SmsEncodingTest, FitKeepsTheSuffixAndCutsTheText) {
    std::string menu = "\n\nReply 1 for Balance\nReply 2 for Cards";
    std::string fitted = fit_sms(repeat("a", 400), menu, 2);
    EXPECT_TRUE(fitted.ends_with("a..." + menu));
    EXPECT_EQ(measure_sms(fitted).segments, 2u);
}

TEST(SmsEncodingTest, FitCutsTheWholeTextWhenTheSuffixAloneIsTooLong) {
    std::string fitted = fit_sms("Pick one:", repeat("Reply 9 for something\n", 20), 1);
    EXPECT_TRUE(fitted.starts_with("Pick one:Reply 9"));
    EXPECT_TRUE(fitted.ends_with("..."));
    EXPECT_EQ(measure_sms(fitted).segments, 1u);
}

TEST(SmsEncodingTest, FitNeverCutsInsideACharacter) {
    std::string fitted = fit_sms(repeat("😀", 100), "", 1);
    EXPECT_TRUE(core::is_valid_utf8(fitted));
    EXPECT_EQ(fitted, repeat("😀", 34) + "…");  // 68 + 1 units
}

TEST(SmsKeywordTest, StandardKeywordsMatchTrimmedAndInAnyCase) {
    for (std::string_view k : {"STOP", "stop", " Stop ", "STOPALL", "unsubscribe", "CANCEL", "end",
                               "QUIT", "退订", "　退订　", "取消订阅"}) {
        EXPECT_EQ(classify_sms_keyword(k), SmsKeyword::opt_out) << k;
    }
    for (std::string_view k : {"START", "yes", "Unstop", "订阅"}) {
        EXPECT_EQ(classify_sms_keyword(k), SmsKeyword::opt_in) << k;
    }
    for (std::string_view k : {"HELP", "info", "帮助"}) {
        EXPECT_EQ(classify_sms_keyword(k), SmsKeyword::help) << k;
    }
    for (std::string_view k : {"stop it", "please stop", "STOPP", "", "helpful", "yes please"}) {
        EXPECT_EQ(classify_sms_keyword(k), SmsKeyword::none) << k;
    }
}

TEST(SmsFormTest, DecodesPairsInOrder) {
    auto fields = parse_form("Body=%E4%BD%A0%E5%A5%BD+there&From=%2B15551234567&&Empty=&Flag");
    ASSERT_TRUE(fields);
    ASSERT_EQ(fields->size(), 4u);
    EXPECT_EQ((*fields)[0], (std::pair<std::string, std::string>{"Body", "你好 there"}));
    EXPECT_EQ((*fields)[1].second, "+15551234567");
    EXPECT_EQ((*fields)[2], (std::pair<std::string, std::string>{"Empty", ""}));
    EXPECT_EQ((*fields)[3], (std::pair<std::string, std::string>{"Flag", ""}));
    EXPECT_EQ(form_value(*fields, "From"), "+15551234567");
    EXPECT_FALSE(form_value(*fields, "To"));
}

TEST(SmsFormTest, RefusesBrokenPercentEscapes) {
    EXPECT_FALSE(parse_form("a=%zz"));
    EXPECT_FALSE(parse_form("a=%4"));
    EXPECT_FALSE(parse_form("a=%"));
    EXPECT_FALSE(parse_form("%G1=b"));
}

TEST(SmsFormTest, EncodeRoundTrips) {
    std::string value = "a b+c&d=e/你好~.-_%";
    EXPECT_EQ(form_encode(value), "a+b%2Bc%26d%3De%2F%E4%BD%A0%E5%A5%BD~.-_%25");
    auto back = parse_form("v=" + form_encode(value));
    ASSERT_TRUE(back);
    EXPECT_EQ(form_value(*back, "v"), value);
}

TEST(SmsTextTest, OptionNumbersAcceptAsciiAndFullWidthDigits) {
    EXPECT_EQ(detail::option_number("1"), 1u);
    EXPECT_EQ(detail::option_number(" 2\n"), 2u);
    EXPECT_EQ(detail::option_number("１"), 1u);
    EXPECT_EQ(detail::option_number("１２"), 12u);
    EXPECT_EQ(detail::option_number("0"), 0u);
    EXPECT_EQ(detail::option_number("123"), 0u);
    EXPECT_EQ(detail::option_number("1a"), 0u);
    EXPECT_EQ(detail::option_number(""), 0u);
}

TEST(SmsTextTest, MenuIsNumberedInTheCustomersLanguage) {
    std::vector<core::Choice> choices = {{"Balance", "check_balance"}, {"", "cards"}};
    EXPECT_EQ(detail::numbered_menu(choices, false), "\n\nReply 1 for Balance\nReply 2 for cards");
    EXPECT_EQ(detail::numbered_menu({{"查询余额", "check_balance"}}, true), "\n\n回复 1：查询余额");
    EXPECT_EQ(detail::numbered_menu({}, false), "");
}

}  // namespace
}  // namespace teller::channels
