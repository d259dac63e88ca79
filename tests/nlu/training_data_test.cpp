// Training data: inline annotations (English, Chinese, escapes, malformed), YAML loading,
// synonyms, lookups, the validator's file:line messages and SNIPS JSON lines.
#include "teller/nlu/training_data.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace teller::nlu {
namespace {

namespace fs = std::filesystem;

TEST(AnnotationTest, PlainTextHasNoEntities) {
    const AnnotatedExample e = parse_annotations("what is my balance (roughly)? {ok}");
    ASSERT_TRUE(e.ok()) << e.error;
    EXPECT_EQ(e.text, "what is my balance (roughly)? {ok}");
    EXPECT_TRUE(e.entities.empty());
}

TEST(AnnotationTest, ParenthesisAnnotationGivesByteSpan) {
    const AnnotatedExample e = parse_annotations("send [500](amount) to [savings](account)");
    ASSERT_TRUE(e.ok()) << e.error;
    EXPECT_EQ(e.text, "send 500 to savings");
    ASSERT_EQ(e.entities.size(), 2u);
    EXPECT_EQ(e.entities[0].type, "amount");
    EXPECT_EQ(e.entities[0].text, "500");
    EXPECT_EQ(e.entities[0].begin, 5u);
    EXPECT_EQ(e.entities[0].end, 8u);
    EXPECT_EQ(e.entities[1].type, "account");
    EXPECT_EQ(e.entities[1].begin, 12u);
    EXPECT_EQ(e.entities[1].end, 19u);
    EXPECT_EQ(e.text.substr(12, 7), "savings");
}

TEST(AnnotationTest, JsonAnnotationCarriesTheValue) {
    const AnnotatedExample e = parse_annotations(
        R"(move [five hundred]{"entity": "amount", "value": "500.00 USD"} to [saver](account))");
    ASSERT_TRUE(e.ok()) << e.error;
    EXPECT_EQ(e.text, "move five hundred to saver");
    ASSERT_EQ(e.entities.size(), 2u);
    EXPECT_EQ(e.entities[0].type, "amount");
    EXPECT_EQ(e.entities[0].value, "500.00 USD");
    EXPECT_EQ(e.entities[0].text, "five hundred");
    EXPECT_EQ(e.entities[0].begin, 5u);
    EXPECT_EQ(e.entities[0].end, 17u);
    EXPECT_EQ(e.entities[1].value, "");
}

TEST(AnnotationTest, ChineseSpansAreUtf8ByteOffsets) {
    const AnnotatedExample e = parse_annotations("[明天](date)转[五千元](amount)给妈妈");
    ASSERT_TRUE(e.ok()) << e.error;
    EXPECT_EQ(e.text, "明天转五千元给妈妈");
    ASSERT_EQ(e.entities.size(), 2u);
    EXPECT_EQ(e.entities[0].begin, 0u);
    EXPECT_EQ(e.entities[0].end, 6u);  // two 3-byte characters
    EXPECT_EQ(e.entities[1].begin, 9u);
    EXPECT_EQ(e.entities[1].end, 18u);
    EXPECT_EQ(e.text.substr(9, 9), "五千元");
}

TEST(AnnotationTest, EscapedBracketsAreLiteral) {
    const AnnotatedExample e = parse_annotations(R"(a \[note\] and \(x\) then [5k](amount) \\)");
    ASSERT_TRUE(e.ok()) << e.error;
    EXPECT_EQ(e.text, R"(a [note] and (x) then 5k \)");
    ASSERT_EQ(e.entities.size(), 1u);
    EXPECT_EQ(e.entities[0].text, "5k");
    EXPECT_EQ(e.text.substr(e.entities[0].begin, 2), "5k");
}

TEST(AnnotationTest, MalformedAnnotationsAreErrors) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"send [500 to savings", "unclosed '['"},
        {"send 500] to savings", "']' without an opening '['"},
        {"send [[500](amount)](x)", "nested"},
        {"send [500 [x](y)](amount)", "nested"},
        {"send [500] now", "needs (type)"},
        {"send [](amount)", "empty annotated span"},
        {"send [500](amount", "unclosed '('"},
        {"send [500]()", "bad entity type"},
        {"send [500](two words)", "bad entity type"},
        {R"(send [500]{"entity": "amount")", "unclosed '{'"},
        {R"(send [500]{"kind": "amount"})", "unknown annotation key"},
        {R"(send [500]{"value": "5"})", "needs \"entity\""},
        {R"(send [500]{entity: amount})", "not a JSON object"},
    };
    for (const auto& [example, expected] : cases) {
        const AnnotatedExample e = parse_annotations(example);
        EXPECT_FALSE(e.ok()) << example;
        EXPECT_NE(e.error.find(expected), std::string::npos) << example << " -> " << e.error;
        EXPECT_NE(e.error.find("column"), std::string::npos) << e.error;
    }
}

class TrainingDataTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("teller_data_test_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, const std::string& content) {
        const fs::path path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    // The issues as "name:line: severity: message" with the directory cut off.
    std::vector<std::string> issues(const TrainingData& data) {
        std::vector<std::string> out;
        for (const DataIssue& issue : data.issues) {
            std::string s = issue.to_string();
            const std::string prefix = dir_.string() + "/";
            if (s.starts_with(prefix)) {
                s.erase(0, prefix.size());
            }
            out.push_back(s);
        }
        return out;
    }

    static bool has(const std::vector<std::string>& all, const std::string& start,
                    const std::string& part) {
        for (const std::string& s : all) {
            if (s.starts_with(start) && s.find(part) != std::string::npos) {
                return true;
            }
        }
        return false;
    }

    fs::path dir_;
};

TEST_F(TrainingDataTest, LoadsExamplesSynonymsAndLookups) {
    const fs::path path = write("bank.en.yaml", R"y(version: 1
locale: en
entities: [account]
intents:
  - name: transfer
    examples:
      - send [500](amount) to [savings account](account)
      - move [$20](amount) to my [saver](account) [tomorrow](date)
  - name: balance
    examples:
      - what is my balance
synonyms:
  - value: savings
    aliases: [savings account, Saver]
lookups:
  - entity: account
    values: [savings, current account, joint]
)y");
    const TrainingData data = load_training_data({path});
    EXPECT_EQ(data.error_count(), 0u) << ::testing::PrintToString(issues(data));
    EXPECT_EQ(data.warning_count(), 0u);
    ASSERT_EQ(data.examples.size(), 3u);
    EXPECT_EQ(data.examples[0].text, "send 500 to savings account");
    EXPECT_EQ(data.examples[0].intent, "transfer");
    ASSERT_EQ(data.examples[0].entities.size(), 2u);
    EXPECT_EQ(data.examples[0].entities[1].value, "savings account");
    EXPECT_EQ(data.examples[1].entities.size(), 3u);
    EXPECT_EQ(data.locales, (std::vector<std::string>{"en", "en", "en"}));
    EXPECT_TRUE(data.entity_types.contains("account"));
    EXPECT_TRUE(data.entity_types.contains("amount"));

    // Synonyms normalise values; lookups find whole words and normalise them.
    EXPECT_EQ(data.normalise("SAVINGS  account"), "savings");
    EXPECT_EQ(data.normalise("saver"), "savings");
    EXPECT_EQ(data.normalise("checking"), "checking");
    std::vector<core::Entity> entities = data.examples[0].entities;
    data.normalise_entities(entities);
    EXPECT_EQ(entities[1].value, "savings");
    EXPECT_EQ(entities[0].value, "500");

    const std::vector<core::Entity> found =
        data.find_lookup_entities("move it from Current Account to savings, not jointly");
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].type, "account");
    EXPECT_EQ(found[0].text, "Current Account");
    EXPECT_EQ(found[0].begin, 13u);
    EXPECT_EQ(found[1].value, "savings");
}

