// Configuration loading: YAML file and TELLER_* environment variables over built-in defaults.
#include "teller/core/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include <yaml-cpp/yaml.h>

#include "teller/core/error.hpp"

extern char** environ;

namespace teller::core {
namespace {

// Parses an integer in [lo, hi]; nullopt when `text` is not one.
std::optional<long> parse_int(const std::string& text, long lo, long hi) {
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_probability(const std::string& text) {
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    // Written so that NaN, which compares false with everything, is refused too.
    if (text.empty() || end != text.c_str() + text.size() || !(value >= 0.0 && value <= 1.0)) {
        return std::nullopt;
    }
    return value;
}

// Splits "a,b,c" (empty items dropped).
std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string::npos) {
            comma = text.size();
        }
        if (comma > start) {
            items.push_back(text.substr(start, comma - start));
        }
        start = comma + 1;
    }
    return items;
}

// Sets one scalar setting from its textual value; false when the value is invalid.
bool set_value(Config& c, const std::string& key, const std::string& value) {
    if (key == "http_host") {
        c.http_host = value;
    } else if (key == "http_port") {
        auto port = parse_int(value, 0, 65535);
        if (!port) {
            return false;
        }
        c.http_port = static_cast<std::uint16_t>(*port);
    } else if (key == "instance_id") {
        c.instance_id = value;
    } else if (key == "kafka_brokers") {
        c.kafka_brokers = value;
    } else if (key == "inbound_partitions") {
        auto n = parse_int(value, 1, 1024);
        if (!n) {
            return false;
        }
        c.inbound_partitions = static_cast<int>(*n);
    } else if (key == "engine_group") {
        c.engine_group = value;
    } else if (key == "redis_url") {
        c.redis_url = value;
    } else if (key == "session_ttl_seconds") {
        auto n = parse_int(value, 1, 30L * 24 * 3600);
        if (!n) {
            return false;
        }
        c.session_ttl_seconds = static_cast<int>(*n);
    } else if (key == "model") {
        c.model_path = value;
    } else if (key == "confidence_threshold") {
        auto p = parse_probability(value);
        if (!p) {
            return false;
        }
        c.confidence_threshold = *p;
    } else if (key == "skills_dir") {
        c.skills_dir = value;
    } else if (key == "backend_data") {
        c.backend_data = value;
    } else if (key == "require_verification") {
        if (value != "true" && value != "false") {
            return false;
        }
        c.require_verification = value == "true";
    } else if (key == "survey") {
        if (value != "true" && value != "false") {
            return false;
        }
        c.survey = value == "true";
    } else if (key == "flows_dir") {
        c.flows_dir = value;
    } else if (key == "backend_url") {
        c.backend_url = value;
    } else if (key == "backend_token") {
        c.backend_token = value;
    } else if (key == "backend_timeout_ms") {
        auto n = parse_int(value, 1, 600'000);
        if (!n) {
            return false;
        }
        c.backend_timeout_ms = static_cast<int>(*n);
    } else if (key == "backend_ca_file") {
        c.backend_ca_file = value;
    } else if (key == "public_base_url") {
        c.public_base_url = value;
    } else if (key == "max_in_flight") {
        auto n = parse_int(value, 1, 10'000'000);
        if (!n) {
            return false;
        }
        c.max_in_flight = static_cast<int>(*n);
    } else if (key == "conversation_rate") {
        char* end = nullptr;
        double rate = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !(rate > 0 && rate <= 1e6)) {
            return false;
        }
        c.conversation_rate = rate;
    } else if (key == "conversation_burst") {
        auto n = parse_int(value, 1, 1'000'000);
        if (!n) {
            return false;
        }
        c.conversation_burst = static_cast<int>(*n);
    } else if (key == "webchat_token_secret") {
        c.webchat_token_secret = value;
    } else if (key == "agent_token") {
        c.agent_token = value;
    } else if (key == "log_level") {
        static const std::set<std::string> levels = {"trace", "debug", "info",
                                                     "warn",  "error", "off"};
        if (!levels.contains(value)) {
            return false;
        }
        c.log_level = value;
    } else if (key == "knowledge_dir") {
        c.nlg.knowledge_dir = value;
    } else if (key == "faq_model") {
        c.nlg.faq_model = value;
    } else if (key == "faq_threshold") {
        auto p = parse_probability(value);
        if (!p) {
            return false;
        }
        c.nlg.faq_threshold = *p;
    } else if (key == "generator_model") {
        c.nlg.generator_model = value;
    } else if (key == "generator_skills" || key == "nlg_generator") {
        // nlg_generator: TELLER_NLG_GENERATOR, the variable's older name for the same list.
        c.nlg.generator_skills = split_list(value);
    } else if (key == "skills") {
        c.skills.clear();
        for (const std::string& path : split_list(value)) {
            c.skills.push_back(SkillConfig{path, "{}"});
        }
    } else {
        return false;
    }
    return true;
}

