// Trains and evaluates the joint model on Banking77, SNIPS (intents and slots) and MASSIVE
// zh-CN; prints accuracy, slot F1, speed and size, next to NLP.js on the same splits.
#include <sys/resource.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
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
    bool nlpjs = true;
};

// One printed row of the side-by-side summary.
struct Row {
    std::string dataset;
    std::string system;
    double accuracy = -1;
    double macro_f1 = -1;
    double slot_f1 = -1;
    double train_seconds = -1;
    double p50_ms = -1;
    double p99_ms = -1;
    double throughput = -1;
    double model_mb = -1;
    std::string note;
};
std::vector<Row> g_rows;

void print_help() {
    std::cout << "nlu_bench: train and evaluate the intent model.\n"
                 "  --data-dir DIR     holds banking77/, snips/ and massive-zh-CN-intent/ (default "
              << TELLER_SHARED_DATA_DIR
              << ")\n"
                 "  --only NAME        banking77, snips or massive\n"
                 "  --validate         evaluate on a validation split carved from the training\n"
                 "                     data (10%, seeded) instead of the test split; SNIPS uses\n"
                 "                     its own valid.jsonl\n"
                 "  --no-nlpjs         do not run NLP.js (tests/bench/nlpjs)\n"
                 "  --tag-epochs N --tag-dim N --tag-hidden N --tag-lr X --tag-dropout X\n"
                 "  --tag-min-n N --tag-max-n N --tag-min-count N --tag-batch N\n"
                 "  --tag-intent-weight X   sequence network (TaggerOptions)\n"
                 "  --no-seq-member    the sequence network does not join the intent ensemble\n"
                 "  --no-tagger        no sequence network at all\n"
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
        } else if (a == "--no-nlpjs") {
            args.nlpjs = false;
        } else if (a == "--tag-epochs") {
            args.options.tagger.epochs = std::stoi(next());
        } else if (a == "--tag-dim") {
            args.options.tagger.embedding_dim = std::stoi(next());
        } else if (a == "--tag-hidden") {
            args.options.tagger.hidden_dim = std::stoi(next());
        } else if (a == "--tag-lr") {
            args.options.tagger.learning_rate = std::stof(next());
        } else if (a == "--tag-dropout") {
            args.options.tagger.dropout = std::stof(next());
        } else if (a == "--tag-min-n") {
            args.options.tagger.min_n = std::stoi(next());
        } else if (a == "--tag-max-n") {
            args.options.tagger.max_n = std::stoi(next());
        } else if (a == "--tag-min-count") {
            args.options.tagger.min_count = std::stoi(next());
        } else if (a == "--tag-batch") {
            args.options.tagger.batch_size = std::stoi(next());
        } else if (a == "--tag-intent-weight") {
            args.options.tagger.intent_loss_weight = std::stof(next());
        } else if (a == "--no-seq-member") {
            args.options.tagger.intent_member = false;
        } else if (a == "--no-tagger") {
            args.options.tagger.intent_member = false;
            args.options.tagger.enabled = false;
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

// SNIPS-style JSON lines ({"tokens", "tags", "intent"}): the text is the tokens joined by
// spaces; each BIO chunk becomes an entity with byte offsets. `token_begins` receives each
// example's token start offsets (for mapping predicted spans back to tokens).
std::vector<LabeledUtterance> read_bio_jsonl(const fs::path& path,
                                             std::vector<std::vector<std::size_t>>* token_begins) {
    std::ifstream in(path);
    if (!in) {
        throw teller::core::Error("cannot read " + path.string());
    }
    std::vector<LabeledUtterance> out;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) {
            continue;
        }
        const auto root = boost::json::parse(line).as_object();
        const auto& tokens = root.at("tokens").as_array();
        const auto& tags = root.at("tags").as_array();
        if (tokens.size() != tags.size()) {
            throw teller::core::Error(path.string() + ":" + std::to_string(number) +
                                      ": tokens and tags differ in length");
        }
        LabeledUtterance u;
        u.intent = std::string(root.at("intent").as_string());
        std::vector<std::size_t> begins;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i > 0) {
                u.text += ' ';
            }
            begins.push_back(u.text.size());
            u.text += std::string(tokens[i].as_string());
            const std::string tag(tags[i].as_string());
            const std::size_t end = u.text.size();
            const bool inside = tag.rfind("I-", 0) == 0 && !u.entities.empty() &&
                                u.entities.back().type == tag.substr(2) &&
                                u.entities.back().end + 1 == begins.back();
            if (inside) {
                u.entities.back().end = end;
            } else if (tag != "O") {
                teller::core::Entity e;
                e.type = tag.substr(2);
                e.begin = begins.back();
                e.end = end;
                u.entities.push_back(e);
            }
        }
        for (teller::core::Entity& e : u.entities) {
            e.text = u.text.substr(e.begin, e.end - e.begin);
            e.value = e.text;
        }
        if (token_begins != nullptr) {
            token_begins->push_back(std::move(begins));
        }
        out.push_back(std::move(u));
    }
    return out;
}

