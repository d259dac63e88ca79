// CSV reading (RFC 4180 quoting, error positions), evaluation figures, entity scores, folds,
// out-of-scope figures and the HTML report, all on fake classifiers with known outputs.
#include "teller/nlu/evaluation.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "teller/nlu/intent_model.hpp"

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
        {"1|a", "a", {}}, {"2|a", "a", {}}, {"3|b", "a", {}}, {"4|b", "b", {}}, {"5|a", "c", {}},
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

// Answers each known text with a fixed result; unknown texts get an empty ranking.
class ScriptedClassifier final : public core::IntentClassifier {
public:
    explicit ScriptedClassifier(std::map<std::string, core::NluResult> answers)
        : answers_(std::move(answers)) {}
    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override {
        std::vector<core::NluResult> out;
        for (const std::string& text : texts) {
            auto it = answers_.find(text);
            out.push_back(it == answers_.end() ? core::NluResult{} : it->second);
        }
        return out;
    }
    std::vector<std::string> intents() const override { return {}; }

private:
    std::map<std::string, core::NluResult> answers_;
};

core::NluResult answer(const std::string& intent, float confidence,
                       std::vector<core::Entity> entities = {}) {
    core::NluResult r;
    r.ranking.push_back({intent, confidence});
    r.entities = std::move(entities);
    return r;
}

core::Entity span(const std::string& type, std::size_t begin, std::size_t end) {
    return core::Entity{type, "", "", begin, end};
}

