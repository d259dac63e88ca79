// Configuration loading: YAML file and TELLER_* environment variables over built-in defaults.
#include "teller/core/config.hpp"

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
    } else if (key == "log_level") {
        static const std::set<std::string> levels = {"trace", "debug", "info",
                                                     "warn",  "error", "off"};
        if (!levels.contains(value)) {
            return false;
        }
        c.log_level = value;
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
        {"TELLER_LOG_LEVEL", "trace, debug, info, warn, error or off (default info)"},
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
        if (!scalar_keys().contains(key)) {
            throw Error(where(path, item.first) + ": unknown setting `" + key + "`");
        }
        if (!value.IsScalar() || !set_value(config, key, value.as<std::string>())) {
            throw Error(where(path, value) + ": invalid value for `" + key + "`");
        }
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
