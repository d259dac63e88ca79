// `teller run` serving a TorchScript model trained outside Teller (as a Python export would be),
// and refusing one that predicts intents no loaded skill handles.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/script.h>
#include <boost/json.hpp>

#include "chat_client.hpp"
#include "teller_process.hpp"

namespace teller::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Token ids: 0 <pad>, 1 <unk>, then these (as the tokenizer yields them).
const std::vector<std::string> kVocabulary = {"<pad>", "<unk>", "hello", "balance", "bye"};

// Saves a module with the documented signature (core/src/nlu/TORCHSCRIPT.md): each of
// "hello", "balance", "bye" votes for the label at the same position in `labels`.
fs::path save_module(const fs::path& dir, const std::vector<std::string>& labels) {
    auto table = torch::zeros({static_cast<std::int64_t>(kVocabulary.size()), 3});
    table[2][0] = 5;
    table[3][1] = 5;
    table[4][2] = 5;
    auto tags = torch::zeros({static_cast<std::int64_t>(kVocabulary.size()), 1});
    torch::jit::Module module("TinyExternalNlu");
    module.register_parameter("intent_table", table, false);
    module.register_parameter("tag_table", tags, false);
    module.define(R"(
def forward(self, token_ids: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
    return torch.embedding(self.intent_table, token_ids).sum(1), torch.embedding(self.tag_table, token_ids)
)");
    fs::path path = dir / "external.pt";
    module.save(path.string());
    boost::json::object sidecar{
        {"format", "teller-torchscript/1"},
        {"labels", boost::json::array(labels.begin(), labels.end())},
        {"tags", boost::json::array{"O"}},
        {"vocabulary", boost::json::array(kVocabulary.begin(), kVocabulary.end())},
        {"pad_id", 0},
        {"unk_id", 1},
        {"max_tokens", 32}};
    std::ofstream(path.string() + ".json") << boost::json::serialize(sidecar);
    return path;
}

class TorchScriptRunTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("teller-ts-run-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<std::string> run_args(const fs::path& model) const {
        return {"run",
                "--port",
                "0",
                "--model",
                model.string(),
                "--skill",
                TELLER_BINARY_DIR "/skills/teller_skill_cards.so",
                "--backend-data",
                TELLER_SOURCE_DIR "/deploy/demo-bank.json"};
    }

    fs::path dir_;
};

TEST_F(TorchScriptRunTest, BotAnswersWithTheExternalModel) {
    fs::path model = save_module(dir_, {"greet", "cards.balance", "goodbye"});
    TellerProcess bot(teller_binary(), run_args(model));
    ASSERT_TRUE(bot.start()) << bot.log();
    EXPECT_NE(bot.log().find("torchscript"), std::string::npos) << bot.log();

    ChatClient chat(bot.port());
    ASSERT_FALSE(chat.hello("", "en").empty());
    chat.say("balance please");
    auto reply = chat.next_of_type("reply", 20s);
    ASSERT_TRUE(reply) << bot.log();
    // The page signs the visitor in as the demo customer, so the balance is shown.
    EXPECT_NE(std::string(reply->at("text").as_string()).find("Your balances"), std::string::npos)
        << reply->at("text").as_string();
    bot.stop();
}

TEST_F(TorchScriptRunTest, ModelPredictingUnknownIntentsIsRefusedWithTheirNames) {
    fs::path model = save_module(dir_, {"greet", "cards.teleport", "goodbye"});
    TellerProcess bot(teller_binary(), run_args(model));
    int status = bot.run_to_completion(2min);
    EXPECT_NE(status, 0);
    EXPECT_NE(bot.log().find("predicts intents no loaded skill handles: cards.teleport"),
              std::string::npos)
        << bot.log();
}

}  // namespace
}  // namespace teller::testing
