// TorchScript models: a module built and saved from C++ (as a Python export would), loaded
// through TorchScriptModel and load_classifier, and the errors for bad modules and sidecars.
#include "teller/nlu/torchscript_model.hpp"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace teller::nlu {
namespace {

namespace fs = std::filesystem;

// Vocabulary ids: 0 <pad>, 1 <unk>, then these tokens (as Tokenizer::tokens() yields them).
const std::vector<std::string> kVocabulary = {"<pad>",   "<unk>", "block", "card",
                                              "balance", "send",  "to",    "savings",
                                              "my",      "0",     "the",   "checking"};
const std::vector<std::string> kLabels = {"block_card", "check_balance", "transfer"};
// Deliberately not in Teller's own tag order: the loader maps columns by name.
const std::vector<std::string> kTags = {"B-account", "O", "I-account"};

// The joint signature: intent logits sum a per-token table, tag logits look one up.
constexpr const char* kJointSource = R"(
def forward(self, token_ids: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
    intents = torch.embedding(self.intent_table, token_ids).sum(1)
    tags = torch.embedding(self.tag_table, token_ids)
    return intents, tags
)";

torch::jit::Module joint_module() {
    const auto v = static_cast<std::int64_t>(kVocabulary.size());
    auto intent_table = torch::zeros({v, 3});
    intent_table[2][0] = 4;  // block -> block_card
    intent_table[3][0] = 1;  // card
    intent_table[4][1] = 4;  // balance -> check_balance
    intent_table[5][2] = 4;  // send -> transfer
    auto tag_table = torch::zeros({v, 3});
    tag_table.select(1, 1).fill_(2);  // O everywhere...
    tag_table[7][0] = 5;              // ...but B-account on savings and checking
    tag_table[11][0] = 5;
    tag_table[0][1] = 0;  // padding rows stay flat
    torch::jit::Module module("TinyJointNlu");
    module.register_parameter("intent_table", intent_table, false);
    module.register_parameter("tag_table", tag_table, false);
    module.define(kJointSource);
    return module;
}

void write_sidecar(const fs::path& path, const std::vector<std::string>& labels,
                   const std::vector<std::string>& tags) {
    boost::json::array vocabulary(kVocabulary.begin(), kVocabulary.end());
    boost::json::object root{{"format", "teller-torchscript/1"},
                             {"labels", boost::json::array(labels.begin(), labels.end())},
                             {"tags", boost::json::array(tags.begin(), tags.end())},
                             {"vocabulary", std::move(vocabulary)},
                             {"pad_id", 0},
                             {"unk_id", 1},
                             {"max_tokens", 64}};
    std::ofstream(path) << boost::json::serialize(root);
}

class TorchScriptModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("teller_torchscript_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
        module_ = dir_ / "joint.pt";
        joint_module().save(module_.string());
        write_sidecar(fs::path(module_.string() + ".json"), kLabels, kTags);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    fs::path module_;
};

TEST_F(TorchScriptModelTest, LoadsAModuleSavedLikeAPythonExportAndPredicts) {
    std::string reason;
    auto model = TorchScriptModel::load(module_, &reason);
    ASSERT_TRUE(model) << reason;
    EXPECT_EQ((*model)->intents(), kLabels);
    EXPECT_EQ((*model)->entity_types(), std::vector<std::string>{"account"});

    const std::vector<std::string> texts = {"Please block my card", "send $20 to Savings",
                                            "balance of checking", ""};
    const auto results = (*model)->parse(texts);
    ASSERT_EQ(results.size(), 4U);
    EXPECT_EQ(results[0].ranking.front().intent, "block_card");
    EXPECT_GT(results[0].ranking.front().confidence, 0.9f);
    EXPECT_EQ(results[0].ranking.size(), 3U);
    EXPECT_TRUE(results[0].entities.empty());

    // Rule amount and model account, merged and in text order.
    EXPECT_EQ(results[1].ranking.front().intent, "transfer");
    ASSERT_EQ(results[1].entities.size(), 2U);
    EXPECT_EQ(results[1].entities[0].type, "amount");
    EXPECT_EQ(results[1].entities[1].type, "account");
    EXPECT_EQ(results[1].entities[1].text, "Savings");
    EXPECT_EQ(results[1].entities[1].begin, 12U);
    EXPECT_EQ(results[1].entities[1].end, 19U);

    EXPECT_EQ(results[2].ranking.front().intent, "check_balance");
    ASSERT_EQ(results[2].entities.size(), 1U);
    EXPECT_EQ(results[2].entities[0].text, "checking");
    EXPECT_EQ(results[3].ranking.size(), 3U);
}

TEST_F(TorchScriptModelTest, BatchAndSingleParsesAgree) {
    auto model = TorchScriptModel::load(module_);
    ASSERT_TRUE(model);
    const std::vector<std::string> texts = {"block the card to savings now", "balance"};
    const auto batch = (*model)->parse(texts, EntitySource::model);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto single =
            (*model)->parse(std::span<const std::string>(&texts[i], 1), EntitySource::model);
        EXPECT_EQ(single[0].ranking.front().intent, batch[i].ranking.front().intent);
        EXPECT_FLOAT_EQ(single[0].ranking.front().confidence, batch[i].ranking.front().confidence);
        EXPECT_EQ(single[0].entities.size(), batch[i].entities.size());
    }
}

