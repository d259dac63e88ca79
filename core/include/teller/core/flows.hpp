// Declarative flows: YAML files under flows/ that ask for slots, confirm, call backend
// actions, branch and end, run as one built-in skill named "flows".
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "teller/plugins/skill_api.h"

namespace teller::core {

/// Text in each supported locale ("en", "zh-CN"). Templates may name slots as `{slot}` and the
/// last action's result fields as `{result.field}`.
using LocalizedText = std::map<std::string, std::string>;

/// How a slot's value is taken from the customer's message.
struct SlotSpec {
    std::string name;
    int line = 0;
    /// "entity" (the first rule entity of `entity` type), "choice" (one of `choices`, by payload,
    /// title or number), "text" (the message itself, trimmed, 1..max_length bytes).
    std::string kind = "entity";
    std::string entity;  ///< amount, date, phone, card_last4, account_number, percentage
    struct Choice {
        std::string value;
        LocalizedText title;
    };
    std::vector<Choice> choices;
    double min = 0;  ///< for numeric entities (amount, percentage): inclusive bounds when set
    double max = 0;
    bool has_min = false;
    bool has_max = false;
    std::size_t max_length = 200;
    LocalizedText prompt;   ///< the question
    LocalizedText invalid;  ///< said before the question again when the answer is unusable
};

/// One step of a flow. Exactly one `kind`:
///  - "ask":     fill `slot` (skipped when already filled), re-asking up to max_attempts;
///  - "confirm": say `text` with yes/no buttons; yes goes on, no goes to `on_no` (a step id)
///               or ends with `no_text`;
///  - "action":  call the backend operation `operation` with every slot (plus "customer") as
///               arguments; its JSON result is kept as `result`; failure ends with `error_text`;
///  - "branch":  the first case whose condition holds goes to its step id, else the next step;
///  - "say":     say `text` and go on;
///  - "goto":    go to `target`;
///  - "end":     say `text` (when given) and end the flow;
///  - "handoff": say `text` (when given) and hand the conversation to a person.
struct FlowStep {
    std::string id;
    std::string kind;
    int line = 0;
    std::string slot;
    std::string operation;
    std::string target;
    std::string on_no;
    LocalizedText text;
    LocalizedText no_text;
    LocalizedText error_text;
    struct Case {
        std::string slot;   ///< left side of the condition
        std::string op;     ///< == != < <= > >=
        std::string value;  ///< a literal, or another slot's name (then that slot's value)
        std::string target;
    };
    std::vector<Case> cases;
};

/// One flow file.
struct Flow {
    std::string name;
    std::string file;
    std::string intent;  ///< the intent that starts the flow
    LocalizedText title;
    std::map<std::string, std::vector<std::string>> examples;  ///< locale -> utterances
    std::map<std::string, SlotSpec> slots;
    std::vector<FlowStep> steps;
    int max_attempts = 3;
    bool verified = false;  ///< only a verified customer may start it (see IntentInfo)
};

/// Reads every `*.yaml` file in `directory` (sorted by name). Throws core::Error naming the
/// file, line and problem for the first file that is not a valid flow: unknown keys, a step
/// naming an unknown slot or step id, a template naming an unknown slot, text missing for
/// "en" or "zh-CN", a malformed condition, two flows with one intent or name. An absent
/// directory gives no flows.
std::vector<Flow> load_flows(const std::filesystem::path& directory);

/// Parses one flow file (see load_flows for the errors).
Flow load_flow_file(const std::filesystem::path& file);

/// The "flows" skill: a skill table (skill_api.h) whose init takes `{"dir": "<flows dir>"}`
/// and runs the flows found there. Load it with SkillHost::load_builtin. Its manifest is
/// built when init runs, so one process serves one flows directory. Thread-safe after init.
const teller_skill_v1* flows_skill_table(const std::filesystem::path& directory);

}  // namespace teller::core
