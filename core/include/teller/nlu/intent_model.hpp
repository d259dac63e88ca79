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

/// Hyperparameters of the sequence network trained next to the intent ensemble: hashed
/// per-token features (the token, its neighbours, character n-grams) averaged into one
/// embedding per token, a bidirectional GRU, a BIO entity-tag head and an intent head (max over
/// tokens). Tag and intent losses are trained jointly. Defaults were checked once on SNIPS
/// valid.jsonl (98.6% intent accuracy, 93.1 slot F1); no search was run over them.
struct TaggerOptions {
    /// Train the tag head when the examples carry entity annotations; without any, the network
    /// is trained only when `intent_member` is set.
    bool enabled = true;
    /// Average the network's intent probabilities into the ensemble's (as one more member).
    bool intent_member = true;
    int epochs = 8;
    int embedding_dim = 64;
    int hidden_dim = 96;  ///< GRU state per direction
    int min_n = 2;        ///< character n-grams of each token, shortest (0: none)
    int max_n = 4;
    int min_count = 1;  ///< per-token features seen in fewer training utterances are not stored
    std::int64_t max_rows = 1 << 15;  ///< only the most frequent features are stored (0: all)
    float learning_rate = 0.004f;     ///< Adam, decayed linearly to zero
    float dropout = 0.25f;            ///< on token embeddings and GRU outputs, training only
    float intent_loss_weight = 0.5f;
    int batch_size = 16;
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
    /// At most this many features (the most frequent) are stored, which bounds the file: five
    /// members of 2^15 int8 rows x 80 plus the sequence network stay under 20 MB. 0: no limit.
    std::int64_t max_rows = 1 << 15;
    float learning_rate = 0.01f;  ///< Adam, decayed linearly to zero over training
    float label_smoothing = 0.1f;
    float dropout = 0.0f;  ///< on the hidden layer, training only
    int batch_size = 32;
    int ensemble = 5;  ///< networks trained with different seeds; probabilities averaged
    std::uint64_t seed = 42;
    TaggerOptions tagger;  ///< the joint sequence network (entity tags, one more intent member)
    /// Called after each epoch: (epoch 1-based, counted across ensemble members; epochs times
    /// members; mean training loss of that epoch; seconds so far).
    std::function<void(int, int, double, double)> progress;
};

/// Where parse() takes entities from.
enum class EntitySource {
    rules_and_model,  ///< rule extractors, plus model entities that overlap none of theirs
    model,            ///< the tag head only (nothing when the model has none)
    rules,            ///< extract_entities() only
};

/// Joins rule-based and model entities: every rule entity is kept (rules are exact and
/// normalised); a model entity is kept when it overlaps no rule entity. Sorted by begin offset
/// (stable). Thread-safe.
std::vector<core::Entity> merge_entities(std::vector<core::Entity> rules,
                                         std::vector<core::Entity> model);

/// A trained joint model: an ensemble of bag-of-n-gram intent networks plus, optionally, a
/// sequence network with a BIO entity-tag head (see TaggerOptions). Immutable; parse() is
/// thread-safe.
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
    /// Files written before the tag head existed load as intent-only models. Never throws for
    /// a bad file.
    static core::Result<std::unique_ptr<IntentModel>> load(const std::filesystem::path& path);

    /// Writes weights, vocabulary settings, labels and the training-data fingerprint to one
    /// file (written to a temporary name, then renamed). Throws core::Error on I/O failure.
    void save(const std::filesystem::path& path) const;

    /// One forward pass for the whole batch; each ranking holds the top five intents (fewer
    /// if the model knows fewer) with softmax confidences. Entities: extract_entities()
    /// (entities.hpp, default context) merged with the tag head's (merge_entities()); a model
    /// entity's value is its text. Thread-safe.
    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override;
    /// parse() with the entities taken from `source` only; rule entities are dated against
    /// `sent_at_ms` as in IntentClassifier::parse_sent. Thread-safe.
    std::vector<core::NluResult> parse(std::span<const std::string> texts, EntitySource source,
                                       std::span<const std::int64_t> sent_at_ms = {}) const;
    std::vector<core::NluResult> parse_sent(
        std::span<const std::string> texts,
        std::span<const std::int64_t> sent_at_ms) const override;
    /// Entity types the tag head predicts, sorted; empty when the model has no tag head.
    std::vector<std::string> entity_types() const;
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
