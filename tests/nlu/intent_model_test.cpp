// The intent model on a tiny bilingual data set: learning, determinism, files and their errors.
#include "teller/nlu/intent_model.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace teller::nlu {
namespace {

namespace fs = std::filesystem;

std::vector<LabeledUtterance> tiny_data() {
    return {
        {"what is my balance", "check_balance"},
        {"how much money do I have", "check_balance"},
        {"show my account balance please", "check_balance"},
        {"我的余额是多少", "check_balance"},
        {"查一下账户余额", "check_balance"},
        {"block my card", "block_card"},
        {"my card was stolen, freeze it", "block_card"},
        {"I lost my credit card", "block_card"},
        {"冻结我的银行卡", "block_card"},
        {"我的卡丢了", "block_card"},
        {"hello there", "greet"},
        {"good morning", "greet"},
        {"hi", "greet"},
        {"你好", "greet"},
        {"早上好", "greet"},
        {"send 500 to my mother", "transfer"},
        {"transfer money to savings", "transfer"},
        {"转账给妈妈500元", "transfer"},
        {"talk to a human", "handoff"},
        {"转人工客服", "handoff"},
        {"thanks, bye", "goodbye"},
        {"再见", "goodbye"},
    };
}

TrainOptions tiny_options() {
    TrainOptions options;
    options.epochs = 40;
    options.embedding_dim = 32;
    options.hidden_dim = 32;
    options.buckets = 1 << 16;
    options.learning_rate = 0.02f;
    options.batch_size = 4;
    options.min_count = 1;
    options.ensemble = 1;
    options.dropout = 0.0f;
    return options;
}

std::vector<std::string> texts_of(const std::vector<LabeledUtterance>& data) {
    std::vector<std::string> texts;
    for (const LabeledUtterance& e : data) {
        texts.push_back(e.text);
    }
    return texts;
}

class IntentModelTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { model_ = IntentModel::train(tiny_data(), tiny_options()); }
    static void TearDownTestSuite() { model_.reset(); }

    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("teller_nlu_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::unique_ptr<IntentModel> model_;
    fs::path dir_;
};

std::unique_ptr<IntentModel> IntentModelTest::model_;

TEST_F(IntentModelTest, LearnsItsBilingualTrainingExamples) {
    const auto data = tiny_data();
    const auto texts = texts_of(data);
    const auto results = model_->parse(texts);
    ASSERT_EQ(results.size(), data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        ASSERT_FALSE(results[i].ranking.empty());
        EXPECT_EQ(results[i].ranking.front().intent, data[i].intent) << data[i].text;
    }
    const EvalReport report = evaluate(*model_, data);
    EXPECT_EQ(report.correct, data.size());
}

TEST_F(IntentModelTest, RanksTopFiveWithSoftmaxConfidences) {
    const std::vector<std::string> texts{"freeze my stolen card", "", "\xFF\xFE garbage"};
    const auto results = model_->parse(texts);
    ASSERT_EQ(results.size(), 3u);
    for (const core::NluResult& result : results) {
        ASSERT_EQ(result.ranking.size(), 5u);
        float sum = 0;
        for (std::size_t i = 0; i < result.ranking.size(); ++i) {
            EXPECT_GE(result.ranking[i].confidence, 0.0f);
            if (i > 0) {
                EXPECT_GE(result.ranking[i - 1].confidence, result.ranking[i].confidence);
            }
            sum += result.ranking[i].confidence;
        }
        EXPECT_LE(sum, 1.0f + 1e-5f);
    }
    EXPECT_EQ(results[0].ranking.front().intent, "block_card");
    EXPECT_TRUE(model_->parse({}).empty());
}

TEST_F(IntentModelTest, ListsItsIntentsSorted) {
    EXPECT_EQ(model_->intents(), (std::vector<std::string>{"block_card", "check_balance", "goodbye",
                                                           "greet", "handoff", "transfer"}));
}

TEST_F(IntentModelTest, BatchAndSingleParsesAgree) {
    const auto texts = texts_of(tiny_data());
    const auto batch = model_->parse(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto single = model_->parse(std::span<const std::string>(&texts[i], 1));
        ASSERT_EQ(single.size(), 1u);
        EXPECT_EQ(single[0].ranking.front().intent, batch[i].ranking.front().intent);
        EXPECT_NEAR(single[0].ranking.front().confidence, batch[i].ranking.front().confidence,
                    1e-5f);
    }
}

TEST_F(IntentModelTest, SaveLoadRoundTripGivesIdenticalConfidences) {
    const fs::path file = dir_ / "model.tnlu";
    model_->save(file);
    auto loaded = IntentModel::load(file);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ((*loaded)->intents(), model_->intents());
    EXPECT_EQ((*loaded)->training_fingerprint(), fingerprint(tiny_data()));

    std::vector<std::string> texts = texts_of(tiny_data());
    texts.push_back("something never seen 完全没见过");
    const auto before = model_->parse(texts);
    const auto after = (*loaded)->parse(texts);
    ASSERT_EQ(before.size(), after.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        ASSERT_EQ(before[i].ranking.size(), after[i].ranking.size());
        for (std::size_t j = 0; j < before[i].ranking.size(); ++j) {
            EXPECT_EQ(before[i].ranking[j].intent, after[i].ranking[j].intent);
            EXPECT_EQ(before[i].ranking[j].confidence, after[i].ranking[j].confidence);
        }
    }
}

TEST_F(IntentModelTest, SaveLeavesNoTemporaryFile) {
    model_->save(dir_ / "model.tnlu");
    model_->save(dir_ / "model.tnlu");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(IntentModelTest, SameSeedGivesIdenticalOutputs) {
    const auto again = IntentModel::train(tiny_data(), tiny_options());
    const std::vector<std::string> texts{"lost card", "余额", "hello", "transfer 20"};
    const auto a = model_->parse(texts);
    const auto b = again->parse(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        for (std::size_t j = 0; j < a[i].ranking.size(); ++j) {
            EXPECT_EQ(a[i].ranking[j].intent, b[i].ranking[j].intent);
            EXPECT_EQ(a[i].ranking[j].confidence, b[i].ranking[j].confidence);
        }
    }
}

TEST_F(IntentModelTest, ParseIsSafeFromManyThreads) {
    const auto texts = texts_of(tiny_data());
    const auto expected = model_->parse(texts);
    std::vector<std::thread> threads;
    std::vector<int> mismatches(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 20; ++round) {
                const auto got = model_->parse(texts);
                for (std::size_t i = 0; i < got.size(); ++i) {
                    if (got[i].ranking.front().intent != expected[i].ranking.front().intent ||
                        got[i].ranking.front().confidence !=
                            expected[i].ranking.front().confidence) {
                        ++mismatches[static_cast<std::size_t>(t)];
                    }
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(IntentModelTest, EnsembleAveragesMembersAndRoundTrips) {
    TrainOptions options = tiny_options();
    options.ensemble = 2;
    const auto ensemble = IntentModel::train(tiny_data(), options);
    const auto texts = texts_of(tiny_data());
    const auto before = ensemble->parse(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        EXPECT_EQ(before[i].ranking.front().intent, tiny_data()[i].intent) << texts[i];
    }

    const fs::path file = dir_ / "ensemble.tnlu";
    ensemble->save(file);
    auto loaded = IntentModel::load(file);
    ASSERT_TRUE(loaded) << loaded.error().message();
    const auto after = (*loaded)->parse(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        for (std::size_t j = 0; j < before[i].ranking.size(); ++j) {
            EXPECT_EQ(before[i].ranking[j].intent, after[i].ranking[j].intent);
            EXPECT_EQ(before[i].ranking[j].confidence, after[i].ranking[j].confidence);
        }
    }
    // Two members differ from the single-member model trained with the same first seed.
    EXPECT_NE(before[0].ranking.front().confidence,
              model_->parse(texts)[0].ranking.front().confidence);
}

TEST_F(IntentModelTest, MissingFileIsModelMissing) {
    auto loaded = IntentModel::load(dir_ / "absent.tnlu");
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error(), core::make_error_code(core::Errc::model_missing));
}

TEST_F(IntentModelTest, DamagedFilesAreModelCorrupt) {
    const fs::path good = dir_ / "good.tnlu";
    model_->save(good);
    std::string bytes;
    {
        std::ifstream in(good, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto write = [&](const std::string& name, const std::string& content) {
        const fs::path path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    };
    std::string wrong_magic = bytes;
    wrong_magic[0] = 'X';
    std::string flipped = bytes;
    flipped[bytes.size() - 3] ^= 0x40;
    std::string bad_header = bytes;
    bad_header[30] = '\x01';

    const std::vector<fs::path> damaged{
        write("empty.tnlu", ""),
        write("garbage.tnlu", "this is not a model at all, just some words\n"),
        write("truncated_half.tnlu", bytes.substr(0, bytes.size() / 2)),
        write("truncated_tail.tnlu", bytes.substr(0, bytes.size() - 1)),
        write("truncated_prefix.tnlu", bytes.substr(0, 10)),
        write("wrong_magic.tnlu", wrong_magic),
        write("flipped_weight.tnlu", flipped),
        write("bad_header.tnlu", bad_header),
        write("trailing.tnlu", bytes + "extra"),
    };
    for (const fs::path& path : damaged) {
        auto loaded = IntentModel::load(path);
        ASSERT_FALSE(loaded) << path;
        EXPECT_EQ(loaded.error(), core::make_error_code(core::Errc::model_corrupt)) << path;
    }
    auto dir_load = IntentModel::load(dir_);
    ASSERT_FALSE(dir_load);
    EXPECT_EQ(dir_load.error(), core::make_error_code(core::Errc::model_corrupt));
}

TEST_F(IntentModelTest, NewerFormatVersionIsModelMismatch) {
    const fs::path file = dir_ / "model.tnlu";
    model_->save(file);
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    bytes[8] = '\x02';  // the little-endian format version follows the 8 magic bytes
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    auto loaded = IntentModel::load(file);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error(), core::make_error_code(core::Errc::model_mismatch));
}

TEST_F(IntentModelTest, FingerprintIgnoresOrderButNotContent) {
    auto data = tiny_data();
    const std::string original = fingerprint(data);
    EXPECT_EQ(original.size(), 64u);
    std::reverse(data.begin(), data.end());
    EXPECT_EQ(fingerprint(data), original);
    data[0].intent = "greet";
    EXPECT_NE(fingerprint(data), original);
    EXPECT_EQ(model_->training_fingerprint(), original);
}

TEST(IntentModelTrainTest, EmptyDataThrows) {
    EXPECT_THROW(IntentModel::train({}, TrainOptions{}), core::Error);
    TrainOptions bad;
    bad.epochs = 0;
    EXPECT_THROW(IntentModel::train({{"hi", "greet"}}, bad), core::Error);
}

}  // namespace
}  // namespace teller::nlu
