// The FAQ retrieval model: paraphrases find their article, answers as training texts, saving
// round-trips, old files refused, the threshold.
#include "teller/nlg/faq_model.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

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
        model_ =
            FaqModel::train(kb_->questions(), options, kb_->fingerprint(), answer_sentences(*kb_))
                .release();
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
    auto again =
        FaqModel::train(kb_->questions(), options, kb_->fingerprint(), answer_sentences(*kb_));
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

TEST_F(FaqModelTest, AnswersAreSplitIntoSentencesOfTheirArticleAndLocale) {
    KnowledgeBase kb = KnowledgeBase::parse(R"(articles:
  - id: a.one
    en:
      questions: [first]
      answer: "Cards arrive in a week. Call us if not; we resend it! OK"
    zh-CN:
      questions: [第一]
      answer: "新卡一周内送达。没收到请致电，我们会重寄！"
)",
                                            "answers.yaml");
    const auto sentences = answer_sentences(kb);
    std::vector<std::string> en;
    std::vector<std::string> zh;
    for (const LabeledQuestion& s : sentences) {
        EXPECT_EQ(s.article, "a.one");
        (s.locale == "en" ? en : zh).push_back(s.text);
    }
    // "OK" alone is one token: too short to say anything about the article.
    EXPECT_EQ(en, (std::vector<std::string>{"Cards arrive in a week.", "Call us if not;",
                                            "we resend it!"}));
    EXPECT_EQ(zh, (std::vector<std::string>{"新卡一周内送达。", "没收到请致电，我们会重寄！"}));
}

TEST_F(FaqModelTest, AnswerSentencesNeverAddAnArticle) {
    std::vector<LabeledQuestion> answers = answer_sentences(*kb_);
    answers.push_back({"a sentence of an article without questions", "nobody.asks", "en"});
    FaqTrainOptions options;
    options.epochs = 2;
    options.ensemble = 1;
    auto model = FaqModel::train(kb_->questions(), options, kb_->fingerprint(), answers);
    const std::set<std::string> ids(model->articles().begin(), model->articles().end());
    EXPECT_EQ(ids, (std::set<std::string>{"cards.delivery", "fees.atm", "hours.branch",
                                          "security.phishing"}));
    for (const FaqHit& hit : model->retrieve("a sentence of an article without questions", 4)) {
        EXPECT_NE(hit.article, "nobody.asks");
    }
}

TEST_F(FaqModelTest, ScoresStayWithinTheCosineRange) {
    for (const char* text : {"when do branches open", "网点几点开门", "tell me a joke", "atm"}) {
        for (const FaqHit& hit : model_->retrieve(text, 4)) {
            EXPECT_GE(hit.score, -1.0f) << text;
            EXPECT_LE(hit.score, 1.0f + 1e-5f) << text;
        }
    }
}

TEST_F(FaqModelTest, InvalidOptionsAreRefused) {
    FaqTrainOptions no_encoder;
    no_encoder.ensemble = 0;
    EXPECT_THROW(FaqModel::train(kb_->questions(), no_encoder, "x"), core::Error);
    FaqTrainOptions too_much;
    too_much.neighbour_weight = 0.6f;
    too_much.lexical_weight = 0.6f;
    EXPECT_THROW(FaqModel::train(kb_->questions(), too_much, "x"), core::Error);
    FaqTrainOptions negative;
    negative.answer_weight = -1;
    EXPECT_THROW(FaqModel::train(kb_->questions(), negative, "x"), core::Error);
}

TEST_F(FaqModelTest, FileOfAnOlderFormatVersionIsAMismatch) {
    const auto path = std::filesystem::temp_directory_path() / "teller-faq-version-test.model";
    model_->save(path);
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    // The header is JSON and not covered by the payload checksum: same length, version 1.
    const auto at = bytes.find("\"version\":2");
    ASSERT_NE(at, std::string::npos);
    bytes[at + 10] = '1';
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    auto loaded = FaqModel::load(path);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error(), core::make_error_code(core::Errc::model_mismatch));
    std::filesystem::remove(path);
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
