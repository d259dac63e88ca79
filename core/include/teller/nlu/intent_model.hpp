// The LibTorch intent model: training, saving, loading and evaluation. Torch stays in the .cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/core/nlu.hpp"

namespace teller::nlu {

/// One training or test utterance.
struct LabeledUtterance {
    std::string text;
    std::string intent;
};

/// Hyperparameters. Defaults are the ones `teller train` uses.
struct TrainOptions {
    int epochs = 15;
    int embedding_dim = 300;
    int hidden_dim = 256;
    std::int64_t buckets = 1 << 20;  ///< hashed feature buckets
    float learning_rate = 0.01f;
    float label_smoothing = 0.1f;
    int batch_size = 32;
    std::uint64_t seed = 42;
    /// Called after each epoch: (epoch 1-based, epochs, mean training loss, seconds so far).
    std::function<void(int, int, double, double)> progress;
};

/// A trained intent classifier. Immutable; parse() is thread-safe.
class IntentModel final : public core::IntentClassifier {
public:
    ~IntentModel() override;

    /// Trains from scratch. Deterministic for a fixed seed. Throws core::Error on empty data.
    static std::unique_ptr<IntentModel> train(const std::vector<LabeledUtterance>& examples,
                                              const TrainOptions& options);

    /// Loads a model file. Errors: model_missing, model_corrupt.
    static core::Result<std::unique_ptr<IntentModel>> load(const std::filesystem::path& path);

    /// Writes weights, vocabulary settings, labels and the training-data fingerprint to one
    /// file (written to a temporary name, then renamed). Throws core::Error on I/O failure.
    void save(const std::filesystem::path& path) const;

    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override;
    std::vector<std::string> intents() const override;

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

EvalReport evaluate(const core::IntentClassifier& classifier,
                    const std::vector<LabeledUtterance>& test);

/// Reads a CSV with a header row naming `text` and an intent column (`category`, `intent` or
/// `label_text`), as in Banking77 and MASSIVE. Throws core::Error naming the file and line.
std::vector<LabeledUtterance> read_labeled_csv(const std::filesystem::path& path);

}  // namespace teller::nlu
