// The loans skill's intents with their titles and training examples.
#pragma once

#include <string_view>
#include <vector>

namespace teller::skills::loans {

struct IntentExamples {
    std::string_view name;
    std::string_view title_en;
    std::string_view title_zh;
    std::vector<std::string_view> en;
    std::vector<std::string_view> zh;
};

/// Every intent of the skill, in manifest order. Thread-safe.
const std::vector<IntentExamples>& intent_examples();

}  // namespace teller::skills::loans
