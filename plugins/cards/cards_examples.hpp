// The cards skill's intents with their titles and training examples.
#pragma once

#include <string_view>
#include <vector>

#include "teller/plugins/skill.hpp"

namespace teller::skills::cards {

using IntentExamples = teller::plugins::IntentExamples;

/// Every intent of the skill, in manifest order.
const std::vector<IntentExamples>& intent_examples();

/// The response-template acts the skill's replies name (knowledge/responses/cards.yaml); the
/// host refuses to start when one has no template.
const std::vector<std::string_view>& reply_acts();

}  // namespace teller::skills::cards
