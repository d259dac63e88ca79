// The `teller record` and `teller replay` subcommands: regression tests from recorded traffic.
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <boost/json.hpp>

#include "bot_setup.hpp"
#include "commands.hpp"
#include "faq_commands.hpp"
#include "teller/core/backend.hpp"
#include "teller/core/config.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/replay.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::app {
namespace fs = std::filesystem;
using core::Error;

namespace {

std::atomic<bool> g_stop_recording{false};

void on_stop_signal(int) {
    g_stop_recording = true;
}

// A whole number from a flag; throws naming the flag otherwise.
std::int64_t number_flag(const Args& args, const std::string& name, std::int64_t min) {
    std::string text = *args.get(name);
    std::size_t used = 0;
    std::int64_t value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || value < min) {
        throw Error("--" + name + " " + text + " is not a whole number >= " + std::to_string(min));
    }
    return value;
}

// "2026-12-04T17:03:00.125Z", "2026-12-04T17:03:00Z" or "2026-12-04" (UTC).
std::int64_t timestamp_flag(const std::string& text) {
    std::string full = text;
    if (full.size() == 10) {
        full += "T00:00:00.000Z";
    } else if (full.ends_with("Z") && full.find('.') == std::string::npos) {
        full.insert(full.size() - 1, ".000");
    }
    std::int64_t ms = core::parse_timestamp(full);
    if (ms < 0) {
        throw Error("--from-timestamp " + text +
                    " is not an ISO 8601 UTC time such as 2026-12-04T17:03:00Z");
    }
    return ms;
}

void set_log_level(const Args& args, const char* fallback) {
    std::string level = args.get("log-level").value_or(fallback);
    core::set_log_level(core::parse_log_level(level));
}

// The backend, the skills and the model the engine answers with, loaded as `teller run` does.
// The bot as `teller run` builds it: skills, model, and the templates and FAQ (without them
// the dialogue's own replies would be the built-in texts and differ from the recording).
struct Bot {
    Skills skills;
    std::unique_ptr<core::IntentClassifier> model;
    std::unique_ptr<nlg::Nlg> nlg;
};

Bot load_bot(const core::Config& config) {
    Bot bot;
    bot.skills = load_skills(config);
    bot.model = load_model(config, *bot.skills.host);
    bot.nlg = load_nlg(config, bot.skills.host.get());
    return bot;
}

// Progress on stderr: a bar redrawn at most ~10 times a second on a terminal, else a line
// every 10%.
class ProgressBar {
public:
    explicit ProgressBar(std::size_t total) : total_(total), tty_(::isatty(2) == 1) {}

    void update(std::size_t done) {
        if (total_ == 0) {
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (tty_) {
            if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) {
                return;
            }
            last_draw_ = now;
            const int width = 40;
            const int filled = static_cast<int>(width * done / total_);
            std::fprintf(stderr, "\r[%s%s] %zu/%zu turns", std::string(filled, '#').c_str(),
                         std::string(width - filled, '.').c_str(), done, total_);
            if (done == total_) {
                std::fputc('\n', stderr);
            }
            return;
        }
        const std::size_t tenth = 10 * done / total_;
        if (tenth > last_tenth_) {
            last_tenth_ = tenth;
            std::fprintf(stderr, "replay: %zu%% (%zu/%zu turns)\n", tenth * 10, done, total_);
        }
    }

private:
    std::size_t total_;
    bool tty_;
    std::chrono::steady_clock::time_point last_draw_{};
    std::size_t last_tenth_ = 0;
};

}  // namespace

std::vector<FlagSpec> record_flags() {
    return {
        {"kafka-brokers", "HOSTS", "Kafka bootstrap servers to read from (required)"},
        {"topic", "TOPIC", "topic to record (required)", true},
        {"output", "FILE", "JSONL file to write (required; replaced)"},
        {"from-offset", "N", "start every partition at offset N (default: earliest)"},
        {"from-timestamp", "ISO", "start at the first record at or after this UTC time"},
        {"until-end", "", "stop at the end offsets the partitions had at start"},
        {"max", "N", "stop after N records"},
        {"timeout", "S", "stop after S seconds"},
        {"log-level", "LEVEL", "trace, debug, info, warn, error or off (default warn)"},
    };
}

