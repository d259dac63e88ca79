// Shared set-up of the commands: configuration, backend, skills and model.
#include "bot_setup.hpp"

#include <filesystem>
#include <iostream>
#include <map>

#include <boost/json.hpp>

#include "teller/core/flows.hpp"
#include "teller/core/http_backend.hpp"
#include "teller/core/log.hpp"
#include "teller/nlu/torchscript_model.hpp"
#include "teller/nlu/training_data.hpp"

namespace teller::app {
namespace fs = std::filesystem;
using core::Error;

namespace {

const core::Logger& log() {
    static const core::Logger logger("teller");
    return logger;
}

fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::current_path() : exe.parent_path();
}

// The first of `candidates` that exists, else the first candidate.
fs::path first_existing(const std::vector<fs::path>& candidates) {
    for (const fs::path& p : candidates) {
        std::error_code ec;
        if (fs::exists(p, ec)) {
            return p;
        }
    }
    return candidates.front();
}

fs::path skills_dir(const core::Config& config) {
    if (!config.skills_dir.empty()) {
        return config.skills_dir;
    }
    fs::path exe = executable_dir();
    return first_existing({exe / "skills", exe / "../lib/teller/skills"});
}

fs::path backend_data(const core::Config& config) {
    if (!config.backend_data.empty()) {
        return config.backend_data;
    }
    fs::path exe = executable_dir();
    return first_existing({"deploy/demo-bank.json", exe / "../deploy/demo-bank.json",
                           exe / "../share/teller/demo-bank.json"});
}

fs::path flows_dir(const core::Config& config) {
    if (!config.flows_dir.empty()) {
        return config.flows_dir;
    }
    fs::path exe = executable_dir();
    return first_existing({"flows", exe / "../flows", exe / "../share/teller/flows"});
}

// The HTTP backend when a URL is configured, else the demo bank file.
std::unique_ptr<core::Backend> open_backend(const core::Config& config) {
    if (!config.backend_url.empty()) {
        core::HttpBackendOptions options;
        options.base_url = config.backend_url;
        options.bearer_token = config.backend_token;
        options.timeout = std::chrono::milliseconds(config.backend_timeout_ms);
        options.ca_file = config.backend_ca_file.string();
        auto backend = core::make_http_backend(std::move(options));
        log().info("backend: HTTP",
                   {{"url", config.backend_url}, {"timeout_ms", config.backend_timeout_ms}});
        return backend;
    }
    fs::path data = backend_data(config);
    auto backend = core::make_demo_backend(data.string());
    log().info("backend: demo data", {{"file", data.string()}});
    return backend;
}

}  // namespace

std::vector<FlagSpec> config_flags() {
    return {
        {"config", "FILE", "YAML configuration file (default: $TELLER_CONFIG)"},
        {"log-level", "LEVEL", "trace, debug, info, warn, error or off"},
    };
}

std::vector<FlagSpec> bot_flags() {
    return {
        {"model", "FILE", "intent model (default models/teller-intent.model)"},
        {"skill", "FILE", "skill plugin to load (default: every plugin in the skills folder)",
         true},
        {"skills-dir", "DIR", "folder of skill plugins (default: next to the executable)"},
        {"backend-data", "FILE", "demo bank data (default deploy/demo-bank.json)"},
        {"backend-url", "URL", "the bank's backend over HTTP (default: the demo bank data)"},
        {"flows-dir", "DIR", "folder of YAML flows (default flows/)"},
        {"threshold", "P", "confidence below which the bot asks instead of guessing (0.5)"},
    };
}

std::vector<FlagSpec> join(std::initializer_list<std::vector<FlagSpec>> groups) {
    std::vector<FlagSpec> all;
    for (const auto& group : groups) {
        all.insert(all.end(), group.begin(), group.end());
    }
    return all;
}

// Defaults, then the file, then TELLER_* variables, then flags.
core::Config load_config(const Args& args) {
    core::Config config;
    auto env = core::teller_environment();
    std::optional<std::string> file = args.get("config");
    if (!file && env.contains("TELLER_CONFIG")) {
        file = env.at("TELLER_CONFIG");
    }
    if (file) {
        core::apply_config_file(config, *file);
    }
    core::apply_environment(config, env);

    std::map<std::string, std::string> flags;
    const std::pair<const char*, const char*> flag_to_variable[] = {
        {"log-level", "TELLER_LOG_LEVEL"},
        {"kafka-brokers", "TELLER_KAFKA_BROKERS"},
        {"redis-url", "TELLER_REDIS_URL"},
        {"model", "TELLER_MODEL"},
        {"skills-dir", "TELLER_SKILLS_DIR"},
        {"backend-data", "TELLER_BACKEND_DATA"},
        {"backend-url", "TELLER_BACKEND_URL"},
        {"flows-dir", "TELLER_FLOWS_DIR"},
        {"threshold", "TELLER_CONFIDENCE_THRESHOLD"},
        {"host", "TELLER_HTTP_HOST"},
        {"port", "TELLER_HTTP_PORT"},
        {"instance-id", "TELLER_INSTANCE_ID"},
    };
    for (const auto& [flag, variable] : flag_to_variable) {
        if (auto value = args.get(flag)) {
            flags[variable] = *value;
        }
    }
    try {
        core::apply_environment(config, flags);
    } catch (const Error& e) {
        // Name the flag rather than the variable it maps to.
        std::string what = e.what();
        for (const auto& [flag, variable] : flag_to_variable) {
            if (what.find(variable) != std::string::npos) {
                throw Error("--" + std::string(flag) + " " + flags[variable] + " is not valid");
            }
        }
        throw;
    }
    if (auto skills = args.all("skill"); !skills.empty()) {
        config.skills.clear();
        for (const auto& path : skills) {
            config.skills.push_back(core::SkillConfig{path, "{}"});
        }
    }
    core::set_log_level(core::parse_log_level(config.log_level));
    return config;
}

