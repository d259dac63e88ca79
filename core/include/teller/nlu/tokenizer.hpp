// Unicode-aware tokenizer for the intent model: words, CJK characters, n-grams, hashed features.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace teller::nlu {

/// How text is cut into features. Stored in the model file so a model always tokenizes the way
/// it was trained.
struct TokenizerOptions {
    int min_n = 3;                   ///< shortest character n-gram of a Latin word (0 disables)
    int max_n = 5;                   ///< longest character n-gram of a Latin word
    bool word_bigrams = true;        ///< adjacent token pairs (for CJK: character bigrams)
    std::int64_t buckets = 1 << 21;  ///< hashed feature space
};

/// The options as a model file's header stores them (with the feature hash's name), and back:
/// nullopt when a field is missing, mistyped or out of range, or the hash is another one.
boost::json::object to_json(const TokenizerOptions& options);
std::optional<TokenizerOptions> tokenizer_options_from_json(const boost::json::object& json);

/// 64-bit FNV-1a: stable across runs, compilers and platforms.
std::uint64_t fnv1a_64(std::string_view bytes) noexcept;

/// Returns `text` with every byte that is not part of a well-formed UTF-8 sequence (overlong
/// forms, surrogates and code points above U+10FFFF included) replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

/// Cuts utterances into tokens and features. Immutable; every member is thread-safe.
///
/// Tokens: Latin-script (and other non-CJK) words lowercased, with every ASCII digit turned into
/// `0` so that numbers become shape tokens ("5,000" -> "0,000"); CJK ideographs, kana and hangul
/// one token per character; punctuation, symbols, spaces and replaced bad bytes separate tokens.
///
/// Features (strings, then hashed into buckets): `w:<token>` for every token, `b:<t1> <t2>` for
/// adjacent tokens, and `c:<n-gram>` for the character n-grams of each non-CJK word wrapped in
/// the boundary marks `<` and `>`.
class Tokenizer {
public:
    explicit Tokenizer(TokenizerOptions options = {});

    /// The token sequence of `text` (invalid UTF-8 is replaced first, never an error).
    std::vector<std::string> tokens(std::string_view text) const;

    /// Every feature string of `text`, tokens first, in a stable order.
    std::vector<std::string> features(std::string_view text) const;

    /// The features hashed into [0, buckets), in the order of features().
    std::vector<std::int64_t> feature_ids(std::string_view text) const;

    const TokenizerOptions& options() const noexcept { return options_; }

private:
    TokenizerOptions options_;
};

}  // namespace teller::nlu
