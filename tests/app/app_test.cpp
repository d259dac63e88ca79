// The teller command: --help everywhere, precise errors for bad flags and unusable models.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "teller/nlu/intent_model.hpp"
#include "teller_process.hpp"

namespace teller::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Outcome {
    int status;
    std::string output;
};

Outcome teller(std::vector<std::string> args) {
    TellerProcess process(teller_binary(), std::move(args));
    int status = process.run_to_completion(2min);
    return {status, process.log()};
}

std::string backend() {
    return std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
}

fs::path temp_path(const std::string& name) {
    return fs::temp_directory_path() / ("teller-app-" + std::to_string(::getpid()) + "-" + name);
}

TEST(AppTest, EveryCommandHasHelp) {
    for (const char* command : {"run", "engine", "gateway", "train", "eval", "kafka-dev"}) {
        Outcome o = teller({command, "--help"});
        EXPECT_EQ(o.status, 0) << command;
        EXPECT_NE(o.output.find(std::string("Usage: teller ") + command), std::string::npos)
            << o.output;
    }
    Outcome top = teller({"--help"});
    EXPECT_EQ(top.status, 0);
    EXPECT_NE(top.output.find("Commands:"), std::string::npos);
}

TEST(AppTest, UnknownCommandsAndFlagsAreUsageErrors) {
    Outcome command = teller({"frobnicate"});
    EXPECT_EQ(command.status, 2);
    EXPECT_NE(command.output.find("unknown command 'frobnicate'"), std::string::npos);

    Outcome flag = teller({"run", "--prot", "80"});
    EXPECT_EQ(flag.status, 2);
    EXPECT_NE(flag.output.find("unknown option --prot"), std::string::npos) << flag.output;

    Outcome value = teller({"run", "--port", "eighty"});
    EXPECT_EQ(value.status, 1);
    EXPECT_NE(value.output.find("--port eighty is not valid"), std::string::npos) << value.output;
}

TEST(AppTest, NumericFlagsThatAreNotWholeNumbersAreRefusedByName) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"train-faq", "--epochs", "abc"},
          std::vector<std::string>{"train-faq", "--epochs", "99999999999"},
          std::vector<std::string>{"train-faq", "--epochs", "3abc"},
          std::vector<std::string>{"kafka-dev", "--brokers", "1e3"},
          std::vector<std::string>{"train", "--epochs", "-4"}}) {
        Outcome o = teller(args);
        EXPECT_EQ(o.status, 1) << args[0] << " " << args[2] << ": " << o.output;
        EXPECT_NE(
            o.output.find("--" + args[1].substr(2) + " " + args[2] + ": expected a whole number"),
            std::string::npos)
            << o.output;
    }
}

TEST(AppTest, MissingModelNamesTheFileAndTheFix) {
    fs::path model = temp_path("absent.model");
    Outcome o =
        teller({"run", "--port", "0", "--model", model.string(), "--backend-data", backend()});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.output.find("no intent model at " + model.string()), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("teller train --output " + model.string()), std::string::npos);
}

TEST(AppTest, CorruptModelNamesTheFileAndTheFix) {
    fs::path model = temp_path("corrupt.model");
    std::ofstream(model) << "this is not a model";
    Outcome o =
        teller({"run", "--port", "0", "--model", model.string(), "--backend-data", backend()});
    fs::remove(model);
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.output.find("intent model " + model.string() + " cannot be used"),
              std::string::npos)
        << o.output;
    EXPECT_NE(o.output.find("teller train"), std::string::npos);
}

TEST(AppTest, ModelTrainedOnOtherExamplesIsRefused) {
    fs::path model = temp_path("other.model");
    nlu::TrainOptions options;
    options.epochs = 1;
    nlu::IntentModel::train({{"hello there", "greet"}, {"goodbye now", "goodbye"}}, options)
        ->save(model);
    Outcome o =
        teller({"run", "--port", "0", "--model", model.string(), "--backend-data", backend()});
    fs::remove(model);
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.output.find("was trained on other examples than the loaded skills"),
              std::string::npos)
        << o.output;
}

TEST(AppTest, UnknownSkillIsReportedAndNothingStartsWithoutSkills) {
    Outcome o = teller({"train", "--output", temp_path("x.model").string(), "--skill",
                        "/nonexistent/skill.so", "--backend-data", backend()});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.output.find("/nonexistent/skill.so"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("no skill could be loaded"), std::string::npos) << o.output;
}

TEST(AppTest, EvalReportsAccuracyOnLabelledCsv) {
    fs::path train = temp_path("train.csv");
    fs::path test = temp_path("test.csv");
    std::ofstream(train) << "text,category\n"
                            "i lost my card,lost\nmy card was stolen,lost\ncard is gone,lost\n"
                            "what is my balance,balance\nhow much money do i have,balance\n"
                            "show my balance,balance\n";
    std::ofstream(test) << "text,category\n\"lost, my card\",lost\nmy balance please,balance\n";
    Outcome o = teller({"eval", "--train", train.string(), "--test", test.string()});
    fs::remove(train);
    fs::remove(test);
    EXPECT_EQ(o.status, 0) << o.output;
    EXPECT_NE(o.output.find("accuracy"), std::string::npos);
    EXPECT_NE(o.output.find("macro-F1"), std::string::npos);
    EXPECT_NE(o.output.find("test examples   2"), std::string::npos) << o.output;
}

}  // namespace
}  // namespace teller::testing
