// The CRM skill's intents with their titles and training examples.
#pragma once

#include <string_view>
#include <vector>

#include "teller/plugins/skill.hpp"

namespace teller::skills::crm {

using IntentExamples = teller::plugins::IntentExamples;

/// Every intent of the skill, in manifest order. Thread-safe.
const std::vector<IntentExamples>& intent_examples();

}  // namespace teller::skills::crm