Skills load_skills(const core::Config& config) {
    Skills s;
    s.backend = open_backend(config);
    s.host = std::make_unique<core::SkillHost>(*s.backend);

    std::string source;
    if (config.skills.empty()) {
        fs::path dir = skills_dir(config);
        source = " from " + dir.string();
        auto loaded = s.host->load_directory(dir);
        if (!loaded) {
            throw Error("no skills folder at " + dir.string() +
                        " (build the project, or pass --skills-dir or --skill)");
        }
    }
    for (const core::SkillConfig& skill : config.skills) {
        boost::system::error_code ec;
        boost::json::value cfg = boost::json::parse(skill.config_json, ec);
        (void)s.host->load(skill.path,
                           ec || !cfg.is_object() ? boost::json::object{} : cfg.as_object());
    }
    for (const std::string& problem : s.host->load_errors()) {
        std::cerr << "teller: skill not loaded: " << problem << "\n";
    }
    if (s.host->skills().empty()) {
        throw Error("no skill could be loaded" + source +
                    (s.host->load_errors().empty()
                         ? std::string(": no skill plugins (*.so) there; build the project, or "
                                       "pass --skills-dir or --skill")
                         : std::string("; see the messages above")));
    }
    std::size_t reported = s.host->load_errors().size();
    // The YAML flows run as one more skill; a flow file with a mistake stops the start.
    fs::path flows = flows_dir(config);
    if (const teller_skill_v1* table = core::flows_skill_table(flows)) {
        if (s.host->load_builtin(table)) {
            log().info("flows loaded", {{"dir", flows.string()}});
        }
    } else {
        log().info("no flows", {{"dir", flows.string()}});
    }
    for (std::size_t i = reported; i < s.host->load_errors().size(); ++i) {
        std::cerr << "teller: flows not loaded: " << s.host->load_errors()[i] << "\n";
    }
    std::string names;
    for (const std::string& name : s.host->skills()) {
        names += (names.empty() ? "" : ",") + name;
    }
    log().info("skills loaded", {{"skills", names}});
    return s;
}

std::vector<nlu::LabeledUtterance> training_data(const core::SkillHost& host) {
    std::vector<nlu::LabeledUtterance> data;
    for (const core::TrainingExample& e : host.training_examples()) {
        // Examples may carry inline entity annotations ("send [500](amount)"); the model
        // learns from the plain text and the spans. `teller train` has already refused
        // examples whose annotations are malformed.
        nlu::AnnotatedExample parsed = nlu::parse_annotations(e.text);
        if (parsed.ok()) {
            data.push_back({parsed.text, e.intent, std::move(parsed.entities)});
        } else {
            data.push_back({e.text, e.intent, {}});
        }
    }
    return data;
}

// Loads the model and checks that it fits the loaded skills.
std::unique_ptr<core::IntentClassifier> load_model(const core::Config& config,
                                                   const core::SkillHost& host) {
    const std::string path = config.model_path.string();
    const std::string fix = "run `teller train --output " + path + "`";
    std::string reason;
    auto model = nlu::load_classifier(config.model_path, &reason);
    if (!model) {
        if (model.error() == core::Errc::model_missing) {
            throw Error("no intent model at " + path + "; " + fix);
        }
        throw Error("intent model " + path + " cannot be used (" +
                    (reason.empty() ? model.error().message() : reason) + "); " + fix +
                    " to rebuild it");
    }
    if (auto* own = dynamic_cast<nlu::IntentModel*>(model->get())) {
        std::string expected = nlu::fingerprint(training_data(host));
        if (own->training_fingerprint() != expected) {
            throw Error("intent model " + path + " was trained on other examples than the " +
                        "loaded skills have (model " + own->training_fingerprint().substr(0, 12) +
                        ", skills " + expected.substr(0, 12) + "); " + fix + " to retrain it");
        }
    } else {
        // A TorchScript model carries no fingerprint of Teller's data: it must at least not
        // predict an intent no loaded skill or system intent handles.
        std::string unknown;
        for (const std::string& intent : (*model)->intents()) {
            if (host.find_intent(intent) == nullptr) {
                unknown += (unknown.empty() ? "" : ", ") + intent;
            }
        }
        if (!unknown.empty()) {
            throw Error("TorchScript model " + path + " predicts intents no loaded skill " +
                        "handles: " + unknown);
        }
    }
    log().info(
        "intent model loaded",
        {{"file", path},
         {"intents", (*model)->intents().size()},
         {"format", dynamic_cast<nlu::IntentModel*>(model->get()) ? "teller" : "torchscript"}});
    return std::move(*model);
}

}  // namespace teller::app
