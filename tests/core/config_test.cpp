// Configuration: file over defaults, environment over file, precise errors.
#include "teller/core/config.hpp"

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "teller/core/error.hpp"

namespace teller::core {
namespace {

std::filesystem::path write_file(const std::string& name, const std::string& text) {
    auto path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path) << text;
    return path;
}

TEST(ConfigTest, FileOverridesDefaults) {
    auto path = write_file("teller-config-ok.yaml",
                           "http_port: 9090\n"
                           "kafka_brokers: 127.0.0.1:9092\n"
                           "confidence_threshold: 0.7\n"
                           "skills:\n"
                           "  - build/skills/libteller_skill_cards.so\n"
                           "  - path: other.so\n"
                           "    config: {currency: EUR}\n");
    Config c;
    apply_config_file(c, path);
    EXPECT_EQ(c.http_port, 9090);
    EXPECT_EQ(c.kafka_brokers, "127.0.0.1:9092");
    EXPECT_DOUBLE_EQ(c.confidence_threshold, 0.7);
    ASSERT_EQ(c.skills.size(), 2u);
    EXPECT_EQ(c.skills[1].path, "other.so");
    EXPECT_EQ(c.skills[1].config_json, R"({"currency": "EUR"})");
    EXPECT_TRUE(c.redis_url.empty());
}

TEST(ConfigTest, UnknownKeyIsRejectedWithFileAndLine) {
    auto path = write_file("teller-config-unknown.yaml", "http_port: 80\nhttp_prot: 81\n");
    Config c;
    try {
        apply_config_file(c, path);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("teller-config-unknown.yaml:2"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("http_prot"), std::string::npos);
    }
}

TEST(ConfigTest, BadValueAndSyntaxErrorsNameTheProblem) {
    Config c;
    auto bad_port = write_file("teller-config-port.yaml", "http_port: 70000\n");
    EXPECT_THROW(apply_config_file(c, bad_port), Error);
    auto broken = write_file("teller-config-broken.yaml", "http_port: [1,\n");
    EXPECT_THROW(apply_config_file(c, broken), Error);
    EXPECT_THROW(apply_config_file(c, "/nonexistent/teller.yaml"), Error);
    EXPECT_THROW(apply_config_file(c, std::filesystem::temp_directory_path()), Error);
}

// Found by the config_yaml fuzz target: yaml-cpp's conversion errors escaped as YAML::Exception.
TEST(ConfigTest, MapsWhereTextIsExpectedAreRefusedAsConfigErrors) {
    Config c;
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"teller-config-seq-key.yaml", "[a, b]: 1\n"},
             {"teller-config-path-map.yaml", "skills:\n  - path: {a: 1}\n"},
             {"teller-config-nested.yaml", "skills:\n  - path: x.so\n    config: {a: {b: 1}}\n"}}) {
        auto path = write_file(name, text);
        EXPECT_THROW(apply_config_file(c, path), Error) << text;
    }
}

TEST(ConfigTest, EnvironmentOverridesAndValidates) {
    Config c;
    apply_environment(c, {{"TELLER_KAFKA_BROKERS", "k:9092"},
                          {"TELLER_REDIS_URL", "redis://127.0.0.1:6380"},
                          {"TELLER_SKILLS", "a.so,b.so"},
                          {"TELLER_UNRELATED", "x"}});
    EXPECT_EQ(c.kafka_brokers, "k:9092");
    EXPECT_EQ(c.redis_url, "redis://127.0.0.1:6380");
    ASSERT_EQ(c.skills.size(), 2u);
    EXPECT_EQ(c.skills[0].path, "a.so");

    try {
        apply_environment(c, {{"TELLER_CONFIDENCE_THRESHOLD", "high"}});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("TELLER_CONFIDENCE_THRESHOLD"), std::string::npos);
    }
    for (const char* bad : {"nan", "NaN", "-0.1", "1.5", "inf"}) {
        EXPECT_THROW(apply_environment(c, {{"TELLER_CONFIDENCE_THRESHOLD", bad}}), Error) << bad;
    }
}

}  // namespace
}  // namespace teller::core