const std::set<std::string>& scalar_keys() {
    static const std::set<std::string> keys = {"http_host",
                                               "http_port",
                                               "instance_id",
                                               "kafka_brokers",
                                               "inbound_partitions",
                                               "engine_group",
                                               "redis_url",
                                               "session_ttl_seconds",
                                               "model",
                                               "confidence_threshold",
                                               "skills_dir",
                                               "backend_data",
                                               "flows_dir",
                                               "require_verification",
                                               "survey",
                                               "backend_url",
                                               "backend_token",
                                               "backend_timeout_ms",
                                               "backend_ca_file",
                                               "public_base_url",
                                               "max_in_flight",
                                               "conversation_rate",
                                               "conversation_burst",
                                               "webchat_token_secret",
                                               "agent_token",
                                               "log_level"};
    return keys;
}

std::string where(const std::filesystem::path& path, const YAML::Node& node) {
    return path.string() + ":" + std::to_string(node.Mark().line + 1);
}

// Emits a YAML node (a skill's `config` map) as JSON for the skill's init.
std::string yaml_to_json(const YAML::Node& node) {
    YAML::Emitter out;
    out << YAML::DoubleQuoted << YAML::Flow << YAML::BeginMap;
    for (const auto& item : node) {
        out << YAML::Key << item.first.as<std::string>() << YAML::Value
            << item.second.as<std::string>();
    }
    out << YAML::EndMap;
    return out.c_str();
}

// Checks one channel setting; "" when valid, else what is wrong with it.
std::string check_channel_setting(const std::string& key, const std::string& value) {
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) {
        return "setting names are lower-case letters, digits and _";
    }
    if (key == "base_url" || key == "public_base_url") {
        if (!value.starts_with("http://") && !value.starts_with("https://")) {
            return "must start with http:// or https://";
        }
    } else if (key == "rate_per_second") {
        char* end = nullptr;
        double rate = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !(rate >= 0.0 && rate <= 1e6)) {
            return "must be a number of calls per second, 0 for no limit";
        }
    } else if (key == "timeout_ms") {
        if (!parse_int(value, 1, 600'000)) {
            return "must be milliseconds between 1 and 600000";
        }
    } else if (key == "max_attempts") {
        if (!parse_int(value, 1, 20)) {
            return "must be between 1 and 20";
        }
    }
    return {};
}

// Sets channels.<channel>.<key>; `enabled` switches the channel. "" or what is wrong.
std::string set_channel_setting(Config& c, const std::string& channel, const std::string& key,
                                const std::string& value) {
    const auto& names = provider_channel_names();
    if (std::find(names.begin(), names.end(), channel) == names.end()) {
        return "unknown channel `" + channel + "` (sms, telegram, whatsapp or wechat)";
    }
    if (key == "enabled") {
        if (value != "true" && value != "false") {
            return "`enabled` must be true or false";
        }
        c.channels[channel].enabled = value == "true";
        return {};
    }
    if (std::string problem = check_channel_setting(key, value); !problem.empty()) {
        return "`" + key + "` " + problem;
    }
    c.channels[channel].settings[key] = value;
    return {};
}

