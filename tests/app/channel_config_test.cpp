// Provider channel settings: the `channels:` section, TELLER_<NAME>_<KEY>, and the adapters and
// clients the app builds from them.
#include "channel_setup.hpp"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "teller/core/config.hpp"
#include "teller/core/error.hpp"
#include "teller/core/session_store.hpp"

namespace teller::app {
namespace {

std::filesystem::path write_file(const std::string& name, const std::string& text) {
    auto path = std::filesystem::temp_directory_path() /
                ("teller-channels-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path) << text;
    return path;
}

// The message of the core::Error `f` throws, or "" when it throws none.
template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const core::Error& e) {
        return e.what();
    }
    return {};
}

TEST(ChannelConfigTest, TheChannelsSectionSetsEachChannelsSettings) {
    auto path = write_file("ok.yaml",
                           "http_port: 9090\n"
                           "channels:\n"
                           "  telegram:\n"
                           "    bot_token: \"123:abc\"\n"
                           "    base_url: http://127.0.0.1:9000/tg\n"
                           "    rate_per_second: 30\n"
                           "  sms:\n"
                           "    enabled: false\n"
                           "    account_sid: AC1\n");
    core::Config c;
    core::apply_config_file(c, path);

    ASSERT_EQ(c.channels.size(), 2U);
    EXPECT_EQ(c.channels.at("telegram").settings.at("bot_token"), "123:abc");
    EXPECT_EQ(c.channels.at("telegram").settings.at("base_url"), "http://127.0.0.1:9000/tg");
    EXPECT_TRUE(c.channels.at("telegram").enabled);
    EXPECT_FALSE(c.channels.at("sms").enabled);
    EXPECT_FALSE(c.channels.at("sms").settings.contains("enabled"));
    EXPECT_EQ(core::enabled_channels(c), std::vector<std::string>{"telegram"});
}

TEST(ChannelConfigTest, MistakesNameTheFileLineAndKey) {
    core::Config c;
    std::string unknown = error_of([&] {
        core::apply_config_file(c, write_file("unknown.yaml", "channels:\n  fax:\n    x: 1\n"));
    });
    EXPECT_NE(unknown.find("unknown.yaml:2"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("channels.fax"), std::string::npos) << unknown;

    std::string timeout = error_of([&] {
        core::apply_config_file(c, write_file("timeout.yaml",
                                              "channels:\n  sms:\n    auth_token: t\n"
                                              "    timeout_ms: soon\n"));
    });
    EXPECT_NE(timeout.find("timeout.yaml:4"), std::string::npos) << timeout;
    EXPECT_NE(timeout.find("channels.sms.timeout_ms"), std::string::npos) << timeout;

    std::string nested = error_of([&] {
        core::apply_config_file(c, write_file("nested.yaml",
                                              "channels:\n  wechat:\n"
                                              "    token: [1, 2]\n"));
    });
    EXPECT_NE(nested.find("nested.yaml:3"), std::string::npos) << nested;
    EXPECT_NE(nested.find("channels.wechat.token"), std::string::npos) << nested;

    EXPECT_NE(error_of([&] {
                  core::apply_config_file(c, write_file("url.yaml",
                                                        "channels:\n  whatsapp:\n"
                                                        "    base_url: graph\n"));
              }).find("base_url"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  core::apply_config_file(c, write_file("list.yaml", "channels: [sms]\n"));
              }).find("list.yaml:1"),
              std::string::npos);
}

TEST(ChannelConfigTest, EnvironmentVariablesSetAndOverrideChannelSettings) {
    core::Config c;
    c.channels["telegram"].settings["bot_token"] = "from-file";
    core::apply_environment(c, {{"TELLER_TELEGRAM_BOT_TOKEN", "from-env"},
                                {"TELLER_SMS_BASE_URL", "http://127.0.0.1:9/sms"},
                                {"TELLER_SMS_MAX_ATTEMPTS", "2"},
                                {"TELLER_WECHAT_ENABLED", "false"},
                                {"TELLER_HTTP_PORT", "8081"}});

    EXPECT_EQ(c.http_port, 8081);
    EXPECT_EQ(c.channels.at("telegram").settings.at("bot_token"), "from-env");
    EXPECT_EQ(c.channels.at("sms").settings.at("base_url"), "http://127.0.0.1:9/sms");
    EXPECT_EQ(c.channels.at("sms").settings.at("max_attempts"), "2");
    EXPECT_FALSE(c.channels.at("wechat").enabled);
    EXPECT_EQ(core::enabled_channels(c), (std::vector<std::string>{"sms", "telegram"}));

    std::string bad = error_of([&] {
        core::apply_environment(c, {{"TELLER_WHATSAPP_MAX_ATTEMPTS", "many"}});
    });
    EXPECT_NE(bad.find("TELLER_WHATSAPP_MAX_ATTEMPTS"), std::string::npos) << bad;
}

TEST(ChannelConfigTest, ClientOptionsComeFromTheCommonKeysWithTheProviderAsDefault) {
    auto defaults = provider_options("telegram", {});
    EXPECT_EQ(defaults.base_url, "https://api.telegram.org");
    EXPECT_EQ(defaults.provider, "telegram");
    EXPECT_EQ(provider_options("sms", {}).base_url, "https://api.twilio.com");
    EXPECT_EQ(provider_options("whatsapp", {}).base_url, "https://graph.facebook.com");
    EXPECT_EQ(provider_options("wechat", {}).base_url, "https://api.weixin.qq.com");

    auto set = provider_options("sms", {{"base_url", "http://127.0.0.1:9/x"},
                                        {"timeout_ms", "250"},
                                        {"max_attempts", "2"},
                                        {"rate_per_second", "1.5"}});
    EXPECT_EQ(set.base_url, "http://127.0.0.1:9/x");
    EXPECT_EQ(set.total_timeout, std::chrono::milliseconds(250));
    EXPECT_LE(set.connect_timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(set.max_attempts, 2);
    EXPECT_DOUBLE_EQ(set.rate_per_second, 1.5);
}

TEST(ChannelConfigTest, EnabledChannelsAreBuiltAndAMissingSettingIsNamed) {
    auto store = core::make_memory_session_store();
    core::Config c;
    c.channels["telegram"].settings = {{"bot_token", "123456:ABC-def_ghi"},
                                       {"secret_token", "s3cret"},
                                       {"base_url", "http://127.0.0.1:9/tg"}};
    c.channels["sms"].enabled = false;

    auto built = build_provider_channels(c, *store);
    ASSERT_EQ(built.size(), 1U);
    EXPECT_EQ(built[0].name, "telegram");
    EXPECT_EQ(built[0].adapter->channel(), "telegram");
    EXPECT_EQ(built[0].adapter->path(), "/webhooks/telegram");
    EXPECT_EQ(built[0].client->options().base_url, "http://127.0.0.1:9/tg");

    c.channels["telegram"].settings.erase("bot_token");
    std::string missing = error_of([&] { build_provider_channels(c, *store); });
    EXPECT_NE(missing.find("channel telegram"), std::string::npos) << missing;
    EXPECT_NE(missing.find("bot_token"), std::string::npos) << missing;
}

TEST(ChannelConfigTest, HelpListsTheCommonKeysAndEachChannel) {
    std::string help = channel_settings_help();
    for (const char* word :
         {"TELLER_<NAME>_<KEY>", "base_url", "public_base_url", "rate_per_second", "timeout_ms",
          "max_attempts", "sms", "telegram", "whatsapp", "wechat", "bot_token"}) {
        EXPECT_NE(help.find(word), std::string::npos) << word;
    }
}

}  // namespace
}  // namespace teller::app
