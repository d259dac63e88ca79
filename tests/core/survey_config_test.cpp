// The `survey` configuration key and TELLER_SURVEY.
#include "teller/core/config.hpp"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "teller/core/error.hpp"

namespace teller::core {
namespace {

TEST(SurveyConfigTest, OnByDefaultAndSwitchedOffByFileOrEnvironment) {
    Config c;
    EXPECT_TRUE(c.survey);

    auto path = std::filesystem::temp_directory_path() / "teller-config-survey.yaml";
    std::ofstream(path) << "survey: false\n";
    apply_config_file(c, path);
    EXPECT_FALSE(c.survey);

    apply_environment(c, {{"TELLER_SURVEY", "true"}});
    EXPECT_TRUE(c.survey);
}

TEST(SurveyConfigTest, AnythingButTrueOrFalseIsAnError) {
    Config c;
    EXPECT_THROW(apply_environment(c, {{"TELLER_SURVEY", "yes please"}}), Error);
}

}  // namespace
}  // namespace teller::core
