// Token spans with byte offsets, BIO tag sets, constrained Viterbi decoding and span merging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/nlu.hpp"

namespace teller::nlu::detail {

/// One token as Tokenizer::tokens() yields it (lowercased, digits as `0`), with the byte
/// offsets of its first and one-past-last byte in the original text.
struct TokenSpan {
    std::string text;
    std::size_t begin = 0;
    std::size_t end = 0;
    bool cjk = false;
};

/// The tokens of `text` with their byte offsets: the same tokens, in the same order, as
/// Tokenizer::tokens(). Invalid UTF-8 bytes separate tokens. Thread-safe.
std::vector<TokenSpan> token_spans(std::string_view text);

/// Hashed features of each token, for the tagger's per-token embedding bags: the token
/// (`t:`), its left and right neighbours (`l:`, `r:`, with `<s>`/`</s>` at the ends), and the
/// character n-grams (`n:`, min_n..max_n, boundary-marked) of non-CJK tokens. Thread-safe.
std::vector<std::vector<std::int64_t>> token_features(const std::vector<TokenSpan>& tokens,
                                                      int min_n, int max_n, std::int64_t buckets);

/// BIO tags over a set of entity types: index 0 is `O`, then `B-<type>` at 1 + 2k and
/// `I-<type>` at 2 + 2k for the k-th type (types sorted).
class TagSet {
public:
    TagSet() = default;
    explicit TagSet(std::vector<std::string> types);

    const std::vector<std::string>& types() const noexcept { return types_; }
    std::size_t size() const noexcept { return 1 + 2 * types_.size(); }
    std::string name(std::size_t tag) const;

    /// Tag of each token: B- on the first token overlapping an entity, I- on the following
    /// tokens it overlaps, O elsewhere. Entities of unknown types and tokens already claimed by
    /// an earlier entity are skipped.
    std::vector<std::int64_t> encode(const std::vector<TokenSpan>& tokens,
                                     const std::vector<core::Entity>& entities) const;

    /// The best tag sequence under `scores` (row-major, tokens x size(), log-probabilities)
    /// among the valid BIO sequences: I-x only after B-x or I-x.
    std::vector<std::int64_t> viterbi(const float* scores, std::size_t tokens) const;

    /// Entities of a valid tag sequence: type, byte offsets from the first to the last token,
    /// text (and value) the original bytes of that range.
    std::vector<core::Entity> decode(std::string_view text, const std::vector<TokenSpan>& tokens,
                                     const std::vector<std::int64_t>& tags) const;

    /// True when `previous` (or the start, for -1) may be followed by `next`.
    bool allowed(std::int64_t previous, std::int64_t next) const noexcept;

private:
    std::vector<std::string> types_;
};

}  // namespace teller::nlu::detail