// Chunk-level slot precision/recall/F1 (exact type and token range, as conlleval counts them).
struct SlotScore {
    std::size_t gold = 0;
    std::size_t predicted = 0;
    std::size_t correct = 0;
    double f1() const {
        const double p = predicted == 0 ? 0 : static_cast<double>(correct) / predicted;
        const double r = gold == 0 ? 0 : static_cast<double>(correct) / gold;
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }
};

// Token range [first, last] of a byte span over tokens starting at `begins` (text tokens are
// separated by one space).
std::pair<std::size_t, std::size_t> token_range(const std::vector<std::size_t>& begins,
                                                std::size_t begin, std::size_t end) {
    std::size_t first = 0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < begins.size(); ++i) {
        if (begins[i] <= begin) {
            first = i;
        }
        if (begins[i] < end) {
            last = i;
        }
    }
    return {first, last};
}

SlotScore score_slots(const IntentModel& model, const std::vector<LabeledUtterance>& test,
                      const std::vector<std::vector<std::size_t>>& begins) {
    SlotScore score;
    constexpr std::size_t kBatch = 256;
    for (std::size_t start = 0; start < test.size(); start += kBatch) {
        std::vector<std::string> texts;
        for (std::size_t i = start; i < std::min(test.size(), start + kBatch); ++i) {
            texts.push_back(test[i].text);
        }
        const auto results = model.parse(texts, teller::nlu::EntitySource::model);
        for (std::size_t k = 0; k < results.size(); ++k) {
            const std::size_t i = start + k;
            std::set<std::tuple<std::string, std::size_t, std::size_t>> gold;
            std::set<std::tuple<std::string, std::size_t, std::size_t>> predicted;
            for (const auto& e : test[i].entities) {
                const auto [first, last] = token_range(begins[i], e.begin, e.end);
                gold.emplace(e.type, first, last);
            }
            for (const auto& e : results[k].entities) {
                const auto [first, last] = token_range(begins[i], e.begin, e.end);
                predicted.emplace(e.type, first, last);
            }
            score.gold += gold.size();
            score.predicted += predicted.size();
            for (const auto& chunk : predicted) {
                score.correct += gold.count(chunk);
            }
        }
    }
    return score;
}