// `channels:` is a map of channel names to maps of scalar settings.
void apply_channels(Config& config, const std::filesystem::path& path, const YAML::Node& node) {
    if (!node.IsMap()) {
        throw Error(where(path, node) + ": `channels` must be a map of channel names to settings");
    }
    for (const auto& channel : node) {
        const std::string name = channel.first.as<std::string>();
        const auto& names = provider_channel_names();
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            throw Error(where(path, channel.first) + ": unknown channel `channels." + name +
                        "` (sms, telegram, whatsapp or wechat)");
        }
        if (channel.second.IsNull()) {
            config.channels[name];  // configured with defaults only
            continue;
        }
        if (!channel.second.IsMap()) {
            throw Error(where(path, channel.second) + ": `channels." + name +
                        "` must be a map of settings");
        }
        config.channels[name];
        for (const auto& setting : channel.second) {
            const std::string key = setting.first.as<std::string>();
            if (!setting.second.IsScalar()) {
                throw Error(where(path, setting.second) + ": `channels." + name + "." + key +
                            "` must be a single value");
            }
            std::string problem =
                set_channel_setting(config, name, key, setting.second.as<std::string>());
            if (!problem.empty()) {
                throw Error(where(path, setting.second) + ": invalid value for `channels." + name +
                            "." + key + "`: " + problem);
            }
        }
    }
}

// The `nlg:` map: knowledge_dir, faq_model, faq_threshold, generator_model, generator_skills
// (a list or a comma-separated string).
void apply_nlg(Config& config, const std::filesystem::path& path, const YAML::Node& node) {
    static const std::map<std::string, std::string> kNlgKeys = {
        {"knowledge_dir", "a folder"},
        {"faq_model", "a file"},
        {"faq_threshold", "a number from 0 to 1"},
        {"generator_model", "a file"},
        {"generator_skills", "a list of skill names"},
    };
    if (!node.IsMap()) {
        throw Error(where(path, node) + ": `nlg` must be a map of settings");
    }
    for (const auto& item : node) {
        const std::string key = item.first.as<std::string>();
        auto known = kNlgKeys.find(key);
        if (known == kNlgKeys.end()) {
            throw Error(where(path, item.first) + ": unknown setting `nlg." + key + "`");
        }
        std::string text;
        if (key == "generator_skills" && item.second.IsSequence()) {
            for (const YAML::Node& skill : item.second) {
                if (!skill.IsScalar() || skill.as<std::string>().empty()) {
                    throw Error(where(path, skill) +
                                ": invalid value for `nlg.generator_skills` (" + known->second +
                                ")");
                }
                text += (text.empty() ? "" : ",") + skill.as<std::string>();
            }
        } else if (item.second.IsScalar()) {
            text = item.second.as<std::string>();
        } else if (!item.second.IsNull()) {
            throw Error(where(path, item.second) + ": invalid value for `nlg." + key + "` (" +
                        known->second + ")");
        }
        if (!set_value(config, key, text)) {
            throw Error(where(path, item.second) + ": invalid value for `nlg." + key + "` (" +
                        known->second + ")");
        }
    }
}

