// A keyword-based IntentClassifier for tests: fixed, readable rules instead of a trained model.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "teller/core/nlu.hpp"

namespace teller::testing {

/// Maps substrings to intents. The first rule whose keyword occurs wins with confidence 0.9;
/// "mumble" yields a low-confidence ranking (balance 0.30, lost card 0.25), "hmm" a
/// low-confidence affirm (0.15) as the real model gives for "?"; anything else is
/// out_of_scope at 0.4.
class KeywordClassifier final : public core::IntentClassifier {
public:
    std::vector<core::NluResult> parse(std::span<const std::string> texts) const override {
        std::vector<core::NluResult> out;
        for (const std::string& text : texts) {
            out.push_back(parse_one(text));
        }
        return out;
    }

    std::vector<std::string> intents() const override {
        std::vector<std::string> names;
        for (const auto& [keyword, intent] : rules()) {
            names.push_back(intent);
        }
        names.push_back("out_of_scope");
        return names;
    }

private:
    static const std::vector<std::pair<std::string, std::string>>& rules() {
        static const std::vector<std::pair<std::string, std::string>> r = {
            {"lost", "cards.lost_or_stolen"},
            {"stolen", "cards.lost_or_stolen"},
            {"丢", "cards.lost_or_stolen"},
            {"挂失", "cards.lost_or_stolen"},
            {"balance", "cards.balance"},
            {"余额", "cards.balance"},
            {"activate", "cards.activate"},
            {"激活", "cards.activate"},
            {"hello", "greet"},
            {"你好", "greet"},
            {"yes", "affirm"},
            {"是", "affirm"},
            {"no", "deny"},
            {"不", "deny"},
            {"loan products", "loans.products"},
            {"boom", "test.throw"},
            {"garbage", "test.garbage"},
        };
        return r;
    }

    static core::NluResult parse_one(const std::string& text) {
        core::NluResult result;
        if (text.find("mumble") != std::string::npos) {
            result.ranking = {{"cards.balance", 0.30f}, {"cards.lost_or_stolen", 0.25f}};
            return result;
        }
        // What the real model does with input it has no words for ("?", "hmm", an emoji).
        if (text.find("hmm") != std::string::npos) {
            result.ranking = {{"affirm", 0.15f}, {"thanks", 0.14f}};
            return result;
        }
        for (const auto& [keyword, intent] : rules()) {
            if (text.find(keyword) != std::string::npos) {
                result.ranking = {{intent, 0.9f}, {"out_of_scope", 0.05f}};
                return result;
            }
        }
        result.ranking = {{"out_of_scope", 0.4f}, {"greet", 0.1f}};
        return result;
    }
};

}  // namespace teller::testing