TEST_F(TrainingDataTest, ChineseFileLoads) {
    const fs::path path = write("bank.zh-CN.yaml", R"y(version: 1
locale: zh-CN
intents:
  - name: transfer
    examples:
      - "[明天](date)给妈妈转[5万](amount)"
      - 转账[三千五百块](amount)
synonyms:
  - value: 储蓄账户
    aliases: [储蓄卡账户]
)y");
    const TrainingData data = load_training_data({path});
    EXPECT_EQ(data.issues.size(), 0u) << ::testing::PrintToString(issues(data));
    ASSERT_EQ(data.examples.size(), 2u);
    EXPECT_EQ(data.examples[0].text, "明天给妈妈转5万");
    EXPECT_EQ(data.examples[0].entities[1].begin, 18u);
    EXPECT_EQ(data.examples[0].entities[1].end, 22u);
    EXPECT_EQ(data.examples[1].entities[0].text, "三千五百块");
    EXPECT_EQ(data.normalise("储蓄卡账户"), "储蓄账户");
}

TEST_F(TrainingDataTest, ValidatorNamesFileAndLineOfEachError) {
    const fs::path a = write("a.yaml", R"y(version: 1
locale: en
colour: blue
entities: [account]
intents:
  - name: transfer
    examples:
      - send [500](amount) to savings
      - send [500 to savings
      - pay [Anna](person)
      - what is my balance
  - name: balance
    examples:
      - What is my  balance
  - name: empty_one
    examples: []
  - name: card
    example:
      - x
synonyms:
  - value: savings
    aliases: [saver]
  - value: current
    aliases: [saver]
lookups:
  - entity: colour
    values: [red]
)y");
    const fs::path b = write("b.yaml", R"y(version: 1
locale: en
intents:
  - name: other
    examples:
      - send 500 to savings
)y");
    const fs::path bad = write("bad.yaml", "version: 1\nlocale: en\nintents: [\n  - x: 1\n");
    const fs::path no_version = write("c.yaml",
                                      "locale: fr\nintents:\n  - name: x\n"
                                      "    examples: [hello]\n");

    const TrainingData data = load_training_data({a, b, bad, no_version, dir_ / "missing.yaml"});
    const auto all = issues(data);
    EXPECT_TRUE(has(all, "a.yaml:3: error:", "unknown key 'colour'"))
        << ::testing::PrintToString(all);
    EXPECT_TRUE(has(all, "a.yaml:9: error:", "malformed annotation: unclosed '['"));
    EXPECT_TRUE(has(all, "a.yaml:10: error:", "unknown entity type 'person'"));
    EXPECT_TRUE(has(all, "a.yaml:14: error:", "under intents transfer (")) << "duplicate";
    EXPECT_TRUE(has(all, "a.yaml:14: error:", "a.yaml:11) and balance"));
    EXPECT_TRUE(has(all, "a.yaml:15: error:", "intent empty_one has no examples"));
    EXPECT_TRUE(has(all, "a.yaml:18: error:", "unknown key 'example' in an intent"));
    EXPECT_TRUE(has(all, "a.yaml:23: error:", "alias 'saver' is given two values"));
    EXPECT_TRUE(has(all, "a.yaml:26: error:", "unknown entity type 'colour'"));
    EXPECT_TRUE(has(all, "b.yaml:6: error:", "a.yaml:8) and other"));
    EXPECT_TRUE(has(all, "bad.yaml:", "YAML syntax"));
    EXPECT_TRUE(has(all, "c.yaml:1: error:", "`version: 1` is required"));
    EXPECT_TRUE(has(all, "c.yaml:1: error:", "unknown locale 'fr'"));
    EXPECT_TRUE(has(all, "missing.yaml: error:", "cannot open"));
    EXPECT_EQ(data.warning_count(), 0u);

    // Examples with errors are left out; the first occurrence of a duplicate stays.
    for (const LabeledUtterance& u : data.examples) {
        EXPECT_NE(u.text, "pay Anna");
        EXPECT_NE(u.intent, "other");
    }
}

TEST_F(TrainingDataTest, WarningsAreSeparateFromErrors) {
    const fs::path en = write("w.en.yaml", R"y(version: 1
locale: en
intents:
  - name: balance
    examples:
      - what is my balance
      - what is my balance
      - 我的余额是多少
)y");
    const fs::path zh = write("w.zh.yaml", R"y(version: 1
locale: zh-CN
intents:
  - name: balance_zh
    examples:
      - check balance
)y");
    const TrainingData data = load_training_data({en, zh});
    const auto all = issues(data);
    EXPECT_EQ(data.error_count(), 0u) << ::testing::PrintToString(all);
    EXPECT_EQ(data.warning_count(), 3u);
    EXPECT_TRUE(has(all, "w.en.yaml:7: warning:", "repeats one at"));
    EXPECT_TRUE(has(all, "w.en.yaml:8: warning:", "written in Chinese but the locale is en"));
    EXPECT_TRUE(has(all, "w.zh.yaml:6: warning:", "no Chinese characters"));
    EXPECT_EQ(data.examples.size(), 3u);
}

TEST_F(TrainingDataTest, SkillExamplesAreCheckedToo) {
    const TrainingData data = from_training_examples({
        {"block the card ending [4821](card_last4)", "cards.block", "en"},
        {"Block the card ending 4821", "cards.freeze", "en"},
        {"lost [card", "cards.block", "en"},
        {"挂失", "cards.block", "zh-CN"},
    });
    const auto all = issues(data);
    EXPECT_EQ(data.error_count(), 2u) << ::testing::PrintToString(all);
    EXPECT_TRUE(has(all, "skill examples (cards.freeze): error:", "under intents cards.block"));
    EXPECT_TRUE(has(all, "skill examples (cards.block): error:", "unclosed '['"));
    ASSERT_EQ(data.examples.size(), 2u);
    EXPECT_EQ(data.examples[0].text, "block the card ending 4821");
    EXPECT_EQ(data.examples[0].entities.at(0).value, "4821");
}

TEST_F(TrainingDataTest, ShippedSampleDataIsValid) {
    const fs::path dir = fs::path(TELLER_SOURCE_DIR) / "plugins" / "cards" / "data";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".yaml") {
            files.push_back(entry.path());
        }
    }
    ASSERT_EQ(files.size(), 2u);
    const TrainingData data = load_training_data(files);
    EXPECT_EQ(data.issues.size(), 0u) << ::testing::PrintToString(issues(data));
    EXPECT_GT(data.examples.size(), 20u);
}

