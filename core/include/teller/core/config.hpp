// Teller's configuration: defaults, then a YAML file, then TELLER_* environment variables, then
// command-line flags (each later source overrides the earlier ones).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace teller::core {

/// One skill plugin to load.
struct SkillConfig {
    std::filesystem::path path;      ///< the plugin's shared library
    std::string config_json = "{}";  ///< handed to the skill's init
};

/// One provider channel's settings: `channels.<name>.<key>` in YAML, `TELLER_<NAME>_<KEY>` in
/// the environment. Keys every channel takes (channel_common_settings()): base_url,
/// public_base_url, rate_per_second, timeout_ms, max_attempts; the rest are the adapter's own.
struct ChannelConfig {
    bool enabled = true;                          ///< `enabled: false` keeps it configured but off
    std::map<std::string, std::string> settings;  ///< every key but `enabled`, values as text
};

/// NLG settings: `nlg.<key>` in YAML; TELLER_KNOWLEDGE_DIR, TELLER_FAQ_MODEL,
/// TELLER_FAQ_THRESHOLD, TELLER_GENERATOR_MODEL and TELLER_NLG_GENERATOR override them.
struct NlgConfig {
    std::filesystem::path knowledge_dir;  ///< empty = ./knowledge, then next to the executable
    std::filesystem::path faq_model;      ///< empty = teller-faq.model beside the intent model
    std::optional<double> faq_threshold;  ///< 0..1; empty = nlg::NlgOptions' tuned default
    /// The reply generator; empty = teller-generator.model beside the intent model. Loaded only
    /// when generator_skills names a skill, and then it must exist.
    std::filesystem::path generator_model;
    /// Skills whose templated replies the generator may phrase ("*" for every reply); empty =
    /// generator off. Every name must be a loaded skill (checked at start-up).
    std::vector<std::string> generator_skills;
};

struct Config {
    // Gateway.
    std::string http_host = "127.0.0.1";
    std::uint16_t http_port = 8080;
    std::string instance_id;  ///< gateway instance id; empty = generated at start

    // Kafka: empty brokers = an in-process librdkafka mock cluster.
    std::string kafka_brokers;
    int inbound_partitions = 4;
    std::string engine_group = "teller-engine";

    // Sessions: empty URL = the in-memory store.
    std::string redis_url;
    int session_ttl_seconds = 1800;

    // Dialogue and NLU.
    std::filesystem::path model_path = "models/teller-intent.model";
    double confidence_threshold = 0.5;
    /// Sensitive intents need a verified customer; false only for demos and tests without real
    /// customer data.
    bool require_verification = true;
    /// Offer the satisfaction survey after a goodbye (in a conversation that did something) and
    /// after an agent closes a handoff (DialogueOptions::survey).
    bool survey = true;
    std::vector<SkillConfig> skills;     ///< empty = every plugin in skills_dir
    std::filesystem::path skills_dir;    ///< empty = found next to the executable
    std::filesystem::path backend_data;  ///< demo backend file; empty = found in deploy/
    std::filesystem::path flows_dir;     ///< YAML flows; empty = flows/ found like backend_data

    // Backend over HTTP (docs/backend-http.md); empty URL = the demo bank file above.
    std::string backend_url;
    std::string backend_token;  ///< bearer token; a secret, never logged
    int backend_timeout_ms = 1500;
    std::filesystem::path backend_ca_file;  ///< extra CA bundle; empty = the system store

    // Gateway limits and web chat sign-in.
    std::string public_base_url;   ///< what providers call; empty = http://<host>:<port>
    int max_in_flight = 10000;     ///< unacknowledged records before new messages get 503
    double conversation_rate = 5;  ///< messages per second one conversation may send
    int conversation_burst = 20;
    std::string webchat_token_secret;  ///< HMAC secret of web chat tokens; empty = anonymous
    /// Shared token of the agent desk (GET /agent); empty = desk off. A secret, never logged.
    std::string agent_token;

    std::string log_level = "info";

    NlgConfig nlg;

    /// Provider channels by name (see provider_channel_names()). A channel is enabled when it
    /// has an entry here whose `enabled` is not false.
    std::map<std::string, ChannelConfig> channels;
};

/// The provider channels Teller has adapters for: "sms", "telegram", "whatsapp", "wechat".
const std::vector<std::string>& provider_channel_names();

/// The provider API a channel calls when its `base_url` is not set ("https://api.telegram.org"
/// for "telegram"); "" for an unknown channel.
std::string default_provider_base_url(const std::string& channel);

/// The channels to start: configured and not disabled, in name order.
std::vector<std::string> enabled_channels(const Config& config);

/// The keys every channel takes, with what each means (for --help and the README).
const std::vector<std::pair<std::string, std::string>>& channel_common_settings();

/// The environment variables read, with what each sets (for --help).
const std::vector<std::pair<std::string, std::string>>& config_environment_variables();

/// Reads `path` (YAML) over the defaults. Throws core::Error naming the file, line and key on a
/// syntax error, an unknown key or a value of the wrong type.
void apply_config_file(Config& config, const std::filesystem::path& path);

/// Applies TELLER_* variables from `environment` (name -> value), including the channel settings
/// `TELLER_<CHANNEL>_<KEY>` (TELLER_TELEGRAM_BOT_TOKEN sets `channels.telegram.bot_token`).
/// Throws core::Error naming the variable on a bad value.
void apply_environment(Config& config, const std::map<std::string, std::string>& environment);

/// The process environment as a map (TELLER_* entries only).
std::map<std::string, std::string> teller_environment();

}  // namespace teller::core