TEST(DetailedEvaluationTest, ConfusionMatrixCountsPairsAndKeepsExamples) {
    const std::vector<LabeledUtterance> test{
        {"1|a", "a", {}}, {"2|a", "a", {}}, {"3|b", "a", {}},
        {"4|b", "a", {}}, {"5|b", "b", {}}, {"6|c", "c", {}},
    };
    const DetailedReport report = evaluate_detailed(FakeClassifier{}, test, 1);
    EXPECT_EQ(report.labels, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(report.confusion, (std::vector<std::vector<int>>{{2, 2, 0}, {0, 1, 0}, {0, 0, 1}}));
    EXPECT_EQ(report.intents.correct, 4u);
    EXPECT_FALSE(report.has_entities);
    ASSERT_EQ(report.confusion_examples.size(), 1u);
    EXPECT_EQ(report.confusion_examples.at({"a", "b"}), (std::vector<std::string>{"3|b"}));
    ASSERT_EQ(report.predictions.size(), 6u);
    EXPECT_EQ(report.predictions[2].intent, "b");
}

TEST(DetailedEvaluationTest, EmptyRankingCountsAsNone) {
    const ScriptedClassifier fake({});
    const DetailedReport report = evaluate_detailed(fake, {{"hello", "greet", {}}});
    EXPECT_EQ(report.labels, (std::vector<std::string>{"(none)", "greet"}));
    EXPECT_EQ(report.confusion, (std::vector<std::vector<int>>{{0, 0}, {1, 0}}));
    EXPECT_EQ(report.intents.accuracy, 0.0);
}

TEST(DetailedEvaluationTest, EntityScoresAreExactSpanAndTypeMatches) {
    // Gold: 3 amounts, 1 account. Predicted: 2 amounts right, 1 amount with a wrong span,
    // the account typed as amount, plus a date the data never annotates (ignored).
    const std::vector<LabeledUtterance> test{
        {"send 5 to savings", "t", {span("amount", 5, 6), span("account", 10, 17)}},
        {"send 10 now", "t", {span("amount", 5, 7)}},
        {"pay 7 dollars", "t", {span("amount", 4, 5)}},
    };
    const ScriptedClassifier fake({
        {"send 5 to savings", answer("t", 1, {span("amount", 5, 6), span("amount", 10, 17)})},
        {"send 10 now", answer("t", 1, {span("amount", 5, 7), span("date", 8, 11)})},
        {"pay 7 dollars", answer("t", 1, {span("amount", 4, 13)})},
    });
    const DetailedReport report = evaluate_detailed(fake, test);
    ASSERT_TRUE(report.has_entities);
    ASSERT_EQ(report.entity_types.size(), 2u);
    const EntityScore& account = report.entity_types[0];
    const EntityScore& amount = report.entity_types[1];
    EXPECT_EQ(account.type, "account");
    EXPECT_EQ(account.true_positives, 0);
    EXPECT_EQ(account.false_negatives, 1);
    EXPECT_EQ(account.f1, 0.0);
    EXPECT_EQ(amount.type, "amount");
    EXPECT_EQ(amount.true_positives, 2);
    EXPECT_EQ(amount.false_positives, 2);
    EXPECT_EQ(amount.false_negatives, 1);
    EXPECT_DOUBLE_EQ(amount.precision, 0.5);
    EXPECT_NEAR(amount.recall, 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(amount.f1, 4.0 / 7.0, 1e-12);
    EXPECT_EQ(report.entity_micro.true_positives, 2);
    EXPECT_EQ(report.entity_micro.false_positives, 2);
    EXPECT_EQ(report.entity_micro.false_negatives, 2);
    EXPECT_DOUBLE_EQ(report.entity_micro.precision, 0.5);
    EXPECT_DOUBLE_EQ(report.entity_micro.recall, 0.5);
    EXPECT_DOUBLE_EQ(report.entity_micro.f1, 0.5);
}

std::vector<LabeledUtterance> three_intents() {
    std::vector<LabeledUtterance> data;
    for (int i = 0; i < 10; ++i) {
        data.push_back({"x" + std::to_string(i) + "|a", "a", {}});
    }
    for (int i = 0; i < 7; ++i) {
        data.push_back({"y" + std::to_string(i) + "|b", "b", {}});
    }
    for (int i = 0; i < 5; ++i) {
        data.push_back({"z" + std::to_string(i) + "|a", "c", {}});
    }
    return data;
}

TEST(FoldsTest, StratifiedFoldsPartitionTheDataEvenly) {
    const auto data = three_intents();
    const std::vector<int> folds = stratified_folds(data, 5, 7);
    ASSERT_EQ(folds.size(), data.size());
    std::map<int, int> size;
    std::map<std::pair<std::string, int>, int> per_intent;
    for (std::size_t i = 0; i < data.size(); ++i) {
        ASSERT_GE(folds[i], 0);
        ASSERT_LT(folds[i], 5);
        ++size[folds[i]];
        ++per_intent[{data[i].intent, folds[i]}];
    }
    // 22 examples: sizes 5,5,4,4,4; a: 2 per fold, b: 1 or 2, c: 1 per fold.
    ASSERT_EQ(size.size(), 5u);
    for (const auto& [fold, n] : size) {
        EXPECT_TRUE(n == 4 || n == 5) << "fold " << fold << ": " << n;
    }
    for (int f = 0; f < 5; ++f) {
        EXPECT_EQ((per_intent[{"a", f}]), 2);
        EXPECT_EQ((per_intent[{"c", f}]), 1);
        EXPECT_GE((per_intent[{"b", f}]), 1);
        EXPECT_LE((per_intent[{"b", f}]), 2);
    }
    EXPECT_EQ(stratified_folds(data, 5, 7), folds);
    EXPECT_NE(stratified_folds(data, 5, 8), folds);
    EXPECT_THROW(stratified_folds(data, 1, 7), core::Error);
}

TEST(FoldsTest, CrossValidationTestsEachExampleOnceAndAverages) {
    const auto data = three_intents();
    std::multiset<std::string> trained_on;
    std::vector<int> reported;
    const CrossValidation cv = cross_validate(
        data, 4, 3,
        [&](const std::vector<LabeledUtterance>& train) {
            for (const LabeledUtterance& u : train) {
                trained_on.insert(u.text);
            }
            return std::unique_ptr<core::IntentClassifier>(new FakeClassifier());
        },
        [&](const FoldResult& f) { reported.push_back(f.fold); });
    ASSERT_EQ(cv.folds.size(), 4u);
    EXPECT_EQ(reported, (std::vector<int>{1, 2, 3, 4}));
    std::size_t tested = 0;
    for (const FoldResult& f : cv.folds) {
        EXPECT_EQ(f.train_size + f.test_size, data.size());
        tested += f.test_size;
    }
    EXPECT_EQ(tested, data.size());
    // Every example is in the training part of exactly k-1 folds.
    for (const LabeledUtterance& u : data) {
        EXPECT_EQ(trained_on.count(u.text), 3u) << u.text;
    }
    // The fake misses every "c" example, so accuracy averages the folds' own figures.
    double sum = 0;
    for (const FoldResult& f : cv.folds) {
        sum += f.accuracy;
    }
    EXPECT_NEAR(cv.mean_accuracy, sum / 4, 1e-12);
    EXPECT_GE(cv.std_accuracy, 0.0);

    // Each example's out-of-fold prediction, pooled into one report: the five "c" are missed.
    ASSERT_EQ(cv.out_of_fold.size(), data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        EXPECT_EQ(cv.out_of_fold[i].intent, data[i].text.substr(data[i].text.find('|') + 1));
    }
    const DetailedReport pooled = detailed_report(data, cv.out_of_fold);
    EXPECT_EQ(pooled.intents.correct, 17u);
    EXPECT_EQ(pooled.confusion.at(2).at(0), 5);
    EXPECT_THROW(detailed_report(data, {}), core::Error);
    EXPECT_THROW(cross_validate(data, 23, 1, {}), core::Error);
}

TEST(OutOfScopeTest, CountsRejectionsAtTheThreshold) {
    const std::vector<LabeledUtterance> in_scope{
        {"i1", "a", {}},
        {"i2", "a", {}},
        {"i3", "b", {}},
        {"i4", "b", {}},
    };
    const std::vector<LabeledUtterance> oos{
        {"o1", "x", {}},
        {"o2", "x", {}},
        {"o3", "y", {}},
    };
    const ScriptedClassifier fake({
        {"i1", answer("a", 0.9f)},   // right, accepted
        {"i2", answer("a", 0.45f)},  // right, rejected at 0.5
        {"i3", answer("a", 0.8f)},   // wrong, accepted
        {"i4", answer("b", 0.55f)},  // right, accepted
        {"o1", answer("a", 0.3f)},   // rejected
        {"o2", answer("b", 0.7f)},   // wrongly accepted
        {"o3", answer("a", 0.5f)},   // accepted: the threshold itself is accepted
    });
    const OutOfScopeReport report =
        evaluate_out_of_scope(fake, in_scope, oos, {"x", "y"}, 0.5, {0.4, 0.5, 0.6, 0.95});
    EXPECT_EQ(report.held_out, (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(report.oos_total, 3u);
    EXPECT_EQ(report.oos_rejected, 1u);
    EXPECT_EQ(report.oos_accepted, 2u);
    EXPECT_EQ(report.in_total, 4u);
    EXPECT_EQ(report.in_correct, 3u);
    EXPECT_EQ(report.in_accepted_correct, 2u);
    EXPECT_EQ(report.in_rejected, 1u);

    ASSERT_EQ(report.sweep.size(), 4u);
    EXPECT_DOUBLE_EQ(report.sweep[0].oos_rejected, 1.0 / 3);
    EXPECT_DOUBLE_EQ(report.sweep[0].in_scope_accepted_correct, 3.0 / 4);
    EXPECT_DOUBLE_EQ(report.sweep[0].in_scope_false_reject, 0.0);
    EXPECT_DOUBLE_EQ(report.sweep[1].oos_rejected, 1.0 / 3);
    EXPECT_DOUBLE_EQ(report.sweep[1].in_scope_false_reject, 1.0 / 4);
    EXPECT_DOUBLE_EQ(report.sweep[2].oos_rejected, 2.0 / 3);
    EXPECT_DOUBLE_EQ(report.sweep[2].in_scope_accepted_correct, 1.0 / 4);
    EXPECT_DOUBLE_EQ(report.sweep[2].in_scope_false_reject, 2.0 / 4);
    EXPECT_DOUBLE_EQ(report.sweep[3].oos_rejected, 1.0);
    EXPECT_DOUBLE_EQ(report.sweep[3].in_scope_false_reject, 1.0);
}

TEST(OutOfScopeTest, HoldoutChoiceIsSeededAndSplitsData) {
    const auto data = three_intents();
    const auto held = choose_holdout_intents(data, 2, 11);
    ASSERT_EQ(held.size(), 2u);
    EXPECT_TRUE(std::is_sorted(held.begin(), held.end()));
    EXPECT_NE(held[0], held[1]);
    EXPECT_EQ(choose_holdout_intents(data, 2, 11), held);
    EXPECT_THROW(choose_holdout_intents(data, 3, 11), core::Error);

    const auto [in, out] = split_out_of_scope(data, {"b"});
    EXPECT_EQ(in.size(), 15u);
    EXPECT_EQ(out.size(), 7u);
    for (const LabeledUtterance& u : out) {
        EXPECT_EQ(u.intent, "b");
    }
}

TEST(HtmlReportTest, IsSelfContainedAndEscapesUtterances) {
    const std::vector<LabeledUtterance> test{
        {"<script>alert('x')</script>|b", "a", {span("amount", 0, 3)}},
        {"ok|a", "a", {}},
        {"fine|b", "b", {}},
    };
    const DetailedReport report = evaluate_detailed(FakeClassifier{}, test);
    CrossValidation cv;
    cv.folds.push_back({1, 10, 5, 0.8, 0.7});
    OutOfScopeReport oos;
    oos.held_out = {"<held>"};
    oos.sweep.push_back({0.5, 0.25, 0.5, 0.1});
    HtmlReportOptions options;
    options.title = "T & <b>";
    options.facts = {{"training time", "1.0 s"}};
    options.cross_validation = &cv;
    options.out_of_scope = &oos;
    const std::string html = eval_report_html(report, options);

    EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
    EXPECT_NE(html.find("</html>"), std::string::npos);
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find("<script>alert"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;|b"), std::string::npos);
    EXPECT_NE(html.find("T &amp; &lt;b&gt;"), std::string::npos);
    EXPECT_NE(html.find("&lt;held&gt;"), std::string::npos);
    // One <script> element: the report's own inline script.
    std::size_t scripts = 0;
    for (std::size_t at = html.find("<script"); at != std::string::npos;
         at = html.find("<script", at + 1)) {
        ++scripts;
    }
    EXPECT_EQ(scripts, 1u);
    EXPECT_NE(html.find("class=matrix"), std::string::npos);
    EXPECT_NE(html.find("data-e='a' data-p='b' data-c='1'"), std::string::npos);
    EXPECT_NE(html.find("Cross-validation"), std::string::npos);
    EXPECT_NE(html.find("Out of scope"), std::string::npos);
    EXPECT_NE(html.find("Entities"), std::string::npos);
}

}  // namespace
}  // namespace teller::nlu
