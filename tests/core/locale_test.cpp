// Locale detection that decides the reply language.
#include "teller/core/nlu.hpp"

#include <gtest/gtest.h>

namespace teller::core {
namespace {

TEST(LocaleTest, ChineseIdeographsMeanSimplifiedChinese) {
    EXPECT_EQ(detect_locale("我的卡丢了"), "zh-CN");
    EXPECT_EQ(detect_locale("card 1234 丢了"), "zh-CN");
}

TEST(LocaleTest, LatinDigitsAndEmojiMeanEnglish) {
    EXPECT_EQ(detect_locale("I lost my card"), "en");
    EXPECT_EQ(detect_locale("1234"), "en");
    EXPECT_EQ(detect_locale("😀 café"), "en");
    EXPECT_EQ(detect_locale(""), "en");
    EXPECT_EQ(detect_locale("\xE6\x88"), "en");  // truncated sequence does not crash
}

}  // namespace
}  // namespace teller::core