std::vector<FlagSpec> replay_flags() {
    return join(
        {{
             {"recording", "FILE", "recording made by teller record (required)"},
             {"golden", "FILE", "compare with this file's outbound and events records instead"},
             {"write-golden", "FILE", "write the replies and events produced now as a golden file"},
             {"report", "FILE", "also write the diff and summary to FILE"},
             {"ignore", "FIELD", "field not to compare, at any depth", true},
         },
         bot_flags(),
         config_flags()});
}

int record_main(const Args& args) {
    set_log_level(args, "warn");
    auto brokers = args.get("kafka-brokers");
    auto output = args.get("output");
    std::vector<std::string> topics = args.all("topic");
    if (!brokers || topics.empty() || !output) {
        throw Error("--kafka-brokers, --topic and --output are required (see --help)");
    }

    core::RecordOptions options;
    options.kafka.brokers = *brokers;
    options.kafka.client_id = "teller-record";
    // A group id no one else uses; the reader assigns partitions and never commits.
    options.kafka.properties["group.id"] =
        "teller-record-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    options.topics = topics;
    if (args.has("from-offset")) {
        options.start.offset = number_flag(args, "from-offset", 0);
    }
    if (auto ts = args.get("from-timestamp")) {
        options.start.timestamp_ms = timestamp_flag(*ts);
    }
    options.until_end = args.has("until-end");
    if (args.has("max")) {
        options.max_records = static_cast<std::size_t>(number_flag(args, "max", 1));
    }
    if (args.has("timeout")) {
        options.timeout = std::chrono::seconds(number_flag(args, "timeout", 0));
    }

    // Progress: records per second, and each partition as it finishes.
    std::set<core::TopicPartition> reported_done;
    options.progress = [&](std::size_t records, double seconds,
                           const std::vector<core::PartitionProgress>& partitions) {
        std::size_t done = 0;
        for (const core::PartitionProgress& p : partitions) {
            if (!p.done()) {
                continue;
            }
            ++done;
            if (options.until_end && reported_done.insert(p.partition).second) {
                std::fprintf(stderr, "record: %s/%d done (offsets %lld..%lld)\n",
                             p.partition.topic.c_str(), p.partition.partition,
                             static_cast<long long>(p.start), static_cast<long long>(p.end));
            }
        }
        std::fprintf(stderr, "record: %zu records, %.0f records/s, %zu/%zu partitions at end\n",
                     records, seconds > 0 ? records / seconds : 0.0, done, partitions.size());
    };

    std::ofstream out(*output, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw Error("cannot write " + *output);
    }
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    core::RecordStats stats =
        core::record_topics(options, out, [] { return g_stop_recording.load(); });
    std::cout << "Wrote " << stats.records << " records to " << *output << std::endl;
    return 0;
}

int replay_main(const Args& args) {
    auto recording_path = args.get("recording");
    if (!recording_path) {
        throw Error("--recording FILE is required (see --help)");
    }
    core::Config config = load_config(args);
    set_log_level(args, "warn");  // replay output is the report; keep the log quiet
    std::vector<core::Record> recording = core::read_recording(*recording_path);
    std::vector<core::Record> expected =
        args.has("golden") ? core::read_recording(*args.get("golden")) : recording;
    Bot bot = load_bot(config);

    core::ReplayOptions options;
    options.ignore = args.all("ignore");
    options.engine.dialogue.confidence_threshold = static_cast<float>(config.confidence_threshold);
    options.engine.dialogue.require_verification = config.require_verification;
    options.engine.dialogue.responder = bot.nlg.get();
    options.engine.session_ttl = std::chrono::seconds(config.session_ttl_seconds);
    std::optional<ProgressBar> bar;
    options.progress = [&bar](std::size_t done, std::size_t total) {
        if (!bar) {
            bar.emplace(total);
        }
        bar->update(done);
    };
    core::ReplayReport report =
        core::replay_recording(recording, expected, *bot.model, *bot.skills.host, options);

    std::string text = core::format_report(report);
    std::cout << text << std::flush;
    if (auto path = args.get("report")) {
        std::ofstream file(*path, std::ios::binary | std::ios::trunc);
        file << text;
        if (!file) {
            throw Error("cannot write the report " + *path);
        }
    }
    if (auto path = args.get("write-golden")) {
        core::write_recording(*path, report.actual);
        std::cerr << "replay: wrote " << report.actual.size() << " records to " << *path << "\n";
    }
    return report.changed_turns == 0 ? 0 : 1;
}

}  // namespace teller::app
