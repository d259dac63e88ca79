// Tokenizer tables: English, Chinese, mixed text, numbers, invalid UTF-8, empty input, hashing.
#include "teller/nlu/tokenizer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace teller::nlu {
namespace {

using Strings = std::vector<std::string>;

struct TokenCase {
    std::string text;
    Strings tokens;
};

TEST(TokenizerTest, SplitsTextAsTheTableSays) {
    const std::vector<TokenCase> table{
        TokenCase{"I am still waiting on my card?",
                  {"i", "am", "still", "waiting", "on", "my", "card"}},
        TokenCase{"Why HASN'T my top-up worked", {"why", "hasn't", "my", "top", "up", "worked"}},
        TokenCase{"It\xE2\x80\x99s gone", {"it's", "gone"}},
        TokenCase{"设个闹钟", {"设", "个", "闹", "钟"}},
        TokenCase{"我的Visa卡被冻结了！", {"我", "的", "visa", "卡", "被", "冻", "结", "了"}},
        TokenCase{"Café ÉTÉ", {"café", "été"}},
        TokenCase{"Send 5,000 to 12345 at 3.5%, ok.",
                  {"send", "0,000", "to", "00000", "at", "0.0", "ok"}},
        TokenCase{"转账５００元", {"转", "账", "000", "元"}},
        TokenCase{"my 4th card", {"my", "0th", "card"}},
        TokenCase{"", {}},
        TokenCase{"  ?! ... ", {}},
        TokenCase{"card\xFF"
                  "block",
                  {"card", "block"}},
        TokenCase{"\xE4\xB8", {}}};
    const Tokenizer tokenizer;
    for (const TokenCase& row : table) {
        EXPECT_EQ(tokenizer.tokens(row.text), row.tokens) << row.text;
    }
}

TEST(TokenizerTest, FeaturesOfAShortLatinWord) {
    const Tokenizer tokenizer;
    EXPECT_EQ(tokenizer.features("Hi"), (Strings{"w:hi", "c:<hi", "c:hi>"}));
}

TEST(TokenizerTest, FeaturesOfChineseAreCharactersAndBigrams) {
    const Tokenizer tokenizer;
    EXPECT_EQ(tokenizer.features("设个闹"),
              (Strings{"w:设", "w:个", "w:闹", "b:设 个", "b:个 闹"}));
}

TEST(TokenizerTest, FeaturesOfTwoWordsHaveBigramAndBoundedNgrams) {
    const Tokenizer tokenizer;
    const Strings features = tokenizer.features("my card");
    const Strings expected{"w:my",   "w:card", "b:my card", "c:<my",  "c:my>",
                           "c:<ca",  "c:car",  "c:ard",     "c:rd>",  "c:<car",
                           "c:card", "c:ard>", "c:<card",   "c:card>"};
    EXPECT_EQ(features, expected);
}

TEST(TokenizerTest, OptionsTurnOffBigramsAndNgrams) {
    TokenizerOptions options;
    options.min_n = 0;
    options.word_bigrams = false;
    const Tokenizer tokenizer(options);
    EXPECT_EQ(tokenizer.features("my card"), (Strings{"w:my", "w:card"}));
}

TEST(TokenizerTest, EmptyTextHasNoFeatures) {
    const Tokenizer tokenizer;
    EXPECT_TRUE(tokenizer.features("").empty());
    EXPECT_TRUE(tokenizer.feature_ids("").empty());
}

TEST(TokenizerTest, SanitizeReplacesEachBadByte) {
    EXPECT_EQ(sanitize_utf8("ok"), "ok");
    EXPECT_EQ(sanitize_utf8("中文"), "中文");
    EXPECT_EQ(sanitize_utf8("a\xFF"
                            "b"),
              "a\xEF\xBF\xBD"
              "b");
    // Truncated sequence, overlong '/', UTF-16 surrogate, beyond U+10FFFF.
    EXPECT_EQ(sanitize_utf8("\xE4\xB8"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TokenizerTest, HashIsFnv1a64) {
    EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST(TokenizerTest, FeatureIdsAreStableAndInRange) {
    TokenizerOptions options;
    options.buckets = 1000;
    const Tokenizer tokenizer(options);
    const std::vector<std::int64_t> ids = tokenizer.feature_ids("Block my card 1234 请冻结");
    ASSERT_EQ(ids.size(), tokenizer.features("Block my card 1234 请冻结").size());
    for (std::int64_t id : ids) {
        EXPECT_GE(id, 0);
        EXPECT_LT(id, 1000);
    }
    EXPECT_EQ(ids, Tokenizer(options).feature_ids("Block my card 1234 请冻结"));
    EXPECT_EQ(ids.front(), static_cast<std::int64_t>(fnv1a_64("w:block") % 1000));
}

TEST(TokenizerTest, OptionsRoundTripThroughTheModelHeaderAndBadOnesAreRefused) {
    TokenizerOptions options;
    options.min_n = 2;
    options.max_n = 4;
    options.word_bigrams = false;
    options.buckets = 1024;
    const auto back = tokenizer_options_from_json(to_json(options));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->min_n, 2);
    EXPECT_EQ(back->max_n, 4);
    EXPECT_FALSE(back->word_bigrams);
    EXPECT_EQ(back->buckets, 1024);

    boost::json::object other_hash = to_json(options);
    other_hash["hash"] = "murmur3";
    EXPECT_FALSE(tokenizer_options_from_json(other_hash));
    boost::json::object inverted = to_json(options);
    inverted["max_n"] = 1;
    EXPECT_FALSE(tokenizer_options_from_json(inverted));
    boost::json::object missing = to_json(options);
    missing.erase("buckets");
    EXPECT_FALSE(tokenizer_options_from_json(missing));
}

}  // namespace
}  // namespace teller::nlu
