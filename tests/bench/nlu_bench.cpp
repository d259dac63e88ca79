// Trains and evaluates the intent model on Banking77 and MASSIVE zh-CN; prints speed and size.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/nlu/intent_model.hpp"

namespace {

namespace fs = std::filesystem;
using teller::nlu::IntentModel;
using teller::nlu::LabeledUtterance;
using teller::nlu::TrainOptions;

struct Args {
    fs::path data_dir = TELLER_SHARED_DATA_DIR;
    bool validate = false;
    double validation_share = 0.1;
    std::string only;
    TrainOptions options;
    int latency_runs = 2000;
    bool verbose = false;
};

void print_help() {
    std::cout << "nlu_bench: train and evaluate the intent model.\n"
                 "  --data-dir DIR     holds banking77/ and massive-zh-CN-intent/ (default "
              << TELLER_SHARED_DATA_DIR
              << ")\n"
                 "  --only NAME        banking77 or massive\n"
                 "  --validate         evaluate on a validation split carved from the training\n"
                 "                     data (10%, seeded) instead of the test split\n"
                 "  --epochs N --dim N --hidden N --lr X --smoothing X --dropout X\n"
                 "  --min-count N --min-n N --max-n N --no-bigrams --batch N --seed N\n"
                 "  --ensemble N\n"
                 "  --buckets N        override TrainOptions\n"
                 "  --latency-runs N   single-utterance timing runs (default 2000)\n"
                 "  --verbose          print per-epoch loss\n";
}

Args parse_args(int argc, char** argv) {
    Args args;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw teller::core::Error(a + " needs a value");
            }
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            print_help();
            std::exit(0);
        } else if (a == "--data-dir") {
            args.data_dir = next();
        } else if (a == "--only") {
            args.only = next();
        } else if (a == "--validate") {
            args.validate = true;
        } else if (a == "--epochs") {
            args.options.epochs = std::stoi(next());
        } else if (a == "--dim") {
            args.options.embedding_dim = std::stoi(next());
        } else if (a == "--hidden") {
            args.options.hidden_dim = std::stoi(next());
        } else if (a == "--lr") {
            args.options.learning_rate = std::stof(next());
        } else if (a == "--smoothing") {
            args.options.label_smoothing = std::stof(next());
        } else if (a == "--dropout") {
            args.options.dropout = std::stof(next());
        } else if (a == "--min-count") {
            args.options.min_count = std::stoi(next());
        } else if (a == "--min-n") {
            args.options.min_n = std::stoi(next());
        } else if (a == "--max-n") {
            args.options.max_n = std::stoi(next());
        } else if (a == "--no-bigrams") {
            args.options.word_bigrams = false;
        } else if (a == "--batch") {
            args.options.batch_size = std::stoi(next());
        } else if (a == "--seed") {
            args.options.seed = std::stoull(next());
        } else if (a == "--ensemble") {
            args.options.ensemble = std::stoi(next());
        } else if (a == "--buckets") {
            args.options.buckets = std::stoll(next());
        } else if (a == "--latency-runs") {
            args.latency_runs = std::stoi(next());
        } else if (a == "--verbose") {
            args.verbose = true;
        } else {
            throw teller::core::Error("unknown flag " + a + " (see --help)");
        }
    }
    return args;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
    return values[at];
}

// Splits off a seeded share of `train` per intent as validation data.
void carve_validation(std::vector<LabeledUtterance>& train, std::vector<LabeledUtterance>& val,
                      double share, std::uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0x5eedULL);
    std::vector<LabeledUtterance> keep;
    for (std::size_t i = train.size(); i-- > 0;) {
        std::swap(train[i], train[rng() % (i + 1)]);
    }
    for (LabeledUtterance& e : train) {
        (static_cast<double>(rng() % 1000) < share * 1000 ? val : keep).push_back(std::move(e));
    }
    train = std::move(keep);
}

