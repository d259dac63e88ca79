// The LibTorch FAQ retrieval model: question text -> the best knowledge-base articles.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/nlg/knowledge_base.hpp"

namespace teller::nlg {

/// Hyperparameters of the dual encoder. Defaults are what `teller train-faq` uses.
struct FaqTrainOptions {
    int epochs = 15;
    int dim = 96;                    ///< embedding and projection width
    std::int64_t buckets = 1 << 20;  ///< hashed feature buckets (see nlu::TokenizerOptions)
    float learning_rate = 0.01f;     ///< Adam
    float scale = 20.0f;             ///< cosine -> logit temperature
    float feature_dropout = 0.2f;    ///< share of a question's features dropped per step
    int batch_size = 32;
    /// Article vector = this share of the centroid of its encoded questions + the rest of the
    /// learned vector (both unit length).
    float centroid_weight = 1.0f;
    std::uint64_t seed = 42;
};

/// One retrieved article: its id and the cosine similarity of question and article, in [-1, 1].
struct FaqHit {
    std::string article;
    float score = 0;
};

/// A dual encoder: the question side is a mean bag of hashed word and character n-gram
/// embeddings (the NLU tokenizer's features) through a linear projection; the article side is
/// one learned vector per article, shared by both locales. Trained with a softmax over every
/// article (each batch's other articles are its negatives, and so are the rest) on the
/// question variants. Immutable after training or loading; retrieve() is thread-safe.
class FaqModel {
public:
    ~FaqModel();

    /// Trains on one CPU thread; deterministic for a fixed seed. `fingerprint` is stored (see
    /// KnowledgeBase::fingerprint). Throws core::Error on empty data or invalid options. Not
    /// thread-safe (torch's seed and thread count are process-wide).
    static std::unique_ptr<FaqModel> train(const std::vector<LabeledQuestion>& questions,
                                           const FaqTrainOptions& options, std::string fingerprint);

    /// Errors: model_missing, model_corrupt, model_mismatch (as IntentModel::load). Never throws
    /// for a bad file.
    static core::Result<std::unique_ptr<FaqModel>> load(const std::filesystem::path& path);

    /// Writes one file (temporary name, then renamed). Throws core::Error on I/O failure.
    void save(const std::filesystem::path& path) const;

    /// The `k` best articles for `text`, best first. A text with no known feature scores 0 for
    /// every article. Thread-safe.
    std::vector<FaqHit> retrieve(std::string_view text, std::size_t k = 3) const;

    /// The article ids the model knows, in its output order.
    const std::vector<std::string>& articles() const;
    const std::string& training_fingerprint() const;

private:
    struct Impl;
    explicit FaqModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::nlg