TEST_F(TrainingDataTest, SnipsTagsBecomeByteSpans) {
    const fs::path path = write(
        "snips.jsonl",
        R"({"tokens": ["add", "sabrina", "salerno", "to", "the", "grime", "playlist"], )"
        R"("tags": ["O", "B-artist", "I-artist", "O", "O", "B-playlist", "O"], "intent": "Add"})"
        "\n\n"
        R"({"tokens": ["play", "jazz"], "tags": ["O", "I-genre"], "intent": "Play"})"
        "\n");
    const auto rows = read_labeled_data(path);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].text, "add sabrina salerno to the grime playlist");
    EXPECT_EQ(rows[0].intent, "Add");
    ASSERT_EQ(rows[0].entities.size(), 2u);
    EXPECT_EQ(rows[0].entities[0].type, "artist");
    EXPECT_EQ(rows[0].entities[0].text, "sabrina salerno");
    EXPECT_EQ(rows[0].entities[0].begin, 4u);
    EXPECT_EQ(rows[0].entities[0].end, 19u);
    EXPECT_EQ(rows[0].entities[1].text, "grime");
    ASSERT_EQ(rows[1].entities.size(), 1u);
    EXPECT_EQ(rows[1].entities[0].text, "jazz");

    const fs::path bad = write("bad.jsonl", "{\"tokens\": [\"a\"], \"intent\": \"x\"}\nnot json\n");
    try {
        read_labeled_data(bad);
        FAIL() << "expected an error";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:2:"), std::string::npos) << e.what();
    }
}

TEST_F(TrainingDataTest, YamlWithErrorsIsRefusedAsEvalData) {
    const fs::path path = write("e.yaml",
                                "version: 1\nlocale: en\nintents:\n  - name: a\n"
                                "    examples: [\"[x\"]\n");
    try {
        read_labeled_data(path);
        FAIL() << "expected an error";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("e.yaml:5: error: malformed annotation"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace teller::nlu