void run(const std::string& name, std::vector<LabeledUtterance> train,
         std::vector<LabeledUtterance> test, const std::string& split, const Args& args,
         const std::vector<std::vector<std::size_t>>* test_token_begins) {
    std::cout << "[" << name << "] train " << train.size() << " examples, " << split << " "
              << test.size() << "\n";

    // Train. The sequence network's intent head joins the ensemble unless --no-seq-member.
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
    double slot_f1 = -1;
    if (test_token_begins != nullptr) {
        const SlotScore slots = score_slots(**loaded, test, *test_token_begins);
        slot_f1 = slots.f1();
        std::printf("[%s] slot F1 %.2f%%  (%zu gold, %zu predicted, %zu exact; tag head only)\n",
                    name.c_str(), slot_f1 * 100, slots.gold, slots.predicted, slots.correct);
    }

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
    const double p50 = percentile(latencies, 0.5);
    const double p99 = percentile(latencies, 0.99);
    const double throughput = static_cast<double>(test.size()) / eval_seconds;
    std::printf("[%s] accuracy %.2f%%  macro-F1 %.2f%%  (%zu/%zu)\n", name.c_str(),
                report.accuracy * 100, report.macro_f1 * 100, report.correct, report.total);
    std::printf(
        "[%s] training %.1f s (%d epochs x %d members + sequence network %s, %lld rows x "
        "%d dim)\n",
        name.c_str(), train_seconds, options.epochs, options.ensemble,
        !(*loaded)->entity_types().empty() ? "(intent + tag heads)"
        : options.tagger.intent_member     ? "(intent head)"
                                           : "(none)",
        static_cast<long long>(model->feature_rows()), model->embedding_dim());
    std::printf("[%s] single utterance p50 %.3f ms  p99 %.3f ms (1 thread, rules included)\n",
                name.c_str(), p50, p99);
    std::printf("[%s] batch throughput %.0f utterances/s (batches of 256, 1 thread)\n",
                name.c_str(), throughput);
    std::printf("[%s] model file %.2f MB  peak RSS %.1f MB (process so far)\n", name.c_str(),
                static_cast<double>(size) / 1e6, static_cast<double>(usage.ru_maxrss) / 1024.0);
    std::printf("[%s] worst confusions:", name.c_str());
    for (std::size_t i = 0; i < std::min<std::size_t>(5, report.worst_confusions.size()); ++i) {
        const auto& [expected, predicted, count] = report.worst_confusions[i];
        std::printf(" %s->%s x%d;", expected.c_str(), predicted.c_str(), count);
    }
    std::printf("\n");
    std::fflush(stdout);

    Row row;
    row.dataset = name;
    row.system = "teller";
    row.accuracy = report.accuracy;
    row.macro_f1 = report.macro_f1;
    row.slot_f1 = slot_f1;
    row.train_seconds = train_seconds;
    row.p50_ms = p50;
    row.p99_ms = p99;
    row.throughput = throughput;
    row.model_mb = static_cast<double>(size) / 1e6;
    g_rows.push_back(row);
}

// Runs tests/bench/nlpjs/run.js on the same files when node and node-nlp are installed; it
// prints one JSON object as its last line.
void run_nlpjs(const std::string& name, const fs::path& train, const fs::path& test,
               const std::string& language, const Args& args) {
    Row row;
    row.dataset = name;
    row.system = "nlp.js";
    const fs::path dir = fs::path(TELLER_SOURCE_DIR) / "tests/bench/nlpjs";
    if (!args.nlpjs) {
        row.note = "skipped (--no-nlpjs)";
    } else if (std::system("command -v node >/dev/null 2>&1") != 0) {
        row.note = "skipped: node is not installed";
    } else if (!fs::exists(dir / "node_modules/node-nlp")) {
        row.note = "skipped: run `npm install` in " + dir.string();
    }
    if (!row.note.empty()) {
        std::printf("[%s] NLP.js %s\n", name.c_str(), row.note.c_str());
        g_rows.push_back(row);
        return;
    }
    const std::string command = "node '" + (dir / "run.js").string() + "' --train '" +
                                train.string() + "' --test '" + test.string() + "' --language " +
                                language + " 2>&1";
    std::printf("[%s] NLP.js: %s\n", name.c_str(), command.c_str());
    std::fflush(stdout);
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string output;
    char buffer[4096];
    while (pipe != nullptr && std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
        output += buffer;
    }
    const int status = pipe == nullptr ? -1 : ::pclose(pipe);
    const auto last = output.find_last_of('{');
    boost::system::error_code ec;
    boost::json::value parsed;
    if (last != std::string::npos) {
        parsed = boost::json::parse(output.substr(last), ec);
    }
    if (status != 0 || last == std::string::npos || ec || !parsed.is_object()) {
        row.note = "failed (exit " + std::to_string(status) +
                   "): " + output.substr(output.size() > 400 ? output.size() - 400 : 0);
        std::printf("[%s] NLP.js %s\n", name.c_str(), row.note.c_str());
        g_rows.push_back(row);
        return;
    }
    const auto& r = parsed.as_object();
    auto number = [&](const char* key) {
        const auto* v = r.if_contains(key);
        return v == nullptr ? -1.0 : v->to_number<double>();
    };
    row.accuracy = number("accuracy");
    row.macro_f1 = number("macro_f1");
    row.train_seconds = number("train_seconds");
    row.p50_ms = number("p50_ms");
    row.p99_ms = number("p99_ms");
    row.throughput = number("throughput");
    row.model_mb = number("model_mb");
    row.note = "slot F1 not measured (NLP.js has no trainable slot tagger)";
    std::printf("[%s] NLP.js accuracy %.2f%%  macro-F1 %.2f%%  training %.1f s  p50 %.3f ms\n",
                name.c_str(), row.accuracy * 100, row.macro_f1 * 100, row.train_seconds,
                row.p50_ms);
    g_rows.push_back(row);
}

