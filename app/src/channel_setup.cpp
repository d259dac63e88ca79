// Builds the configured provider channels and starts their delivery loop.
#include "channel_setup.hpp"

#include <charconv>
#include <map>

#include "teller/channels/sms.hpp"
#include "teller/channels/telegram.hpp"
#include "teller/channels/wechat.hpp"
#include "teller/channels/whatsapp.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"

namespace teller::app {
namespace {

using Factory = std::unique_ptr<channels::ChannelAdapter> (*)(const channels::ChannelSettings&,
                                                              channels::ChannelContext);

Factory factory(const std::string& channel) {
    static const std::map<std::string, Factory> factories = {
        {"sms", &channels::make_sms_adapter},
        {"telegram", &channels::make_telegram_adapter},
        {"whatsapp", &channels::make_whatsapp_adapter},
        {"wechat", &channels::make_wechat_adapter},
    };
    auto it = factories.find(channel);
    return it == factories.end() ? nullptr : it->second;
}

std::string setting(const channels::ChannelSettings& settings, const std::string& key) {
    auto it = settings.find(key);
    return it == settings.end() ? std::string() : it->second;
}

// The channels' own required settings, for --help.
const std::vector<std::pair<std::string, std::string>>& channel_keys() {
    static const std::vector<std::pair<std::string, std::string>> keys = {
        {"sms", "account_sid, auth_token, from_number or messaging_service_sid (Twilio)"},
        {"telegram", "bot_token, secret_token (the one given to setWebhook)"},
        {"whatsapp", "app_secret, verify_token, access_token, phone_number_id (Cloud API)"},
        {"wechat", "token, app_id, app_secret (Official Account, plain-text mode)"},
    };
    return keys;
}

}  // namespace

channels::HttpProviderOptions provider_options(const std::string& channel,
                                               const channels::ChannelSettings& settings) {
    channels::HttpProviderOptions options;
    options.provider = channel;
    options.base_url = setting(settings, "base_url");
    if (options.base_url.empty()) {
        options.base_url = core::default_provider_base_url(channel);
    }
    // The configuration checked these values' ranges already.
    if (auto v = setting(settings, "timeout_ms"); !v.empty()) {
        int ms = 0;
        std::from_chars(v.data(), v.data() + v.size(), ms);
        options.total_timeout = std::chrono::milliseconds(ms);
        options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
    }
    if (auto v = setting(settings, "max_attempts"); !v.empty()) {
        std::from_chars(v.data(), v.data() + v.size(), options.max_attempts);
    }
    if (auto v = setting(settings, "rate_per_second"); !v.empty()) {
        options.rate_per_second = std::strtod(v.c_str(), nullptr);
    }
    options.ca_file = setting(settings, "ca_file");
    return options;
}

std::vector<ProviderChannel> build_provider_channels(const core::Config& config,
                                                     core::SessionStore& store) {
    std::vector<ProviderChannel> built;
    for (const std::string& name : core::enabled_channels(config)) {
        const channels::ChannelSettings& settings = config.channels.at(name).settings;
        Factory make = factory(name);
        if (make == nullptr) {
            throw core::Error("channel " + name + ": no adapter of that name");
        }
        ProviderChannel channel;
        channel.name = name;
        channel.public_base_url = setting(settings, "public_base_url");
        try {
            channel.adapter = make(settings, channels::ChannelContext{&store});
            channel.client =
                std::make_unique<channels::HttpProviderClient>(provider_options(name, settings));
        } catch (const core::Error& e) {
            std::string upper;
            for (char c : name) {
                upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            throw core::Error("channel " + name + ": " + e.what() + " (set channels." + name +
                              ".<key> in the configuration file or TELLER_" + upper + "_<KEY>)");
        }
        built.push_back(std::move(channel));
    }
    return built;
}

ProviderDeliveryParts start_provider_delivery(std::vector<ProviderChannel>& channels,
                                              const std::string& brokers, core::Producer& producer,
                                              core::SessionStore& store) {
    ProviderDeliveryParts parts;
    if (channels.empty()) {
        return parts;
    }
    core::KafkaConfig kafka;
    kafka.brokers = brokers;
    kafka.client_id = "teller-delivery";
    // A group that has never committed starts at the oldest reply (the consumer's default):
    // replies for provider channels exist only once a gateway with those channels accepted
    // messages, so they are owed, and the dedupe marks stop a second send. Starting at the newest
    // instead would drop every reply produced while the first members are still joining.
    parts.consumer = std::make_unique<core::KafkaConsumer>(
        kafka, std::string(channels::kDeliveryGroup),
        std::vector<std::string>{std::string(core::kOutboundTopic)});
    parts.delivery =
        std::make_unique<channels::ProviderDelivery>(*parts.consumer, producer, &store);
    for (ProviderChannel& channel : channels) {
        parts.delivery->add_channel(*channel.adapter, *channel.client);
    }
    parts.delivery->start();
    return parts;
}

std::string channel_settings_help() {
    std::string text =
        "Provider channels (YAML `channels.<name>.<key>: value`, or environment\n"
        "TELLER_<NAME>_<KEY>, e.g. TELLER_TELEGRAM_BOT_TOKEN). A channel runs once any of its\n"
        "settings is given, unless `enabled` is false. Keys every channel takes:\n";
    for (const auto& [key, description] : core::channel_common_settings()) {
        text += "  " + key + std::string(key.size() < 18 ? 18 - key.size() : 1, ' ') + description +
                "\n";
    }
    text += "Each channel's own settings (see README \"Channels\"):\n";
    for (const auto& [name, keys] : channel_keys()) {
        text +=
            "  " + name + std::string(name.size() < 18 ? 18 - name.size() : 1, ' ') + keys + "\n";
    }
    return text;
}

}  // namespace teller::app
