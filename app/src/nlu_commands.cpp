// The NLU subcommands: train (from the skills' examples), eval and validate-data.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "bot_setup.hpp"
#include "commands.hpp"
#include "teller/core/config.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlu/evaluation.hpp"
#include "teller/nlu/intent_model.hpp"
#include "teller/nlu/training_data.hpp"

namespace teller::app {
namespace fs = std::filesystem;
using core::Error;

namespace {

void print_train_progress(int epoch, int epochs, double loss, double seconds) {
    std::fprintf(stderr, "  epoch %2d/%d  loss %.4f  %.1f s\n", epoch, epochs, loss, seconds);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A whole-number flag (a positive count unless said otherwise).
int int_flag(const Args& args, const std::string& name, int fallback) {
    return args.get_int(name, fallback, 0, 2147483647);
}

nlu::TrainOptions train_options(const Args& args) {
    nlu::TrainOptions options;
    options.progress = print_train_progress;
    options.epochs = int_flag(args, "epochs", options.epochs);
    options.seed = static_cast<std::uint64_t>(int_flag(args, "seed", 42));
    options.ensemble = int_flag(args, "ensemble", options.ensemble);
    return options;
}

// Prints the issues (errors, then warnings) and a count line; true when there was no error.
bool report_issues(const nlu::TrainingData& data, std::ostream& out) {
    for (const nlu::DataIssue& issue : data.issues) {
        out << issue.to_string() << "\n";
    }
    out << data.error_count() << " error(s), " << data.warning_count() << " warning(s) in "
        << data.examples.size() << " usable examples\n";
    return data.error_count() == 0;
}

std::vector<std::string> split_commas(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

void print_summary(const nlu::DetailedReport& detailed, const Args& args) {
    const nlu::EvalReport& report = detailed.intents;
    std::cout << std::fixed << std::setprecision(2);
    std::cout << "test examples   " << report.total << "\n";
    std::cout << "accuracy        " << 100.0 * report.accuracy << " %\n";
    std::cout << "macro-F1        " << 100.0 * report.macro_f1 << " %\n";
    if (args.has("per-intent")) {
        std::cout << "\n"
                  << std::left << std::setw(40) << "intent"
                  << " precision  recall  f1     support\n";
        for (const auto& p : report.per_intent) {
            std::cout << std::left << std::setw(40) << p.intent << std::setprecision(3) << " "
                      << p.precision << "      " << p.recall << "   " << p.f1 << "  " << p.support
                      << "\n";
        }
    }
    if (detailed.has_entities) {
        std::cout << "\nentities (exact span and type)\n"
                  << std::left << std::setw(24) << "type"
                  << " precision  recall  f1     TP/FP/FN\n";
        std::vector<nlu::EntityScore> rows = detailed.entity_types;
        rows.push_back(detailed.entity_micro);
        for (const nlu::EntityScore& s : rows) {
            std::cout << std::left << std::setw(24) << s.type << std::setprecision(3) << " "
                      << s.precision << "      " << s.recall << "   " << s.f1 << "  "
                      << s.true_positives << "/" << s.false_positives << "/" << s.false_negatives
                      << "\n";
        }
    }
    const int limit = int_flag(args, "confusions", 10);
    std::cout << "\nworst confusions (expected -> predicted: count)\n";
    int shown = 0;
    for (const auto& [expected, predicted, count] : report.worst_confusions) {
        if (shown++ == limit) {
            break;
        }
        std::cout << "  " << expected << " -> " << (predicted.empty() ? "(none)" : predicted)
                  << ": " << count << "\n";
    }
}

void write_html(const std::string& path, const nlu::DetailedReport& report,
                const nlu::HtmlReportOptions& options) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << nlu::eval_report_html(report, options);
    if (!out.flush()) {
        throw Error("cannot write " + path);
    }
    std::cerr << "Wrote " << path << "\n";
}

// The examples --folds runs on: --data, else --train, else the loaded skills' examples.
std::vector<nlu::LabeledUtterance> fold_data(const Args& args, const core::Config& config,
                                             std::string& source) {
    if (auto path = args.get("data") ? args.get("data") : args.get("train")) {
        source = *path;
        return nlu::read_labeled_data(*path);
    }
    Skills skills = load_skills(config);
    source = "the loaded skills' examples";
    return training_data(*skills.host);
}

int cross_validation_main(const Args& args, const core::Config& config) {
    const int k = int_flag(args, "folds", 5);
    std::string source;
    const auto data = fold_data(args, config, source);
    std::cerr << k << "-fold cross-validation on " << data.size() << " examples from " << source
              << "\n";
    const nlu::TrainOptions options = train_options(args);
    const auto seed = options.seed;
    const auto start = std::chrono::steady_clock::now();
    const nlu::CrossValidation cv = nlu::cross_validate(
        data, k, seed,
        [&](const std::vector<nlu::LabeledUtterance>& train) {
            return std::unique_ptr<core::IntentClassifier>(nlu::IntentModel::train(train, options));
        },
        [&](const nlu::FoldResult& f) {
            std::fprintf(stderr, "fold %d/%d done: accuracy %.2f %%, macro-F1 %.2f %% (%.0f s)\n",
                         f.fold, k, 100 * f.accuracy, 100 * f.macro_f1, seconds_since(start));
        });

    std::cout << std::fixed << std::setprecision(2)
              << "fold  train  test  accuracy %  macro-F1 %\n";
    for (const nlu::FoldResult& f : cv.folds) {
        std::cout << std::setw(4) << f.fold << std::setw(7) << f.train_size << std::setw(6)
                  << f.test_size << std::setw(12) << 100 * f.accuracy << std::setw(12)
                  << 100 * f.macro_f1 << "\n";
    }
    std::cout << "mean accuracy " << 100 * cv.mean_accuracy << " ± " << 100 * cv.std_accuracy
              << " %, macro-F1 " << 100 * cv.mean_macro_f1 << " ± " << 100 * cv.std_macro_f1
              << " %\n";

    // Every example was predicted once by a model that did not see it: pool those predictions.
    const nlu::DetailedReport pooled = nlu::detailed_report(data, cv.out_of_fold);
    std::cout << "\npooled out-of-fold predictions\n";
    print_summary(pooled, args);
    if (auto html = args.get("html")) {
        nlu::HtmlReportOptions html_options;
        html_options.title = "Teller NLU cross-validation: " + source;
        html_options.facts = {{"folds", std::to_string(k)}, {"seed", std::to_string(seed)}};
        html_options.cross_validation = &cv;
        write_html(*html, pooled, html_options);
    }
    return 0;
}

int out_of_scope_main(const Args& args, const core::Config& config) {
    const auto train_path = args.get("train");
    const auto test_path = args.get("test");
    if (!train_path || !test_path) {
        throw Error("out-of-scope evaluation needs --train FILE and --test FILE");
    }
    const auto train = nlu::read_labeled_data(*train_path);
    const auto test = nlu::read_labeled_data(*test_path);
    const nlu::TrainOptions options = train_options(args);
    const std::vector<std::string> held_out =
        args.get("holdout-intents")
            ? split_commas(*args.get("holdout-intents"))
            : nlu::choose_holdout_intents(train, int_flag(args, "out-of-scope", 5), options.seed);

    const auto [train_in, train_out] = nlu::split_out_of_scope(train, held_out);
    const auto [test_in, test_out] = nlu::split_out_of_scope(test, held_out);
    if (train_in.empty() || test_out.empty()) {
        throw Error("the held-out intents leave no training data or no out-of-scope test data");
    }
    std::cerr << "Training on " << train_in.size() << " examples without " << held_out.size()
              << " held-out intents (" << train_out.size() << " examples dropped)\n";
    const auto start = std::chrono::steady_clock::now();
    const auto model = nlu::IntentModel::train(train_in, options);
    const double train_seconds = seconds_since(start);

    const double threshold = config.confidence_threshold;
    const nlu::OutOfScopeReport oos =
        nlu::evaluate_out_of_scope(*model, test_in, test_out, held_out, threshold);
    const nlu::DetailedReport detailed = nlu::evaluate_detailed(*model, test_in);

    auto share = [](std::size_t a, std::size_t b) {
        return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0;
    };
    std::cout << std::fixed << std::setprecision(2) << "held out        ";
    for (const std::string& h : held_out) {
        std::cout << h << " ";
    }
    std::cout << "\nthreshold       " << threshold << " (top confidence below it: rejected)\n"
              << "out of scope    " << oos.oos_total << " utterances: rejected "
              << share(oos.oos_rejected, oos.oos_total) << " %, wrongly accepted "
              << share(oos.oos_accepted, oos.oos_total) << " %\n"
              << "in scope        " << oos.in_total << " utterances: accuracy "
              << share(oos.in_correct, oos.in_total) << " %, accepted and right "
              << share(oos.in_accepted_correct, oos.in_total) << " %, falsely rejected "
              << share(oos.in_rejected, oos.in_total) << " %\n"
              << "training time   " << std::setprecision(1) << train_seconds << " s\n\n"
              << "threshold  OOS rejected %  in-scope accepted&right %  in-scope false reject %\n"
              << std::setprecision(2);
    for (const nlu::ThresholdRow& row : oos.sweep) {
        std::cout << std::setw(9) << row.threshold << std::setw(16) << 100 * row.oos_rejected
                  << std::setw(27) << 100 * row.in_scope_accepted_correct << std::setw(25)
                  << 100 * row.in_scope_false_reject << "\n";
    }
    if (auto html = args.get("html")) {
        nlu::HtmlReportOptions html_options;
        html_options.title = "Teller NLU out-of-scope evaluation";
        html_options.out_of_scope = &oos;
        html_options.facts = {{"training time", std::to_string(train_seconds) + " s"}};
        write_html(*html, detailed, html_options);
    }
    return 0;
}

}  // namespace

int train_main(const Args& args) {
    core::Config config = load_config(args);
    fs::path output = args.get("output").value_or(config.model_path.string());
    Skills skills = load_skills(config);

    // Check the examples first: annotation syntax, duplicates across intents, locale script.
    const nlu::TrainingData checked = nlu::from_training_examples(skills.host->training_examples());
    if (!checked.issues.empty() && !report_issues(checked, std::cerr)) {
        std::cerr << "teller train: fix the skills' examples first\n";
        return 1;
    }

    // TODO(teller): training uses the examples as the skills return them (bot_setup.cpp's
    // training_data()), so inline annotations would reach the model as literal brackets; that
    // function must strip them with nlu::parse_annotations before skills annotate examples.
    auto data = training_data(*skills.host);
    std::cerr << "Training the intent model on " << data.size() << " examples of "
              << skills.host->intents().size() << " intents from skills";
    for (const auto& name : skills.host->skills()) {
        std::cerr << " " << name;
    }
    std::cerr << "\n";

    const nlu::TrainOptions options = train_options(args);
    auto start = std::chrono::steady_clock::now();
    auto model = nlu::IntentModel::train(data, options);
    if (output.has_parent_path()) {
        fs::create_directories(output.parent_path());
    }
    model->save(output);
    std::cout << "Wrote " << output.string() << " (" << model->intents().size() << " intents, "
              << data.size() << " examples, " << std::fixed << std::setprecision(1)
              << seconds_since(start) << " s, fingerprint "
              << model->training_fingerprint().substr(0, 12) << ")" << std::endl;
    return 0;
}

int eval_main(const Args& args) {
    core::Config config = load_config(args);
    if (args.has("folds")) {
        return cross_validation_main(args, config);
    }
    if (args.has("out-of-scope") || args.has("holdout-intents")) {
        return out_of_scope_main(args, config);
    }

    auto test_path = args.get("test");
    if (!test_path) {
        throw Error("--test FILE is required (CSV, YAML data file or SNIPS JSON lines)");
    }
    auto test = nlu::read_labeled_data(*test_path);

    // Train from --train, or load --model.
    std::unique_ptr<nlu::IntentModel> model;
    double train_seconds = 0;
    std::size_t train_size = 0;
    if (auto train_path = args.get("train")) {
        auto train = nlu::read_labeled_data(*train_path);
        train_size = train.size();
        std::cerr << "Training on " << train.size() << " examples from " << *train_path << "\n";
        auto start = std::chrono::steady_clock::now();
        model = nlu::IntentModel::train(train, train_options(args));
        train_seconds = seconds_since(start);
    } else if (auto model_path = args.get("model")) {
        auto loaded = nlu::IntentModel::load(*model_path);
        if (!loaded) {
            throw Error("cannot load model " + *model_path + ": " + loaded.error().message());
        }
        model = std::move(*loaded);
    } else {
        throw Error("give --train FILE (train, then evaluate) or --model FILE");
    }

    std::cerr << "Evaluating on " << test.size() << " examples from " << *test_path << "\n";
    const auto start = std::chrono::steady_clock::now();
    const nlu::DetailedReport report = nlu::evaluate_detailed(*model, test);
    const double eval_seconds = seconds_since(start);
    print_summary(report, args);
    std::ostringstream timing;
    timing << std::fixed << std::setprecision(1);
    if (train_seconds > 0) {
        timing << train_seconds;
        std::cout << "\ntraining time   " << timing.str() << " s\n";
    }
    if (auto html = args.get("html")) {
        nlu::HtmlReportOptions options;
        options.title = "Teller NLU evaluation: " + fs::path(*test_path).filename().string();
        options.facts.emplace_back("test data", *test_path);
        if (train_seconds > 0) {
            options.facts.emplace_back("training examples", std::to_string(train_size));
            options.facts.emplace_back("training time", timing.str() + " s");
        } else {
            options.facts.emplace_back("model", *args.get("model"));
        }
        std::ostringstream eval_time;
        eval_time << std::fixed << std::setprecision(1) << eval_seconds << " s";
        options.facts.emplace_back("evaluation time", eval_time.str());
        write_html(*html, report, options);
    }
    return 0;
}

int validate_data_main(const Args& args) {
    const std::vector<std::string> files = args.all("data");
    if (files.empty() && !args.has("skills")) {
        throw Error("give --data FILE (repeatable) and/or --skills");
    }
    bool ok = true;
    if (!files.empty()) {
        const nlu::TrainingData data =
            nlu::load_training_data(std::vector<fs::path>(files.begin(), files.end()));
        ok = report_issues(data, std::cout) && ok;
    }
    if (args.has("skills")) {
        core::Config config = load_config(args);
        Skills skills = load_skills(config);
        const nlu::TrainingData data =
            nlu::from_training_examples(skills.host->training_examples());
        ok = report_issues(data, std::cout) && ok;
    }
    return ok ? 0 : 1;
}

Command train_command() {
    return {{"train", "Train the intent model from the loaded skills' examples",
             "Checks the examples first (as teller validate-data --skills does) and stops on\n"
             "errors. Writes one model file: weights, hashing settings, labels and a fingerprint\n"
             "of the training data, which `teller run` checks against the skills it loads.\n"
             "Progress (epochs) on stderr.",
             join({config_flags(),
                   {{"output", "FILE", "where to write the model (default: the configured model)"},
                    {"epochs", "N", "training epochs (default: the tuned value)"},
                    {"seed", "N", "random seed (default 42)"},
                    {"skill", "FILE", "skill plugin to learn from (default: all)", true},
                    {"skills-dir", "DIR", "folder of skill plugins"},
                    {"backend-data", "FILE", "demo bank data"},
                    {"flows-dir", "DIR", "folder of YAML flows (default flows/)"}}})},
            train_main};
}

Command eval_command() {
    return {
        {"eval", "Evaluate an intent model: accuracy, F1, entities, k-fold, out-of-scope",
         "Three modes:\n"
         "  held-out test:  teller eval --train FILE --test FILE [--html report.html]\n"
         "                  (or --model FILE instead of --train) prints accuracy, macro-F1,\n"
         "                  per-intent precision/recall/F1 (--per-intent), entity\n"
         "                  precision/recall/F1 per type and micro (exact span and type; when\n"
         "                  the test data is annotated) and the worst confusions.\n"
         "  cross-validate: teller eval --folds K [--data FILE]  stratified by intent, seeded;\n"
         "                  without --data/--train it uses the loaded skills' examples.\n"
         "  out of scope:   teller eval --train FILE --test FILE --out-of-scope N\n"
         "                  (or --holdout-intents a,b,c) trains without N intents (seeded choice)\n"
         "                  and reports how many of their test utterances are rejected (top\n"
         "                  confidence below the configured threshold, --threshold, default 0.5)\n"
         "                  versus wrongly accepted, in-scope accuracy and false rejects, and a\n"
         "                  threshold sweep.\n"
         "Data files: .csv (header with `text` and `category`, `intent` or `label_text`),\n"
         ".yaml/.yml (Teller training data with inline entity annotations) and .jsonl (SNIPS:\n"
         "tokens, BIO tags, intent). --html writes a self-contained page (no network needed)\n"
         "with a sortable per-intent table and a confusion-matrix heat map.\n"
         "Example: teller eval --train ../shared/data/banking77/train.csv \\\n"
         "                     --test ../shared/data/banking77/test.csv --html b77.html",
         join({config_flags(),
               {{"train", "FILE", "training data (trains with the same trainer as teller train)"},
                {"model", "FILE", "evaluate this model instead of training one"},
                {"test", "FILE", "test data"},
                {"html", "FILE", "also write a self-contained HTML report"},
                {"per-intent", "", "print precision, recall and F1 per intent"},
                {"confusions", "N", "worst confusions to print (default 10)"},
                {"folds", "K", "k-fold cross-validation instead of a test file"},
                {"data", "FILE", "data for --folds (default: --train, else the skills' examples)"},
                {"out-of-scope", "N", "hold N intents out of training (seeded choice)"},
                {"holdout-intents", "A,B", "hold these intents out of training"},
                {"threshold", "P", "rejection threshold (default: the configured one, 0.5)"},
                {"epochs", "N", "training epochs (default: the tuned value)"},
                {"seed", "N", "seed for training, folds and held-out intents (default 42)"},
                {"ensemble", "N",
                 "intent networks averaged (default: the tuned value; 1 is faster)"},
                {"skill", "FILE", "skill plugin for --folds on skills' examples", true},
                {"skills-dir", "DIR", "folder of skill plugins"},
                {"backend-data", "FILE", "demo bank data"},
                {"flows-dir", "DIR", "folder of YAML flows (default flows/)"}}})},
        eval_main};
}

Command validate_data_command() {
    return {{"validate-data", "Check training data files (and skills' examples)",
             "Reports each problem as FILE:LINE: error|warning: message. Errors: YAML syntax,\n"
             "unknown keys, malformed [span](type) annotations, entity types neither declared\n"
             "under `entities:` nor built in, intents without examples, the same example under\n"
             "two intents (across files too). Warnings: repeated examples within an intent,\n"
             "examples in another locale's script. Exit status 1 when there is an error.\n"
             "Example: teller validate-data --data plugins/cards/data/cards.en.yaml \\\n"
             "                              --data plugins/cards/data/cards.zh-CN.yaml",
             join({config_flags(),
                   {{"data", "FILE", "YAML training data file", true},
                    {"skills", "", "also check the loaded skills' examples"},
                    {"skill", "FILE", "skill plugin to check (default: all)", true},
                    {"skills-dir", "DIR", "folder of skill plugins"},
                    {"backend-data", "FILE", "demo bank data"},
                    {"flows-dir", "DIR", "folder of YAML flows (default flows/)"}}})},
            validate_data_main};
}

}  // namespace teller::app
