// Evaluation of intent classifiers beyond accuracy: entity scores, the confusion matrix,
// stratified k-fold cross-validation, out-of-scope rejection and the HTML report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "teller/core/nlu.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::nlu {

/// Exact-match entity scores of one type (or of all types together).
struct EntityScore {
    std::string type;  ///< "(micro)" for the micro average over every type
    int true_positives = 0;
    int false_positives = 0;
    int false_negatives = 0;
    double precision = 0;
    double recall = 0;
    double f1 = 0;
};

/// What evaluate_detailed() measures.
struct DetailedReport {
    EvalReport intents;  ///< accuracy, macro-F1, per intent, worst confusions
    /// True when some test utterance carries entity annotations; the entity figures below are
    /// empty otherwise.
    bool has_entities = false;
    std::vector<EntityScore> entity_types;  ///< per annotated type, sorted by type
    EntityScore entity_micro;               ///< over every annotated type
    /// Every intent expected or predicted, sorted ("(none)" for an empty ranking); the rows
    /// (expected) and columns (predicted) of `confusion`.
    std::vector<std::string> labels;
    std::vector<std::vector<int>> confusion;
    /// Up to `examples_per_pair` test utterances of each wrong (expected, predicted) pair.
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> confusion_examples;
    /// The top intent and its confidence for each test utterance, in order (empty intent when
    /// the ranking was empty).
    std::vector<core::IntentScore> predictions;
};

/// Runs `classifier` over `test` in batches and measures intents as evaluate() does, plus the
/// confusion matrix and entities: a predicted entity counts when type, begin and end equal an
/// annotated one. Only types that the test data annotates somewhere are scored (the rule-based
/// types the data does not annotate would otherwise all count as false positives). Thread-safe
/// if the classifier is.
DetailedReport evaluate_detailed(const core::IntentClassifier& classifier,
                                 const std::vector<LabeledUtterance>& test,
                                 std::size_t examples_per_pair = 3);

/// The same report from predictions made elsewhere (one per test utterance, in order; e.g.
/// CrossValidation::out_of_fold). `entities`: the predicted entities per utterance, or empty
/// to leave entities unscored. Throws core::Error when the sizes do not match.
DetailedReport detailed_report(const std::vector<LabeledUtterance>& test,
                               std::vector<core::IntentScore> predictions,
                               const std::vector<std::vector<core::Entity>>& entities = {},
                               std::size_t examples_per_pair = 3);

/// Assigns each example a fold in [0, k): within every intent the examples are shuffled with
/// `seed` and dealt round-robin, continuing across intents, so every fold holds about 1/k of
/// each intent and the folds differ in size by at most one. Throws core::Error when k < 2.
std::vector<int> stratified_folds(const std::vector<LabeledUtterance>& data, int k,
                                  std::uint64_t seed);

/// One fold's figures.
struct FoldResult {
    int fold = 0;
    std::size_t train_size = 0;
    std::size_t test_size = 0;
    double accuracy = 0;
    double macro_f1 = 0;
};

/// k-fold cross-validation: per fold and mean ± population standard deviation.
struct CrossValidation {
    std::vector<FoldResult> folds;
    double mean_accuracy = 0;
    double std_accuracy = 0;
    double mean_macro_f1 = 0;
    double std_macro_f1 = 0;
    /// For each example of the data, in order, the top intent the fold that held it out
    /// predicted: every example is predicted once by a model that never saw it.
    std::vector<core::IntentScore> out_of_fold;
};

/// Trains a classifier on the given examples.
using Trainer = std::function<std::unique_ptr<core::IntentClassifier>(
    const std::vector<LabeledUtterance>& train)>;

/// Trains on k-1 folds and evaluates on the remaining one, k times (stratified_folds). Calls
/// `on_fold` after each fold when set. Throws what `train` throws, and core::Error for k < 2
/// or k larger than the data.
CrossValidation cross_validate(const std::vector<LabeledUtterance>& data, int k, std::uint64_t seed,
                               const Trainer& train,
                               const std::function<void(const FoldResult&)>& on_fold = {});

/// `n` distinct intents of `data`, chosen with `seed` (sorted). Throws core::Error when the
/// data has n or fewer intents (something must stay in scope).
std::vector<std::string> choose_holdout_intents(const std::vector<LabeledUtterance>& data, int n,
                                                std::uint64_t seed);

/// Rejection figures at one confidence threshold.
struct ThresholdRow {
    double threshold = 0;
    double oos_rejected = 0;  ///< share of out-of-scope utterances rejected
    double in_scope_accepted_correct =
        0;                             ///< share of in-scope ones accepted with the right intent
    double in_scope_false_reject = 0;  ///< share of in-scope ones rejected
};

/// How a classifier trained without some intents treats their utterances.
struct OutOfScopeReport {
    std::vector<std::string> held_out;
    double threshold = 0;  ///< top confidence below it: rejected (the engine's fallback)
    std::size_t oos_total = 0;
    std::size_t oos_rejected = 0;
    std::size_t oos_accepted = 0;  ///< wrongly accepted as some in-scope intent
    std::size_t in_total = 0;
    std::size_t in_correct = 0;           ///< right top intent, whatever the confidence
    std::size_t in_accepted_correct = 0;  ///< right top intent at or above the threshold
    std::size_t in_rejected = 0;          ///< below the threshold (false rejects)
    std::vector<ThresholdRow> sweep;
};

/// Splits labelled data into (utterances of intents not in `held_out`, the others).
std::pair<std::vector<LabeledUtterance>, std::vector<LabeledUtterance>> split_out_of_scope(
    const std::vector<LabeledUtterance>& data, const std::vector<std::string>& held_out);

/// Runs `classifier` over both test sets and counts rejections at `threshold` and at each
/// `sweep` threshold. Thread-safe if the classifier is.
OutOfScopeReport evaluate_out_of_scope(const core::IntentClassifier& classifier,
                                       const std::vector<LabeledUtterance>& in_scope,
                                       const std::vector<LabeledUtterance>& out_of_scope,
                                       const std::vector<std::string>& held_out, double threshold,
                                       const std::vector<double>& sweep = {0.1, 0.2, 0.3, 0.4, 0.5,
                                                                           0.6, 0.7, 0.8, 0.9});

/// What goes into the HTML report besides the detailed report.
struct HtmlReportOptions {
    std::string title = "Teller NLU evaluation";
    std::vector<std::pair<std::string, std::string>> facts;  ///< ("training time", "61.2 s")...
    const CrossValidation* cross_validation = nullptr;
    const OutOfScopeReport* out_of_scope = nullptr;
};

/// A self-contained HTML page (inline CSS and JavaScript, no external reference): summary,
/// sortable per-intent table, entity scores, confusion-matrix heat map (scrollable, sticky
/// headers, hover shows the pair and count), worst confusions with example utterances, and the
/// cross-validation and out-of-scope figures when given; a report without test utterances (a
/// cross-validation-only page) shows just the facts and those. Every data string is
/// HTML-escaped.
/// Thread-safe.
std::string eval_report_html(const DetailedReport& report, const HtmlReportOptions& options = {});

/// Escapes & < > " ' for HTML text and attributes.
std::string html_escape(std::string_view text);

}  // namespace teller::nlu
