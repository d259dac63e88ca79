// Loads skill plugins (shared libraries speaking the C ABI of skill_api.h) and calls them safely.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "teller/plugins/skill_api.h"

#include "teller/core/backend.hpp"
#include "teller/core/error.hpp"

namespace teller::core {

/// One training utterance for `teller train`.
struct TrainingExample {
    std::string text;
    std::string intent;
    std::string locale;  ///< "en" or "zh-CN"
};

/// What the host knows about an intent: who handles it and how to name it to a customer.
struct IntentInfo {
    std::string name;
    std::string skill;                          ///< "" for the built-in system intents
    std::map<std::string, std::string> titles;  ///< locale -> human-readable title
    /// The intent reaches personal data (balances, card blocking): the engine runs it only for
    /// a verified customer and answers anyone else with the step-up (manifest "verified").
    bool requires_verification = false;
};

/// Names of the built-in system intents.
namespace system_intent {
inline constexpr std::string_view greet = "greet";
inline constexpr std::string_view goodbye = "goodbye";
inline constexpr std::string_view thanks = "thanks";
inline constexpr std::string_view affirm = "affirm";
inline constexpr std::string_view deny = "deny";
inline constexpr std::string_view cancel = "cancel";
inline constexpr std::string_view human_agent = "human_agent";
inline constexpr std::string_view out_of_scope = "out_of_scope";
}  // namespace system_intent

struct SkillHostOptions {
    /// How long one skill call may take before it counts as failed.
    std::chrono::milliseconds call_timeout{2000};
};

/// Loads skills with dlopen and calls them. Loading is not thread-safe and must finish before
/// the first call; after that every const member is thread-safe. `backend` must outlive the
/// host and be thread-safe.
class SkillHost {
public:
    explicit SkillHost(Backend& backend, SkillHostOptions options = {});
    ~SkillHost();
    SkillHost(const SkillHost&) = delete;
    SkillHost& operator=(const SkillHost&) = delete;

    /// Loads the skill in `file` and initialises it with `config`; returns its name.
    /// Errors: Errc::skill_load_failed (missing file, no entry symbol, wrong API version, bad
    /// manifest (including an "acts" entry that is not a list of names), duplicate skill or
    /// intent name, init failed). The problem, naming the file, is logged and kept in
    /// load_errors(); skills loaded before stay loaded.
    Result<std::string> load(const std::filesystem::path& file,
                             const boost::json::object& config = {});

    /// Adopts a skill compiled into this process (e.g. flows_skill_table() in flows.hpp) exactly
    /// as load() adopts a plugin's table: same checks, same errors; nothing is unloaded later.
    Result<std::string> load_builtin(const teller_skill_v1* table,
                                     const boost::json::object& config = {});

    /// Loads every `*.so` in `directory` (sorted by name); returns how many loaded. Failures
    /// are recorded as for load(). Errors: Errc::skill_load_failed when `directory` is missing.
    Result<std::size_t> load_directory(const std::filesystem::path& directory,
                                       const boost::json::object& config = {});

    /// The backend the skills call; the dialogue uses it for the one-time-code step-up.
    Backend& backend() const noexcept { return backend_; }

    /// One "file: problem" line per failed load, oldest first.
    const std::vector<std::string>& load_errors() const noexcept { return load_errors_; }

    /// Names of the loaded skills.
    std::vector<std::string> skills() const;

    /// The response-template acts `skill` declared in its manifest ("acts"); empty for an
    /// unknown skill or one that declared none.
    std::vector<std::string> skill_acts(std::string_view skill) const;

    /// Every intent, the system intents first; nullptr from find_intent when unknown.
    const std::vector<IntentInfo>& intents() const noexcept { return intents_; }
    const IntentInfo* find_intent(std::string_view intent) const;

    /// The intent's title in `locale` (falling back to English, then to the intent's name).
    std::string intent_title(std::string_view intent, std::string_view locale) const;

    /// Every training example: the system intents' and those of each loaded skill.
    std::vector<TrainingExample> training_examples() const;

    /// Runs one turn of `skill` (request as in skill_api.h) and returns the validated response
    /// object. Errors: Errc::unknown_skill; Errc::skill_failed when the skill returned NULL,
    /// something that is not a valid response, or did not answer within the call timeout.
    /// Never throws for anything the skill does.
    Result<boost::json::object> call(std::string_view skill,
                                     const boost::json::object& request) const;

    struct LoadedSkill;

private:
    Result<std::string> fail(const std::filesystem::path& file, std::string_view problem);
    Result<std::string> adopt(std::shared_ptr<LoadedSkill> skill, const std::filesystem::path& file,
                              const boost::json::object& config);

    Backend& backend_;
    SkillHostOptions options_;
    std::vector<std::shared_ptr<LoadedSkill>> skills_;
    std::vector<IntentInfo> intents_;
    std::vector<std::string> load_errors_;
    struct Bridge;
    class Workers;
    std::unique_ptr<Bridge> bridge_;
    std::unique_ptr<Workers> workers_;
};

/// The system intents' examples in both locales (what SkillHost::training_examples starts with).
std::vector<TrainingExample> system_intent_examples();

/// The system intents with their titles.
std::vector<IntentInfo> system_intent_infos();

}  // namespace teller::core
