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
    std::vector<SkillConfig> skills;     ///< empty = every plugin in skills_dir
    std::filesystem::path skills_dir;    ///< empty = found next to the executable
    std::filesystem::path backend_data;  ///< demo backend file; empty = found in deploy/

    std::string log_level = "info";
};

/// The environment variables read, with what each sets (for --help).
const std::vector<std::pair<std::string, std::string>>& config_environment_variables();

/// Reads `path` (YAML) over the defaults. Throws core::Error naming the file, line and key on a
/// syntax error, an unknown key or a value of the wrong type.
void apply_config_file(Config& config, const std::filesystem::path& path);

/// Applies TELLER_* variables from `environment` (name -> value). Throws core::Error naming the
/// variable on a bad value.
void apply_environment(Config& config, const std::map<std::string, std::string>& environment);

/// The process environment as a map (TELLER_* entries only).
std::map<std::string, std::string> teller_environment();

}  // namespace teller::core
