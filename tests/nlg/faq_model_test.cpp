// The FAQ dual encoder: paraphrases find their article, saving round-trips, the threshold.
#include "teller/nlg/faq_model.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "teller/nlg/nlg.hpp"
#include "tiny_kb.hpp"

namespace teller::nlg {
namespace {

class FaqModelTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        kb_ = new KnowledgeBase(KnowledgeBase::parse(testing::kTinyKb, "tiny.yaml"));
        FaqTrainOptions options;
        options.epochs = 40;
        model_ = FaqModel::train(kb_->questions(), options, kb_->fingerprint()).release();
    }
    static void TearDownTestSuite() {
        delete model_;
        delete kb_;
    }

    static KnowledgeBase* kb_;
    static FaqModel* model_;
};

KnowledgeBase* FaqModelTest::kb_ = nullptr;
FaqModel* FaqModelTest::model_ = nullptr;

TEST_F(FaqModelTest, ParaphrasesFindTheirArticleInBothLanguages) {
    const std::pair<const char*, const char*> cases[] = {
        {"What time do your branches open on Saturday?", "hours.branch"},
        {"atm fee for withdrawing cash?", "fees.atm"},
        {"the replacement card has not arrived yet", "cards.delivery"},
        {"I got a text with a suspicious link asking for my password", "security.phishing"},
        {"请问网点周六几点开门", "hours.branch"},
        {"ATM取钱收手续费吗", "fees.atm"},
        {"补办的新卡还没收到", "cards.delivery"},
        {"收到一条要密码的可疑短信", "security.phishing"},
    };
    for (const auto& [text, article] : cases) {
        auto hits = model_->retrieve(text, 3);
        ASSERT_EQ(hits.size(), 3u);
        EXPECT_EQ(hits[0].article, article) << text;
        EXPECT_GE(hits[0].score, hits[1].score);
    }
}

TEST_F(FaqModelTest, UnknownWordsScoreZeroAndSavedModelAnswersTheSame) {
    auto none = model_->retrieve("zzqx vvbw", 2);
    ASSERT_EQ(none.size(), 2u);
    EXPECT_EQ(none[0].score, 0.0f);

    const auto path = std::filesystem::temp_directory_path() / "teller-faq-test.model";
    model_->save(path);
    auto loaded = FaqModel::load(path);
    ASSERT_TRUE(loaded) << loaded.error().message();
    auto a = model_->retrieve("card delivery", 2);
    auto b = (*loaded)->retrieve("card delivery", 2);
    EXPECT_EQ(a[0].article, b[0].article);
    EXPECT_FLOAT_EQ(a[0].score, b[0].score);
    EXPECT_EQ((*loaded)->training_fingerprint(), kb_->fingerprint());

    // A damaged file is an error value, never an exception.
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-3, std::ios::end);
        f.put('\x7f');
    }
    EXPECT_EQ(FaqModel::load(path).error(), core::make_error_code(core::Errc::model_corrupt));
    EXPECT_EQ(FaqModel::load(path.string() + ".none").error(),
              core::make_error_code(core::Errc::model_missing));
    std::filesystem::remove(path);
}

TEST_F(FaqModelTest, TrainingIsDeterministic) {
    FaqTrainOptions options;
    options.epochs = 40;
    auto again = FaqModel::train(kb_->questions(), options, kb_->fingerprint());
    auto a = model_->retrieve("when do branches open", 1);
    auto b = again->retrieve("when do branches open", 1);
    EXPECT_EQ(a[0].article, b[0].article);
    EXPECT_FLOAT_EQ(a[0].score, b[0].score);
}

TEST_F(FaqModelTest, NlgAnswersVerbatimAboveTheThresholdOnly) {
    FaqTrainOptions options;
    options.epochs = 40;
    auto model = FaqModel::train(kb_->questions(), options, kb_->fingerprint());
    Nlg nlg(TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses"), *kb_, std::move(model),
            {0.6f, {}});
    auto yes = nlg.ask_faq("取款手续费多少", "zh-CN");
    ASSERT_TRUE(yes);
    EXPECT_TRUE(yes->answered);
    EXPECT_EQ(yes->article, "fees.atm");
    EXPECT_EQ(yes->answer, "本行ATM取款免费。");

    auto no = nlg.ask_faq("tell me a joke about penguins", "en");
    ASSERT_TRUE(no);
    EXPECT_FALSE(no->answered);
    EXPECT_TRUE(no->answer.empty());
}

TEST_F(FaqModelTest, ModelTrainedOnOtherQuestionsIsRefused) {
    KnowledgeBase other = KnowledgeBase::load(TELLER_SOURCE_DIR "/knowledge/faq");
    FaqTrainOptions options;
    options.epochs = 1;
    auto model = FaqModel::train(kb_->questions(), options, kb_->fingerprint());
    try {
        Nlg nlg(TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses"), other,
                std::move(model));
        FAIL() << "a FAQ model for another knowledge base was accepted";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("teller train-faq"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace teller::nlg
