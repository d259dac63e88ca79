// Tests of the text helpers shared by the Telegram and WhatsApp adapters.
#include "messenger_text.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels::detail {
namespace {

std::string joined(const std::vector<std::string>& pieces) {
    std::string all;
    for (const std::string& piece : pieces) {
        all += piece;
    }
    return all;
}

TEST(MessengerTextTest, CountsUtf16UnitsAndCodePoints) {
    EXPECT_EQ(text_length("abc", TextUnit::utf16), 3u);
    EXPECT_EQ(text_length("您好", TextUnit::utf16), 2u);
    EXPECT_EQ(text_length("您好", TextUnit::code_point), 2u);
    EXPECT_EQ(text_length("😀", TextUnit::utf16), 2u);  // beyond U+FFFF: a surrogate pair
    EXPECT_EQ(text_length("😀", TextUnit::code_point), 1u);
}

TEST(MessengerTextTest, TextWithinTheLimitIsOnePiece) {
    EXPECT_EQ(split_text("hello world", 11, TextUnit::utf16),
              std::vector<std::string>{"hello world"});
    EXPECT_TRUE(split_text("", 10, TextUnit::utf16).empty());
}

TEST(MessengerTextTest, CutsAtTheLastLineBreakThenAtSpaces) {
    EXPECT_EQ(split_text("first line\nsecond line", 15, TextUnit::utf16),
              (std::vector<std::string>{"first line", "second line"}));
    EXPECT_EQ(split_text("one two three four", 9, TextUnit::utf16),
              (std::vector<std::string>{"one two", "three", "four"}));
}

TEST(MessengerTextTest, ChineseIsCutAfterASentenceMarkAndNeverInsideACharacter) {
    const std::string text = "您好，欢迎使用。请问有什么可以帮您？我们随时为您服务";
    const auto pieces = split_text(text, 10, TextUnit::code_point);
    ASSERT_GE(pieces.size(), 3u);
    EXPECT_EQ(pieces[0], "您好，欢迎使用。");
    for (const std::string& piece : pieces) {
        EXPECT_TRUE(core::is_valid_utf8(piece));
        EXPECT_LE(text_length(piece, TextUnit::code_point), 10u);
    }
    EXPECT_EQ(joined(pieces), text);
}

TEST(MessengerTextTest, SurrogatePairsCountTwiceAndStayWhole) {
    std::string text;
    for (int i = 0; i < 7; ++i) {
        text += "😀";
    }
    const auto pieces = split_text(text, 4, TextUnit::utf16);
    ASSERT_EQ(pieces.size(), 4u);
    EXPECT_EQ(pieces[0], "😀😀");
    EXPECT_EQ(pieces[3], "😀");
    EXPECT_EQ(joined(pieces), text);
}

TEST(MessengerTextTest, SecretsCompareByContent) {
    EXPECT_TRUE(secret_equals("s3cret", "s3cret"));
    EXPECT_FALSE(secret_equals("s3cret", "s3creT"));
    EXPECT_FALSE(secret_equals("s3cret", "s3cret-longer"));
    EXPECT_FALSE(secret_equals("", "s3cret"));
}

TEST(MessengerTextTest, LongPayloadsAreShortenedAndExpandedBack) {
    auto store = core::make_memory_session_store();
    const std::string payload(100, 'x');
    auto data = shorten_payload(*store, "t:", payload, 64, std::chrono::seconds(60));
    ASSERT_TRUE(data);
    EXPECT_LE(data->size(), 64u);
    EXPECT_TRUE(data->starts_with(kMappedPayloadPrefix));
    auto back = expand_payload(*store, "t:", *data);
    ASSERT_TRUE(back && *back);
    EXPECT_EQ(**back, payload);

    // A short payload stands for itself, unless it could be taken for a shortened one.
    EXPECT_EQ(*shorten_payload(*store, "t:", "yes", 64, std::chrono::seconds(60)), "yes");
    auto tricky = shorten_payload(*store, "t:", "tlr:abc", 64, std::chrono::seconds(60));
    ASSERT_TRUE(tricky);
    EXPECT_NE(*tricky, "tlr:abc");
    EXPECT_EQ(**expand_payload(*store, "t:", *tricky), "tlr:abc");

    auto expired = expand_payload(*store, "t:", "tlr:nothing-here");
    ASSERT_TRUE(expired);
    EXPECT_FALSE(*expired);
}

TEST(MessengerTextTest, LocalesAreNormalised) {
    EXPECT_EQ(normalise_locale("zh-hans"), "zh-CN");
    EXPECT_EQ(normalise_locale("zh"), "zh-CN");
    EXPECT_EQ(normalise_locale("zh_TW"), "zh-CN");
    EXPECT_EQ(normalise_locale("en"), "en");
    EXPECT_EQ(normalise_locale("pt-br"), "pt-br");
    EXPECT_EQ(normalise_locale("zu"), "zu");
    EXPECT_EQ(normalise_locale("e n"), "");
    EXPECT_EQ(normalise_locale(""), "");
}

}  // namespace
}  // namespace teller::channels::detail