TEST_F(TorchScriptModelTest, WrongForwardSignatureIsModelMismatchWithReason) {
    torch::jit::Module module("OneInput");
    module.register_parameter("w", torch::ones({3}), false);
    module.define(R"(
def forward(self, token_ids: Tensor) -> Tensor:
    return token_ids.float() * self.w[0]
)");
    const fs::path path = dir_ / "one_input.pt";
    module.save(path.string());
    write_sidecar(fs::path(path.string() + ".json"), kLabels, kTags);

    std::string reason;
    auto model = TorchScriptModel::load(path, &reason);
    ASSERT_FALSE(model);
    EXPECT_EQ(model.error(), core::make_error_code(core::Errc::model_mismatch));
    EXPECT_NE(reason.find("expected forward(self, token_ids: Tensor, lengths: Tensor)"),
              std::string::npos)
        << reason;
}

TEST_F(TorchScriptModelTest, OutputWidthsThatDisagreeWithTheSidecarAreModelMismatch) {
    write_sidecar(fs::path(module_.string() + ".json"),
                  {"block_card", "check_balance", "transfer", "greet"}, kTags);
    std::string reason;
    auto model = TorchScriptModel::load(module_, &reason);
    ASSERT_FALSE(model);
    EXPECT_EQ(model.error(), core::make_error_code(core::Errc::model_mismatch));
    EXPECT_NE(reason.find("[B, 4]"), std::string::npos) << reason;
}

TEST_F(TorchScriptModelTest, MissingOrBadSidecarAndNonArchivesAreReported) {
    fs::remove(module_.string() + ".json");
    std::string reason;
    auto missing = TorchScriptModel::load(module_, &reason);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), core::make_error_code(core::Errc::model_missing));
    EXPECT_NE(reason.find("sidecar"), std::string::npos);

    std::ofstream(module_.string() + ".json") << "{\"format\": \"teller-torchscript/1\"";
    auto bad_json = TorchScriptModel::load(module_, &reason);
    ASSERT_FALSE(bad_json);
    EXPECT_EQ(bad_json.error(), core::make_error_code(core::Errc::model_corrupt));

    write_sidecar(fs::path(module_.string() + ".json"), kLabels, {"O", "B-account"});
    auto half_tags = TorchScriptModel::load(module_, &reason);
    ASSERT_FALSE(half_tags);
    EXPECT_EQ(half_tags.error(), core::make_error_code(core::Errc::model_corrupt));

    const fs::path text = dir_ / "not_a_module.pt";
    std::ofstream(text) << "hello";
    write_sidecar(fs::path(text.string() + ".json"), kLabels, kTags);
    auto not_archive = TorchScriptModel::load(text, &reason);
    ASSERT_FALSE(not_archive);
    EXPECT_EQ(not_archive.error(), core::make_error_code(core::Errc::model_corrupt));
}

TEST_F(TorchScriptModelTest, LoadClassifierPicksTheLoaderByFileKind) {
    std::string reason;
    auto scripted = load_classifier(module_, &reason);
    ASSERT_TRUE(scripted) << reason;
    const std::vector<std::string> texts = {"block my card"};
    EXPECT_EQ((*scripted)->parse(texts)[0].ranking.front().intent, "block_card");

    const fs::path native = dir_ / "native.model";
    TrainOptions options;
    options.epochs = 5;
    options.embedding_dim = 8;
    options.hidden_dim = 8;
    options.buckets = 1 << 12;
    options.min_count = 1;
    options.ensemble = 1;
    options.tagger.intent_member = false;
    IntentModel::train({{"block my card", "block_card", {}}, {"my balance", "check_balance", {}}},
                       options)
        ->save(native);
    auto loaded = load_classifier(native, &reason);
    ASSERT_TRUE(loaded) << reason;
    EXPECT_EQ((*loaded)->intents(), (std::vector<std::string>{"block_card", "check_balance"}));

    // A format version this build cannot read: the reason says how to get a readable one.
    std::string bytes;
    {
        std::ifstream in(native, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[8] = 99;
    std::ofstream(native, std::ios::binary | std::ios::trunc) << bytes;
    auto newer = load_classifier(native, &reason);
    ASSERT_FALSE(newer);
    EXPECT_EQ(newer.error(), core::make_error_code(core::Errc::model_mismatch));
    EXPECT_NE(reason.find("teller train"), std::string::npos) << reason;
}

}  // namespace
}  // namespace teller::nlu
