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

/// Hyperparameters of the retrieval model. Defaults are what `teller train-faq` uses; they were
/// chosen with `nlg_bench --fold 1` (see knowledge/README.md).
struct FaqTrainOptions {
    int epochs = 15;
    int dim = 96;                    ///< embedding and projection width
    std::int64_t buckets = 1 << 20;  ///< hashed feature buckets (see nlu::TokenizerOptions)
    float learning_rate = 0.02f;     ///< Adam
    float scale = 20.0f;             ///< cosine -> logit temperature
    float feature_dropout = 0.2f;    ///< share of a question's features dropped per step
    int batch_size = 64;
    /// Article vector = this share of the centroid of its encoded questions + the rest of the
    /// learned vector (both unit length).
    float centroid_weight = 1.0f;
    /// Encoders trained from seeds seed, seed + 1, ...; their scores are averaged.
    int ensemble = 3;
    /// Loss weight of an answer sentence, trained as one more way of asking its article (0: the
    /// answers are not used).
    float answer_weight = 0.5f;
    /// Shares of the score that come from the closest training question (cosine of the encoded
    /// texts) and from tf-idf overlap with the article's questions; the rest is the cosine with
    /// the article vector. Each part is in [-1, 1], so is their mix.
    float neighbour_weight = 0.3f;
    float lexical_weight = 0.3f;
    std::uint64_t seed = 42;
};

/// TELLER_FAQ_THRESHOLD's default for a model trained with the default options: the score at
/// or above which the best article is answered. Chosen with `nlg_bench --fold 1`: about 70% of
/// held-out paraphrases answered, 94% of those rightly, 1 chit-chat question in 41 answered.
inline constexpr float kDefaultFaqThreshold = 0.575f;

/// One retrieved article: its id and its score, a mix of cosine similarities, in [-1, 1].
struct FaqHit {
    std::string article;
    float score = 0;
};

/// The texts of every article's answers, one per sentence, labelled with the article and
/// locale: more ways an article is phrased, for FaqModel::train. Thread-safe.
std::vector<LabeledQuestion> answer_sentences(const KnowledgeBase& knowledge);

/// FAQ retrieval: an ensemble of dual encoders plus a lexical match. Each encoder's question
/// side is an idf-weighted mean bag of hashed word and character n-gram embeddings (the NLU
/// tokenizer's features: words, word bigrams, n-grams of Latin words, CJK characters and their
/// bigrams) through a linear projection; it is trained with a softmax over every article on the
/// question variants (and answer sentences). An article's score mixes the cosine with its
/// vector (centroid of its encoded questions), the cosine with its closest training question,
/// and the tf-idf cosine with all its questions (FaqTrainOptions says how much of each).
/// Immutable after training or loading; retrieve() is thread-safe.
class FaqModel {
public:
    ~FaqModel();

    /// Trains on one CPU thread; deterministic for a fixed seed. `answers` (see
    /// answer_sentences) are extra training texts weighted by options.answer_weight; they never
    /// add articles of their own. `fingerprint` is stored (see KnowledgeBase::fingerprint).
    /// Throws core::Error on empty data or invalid options. Not thread-safe (torch's seed and
    /// thread count are process-wide).
    static std::unique_ptr<FaqModel> train(const std::vector<LabeledQuestion>& questions,
                                           const FaqTrainOptions& options, std::string fingerprint,
                                           const std::vector<LabeledQuestion>& answers = {});

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
