// What every command that answers customers sets up: configuration from file, environment and
// flags; the demo backend and the skills; the intent model, checked against those skills.
#pragma once

#include <initializer_list>
#include <memory>
#include <vector>

#include "cli.hpp"
#include "teller/core/backend.hpp"
#include "teller/core/config.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::app {

/// --config and --log-level, read by load_config.
std::vector<FlagSpec> config_flags();

/// What load_skills and load_model read: --model, --skill, --skills-dir, --backend-data,
/// --threshold.
std::vector<FlagSpec> bot_flags();

/// The groups of flags, in order, as one list.
std::vector<FlagSpec> join(std::initializer_list<std::vector<FlagSpec>> groups);

/// Defaults, then the file (--config or TELLER_CONFIG), then TELLER_* variables, then the flags
/// present in `args`; sets the log level. Throws core::Error naming the bad file, variable or
/// flag.
core::Config load_config(const Args& args);

/// The backend and the skills it serves.
struct Skills {
    std::unique_ptr<core::Backend> backend;
    std::unique_ptr<core::SkillHost> host;
};

/// Loads the demo backend and the configured skills (or every plugin in the skills folder).
/// Skills that fail are reported on stderr; throws core::Error when none loads.
Skills load_skills(const core::Config& config);

/// The loaded skills' training examples, as the trainer takes them.
std::vector<nlu::LabeledUtterance> training_data(const core::SkillHost& host);

/// Loads the configured model: Teller's own format, checked to have been trained on `host`'s
/// examples, or a TorchScript module (nlu/torchscript_model.hpp), checked to predict only
/// intents the loaded skills handle. Throws core::Error naming the file and the fix.
std::unique_ptr<core::IntentClassifier> load_model(const core::Config& config,
                                                   const core::SkillHost& host);

}  // namespace teller::app
