// `teller train-faq` (FAQ retrieval model and reply generator) and the engine's NLG set-up.
#include "faq_commands.hpp"

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

// TODO(teller): the NLG settings (TELLER_KNOWLEDGE_DIR, TELLER_FAQ_MODEL, TELLER_FAQ_THRESHOLD,
// TELLER_NLG_GENERATOR, TELLER_GENERATOR_MODEL) are read here, not through core::Config, so they
// cannot be set in the YAML configuration file and `teller run --help` does not list them.
std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

fs::path knowledge_dir(const std::optional<std::string>& flag) {
    if (flag) {
        return *flag;
    }
    if (std::string dir = env("TELLER_KNOWLEDGE_DIR"); !dir.empty()) {
        return dir;
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
    if (std::string path = env("TELLER_FAQ_MODEL"); !path.empty()) {
        return path;
    }
    return config.model_path.parent_path() / "teller-faq.model";
}

fs::path generator_path(const core::Config& config) {
    if (std::string path = env("TELLER_GENERATOR_MODEL"); !path.empty()) {
        return path;
    }
    return config.model_path.parent_path() / "teller-generator.model";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int train_faq_main(const Args& args) {
    core::Config config = load_config(args);
    const fs::path dir = knowledge_dir(args.get("knowledge"));
    const fs::path output = args.get("output").value_or(faq_model_path(config).string());
    nlg::KnowledgeBase kb = nlg::KnowledgeBase::load(dir / "faq");
    const auto questions = kb.questions();
    std::cerr << "Training the FAQ model on " << questions.size() << " questions of "
              << kb.articles().size() << " articles from " << (dir / "faq").string() << "\n";

    nlg::FaqTrainOptions options;
    if (auto epochs = args.get("epochs")) {
        options.epochs = std::stoi(*epochs);
    }
    auto start = std::chrono::steady_clock::now();
    auto model = nlg::FaqModel::train(questions, options, kb.fingerprint());
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
    return {{"train-faq", "Train the FAQ retrieval model (and the reply generator) from knowledge/",
             "Reads the articles under <knowledge>/faq and writes one model file, which\n"
             "`teller run` loads (TELLER_FAQ_MODEL, default models/teller-faq.model). With\n"
             "--generator also trains the reply generator on <knowledge>/responses; it is used\n"
             "only for the skills named in TELLER_NLG_GENERATOR (comma-separated, or *).",
             join({config_flags(),
                   {{"knowledge", "DIR",
                     "knowledge folder (default: $TELLER_KNOWLEDGE_DIR or knowledge)"},
                    {"output", "FILE", "where to write the FAQ model"},
                    {"epochs", "N", "training epochs (default: the tuned value)"},
                    {"generator", "", "also train the reply generator"},
                    {"generator-output", "FILE", "where to write the generator"}}})},
            train_faq_main};
}

std::unique_ptr<nlg::Nlg> load_nlg(const core::Config& config) {
    const fs::path dir = knowledge_dir(std::nullopt);
    std::error_code ec;
    if (!fs::is_directory(dir / "responses", ec) || !fs::is_directory(dir / "faq", ec)) {
        std::cout << "NLG: no knowledge folder at " << dir.string()
                  << " (set TELLER_KNOWLEDGE_DIR); built-in replies, no FAQ answers" << std::endl;
        return nullptr;
    }
    nlg::TemplateSet templates = nlg::TemplateSet::load(dir / "responses");
    nlg::KnowledgeBase kb = nlg::KnowledgeBase::load(dir / "faq");
    nlg::NlgOptions options;
    if (std::string threshold = env("TELLER_FAQ_THRESHOLD"); !threshold.empty()) {
        options.faq_threshold = std::stof(threshold);
    }
    std::stringstream skills(env("TELLER_NLG_GENERATOR"));
    for (std::string skill; std::getline(skills, skill, ',');) {
        if (!skill.empty()) {
            options.generator_skills.insert(skill);
        }
    }

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

    // The generator, only when some skill asked for it.
    if (!options.generator_skills.empty()) {
        const fs::path gen_path = generator_path(config);
        if (auto generator = nlg::Generator::load(gen_path)) {
            nlg->set_generator(std::move(*generator));
        } else {
            std::cout << "NLG: no usable generator at " << gen_path.string()
                      << "; templates only (run `teller train-faq --generator`)" << std::endl;
        }
    }
    core::Logger("nlg").info("nlg loaded", {{"knowledge", dir.string()},
                                            {"acts", nlg->templates().acts().size()},
                                            {"articles", articles},
                                            {"faq", faq_on ? "on" : "off"}});
    return nlg;
}

}  // namespace teller::app
