// The exchange skill's intents with their titles and training examples (English and Chinese).
#pragma once

#include <string_view>
#include <vector>

#include "teller/plugins/skill.hpp"

namespace example::exchange {

using IntentExamples = teller::plugins::IntentExamples;

/// Every intent of the skill, in manifest order.
const std::vector<IntentExamples>& intent_examples();

}  // namespace example::exchange
