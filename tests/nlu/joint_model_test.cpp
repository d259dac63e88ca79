// The joint model's entity tagging: token offsets, BIO encoding and decoding, merging with rule
// entities, learning a toy slot, determinism and the model file's tag head.
#include "sequence_tags.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "teller/nlu/intent_model.hpp"
#include "teller/nlu/tokenizer.hpp"

namespace teller::nlu {
namespace {

namespace fs = std::filesystem;
using detail::TagSet;
using detail::token_spans;

core::Entity entity(std::string type, std::size_t begin, std::size_t end) {
    core::Entity e;
    e.type = std::move(type);
    e.begin = begin;
    e.end = end;
    return e;
}

// An utterance whose `[text](type)` spans become entities with byte offsets.
LabeledUtterance annotated(std::string_view marked, std::string intent) {
    LabeledUtterance u;
    u.intent = std::move(intent);
    for (std::size_t i = 0; i < marked.size();) {
        if (marked[i] != '[') {
            u.text.push_back(marked[i++]);
            continue;
        }
        const std::size_t close = marked.find(']', i);
        const std::size_t type_end = marked.find(')', close);
        core::Entity e;
        e.begin = u.text.size();
        u.text += marked.substr(i + 1, close - i - 1);
        e.end = u.text.size();
        e.type = std::string(marked.substr(close + 2, type_end - close - 2));
        e.text = u.text.substr(e.begin, e.end - e.begin);
        e.value = e.text;
        u.entities.push_back(e);
        i = type_end + 1;
    }
    return u;
}

TEST(SequenceTagsTest, TokenSpansAreTheTokenizersTokensWithTheirBytes) {
    const Tokenizer tokenizer;
    for (const std::string text :
         {"Send $5,000 to my SAVINGS account, please!", "转账给妈妈500元", "I hasn't got 12.50",
          "bad \xff\xfe bytes and caf\xc3\xa9", "", "  ", "Ｆｕｌｌ width ５"}) {
        const auto spans = token_spans(text);
        const auto tokens = tokenizer.tokens(text);
        ASSERT_EQ(spans.size(), tokens.size()) << text;
        for (std::size_t i = 0; i < spans.size(); ++i) {
            EXPECT_EQ(spans[i].text, tokens[i]) << text;
            EXPECT_LT(spans[i].begin, spans[i].end);
            EXPECT_LE(spans[i].end, text.size());
        }
    }
    const auto spans = token_spans("send 5,000 to 妈妈");
    ASSERT_EQ(spans.size(), 5U);
    EXPECT_EQ(spans[1].begin, 5U);
    EXPECT_EQ(spans[1].end, 10U);
    EXPECT_EQ(spans[3].begin, 14U);
    EXPECT_EQ(spans[3].end, 17U);
    EXPECT_TRUE(spans[3].cjk);
}

TEST(SequenceTagsTest, EncodeMarksFirstTokenBeginAndTheRestInside) {
    const std::string text = "move 50 to joint savings now";
    const TagSet tags({"amount", "account"});
    EXPECT_EQ(tags.size(), 5U);
    EXPECT_EQ(tags.name(1), "B-account");
    EXPECT_EQ(tags.name(4), "I-amount");
    const auto encoded = tags.encode(
        token_spans(text),
        {entity("account", 11, 24), entity("amount", 5, 7), entity("unknown_type", 0, 4)});
    EXPECT_EQ(encoded, (std::vector<std::int64_t>{0, 3, 0, 1, 2, 0}));
}

TEST(SequenceTagsTest, ViterbiNeverEmitsInsideWithoutItsBegin) {
    const TagSet tags({"a", "b"});  // O, B-a, I-a, B-b, I-b
    // Raw argmax would be I-a, I-a, O, I-b: invalid at 0 and at 3.
    const std::vector<float> scores = {
        -2.0f, -1.5f, -0.1f, -3.0f, -3.0f,  // token 0
        -2.0f, -3.0f, -0.1f, -3.0f, -3.0f,  // token 1
        -0.1f, -3.0f, -3.0f, -3.0f, -3.0f,  // token 2
        -1.0f, -3.0f, -3.0f, -3.0f, -0.2f,  // token 3
    };
    const auto best = tags.viterbi(scores.data(), 4);
    ASSERT_EQ(best.size(), 4U);
    std::int64_t previous = -1;
    for (std::int64_t tag : best) {
        EXPECT_TRUE(tags.allowed(previous, tag)) << previous << " -> " << tag;
        previous = tag;
    }
    EXPECT_EQ(best, (std::vector<std::int64_t>{1, 2, 0, 0}));
    EXPECT_TRUE(tags.viterbi(scores.data(), 0).empty());
}

TEST(SequenceTagsTest, DecodeGivesTypesByteOffsetsAndOriginalText) {
    const std::string text = "Pay 20 EUR to Joint Savings";
    const TagSet tags({"account", "amount"});
    const auto spans = token_spans(text);
    const auto entities = tags.decode(text, spans, {0, 3, 4, 0, 1, 2});
    ASSERT_EQ(entities.size(), 2U);
    EXPECT_EQ(entities[0].type, "amount");
    EXPECT_EQ(entities[0].text, "20 EUR");
    EXPECT_EQ(entities[0].begin, 4U);
    EXPECT_EQ(entities[0].end, 10U);
    EXPECT_EQ(entities[1].type, "account");
    EXPECT_EQ(entities[1].text, "Joint Savings");
    EXPECT_EQ(entities[1].value, "Joint Savings");
}

TEST(MergeEntitiesTest, RulesWinOverlapsAndModelFillsTheGaps) {
    core::Entity rule_amount = entity("amount", 5, 10);
    rule_amount.value = "5000.00 USD";
    const auto merged = merge_entities(
        {rule_amount}, {entity("money", 4, 8), entity("account", 14, 21), entity("name", 0, 4)});
    ASSERT_EQ(merged.size(), 3U);
    EXPECT_EQ(merged[0].type, "name");
    EXPECT_EQ(merged[1].type, "amount");
    EXPECT_EQ(merged[1].value, "5000.00 USD");
    EXPECT_EQ(merged[2].type, "account");
}

std::vector<LabeledUtterance> slot_data() {
    return {
        annotated("send money to [savings](account)", "transfer"),
        annotated("move it to [checking](account)", "transfer"),
        annotated("transfer to my [savings](account) please", "transfer"),
        annotated("put the rest in [checking](account)", "transfer"),
        annotated("pay into [joint savings](account) today", "transfer"),
        annotated("send it to [joint checking](account)", "transfer"),
        annotated("what is in [savings](account)", "check_balance"),
        annotated("balance of [checking](account)", "check_balance"),
        annotated("how much is in my [joint savings](account)", "check_balance"),
        annotated("show my balance", "check_balance"),
        annotated("what is my balance", "check_balance"),
        annotated("send money now", "transfer"),
        annotated("hello there", "greet"),
        annotated("good morning", "greet"),
    };
}

TrainOptions slot_options() {
    TrainOptions options;
    options.epochs = 30;
    options.embedding_dim = 16;
    options.hidden_dim = 16;
    options.buckets = 1 << 16;
    options.learning_rate = 0.02f;
    options.batch_size = 4;
    options.min_count = 1;
    options.ensemble = 1;
    options.tagger.epochs = 40;
    options.tagger.embedding_dim = 16;
    options.tagger.hidden_dim = 16;
    options.tagger.learning_rate = 0.02f;
    options.tagger.dropout = 0.0f;
    options.tagger.batch_size = 4;
    return options;
}

class JointModelTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { model_ = IntentModel::train(slot_data(), slot_options()); }
    static void TearDownTestSuite() { model_.reset(); }

    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("teller_joint_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::unique_ptr<IntentModel> model_;
    fs::path dir_;
};

std::unique_ptr<IntentModel> JointModelTest::model_;

TEST_F(JointModelTest, TagHeadLearnsAToySlotWithByteOffsets) {
    EXPECT_EQ(model_->entity_types(), std::vector<std::string>{"account"});
    const std::vector<std::string> texts = {"send money to savings", "balance of joint checking",
                                            "show my balance"};
    const auto results = model_->parse(texts, EntitySource::model);
    ASSERT_EQ(results.size(), 3U);
    ASSERT_EQ(results[0].entities.size(), 1U);
    EXPECT_EQ(results[0].entities[0].type, "account");
    EXPECT_EQ(results[0].entities[0].text, "savings");
    EXPECT_EQ(results[0].entities[0].begin, 14U);
    EXPECT_EQ(results[0].entities[0].end, 21U);
    ASSERT_EQ(results[1].entities.size(), 1U);
    EXPECT_EQ(results[1].entities[0].text, "joint checking");
    EXPECT_TRUE(results[2].entities.empty());
    EXPECT_EQ(results[0].ranking.front().intent, "transfer");
    EXPECT_EQ(results[1].ranking.front().intent, "check_balance");
}

TEST_F(JointModelTest, ParseMergesRuleEntitiesWithModelEntities) {
    const std::vector<std::string> texts = {"send $500 to savings"};
    const auto merged = model_->parse(texts);
    ASSERT_EQ(merged.size(), 1U);
    ASSERT_EQ(merged[0].entities.size(), 2U);
    EXPECT_EQ(merged[0].entities[0].type, "amount");
    EXPECT_EQ(merged[0].entities[0].value, "500.00 USD");
    EXPECT_EQ(merged[0].entities[1].type, "account");
    EXPECT_EQ(merged[0].entities[1].text, "savings");
    const auto rules = model_->parse(texts, EntitySource::rules);
    ASSERT_EQ(rules[0].entities.size(), 1U);
    EXPECT_EQ(rules[0].entities[0].type, "amount");
}

TEST_F(JointModelTest, SameSeedGivesIdenticalEntitiesAndConfidences) {
    const auto again = IntentModel::train(slot_data(), slot_options());
    std::vector<std::string> texts;
    for (const LabeledUtterance& u : slot_data()) {
        texts.push_back(u.text);
    }
    const auto a = model_->parse(texts);
    const auto b = again->parse(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(a[i].ranking.size(), b[i].ranking.size());
        for (std::size_t k = 0; k < a[i].ranking.size(); ++k) {
            EXPECT_EQ(a[i].ranking[k].intent, b[i].ranking[k].intent);
            EXPECT_EQ(a[i].ranking[k].confidence, b[i].ranking[k].confidence);
        }
        ASSERT_EQ(a[i].entities.size(), b[i].entities.size());
        for (std::size_t k = 0; k < a[i].entities.size(); ++k) {
            EXPECT_EQ(a[i].entities[k].begin, b[i].entities[k].begin);
            EXPECT_EQ(a[i].entities[k].end, b[i].entities[k].end);
        }
    }
}

TEST_F(JointModelTest, BatchAndSingleParsesAgree) {
    const std::vector<std::string> texts = {"send money to joint savings please", "hi",
                                            "what is in checking"};
    const auto batch = model_->parse(texts, EntitySource::model);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto single =
            model_->parse(std::span<const std::string>(&texts[i], 1), EntitySource::model);
        EXPECT_EQ(single[0].ranking.front().intent, batch[i].ranking.front().intent);
        EXPECT_NEAR(single[0].ranking.front().confidence, batch[i].ranking.front().confidence,
                    1e-5);
        ASSERT_EQ(single[0].entities.size(), batch[i].entities.size());
        for (std::size_t k = 0; k < batch[i].entities.size(); ++k) {
            EXPECT_EQ(single[0].entities[k].text, batch[i].entities[k].text);
        }
    }
}

TEST_F(JointModelTest, SaveLoadRoundTripKeepsTheTagHead) {
    const fs::path file = dir_ / "joint.model";
    model_->save(file);
    auto loaded = IntentModel::load(file);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ((*loaded)->entity_types(), model_->entity_types());
    std::vector<std::string> texts;
    for (const LabeledUtterance& u : slot_data()) {
        texts.push_back(u.text);
    }
    const auto a = model_->parse(texts);
    const auto b = (*loaded)->parse(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        EXPECT_EQ(a[i].ranking.front().intent, b[i].ranking.front().intent);
        EXPECT_FLOAT_EQ(a[i].ranking.front().confidence, b[i].ranking.front().confidence);
        ASSERT_EQ(a[i].entities.size(), b[i].entities.size()) << texts[i];
        for (std::size_t k = 0; k < a[i].entities.size(); ++k) {
            EXPECT_EQ(a[i].entities[k].type, b[i].entities[k].type);
            EXPECT_EQ(a[i].entities[k].begin, b[i].entities[k].begin);
            EXPECT_EQ(a[i].entities[k].end, b[i].entities[k].end);
        }
    }
}

TEST_F(JointModelTest, IntentOnlyModelFileLoadsWithoutTagHead) {
    TrainOptions options = slot_options();
    options.tagger.enabled = false;
    options.tagger.intent_member = false;
    const auto intent_only = IntentModel::train(slot_data(), options);
    const fs::path file = dir_ / "intent_only.model";
    intent_only->save(file);
    auto loaded = IntentModel::load(file);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_TRUE((*loaded)->entity_types().empty());
    const std::vector<std::string> texts = {"send money to savings"};
    EXPECT_TRUE((*loaded)->parse(texts, EntitySource::model)[0].entities.empty());
    EXPECT_EQ((*loaded)->parse(texts)[0].ranking.front().intent, "transfer");
}

TEST(JointModelTrainTest, InvalidTaggerOptionsThrow) {
    TrainOptions options = slot_options();
    options.tagger.dropout = 1.5f;
    EXPECT_THROW(IntentModel::train(slot_data(), options), core::Error);
}

}  // namespace
}  // namespace teller::nlu
