// What the dialogue engine needs from natural-language understanding: ranked intents and entities.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace teller::core {

struct IntentScore {
    std::string intent;
    float confidence = 0.0f;  ///< in [0, 1]; the ranking's confidences sum to at most 1
};

struct Entity {
    std::string type;       ///< "amount", "card_last4", "date", ...
    std::string value;      ///< normalised value ("5000", "2026-12-05")
    std::string text;       ///< the span as the customer wrote it
    std::size_t begin = 0;  ///< byte offsets into the utterance
    std::size_t end = 0;
};

struct NluResult {
    std::vector<IntentScore> ranking;  ///< best first; at least one entry for a non-empty model
    std::vector<Entity> entities;
};

/// Understands utterances. Implementations are immutable after construction and thread-safe:
/// one instance is shared by all worker threads.
class IntentClassifier {
public:
    virtual ~IntentClassifier() = default;

    /// One result per text, in order. Batched so models can share one forward pass.
    virtual std::vector<NluResult> parse(std::span<const std::string> texts) const = 0;

    /// parse(), with relative dates in each text's entities ("yesterday", "next Friday") read
    /// against `sent_at_ms[i]` (milliseconds since the epoch, UTC; 0 or a missing entry: today),
    /// the moment the customer sent it, so a message answered late, or replayed from a
    /// recording, means the day it meant when written. The default ignores the times.
    virtual std::vector<NluResult> parse_sent(std::span<const std::string> texts,
                                              std::span<const std::int64_t> sent_at_ms) const {
        (void)sent_at_ms;
        return parse(texts);
    }

    /// Every intent the classifier can return.
    virtual std::vector<std::string> intents() const = 0;
};

/// "zh-CN" when the text contains CJK ideographs, else "en".
std::string detect_locale(std::string_view text);

}  // namespace teller::core
