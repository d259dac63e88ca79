// `teller train-faq` (FAQ retrieval model and reply generator) and the engine's NLG set-up.
#include "faq_commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "bot_setup.hpp"
#include "teller/core/log.hpp"

namespace teller::app {
namespace fs = std::filesystem;
using core::Error;

namespace {

// The knowledge folder: --knowledge, else nlg.knowledge_dir (TELLER_KNOWLEDGE_DIR), else
// ./knowledge, then next to the executable.
fs::path knowledge_dir(const std::optional<std::string>& flag, const core::Config& config) {
    if (flag) {
        return *flag;
    }
    if (!config.nlg.knowledge_dir.empty()) {
        return config.nlg.knowledge_dir;
    }
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec).parent_path();
    for (const fs::path& p :
         {fs::path("knowledge"), exe / "../knowledge", exe / "../share/teller/knowledge"}) {
        if (fs::is_directory(p, ec)) {
            return p;
        }
    }
    return "knowledge";
}

fs::path faq_model_path(const core::Config& config) {
    if (!config.nlg.faq_model.empty()) {
        return config.nlg.faq_model;
    }
    return config.model_path.parent_path() / "teller-faq.model";
}

fs::path generator_path(const core::Config& config) {
    if (!config.nlg.generator_model.empty()) {
        return config.nlg.generator_model;
    }
    return config.model_path.parent_path() / "teller-generator.model";
}

// Throws when nlg.generator_skills names a skill that is not loaded ("*" is every skill).
void check_generator_skills(const core::Config& config, const core::SkillHost& host) {
    const std::vector<std::string> loaded = host.skills();
    for (const std::string& skill : config.nlg.generator_skills) {
        if (skill == "*" || std::find(loaded.begin(), loaded.end(), skill) != loaded.end()) {
            continue;
        }
        std::string names;
        for (const std::string& name : loaded) {
            names += (names.empty() ? "" : ", ") + name;
        }
        throw Error("nlg.generator_skills (TELLER_NLG_GENERATOR) names \"" + skill +
                    "\", which is not a loaded skill (loaded: " + names + ")");
    }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int train_faq_main(const Args& args) {
    if (args.has("generator-output") && !args.has("generator")) {
        throw Error("--generator-output is for the generator: add --generator to train it");
    }
    core::Config config = load_config(args);
    const fs::path dir = knowledge_dir(args.get("knowledge"), config);
    const fs::path output = args.get("output").value_or(faq_model_path(config).string());
    nlg::KnowledgeBase kb = nlg::KnowledgeBase::load(dir / "faq");
    const auto questions = kb.questions();
    const auto answers = nlg::answer_sentences(kb);
    std::cerr << "Training the FAQ model on " << questions.size() << " questions and "
              << answers.size() << " answer sentences of " << kb.articles().size()
              << " articles from " << (dir / "faq").string() << "\n";

    nlg::FaqTrainOptions options;
    options.epochs = args.get_int("epochs", options.epochs, 1, 1000);
    auto start = std::chrono::steady_clock::now();
    auto model = nlg::FaqModel::train(questions, options, kb.fingerprint(), answers);
    if (output.has_parent_path()) {
        fs::create_directories(output.parent_path());
    }
    model->save(output);
    std::cout << "Wrote " << output.string() << " (" << kb.articles().size() << " articles, "
              << questions.size() << " questions, " << std::fixed << std::setprecision(1)
              << seconds_since(start) << " s)" << std::endl;

    if (args.has("generator")) {
        // The generator learns the templates' variations, delexicalised.
        nlg::TemplateSet templates = nlg::TemplateSet::load(dir / "responses");
        auto examples = nlg::generator_examples(templates);
        const fs::path gen_output =
            args.get("generator-output").value_or(generator_path(config).string());
        std::cerr << "Training the reply generator on " << examples.size()
                  << " template variations\n";
        start = std::chrono::steady_clock::now();
        auto generator = nlg::Generator::train(examples, {});
        generator->save(gen_output);
        std::cout << "Wrote " << gen_output.string() << " (" << examples.size() << " variations, "
                  << std::fixed << std::setprecision(1) << seconds_since(start) << " s)"
                  << std::endl;
    }
    return 0;
}

}  // namespace

Command faq_train_command() {
    return {
        {"train-faq", "Train the FAQ retrieval model (and the reply generator) from knowledge/",
         "Reads the articles under <knowledge>/faq and writes one model file, which\n"
         "`teller run` loads (nlg.faq_model / TELLER_FAQ_MODEL, default teller-faq.model\n"
         "beside the intent model, models/teller-faq.model). With --generator also trains the "
         "reply generator on\n"
         "<knowledge>/responses; it is used only for the skills named in\n"
         "nlg.generator_skills / TELLER_NLG_GENERATOR (comma-separated, or *).",
         join({config_flags(),
               {{"knowledge", "DIR", "knowledge folder (default: nlg.knowledge_dir or knowledge)"},
                {"output", "FILE", "where to write the FAQ model"},
                {"epochs", "N", "training epochs (default: the tuned value)"},
                {"generator", "", "also train the reply generator"},
                {"generator-output", "FILE", "where to write the generator"}}})},
        train_faq_main};
}

std::unique_ptr<nlg::Nlg> load_nlg(const core::Config& config, const core::SkillHost* host) {
    if (host != nullptr) {
        check_generator_skills(config, *host);
    }
    const bool generator_wanted = !config.nlg.generator_skills.empty();
    const fs::path dir = knowledge_dir(std::nullopt, config);
    std::error_code ec;
    if (!fs::is_directory(dir / "responses", ec) || !fs::is_directory(dir / "faq", ec)) {
        if (generator_wanted) {
            throw Error("nlg.generator_skills is set but there is no knowledge folder at " +
                        dir.string() + " (nlg.knowledge_dir, TELLER_KNOWLEDGE_DIR)");
        }
        std::cout << "NLG: no knowledge folder at " << dir.string()
                  << " (set nlg.knowledge_dir or TELLER_KNOWLEDGE_DIR); built-in replies, no "
                     "FAQ answers"
                  << std::endl;
        return nullptr;
    }
    nlg::TemplateSet templates = nlg::TemplateSet::load(dir / "responses");
    if (host != nullptr) {
        // Every act a skill's replies may name must have a template, or its replies would
        // silently fall back to the skill's own text.
        for (const std::string& skill : host->skills()) {
            nlg::require_skill_acts(templates, skill, host->skill_acts(skill));
        }
    }
    nlg::KnowledgeBase kb = nlg::KnowledgeBase::load(dir / "faq");
    nlg::NlgOptions options;  // the FAQ threshold defaults to the value tuned for the model
    if (config.nlg.faq_threshold) {
        options.faq_threshold = static_cast<float>(*config.nlg.faq_threshold);
    }
    options.generator_skills.insert(config.nlg.generator_skills.begin(),
                                    config.nlg.generator_skills.end());

    // The FAQ model: a missing or stale one disables FAQ answers, not the bot.
    const fs::path faq_path = faq_model_path(config);
    std::unique_ptr<nlg::FaqModel> faq;
    if (auto model = nlg::FaqModel::load(faq_path)) {
        if ((*model)->training_fingerprint() == kb.fingerprint()) {
            faq = std::move(*model);
        } else {
            std::cout << "FAQ: the model " << faq_path.string()
                      << " was trained on other questions than " << (dir / "faq").string()
                      << " has; FAQ answers are disabled (run `teller train-faq`)" << std::endl;
        }
    } else {
        std::cout << "FAQ: "
                  << (model.error() == core::Errc::model_missing ? "no model at " : "cannot use ")
                  << faq_path.string() << "; FAQ answers are disabled (run `teller train-faq`)"
                  << std::endl;
    }
    const std::size_t articles = kb.articles().size();
    const bool faq_on = faq != nullptr;
    auto nlg =
        std::make_unique<nlg::Nlg>(std::move(templates), std::move(kb), std::move(faq), options);

    // The generator, only when some skill asked for it; asked for, it must be there.
    if (generator_wanted) {
        const fs::path gen_path = generator_path(config);
        auto generator = nlg::Generator::load(gen_path);
        if (!generator) {
            throw Error("nlg.generator_skills is set but no usable generator model at " +
                        gen_path.string() + " (nlg.generator_model, TELLER_GENERATOR_MODEL: " +
                        generator.error().message() + "); run `teller train-faq --generator`");
        }
        nlg->set_generator(std::move(*generator));
    }
    std::string generator_skills;
    for (const std::string& skill : config.nlg.generator_skills) {
        generator_skills += (generator_skills.empty() ? "" : ",") + skill;
    }
    core::Logger("nlg").info("nlg loaded", {{"knowledge", dir.string()},
                                            {"acts", nlg->templates().acts().size()},
                                            {"articles", articles},
                                            {"faq", faq_on ? "on" : "off"},
                                            {"generator", generator_skills}});
    return nlg;
}

}  // namespace teller::app
