// Turns a recording of Teller's topics into a GoogleTest regression test (teller replay).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace teller::testing {

/// How `teller replay` is run; empty fields leave the command's defaults.
struct ReplayTestOptions {
    std::string model;                ///< --model: the intent model to answer with
    std::vector<std::string> skills;  ///< --skill, one per plugin (pin them for stable tests)
    std::string skills_dir;           ///< --skills-dir
    std::string backend_data;         ///< --backend-data
    std::string golden;               ///< --golden: compare with this instead of the recording
    std::vector<std::string> ignore;  ///< --ignore, one per field
    std::vector<std::string> extra_args;
    std::chrono::milliseconds timeout = std::chrono::minutes(2);
};

/// What one `teller replay` run gave.
struct ReplayOutcome {
    int exit_status = -1;  ///< 0 unchanged; 1 changed turns, or an error when `report` is empty
    std::string report;    ///< the diff and summary (--report); empty when it could not run
    std::string output;    ///< everything it printed (stdout and stderr)
};

/// Runs `teller replay --recording recording_path ...` (the teller binary of this build tree)
/// and returns its exit status, report and output. Blocking; thread-safe (temporary files are
/// unique per call).
ReplayOutcome run_replay(const std::string& recording_path, const ReplayTestOptions& options = {});

/// A GoogleTest expectation: replaying `recording_path` changes no turn. On failure the
/// message holds the per-conversation diff (or, when replay could not run, its output).
void expect_replay_matches(const std::string& recording_path,
                           const ReplayTestOptions& options = {});

}  // namespace teller::testing
