// Models trained outside Teller (e.g. in Python) and exported as TorchScript, loaded in place
// of the built-in joint model. Torch stays in the .cpp.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/core/nlu.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::nlu {

/// A TorchScript module with Teller's joint signature plus a JSON sidecar; the contract is
/// documented in core/src/nlu/TORCHSCRIPT.md and examples/torchscript/export_model.py.
///
/// Module (`torch.jit.save` output): `forward(self, token_ids: Tensor, lengths: Tensor) ->
/// Tuple[Tensor, Tensor]` where `token_ids` is int64 [B, T] (padded with `pad_id`), `lengths`
/// int64 [B] (each >= 1), and the result is (intent logits float [B, C], tag logits float
/// [B, T, K]); C = size of `labels`, K = size of `tags` (K may be 1 with tags ["O"]).
///
/// Sidecar (`<module>.json`): `format` "teller-torchscript/1", `labels` (intent per logit
/// column), `tags` (BIO tag per column: "O", "B-<type>", "I-<type>", both for every type),
/// `vocabulary` (token per id, tokens as Tokenizer::tokens() yields them), `pad_id`, `unk_id`,
/// optional `max_tokens` (longer texts are cut; default 128).
///
/// Immutable after load(); parse() is thread-safe (the module is only run, never changed).
class TorchScriptModel final : public core::IntentClassifier {
public:
    ~TorchScriptModel() override;

    /// Loads `module` and its sidecar (`sidecar`, default `<module>.json`), checks the forward
    /// schema and runs one probe batch to check output shapes. Errors: model_missing (either
    /// file absent), model_corrupt (not a TorchScript archive, sidecar not valid JSON or
    /// missing fields), model_mismatch (wrong forward signature or output shapes that disagree
    /// with the sidecar). When `reason` is given it receives a one-line explanation of the
    /// error. Never throws for a bad file.
    static core::Result<std::unique_ptr<TorchScriptModel>> load(const std::filesystem::path& module,
                                                                std::string* reason = nullptr,
                                                                std::filesystem::path sidecar = {});

    /// One forward pass per batch: top five intents with softmax confidences; entities from the
    /// tag logits (BIO-constrained Viterbi) merged with extract_entities() like IntentModel's.
    /// Thread-safe.
    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override;
    /// parse() with the entities taken from `source` only; rule entities are dated against
    /// `sent_at_ms` as in IntentClassifier::parse_sent. Thread-safe.
    std::vector<core::NluResult> parse(std::span<const std::string> texts, EntitySource source,
                                       std::span<const std::int64_t> sent_at_ms = {}) const;
    std::vector<core::NluResult> parse_sent(
        std::span<const std::string> texts,
        std::span<const std::int64_t> sent_at_ms) const override;
    std::vector<std::string> intents() const override;
    /// Entity types of the tag columns, sorted.
    std::vector<std::string> entity_types() const;

private:
    struct Impl;
    explicit TorchScriptModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Loads either kind of model by the file's first bytes: a TorchScript archive (a zip file)
/// through TorchScriptModel::load, anything else through IntentModel::load. Errors as theirs;
/// `reason` as TorchScriptModel::load (for IntentModel files it names the error and, for
/// model_mismatch, says to retrain with `teller train`).
core::Result<std::unique_ptr<core::IntentClassifier>> load_classifier(
    const std::filesystem::path& path, std::string* reason = nullptr);

}  // namespace teller::nlu