void run(const std::string& name, const fs::path& train_csv, const fs::path& test_csv,
         const Args& args) {
    if (!fs::exists(train_csv) || !fs::exists(test_csv)) {
        std::cout << "[" << name << "] skipped: " << train_csv << " or " << test_csv
                  << " not found\n";
        return;
    }
    std::vector<LabeledUtterance> train = teller::nlu::read_labeled_csv(train_csv);
    std::vector<LabeledUtterance> test = teller::nlu::read_labeled_csv(test_csv);
    std::string split = test_csv.filename().string();
    if (args.validate) {
        test.clear();
        carve_validation(train, test, args.validation_share, args.options.seed);
        split = "validation (carved from train)";
    }
    std::cout << "[" << name << "] train " << train.size() << " examples, " << split << " "
              << test.size() << "\n";

    // Train.
    TrainOptions options = args.options;
    if (args.verbose) {
        options.progress = [](int epoch, int epochs, double loss, double seconds) {
            std::printf("  epoch %d/%d loss %.4f  %.1fs\n", epoch, epochs, loss, seconds);
        };
    }
    teller::nlu::set_compute_threads(1);
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<IntentModel> model = IntentModel::train(train, options);
    const double train_seconds = seconds_since(t0);

    // Save and reload, and evaluate the reloaded model.
    const fs::path file = fs::temp_directory_path() / ("nlu_bench_" + name + ".model");
    model->save(file);
    const auto size = fs::file_size(file);
    auto loaded = IntentModel::load(file);
    if (!loaded) {
        throw teller::core::Error("reload failed: " + loaded.error().message());
    }
    fs::remove(file);
    const auto t1 = std::chrono::steady_clock::now();
    const teller::nlu::EvalReport report = teller::nlu::evaluate(**loaded, test);
    const double eval_seconds = seconds_since(t1);

    // Single-utterance latency on one thread.
    std::vector<double> latencies;
    for (int i = 0; i < args.latency_runs; ++i) {
        const std::string text = test[static_cast<std::size_t>(i) % test.size()].text;
        const auto start = std::chrono::steady_clock::now();
        auto result = (*loaded)->parse(std::span<const std::string>(&text, 1));
        latencies.push_back(seconds_since(start) * 1000.0);
        if (result.empty()) {
            throw teller::core::Error("empty parse result");
        }
    }

    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("[%s] accuracy %.2f%%  macro-F1 %.2f%%  (%zu/%zu)\n", name.c_str(),
                report.accuracy * 100, report.macro_f1 * 100, report.correct, report.total);
    std::printf("[%s] training %.1f s (%d epochs x %d members, %lld rows x %d dim)\n", name.c_str(),
                train_seconds, options.epochs, options.ensemble,
                static_cast<long long>(model->feature_rows()), model->embedding_dim());
    std::printf("[%s] single utterance p50 %.3f ms  p99 %.3f ms (1 thread)\n", name.c_str(),
                percentile(latencies, 0.5), percentile(latencies, 0.99));
    std::printf("[%s] batch throughput %.0f utterances/s (batches of 256, 1 thread)\n",
                name.c_str(), static_cast<double>(test.size()) / eval_seconds);
    std::printf("[%s] model file %.2f MB  peak RSS %.1f MB\n", name.c_str(),
                static_cast<double>(size) / 1e6, static_cast<double>(usage.ru_maxrss) / 1024.0);
    std::printf("[%s] worst confusions:", name.c_str());
    for (std::size_t i = 0; i < std::min<std::size_t>(5, report.worst_confusions.size()); ++i) {
        const auto& [expected, predicted, count] = report.worst_confusions[i];
        std::printf(" %s->%s x%d;", expected.c_str(), predicted.c_str(), count);
    }
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args args = parse_args(argc, argv);
        if (args.only.empty() || args.only == "banking77") {
            run("banking77", args.data_dir / "banking77/train.csv",
                args.data_dir / "banking77/test.csv", args);
        }
        if (args.only.empty() || args.only == "massive") {
            run("massive-zh-CN", args.data_dir / "massive-zh-CN-intent/train.csv",
                args.data_dir / "massive-zh-CN-intent/validation.csv", args);
        }
    } catch (const std::exception& e) {
        std::cerr << "nlu_bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