void print_summary() {
    auto cell = [](double v, const char* format, double scale = 1) {
        char out[32];
        if (v < 0) {
            std::snprintf(out, sizeof(out), "%s", "n/a");
        } else {
            std::snprintf(out, sizeof(out), format, v * scale);
        }
        return std::string(out);
    };
    std::printf("\n%-14s %-7s %8s %8s %8s %9s %8s %8s %10s %8s\n", "dataset", "system", "acc%",
                "mF1%", "slotF1%", "train s", "p50 ms", "p99 ms", "utt/s", "MB");
    for (const Row& r : g_rows) {
        std::printf("%-14s %-7s %8s %8s %8s %9s %8s %8s %10s %8s %s\n", r.dataset.c_str(),
                    r.system.c_str(), cell(r.accuracy, "%.2f", 100).c_str(),
                    cell(r.macro_f1, "%.2f", 100).c_str(), cell(r.slot_f1, "%.2f", 100).c_str(),
                    cell(r.train_seconds, "%.1f").c_str(), cell(r.p50_ms, "%.3f").c_str(),
                    cell(r.p99_ms, "%.3f").c_str(), cell(r.throughput, "%.0f").c_str(),
                    cell(r.model_mb, "%.2f").c_str(), r.note.c_str());
    }
}

bool present(const fs::path& a, const fs::path& b, const std::string& name) {
    if (fs::exists(a) && fs::exists(b)) {
        return true;
    }
    std::cout << "[" << name << "] skipped: " << a << " or " << b << " not found\n";
    return false;
}

// A CSV data set (Banking77, MASSIVE): train -> test, or train -> carved validation.
void run_csv(const std::string& name, const fs::path& train_csv, const fs::path& test_csv,
             const std::string& language, const Args& args) {
    if (!present(train_csv, test_csv, name)) {
        return;
    }
    std::vector<LabeledUtterance> train = teller::nlu::read_labeled_csv(train_csv);
    std::vector<LabeledUtterance> test = teller::nlu::read_labeled_csv(test_csv);
    std::string split = test_csv.filename().string();
    if (args.validate) {
        test.clear();
        carve_validation(train, test, args.validation_share, args.options.seed);
        split = "validation (carved from train)";
        run(name, std::move(train), std::move(test), split, args, nullptr);
        return;
    }
    run(name, std::move(train), std::move(test), split, args, nullptr);
    run_nlpjs(name, train_csv, test_csv, language, args);
}

void run_snips(const fs::path& dir, const Args& args) {
    const fs::path train_file = dir / "train.jsonl";
    const fs::path test_file = dir / (args.validate ? "valid.jsonl" : "test.jsonl");
    if (!present(train_file, test_file, "snips")) {
        return;
    }
    std::vector<std::vector<std::size_t>> begins;
    auto train = read_bio_jsonl(train_file, nullptr);
    auto test = read_bio_jsonl(test_file, &begins);
    run("snips", std::move(train), std::move(test), test_file.filename().string(), args, &begins);
    if (!args.validate) {
        run_nlpjs("snips", train_file, test_file, "en", args);
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args args = parse_args(argc, argv);
        if (args.only.empty() || args.only == "banking77") {
            run_csv("banking77", args.data_dir / "banking77/train.csv",
                    args.data_dir / "banking77/test.csv", "en", args);
        }
        if (args.only.empty() || args.only == "snips") {
            run_snips(args.data_dir / "snips", args);
        }
        if (args.only.empty() || args.only == "massive") {
            run_csv("massive-zh-CN", args.data_dir / "massive-zh-CN-intent/train.csv",
                    args.data_dir / "massive-zh-CN-intent/validation.csv", "zh", args);
        }
        print_summary();
    } catch (const std::exception& e) {
        std::cerr << "nlu_bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