// The settings of a configuration file's root map; yaml-cpp exceptions pass through.
void apply_settings(Config& config, const std::filesystem::path& path, const YAML::Node& root) {
    for (const auto& item : root) {
        const std::string key = item.first.as<std::string>();
        const YAML::Node& value = item.second;
        if (key == "skills") {
            // A list of paths, or of {path, config} maps.
            if (!value.IsSequence()) {
                throw Error(where(path, value) + ": `skills` must be a list");
            }
            config.skills.clear();
            for (const YAML::Node& skill : value) {
                SkillConfig sc;
                if (skill.IsScalar()) {
                    sc.path = skill.as<std::string>();
                } else if (skill.IsMap() && skill["path"]) {
                    sc.path = skill["path"].as<std::string>();
                    if (skill["config"]) {
                        if (!skill["config"].IsMap()) {
                            throw Error(where(path, skill) + ": a skill's `config` must be a map");
                        }
                        sc.config_json = yaml_to_json(skill["config"]);
                    }
                } else {
                    throw Error(where(path, skill) +
                                ": each skill is a path or a map with `path` (and `config`)");
                }
                config.skills.push_back(std::move(sc));
            }
            continue;
        }
        if (key == "channels") {
            apply_channels(config, path, value);
            continue;
        }
        if (key == "nlg") {
            apply_nlg(config, path, value);
            continue;
        }
        if (!scalar_keys().contains(key)) {
            throw Error(where(path, item.first) + ": unknown setting `" + key + "`");
        }
        if (!value.IsScalar() || !set_value(config, key, value.as<std::string>())) {
            throw Error(where(path, value) + ": invalid value for `" + key + "`");
        }
    }
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& config_environment_variables() {
    static const std::vector<std::pair<std::string, std::string>> vars = {
        {"TELLER_CONFIG", "YAML configuration file"},
        {"TELLER_HTTP_HOST", "address the gateway binds (default 127.0.0.1)"},
        {"TELLER_HTTP_PORT", "port the gateway binds (default 8080)"},
        {"TELLER_INSTANCE_ID", "gateway instance id (default: generated)"},
        {"TELLER_KAFKA_BROKERS", "Kafka bootstrap servers (default: in-process mock cluster)"},
        {"TELLER_INBOUND_PARTITIONS", "partitions of topics created by Teller (default 4)"},
        {"TELLER_ENGINE_GROUP", "consumer group of the engines (default teller-engine)"},
        {"TELLER_REDIS_URL", "redis://[:password@]host[:port][/db] (default: in-memory store)"},
        {"TELLER_SESSION_TTL_SECONDS", "idle time after which a session expires (default 1800)"},
        {"TELLER_MODEL", "intent model file (default models/teller-intent.model)"},
        {"TELLER_CONFIDENCE_THRESHOLD", "below it the bot asks instead of guessing (0.5)"},
        {"TELLER_SKILLS", "comma-separated skill plugin files (default: all in skills_dir)"},
        {"TELLER_SKILLS_DIR", "folder of skill plugins (default: next to the executable)"},
        {"TELLER_BACKEND_DATA", "demo backend data file (default deploy/demo-bank.json)"},
        {"TELLER_FLOWS_DIR", "folder of YAML flows (default flows/)"},
        {"TELLER_REQUIRE_VERIFICATION",
         "true (default): balances, cards and transfers need a verified customer"},
        {"TELLER_SURVEY",
         "true (default): offer the satisfaction survey after a goodbye or handoff"},
        {"TELLER_BACKEND_URL", "bank backend over HTTP (default: the demo bank file)"},
        {"TELLER_BACKEND_TOKEN", "bearer token sent to the HTTP backend (a secret)"},
        {"TELLER_BACKEND_TIMEOUT_MS", "time allowed for one backend call (default 1500)"},
        {"TELLER_BACKEND_CA_FILE", "CA bundle for the HTTP backend (default: system store)"},
        {"TELLER_PUBLIC_BASE_URL", "URL providers call webhooks at (default http://host:port)"},
        {"TELLER_MAX_IN_FLIGHT", "unacknowledged messages before the gateway answers 503 (10000)"},
        {"TELLER_CONVERSATION_RATE", "messages per second per conversation (default 5)"},
        {"TELLER_CONVERSATION_BURST", "burst of messages per conversation (default 20)"},
        {"TELLER_WEBCHAT_TOKEN_SECRET",
         "HMAC secret of web chat tokens (default: none, anonymous)"},
        {"TELLER_AGENT_TOKEN",
         "shared token of the agent desk at /agent, 16+ characters (default: desk off; "
         "teller run on its embedded Kafka makes one up and prints the desk URL)"},
        {"TELLER_LOG_LEVEL", "trace, debug, info, warn, error or off (default info)"},
        {"TELLER_KNOWLEDGE_DIR", "nlg.knowledge_dir: templates and FAQ (default knowledge/)"},
        {"TELLER_FAQ_MODEL", "nlg.faq_model (default teller-faq.model beside the intent model)"},
        {"TELLER_FAQ_THRESHOLD",
         "nlg.faq_threshold: FAQ score to answer, 0 to 1 (default: the tuned value)"},
        {"TELLER_GENERATOR_MODEL",
         "nlg.generator_model (default teller-generator.model beside the intent model)"},
        {"TELLER_NLG_GENERATOR",
         "nlg.generator_skills: comma-separated skills the generator phrases (default none)"},
    };
    return vars;
}

void apply_config_file(Config& config, const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw Error(
            "cannot read configuration file " + path.string() +
            (std::filesystem::is_directory(path, ec) ? " (it is a directory)" : " (no such file)"));
    }
    YAML::Node root;
    try {
        root = YAML::LoadFile(path.string());
    } catch (const YAML::BadFile&) {
        throw Error("cannot read configuration file " + path.string());
    } catch (const YAML::Exception& e) {
        throw Error("configuration file " + path.string() + ":" + std::to_string(e.mark.line + 1) +
                    ": " + e.msg);
    } catch (const std::exception& e) {
        throw Error("cannot read configuration file " + path.string() + ": " + e.what());
    }
    if (root.IsNull()) {
        return;
    }
    if (!root.IsMap()) {
        throw Error(where(path, root) + ": the configuration must be a map of settings");
    }

    // yaml-cpp throws on conversions the checks below do not foresee (a sequence as a key, a
    // map as a skill's path, nested skill settings): those are refused like any bad value.
    try {
        apply_settings(config, path, root);
    } catch (const YAML::Exception& e) {
        throw Error("configuration file " + path.string() + ":" + std::to_string(e.mark.line + 1) +
                    ": " + e.msg);
    }
}

