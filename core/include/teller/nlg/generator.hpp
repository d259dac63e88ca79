// The LibTorch reply generator: a GRU encoder-decoder with attention over (act, slots, locale).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/nlg/templates.hpp"

namespace teller::nlg {

/// One delexicalised training pair: the act, the slot names the reply carries, the locale, and
/// a reply with `{slot}` placeholders (a template variation's text).
struct GeneratorExample {
    std::string act;
    std::vector<std::string> slots;
    std::string locale;
    std::string reply;
};

/// The variations of every act in `templates` as training pairs, each locale and channel form
/// one pair. `hold_out` > 0 leaves out every act's variation number `hold_out - 1` (when the act
/// has more than one) and returns those in `held_out` (for BLEU in nlg_bench).
std::vector<GeneratorExample> generator_examples(const TemplateSet& templates, int hold_out = 0,
                                                 std::vector<GeneratorExample>* held_out = nullptr);

/// Hyperparameters (defaults are what `teller train-faq --generator` uses).
struct GeneratorTrainOptions {
    int epochs = 40;
    int embedding_dim = 48;
    int hidden_dim = 96;
    float learning_rate = 0.01f;
    int batch_size = 16;
    std::uint64_t seed = 42;
};

/// A small GRU encoder-decoder with additive attention. Input tokens: the act's parts, the slot
/// names and the locale; output tokens: English words and punctuation, Chinese characters, and
/// `{slot}` placeholders as single tokens. Immutable after training or loading; generate() is
/// thread-safe. Its output must go through check_generated() (guard.hpp) before use.
class Generator {
public:
    ~Generator();

    /// Trains on one CPU thread; deterministic for a fixed seed. Throws core::Error on empty
    /// data or invalid options. Not thread-safe (torch's seed is process-wide).
    static std::unique_ptr<Generator> train(const std::vector<GeneratorExample>& examples,
                                            const GeneratorTrainOptions& options);

    /// Errors: model_missing, model_corrupt, model_mismatch. Never throws for a bad file.
    static core::Result<std::unique_ptr<Generator>> load(const std::filesystem::path& path);

    /// Writes one file (temporary name, then renamed). Throws core::Error on I/O failure.
    void save(const std::filesystem::path& path) const;

    /// The best reply by beam search (`beam` hypotheses, at most `max_tokens` tokens), as
    /// delexicalised text. Unknown act parts or slot names are ignored. Thread-safe.
    std::string generate(std::string_view act, const std::vector<std::string>& slots,
                         std::string_view locale, int beam = 4, int max_tokens = 60) const;

private:
    struct Impl;
    explicit Generator(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::nlg
