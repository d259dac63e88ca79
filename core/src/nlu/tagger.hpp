// The sequence network of the joint model: per-token hashed embeddings, a BiGRU, a BIO tag head
// and an intent head. Private; included only by torch translation units.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sequence_tags.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::nlu::detail {

/// Row-wise int8 storage of an embedding table: (int8 [rows, dim], f32 scale [rows]) with
/// power-of-two scales, so q * scale is exact and quantizing a dequantized table again gives
/// the same table (a saved and reloaded model answers exactly like the one in memory).
std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& table);
torch::Tensor dequantize_rows(const torch::Tensor& q, const torch::Tensor& scale);

/// One utterance as the tagger sees it: token spans, each token's feature rows (already mapped
/// from buckets to embedding rows), and, for training, BIO targets and the intent index.
struct TaggedExample {
    std::vector<std::vector<std::int64_t>> token_rows;
    std::vector<std::int64_t> tags;
    std::int64_t intent = 0;
};

/// Weights of the sequence network. After training or loading it is read-only and forward()
/// may run from many threads (under InferenceMode).
class TaggerNetwork {
public:
    TaggerNetwork() = default;
    TaggerNetwork(std::int64_t rows, int dim, int hidden, std::int64_t tags, std::int64_t intents);

    /// (tag log-probabilities [B, T, K], intent logits [B, C]) for a batch; T is the longest
    /// example (at least 1), padding positions hold garbage the caller ignores.
    std::pair<torch::Tensor, torch::Tensor> forward(const std::vector<const TaggedExample*>& batch,
                                                    bool train, float dropout) const;

    /// Trains in place (parameters initialised from `seed`); returns the last epoch's loss.
    double train(const std::vector<TaggedExample>& examples, const TaggerOptions& options,
                 float label_smoothing, std::uint64_t seed,
                 const std::function<void(int, double)>& on_epoch);

    /// Every weight by a stable name, for the model file.
    std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;

    /// Rebuilds from named_tensors() output; false when a tensor is missing or mis-shaped.
    bool assign(const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

    std::int64_t rows() const { return embedding_.size(0); }
    std::int64_t tags() const { return tag_bias_.size(0); }
    std::int64_t intents() const { return intent_bias_.size(0); }
    bool defined() const { return embedding_.defined(); }

private:
    torch::Tensor embedding_;         ///< [rows, dim]
    std::vector<torch::Tensor> gru_;  ///< forward then backward: w_ih, w_hh, b_ih, b_hh
    torch::Tensor tag_weight_;        ///< [K, 2H]
    torch::Tensor tag_bias_;          ///< [K]
    torch::Tensor intent_weight_;     ///< [C, 2H]
    torch::Tensor intent_bias_;       ///< [C]
};

}  // namespace teller::nlu::detail