void apply_environment(Config& config, const std::map<std::string, std::string>& environment) {
    for (const auto& [name, description] : config_environment_variables()) {
        auto it = environment.find(name);
        if (it == environment.end() || name == "TELLER_CONFIG") {
            continue;
        }
        std::string key = name.substr(7);
        for (char& ch : key) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        if (!set_value(config, key, it->second)) {
            throw Error("environment variable " + name + "=\"" + it->second +
                        "\" is not valid: " + description);
        }
    }

    // TELLER_<CHANNEL>_<KEY>: channel settings.
    for (const std::string& channel : provider_channel_names()) {
        std::string prefix = "TELLER_";
        for (char ch : channel) {
            prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        }
        prefix += '_';
        for (auto it = environment.lower_bound(prefix);
             it != environment.end() && it->first.starts_with(prefix); ++it) {
            std::string key = it->first.substr(prefix.size());
            for (char& ch : key) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
            if (std::string problem = set_channel_setting(config, channel, key, it->second);
                !problem.empty()) {
                throw Error("environment variable " + it->first + " is not valid: " + problem);
            }
        }
    }
}

const std::vector<std::string>& provider_channel_names() {
    static const std::vector<std::string> names = {"sms", "telegram", "whatsapp", "wechat"};
    return names;
}

std::string default_provider_base_url(const std::string& channel) {
    static const std::map<std::string, std::string> hosts = {
        {"sms", "https://api.twilio.com"},
        {"telegram", "https://api.telegram.org"},
        {"whatsapp", "https://graph.facebook.com"},
        {"wechat", "https://api.weixin.qq.com"},
    };
    auto it = hosts.find(channel);
    return it == hosts.end() ? std::string() : it->second;
}

std::vector<std::string> enabled_channels(const Config& config) {
    std::vector<std::string> names;
    for (const auto& [name, channel] : config.channels) {
        if (channel.enabled) {
            names.push_back(name);
        }
    }
    return names;
}

const std::vector<std::pair<std::string, std::string>>& channel_common_settings() {
    static const std::vector<std::pair<std::string, std::string>> keys = {
        {"enabled", "true or false (default true once any setting is given)"},
        {"base_url", "provider API (default: the real provider host)"},
        {"public_base_url", "URL the provider calls this gateway at (default: gateway's own)"},
        {"rate_per_second", "calls per second to the provider, 0 = no limit (default 0)"},
        {"timeout_ms", "time allowed for one call to the provider (default 15000)"},
        {"max_attempts", "attempts per call, retrying errors, 429 and 5xx (default 4)"},
        {"ca_file", "PEM file of CAs to trust instead of the system store (https)"},
    };
    return keys;
}

std::map<std::string, std::string> teller_environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        if (entry.starts_with("TELLER_")) {
            auto eq = entry.find('=');
            if (eq != std::string_view::npos) {
                env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
            }
        }
    }
    return env;
}

}  // namespace teller::core
