// The LibTorch intent model: training, saving, loading and evaluation. Torch stays in the .cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/core/nlu.hpp"

namespace teller::nlu {

/// One training or test utterance. `entities` holds the annotated spans (type, byte offsets
/// into `text`, the span's text, and its normalised value when the annotation gives one);
/// empty when the data has no entity annotations.
struct LabeledUtterance {
    std::string text;
    std::string intent;
    std::vector<core::Entity> entities;
};

/// Hyperparameters. Defaults are the ones `teller train` uses, tuned on two seeded 10%
/// validation splits carved from Banking77's training data (never on its test split): five
/// 80-d members beat one 300-d network by about 0.5 points and the file stays near 16 MB.
struct TrainOptions {
    int epochs = 15;
    int embedding_dim = 80;
    int hidden_dim = 256;
    std::int64_t buckets = 1 << 21;  ///< hashed feature buckets (see TokenizerOptions)
    int min_n = 3;                   ///< character n-grams of Latin words, shortest (0: none)
    int max_n = 5;                   ///< character n-grams of Latin words, longest
    bool word_bigrams = true;        ///< token bigrams (CJK character bigrams)
    int min_count = 2;               ///< features seen in fewer training utterances are not stored
    float learning_rate = 0.01f;     ///< Adam, decayed linearly to zero over training
    float label_smoothing = 0.1f;
    float dropout = 0.0f;  ///< on the hidden layer, training only
    int batch_size = 32;
    int ensemble = 5;  ///< networks trained with different seeds; probabilities averaged
    std::uint64_t seed = 42;
    /// Called after each epoch: (epoch 1-based, counted across ensemble members; epochs times
    /// members; mean training loss of that epoch; seconds so far).
    std::function<void(int, int, double, double)> progress;
};

/// A trained intent classifier. Immutable; parse() is thread-safe.
class IntentModel final : public core::IntentClassifier {
public:
    ~IntentModel() override;

    /// Trains from scratch on one CPU thread (the process-wide torch thread count is restored
    /// afterwards). Deterministic for a fixed seed. Throws core::Error on empty data or
    /// invalid options. Not thread-safe: torch's seed and thread count are process-wide, so
    /// run one train() at a time (parse() on other models may run meanwhile).
    static std::unique_ptr<IntentModel> train(const std::vector<LabeledUtterance>& examples,
                                              const TrainOptions& options);

    /// Loads a model file. Errors: model_missing (no file), model_corrupt (truncated, damaged
    /// or not a Teller model), model_mismatch (a format version this build cannot read).
    /// Never throws for a bad file.
    static core::Result<std::unique_ptr<IntentModel>> load(const std::filesystem::path& path);

    /// Writes weights, vocabulary settings, labels and the training-data fingerprint to one
    /// file (written to a temporary name, then renamed). Throws core::Error on I/O failure.
    void save(const std::filesystem::path& path) const;

    /// One forward pass for the whole batch; each ranking holds the top five intents (fewer
    /// if the model knows fewer) with softmax confidences. Entities come from
    /// extract_entities() (entities.hpp) with the default context. Thread-safe.
    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override;
    /// Every intent, sorted.
    std::vector<std::string> intents() const override;

    /// Number of stored feature rows (embedding table height) and embedding width, per
    /// ensemble member.
    std::int64_t feature_rows() const;
    int embedding_dim() const;

    /// Fingerprint of the data the model was trained on (see fingerprint()).
    const std::string& training_fingerprint() const;

private:
    struct Impl;
    explicit IntentModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// SHA-256 (hex) over the sorted (intent, text) pairs: equal for equal data in any order.
std::string fingerprint(const std::vector<LabeledUtterance>& examples);

/// Per-intent and overall figures of a classifier on labelled test data.
struct EvalReport {
    struct PerIntent {
        std::string intent;
        double precision = 0;
        double recall = 0;
        double f1 = 0;
        int support = 0;
    };
    std::size_t total = 0;
    std::size_t correct = 0;
    double accuracy = 0;
    double macro_f1 = 0;
    std::vector<PerIntent> per_intent;
    /// (expected, predicted, count), most frequent first.
    std::vector<std::tuple<std::string, std::string, int>> worst_confusions;
};

/// Runs `classifier` over `test` in batches. Macro-F1 averages over every intent that is expected
/// or predicted; `worst_confusions` lists wrong (expected, predicted) pairs, most frequent first.
/// Thread-safe if the classifier is.
EvalReport evaluate(const core::IntentClassifier& classifier,
                    const std::vector<LabeledUtterance>& test);

/// Reads a CSV with a header row naming `text` and an intent column (`category`, `intent` or
/// `label_text`), as in Banking77 and MASSIVE. Throws core::Error naming the file and line.
/// Fields follow RFC 4180 (quoted commas, doubled quotes, line breaks inside quotes).
std::vector<LabeledUtterance> read_labeled_csv(const std::filesystem::path& path);

/// Sets the number of threads torch uses inside one operation, process-wide (parse() of one
/// batch; training always uses one). Not thread-safe: call at start-up.
void set_compute_threads(int threads);

}  // namespace teller::nlu
