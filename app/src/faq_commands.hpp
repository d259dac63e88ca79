// `teller train-faq` and the NLG set-up of the engine: templates, knowledge base, FAQ model.
#pragma once

#include <memory>

#include "commands.hpp"
#include "teller/core/config.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlg/nlg.hpp"

namespace teller::app {

/// `teller train-faq`: trains the FAQ retrieval model (and with --generator the reply
/// generator) from the knowledge folder.
Command faq_train_command();

/// Loads the response templates and the knowledge base from the knowledge folder
/// (nlg.knowledge_dir / $TELLER_KNOWLEDGE_DIR, else ./knowledge, else next to the executable),
/// the FAQ model (nlg.faq_model, else teller-faq.model beside the intent model) and, when
/// nlg.generator_skills names skills, the generator (nlg.generator_model, else
/// teller-generator.model beside the intent model). A missing or stale FAQ model is reported
/// on stdout and FAQ answers are disabled; the bot still runs. nullptr (built-in replies, no
/// FAQ) when there is no knowledge folder. With `host`, checks that every act a loaded skill
/// declares has a template and that generator_skills names loaded skills. Throws core::Error
/// for an invalid template or article ("file:line: problem"), a skill act without template,
/// an unknown generator skill, or generator_skills set without a usable generator model.
std::unique_ptr<nlg::Nlg> load_nlg(const core::Config& config,
                                   const core::SkillHost* host = nullptr);

}  // namespace teller::app
