// `teller train-faq` and the NLG set-up of the engine: templates, knowledge base, FAQ model.
#pragma once

#include <memory>

#include "commands.hpp"
#include "teller/core/config.hpp"
#include "teller/nlg/nlg.hpp"

namespace teller::app {

/// `teller train-faq`: trains the FAQ retrieval model (and with --generator the reply
/// generator) from the knowledge folder.
Command faq_train_command();

/// Loads the response templates and the knowledge base from the knowledge folder
/// ($TELLER_KNOWLEDGE_DIR, else ./knowledge, else next to the executable), the FAQ model
/// ($TELLER_FAQ_MODEL, else teller-faq.model beside the intent model) and, when
/// $TELLER_NLG_GENERATOR names skills, the generator ($TELLER_GENERATOR_MODEL). A missing or
/// stale FAQ model or generator is reported on stdout and that part is disabled; the bot still
/// runs. nullptr (built-in replies, no FAQ) when there is no knowledge folder. Throws
/// core::Error "file:line: problem" for an invalid template or article.
std::unique_ptr<nlg::Nlg> load_nlg(const core::Config& config);

}  // namespace teller::app
