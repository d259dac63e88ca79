// CSV reading (RFC 4180 quoting, error positions) and evaluation figures on a fake classifier.
#include "teller/nlu/intent_model.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace teller::nlu {
namespace {

namespace fs = std::filesystem;

class CsvTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("teller_csv_test_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, const std::string& content) {
        const fs::path path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    fs::path dir_;
};

TEST_F(CsvTest, ParsesQuotedFields) {
    const fs::path path = write("quoted.csv",
                                "text,category\r\n"
                                "\"Hello, world\",greet\r\n"
                                "\"She said \"\"hi\"\"\",greet\n"
                                "\"two\nlines\",other\n"
                                "plain text,\"other\"\n"
                                "\n"
                                "\"\",empty_text\n");
    const auto rows = read_labeled_csv(path);
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].text, "Hello, world");
    EXPECT_EQ(rows[0].intent, "greet");
    EXPECT_EQ(rows[1].text, "She said \"hi\"");
    EXPECT_EQ(rows[2].text, "two\nlines");
    EXPECT_EQ(rows[3].text, "plain text");
    EXPECT_EQ(rows[3].intent, "other");
    EXPECT_EQ(rows[4].text, "");
    EXPECT_EQ(rows[4].intent, "empty_text");
}

TEST_F(CsvTest, ReadsMassiveColumns) {
    const fs::path path = write("massive.csv",
                                "id,label,text,label_text,label_text_ch\n"
                                "1,48,星期五早上九点叫醒我,alarm_set,报警器\n");
    const auto rows = read_labeled_csv(path);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].text, "星期五早上九点叫醒我");
    EXPECT_EQ(rows[0].intent, "alarm_set");
}

TEST_F(CsvTest, ErrorsNameFileAndLine) {
    const fs::path path = write("broken.csv", "text,category\nfine,greet\n\"multi\nline\",a,b\n");
    try {
        read_labeled_csv(path);
        FAIL() << "expected core::Error";
    } catch (const core::Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("broken.csv:3:"), std::string::npos) << message;
    }
    EXPECT_THROW(read_labeled_csv(write("unterminated.csv", "text,category\n\"open,x\n")),
                 core::Error);
    EXPECT_THROW(read_labeled_csv(write("noheader.csv", "words,label\nhi,greet\n")), core::Error);
    EXPECT_THROW(read_labeled_csv(dir_ / "absent.csv"), core::Error);
}

// Predicts whatever follows '|' in the text.
class FakeClassifier final : public core::IntentClassifier {
public:
    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override {
        std::vector<core::NluResult> out;
        for (const std::string& text : texts) {
            core::NluResult result;
            result.ranking.push_back({text.substr(text.find('|') + 1), 1.0f});
            out.push_back(result);
        }
        return out;
    }
    std::vector<std::string> intents() const override { return {"a", "b", "c"}; }
};

TEST(EvaluateTest, FakeClassifierGivesExactFigures) {
    const std::vector<LabeledUtterance> test{
        {"1|a", "a"}, {"2|a", "a"}, {"3|b", "a"}, {"4|b", "b"}, {"5|a", "c"},
    };
    const EvalReport report = evaluate(FakeClassifier{}, test);
    EXPECT_EQ(report.total, 5u);
    EXPECT_EQ(report.correct, 3u);
    EXPECT_DOUBLE_EQ(report.accuracy, 0.6);
    // a: P 2/3 R 2/3; b: P 1/2 R 1 (F1 2/3); c: F1 0.
    EXPECT_NEAR(report.macro_f1, 4.0 / 9.0, 1e-12);

    std::map<std::string, EvalReport::PerIntent> rows;
    for (const auto& row : report.per_intent) {
        rows[row.intent] = row;
    }
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_NEAR(rows["a"].precision, 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(rows["a"].recall, 2.0 / 3.0, 1e-12);
    EXPECT_EQ(rows["a"].support, 3);
    EXPECT_NEAR(rows["b"].precision, 0.5, 1e-12);
    EXPECT_NEAR(rows["b"].recall, 1.0, 1e-12);
    EXPECT_NEAR(rows["b"].f1, 2.0 / 3.0, 1e-12);
    EXPECT_EQ(rows["c"].f1, 0.0);
    EXPECT_EQ(rows["c"].support, 1);

    ASSERT_EQ(report.worst_confusions.size(), 2u);
    EXPECT_EQ(report.worst_confusions[0], std::make_tuple(std::string("a"), std::string("b"), 1));
    EXPECT_EQ(report.worst_confusions[1], std::make_tuple(std::string("c"), std::string("a"), 1));
}

TEST(EvaluateTest, EmptyTestSetGivesZeros) {
    const EvalReport report = evaluate(FakeClassifier{}, {});
    EXPECT_EQ(report.total, 0u);
    EXPECT_EQ(report.accuracy, 0.0);
    EXPECT_EQ(report.macro_f1, 0.0);
}

}  // namespace
}  // namespace teller::nlu
