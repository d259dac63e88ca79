// run_replay and expect_replay_matches: the teller binary's replay command as a test step.
#include "replay_helper.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "teller_process.hpp"

namespace teller::testing {
namespace fs = std::filesystem;

ReplayOutcome run_replay(const std::string& recording_path, const ReplayTestOptions& options) {
    static std::atomic<int> counter{0};
    const fs::path report_path =
        fs::temp_directory_path() /
        ("teller-replay-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".txt");

    std::vector<std::string> args{"replay", "--recording", recording_path, "--report",
                                  report_path.string()};
    auto add = [&args](const char* flag, const std::string& value) {
        if (!value.empty()) {
            args.push_back(flag);
            args.push_back(value);
        }
    };
    add("--model", options.model);
    add("--skills-dir", options.skills_dir);
    add("--backend-data", options.backend_data);
    add("--golden", options.golden);
    for (const std::string& skill : options.skills) {
        add("--skill", skill);
    }
    for (const std::string& field : options.ignore) {
        add("--ignore", field);
    }
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());

    ReplayOutcome outcome;
    TellerProcess replay(teller_binary(), args);
    outcome.exit_status = replay.run_to_completion(options.timeout);
    outcome.output = replay.log();
    std::ifstream report(report_path, std::ios::binary);
    std::ostringstream text;
    text << report.rdbuf();
    outcome.report = text.str();
    std::error_code ec;
    fs::remove(report_path, ec);
    return outcome;
}

void expect_replay_matches(const std::string& recording_path, const ReplayTestOptions& options) {
    ReplayOutcome outcome = run_replay(recording_path, options);
    // Exit status 1 with no report: replay stopped on an error before comparing.
    if (outcome.exit_status == 1 && !outcome.report.empty()) {
        ADD_FAILURE() << "replaying " << recording_path << " changed some turns:\n"
                      << outcome.report;
    } else if (outcome.exit_status != 0) {
        ADD_FAILURE() << "teller replay " << recording_path << " could not run (exit status "
                      << outcome.exit_status << "):\n"
                      << outcome.output;
    }
}

}  // namespace teller::testing
