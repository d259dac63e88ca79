// The engine's NLG set-up: the `nlg:` configuration section, skills' manifest acts and the
// start-up checks of load_nlg.
#include "faq_commands.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/config.hpp"
#include "teller/core/error.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlg/nlg.hpp"
#include "teller/nlg/templates.hpp"
#include "teller/plugins/skill.hpp"

namespace teller::app {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

// A built-in skill named "loans" whose manifest declares `acts_json` (a JSON value).
struct ActsSkill {
    std::string manifest;
    teller_skill_v1 table{};

    static int init(const teller_host_v1*, const char*, void** state) {
        *state = nullptr;
        return 0;
    }
    static char* handle(void*, const char*) { return nullptr; }
    static void shutdown(void*) {}

    explicit ActsSkill(std::string_view acts_json) { declare(acts_json); }
    ActsSkill(const ActsSkill&) = delete;
    ActsSkill& operator=(const ActsSkill&) = delete;

    // (Re)builds the manifest and the table; the table points into `manifest`.
    void declare(std::string_view acts_json) {
        json::object m = json::parse(plugins::build_manifest(
                                         "loans", "1.0.0", "test skill",
                                         {{"loans.quote", "Quote", "报价", {"quote"}, {"报价"}}}))
                             .as_object();
        m["acts"] = json::parse(acts_json);
        manifest = json::serialize(m);
        table = {TELLER_SKILL_API_VERSION, "loans",  manifest.c_str(), &init, &handle,
                 &plugins::free_c_string,  &shutdown};
    }
};

fs::path write_file(const std::string& name, const std::string& text) {
    fs::path path = fs::temp_directory_path() / name;
    std::ofstream(path) << text;
    return path;
}

core::Config config_from(const std::string& yaml) {
    core::Config config;
    fs::path path = write_file("teller-nlg-config-test.yaml", yaml);
    core::apply_config_file(config, path);
    fs::remove(path);
    return config;
}

// An error's message, or "" when `f` does not throw core::Error.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const core::Error& e) {
        return e.what();
    }
    return {};
}

class NlgSetupTest : public ::testing::Test {
protected:
    NlgSetupTest()
        : skill_("[]"),
          backend_(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        config_.nlg.knowledge_dir = TELLER_SOURCE_DIR "/knowledge";
        // No FAQ model or generator there: FAQ answers are off, which load_nlg only reports.
        config_.model_path = fs::temp_directory_path() / "teller-nlg-setup-test" / "x.model";
    }

    // Loads the built-in "loans" skill declaring `acts_json`.
    void load_skill(std::string_view acts_json) {
        skill_.declare(acts_json);
        ASSERT_TRUE(host_.load_builtin(&skill_.table));
    }

    ActsSkill skill_;  // before host_: the host calls its shutdown when destroyed
    std::unique_ptr<core::Backend> backend_;
    core::SkillHost host_;
    core::Config config_;
};

TEST(NlgConfigTest, NlgSectionSetsEveryKey) {
    core::Config config = config_from(
        "nlg:\n"
        "  knowledge_dir: /srv/knowledge\n"
        "  faq_model: /srv/faq.model\n"
        "  faq_threshold: 0.65\n"
        "  generator_model: /srv/generator.model\n"
        "  generator_skills: [loans, crm]\n");
    EXPECT_EQ(config.nlg.knowledge_dir, "/srv/knowledge");
    EXPECT_EQ(config.nlg.faq_model, "/srv/faq.model");
    ASSERT_TRUE(config.nlg.faq_threshold);
    EXPECT_DOUBLE_EQ(*config.nlg.faq_threshold, 0.65);
    EXPECT_EQ(config.nlg.generator_model, "/srv/generator.model");
    EXPECT_EQ(config.nlg.generator_skills, (std::vector<std::string>{"loans", "crm"}));
}

TEST(NlgConfigTest, EnvironmentOverridesTheFile) {
    core::Config config = config_from("nlg:\n  faq_threshold: 0.65\n  generator_skills: loans\n");
    core::apply_environment(config, {{"TELLER_FAQ_THRESHOLD", "0.9"},
                                     {"TELLER_NLG_GENERATOR", "crm,investment"},
                                     {"TELLER_KNOWLEDGE_DIR", "/k"},
                                     {"TELLER_FAQ_MODEL", "/f.model"},
                                     {"TELLER_GENERATOR_MODEL", "/g.model"}});
    EXPECT_DOUBLE_EQ(*config.nlg.faq_threshold, 0.9);
    EXPECT_EQ(config.nlg.generator_skills, (std::vector<std::string>{"crm", "investment"}));
    EXPECT_EQ(config.nlg.knowledge_dir, "/k");
    EXPECT_EQ(config.nlg.faq_model, "/f.model");
    EXPECT_EQ(config.nlg.generator_model, "/g.model");
}

TEST(NlgConfigTest, ThresholdOutsideZeroToOneIsAnErrorNamingTheKey) {
    std::string file_error = error_of([] { config_from("nlg:\n  faq_threshold: 1.5\n"); });
    EXPECT_NE(file_error.find("nlg.faq_threshold"), std::string::npos) << file_error;
    EXPECT_NE(file_error.find("0 to 1"), std::string::npos) << file_error;

    core::Config config;
    std::string env_error = error_of([&config] {
        core::apply_environment(config, {{"TELLER_FAQ_THRESHOLD", "-0.1"}});
    });
    EXPECT_NE(env_error.find("TELLER_FAQ_THRESHOLD"), std::string::npos) << env_error;
}

TEST(NlgConfigTest, UnknownNlgKeyIsAnError) {
    std::string error = error_of([] { config_from("nlg:\n  generator: loans\n"); });
    EXPECT_NE(error.find("unknown setting `nlg.generator`"), std::string::npos) << error;
    EXPECT_NE(error_of([] { config_from("knowledge_dir: /k\n"); }), "");
}

TEST(SkillActsTest, ManifestActsAreKeptPerSkill) {
    // The table outlives the host, which calls its shutdown when destroyed.
    ActsSkill skill(R"(["loans.installment", "loans.confirm"])");
    auto backend = core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    core::SkillHost host(*backend);
    ASSERT_TRUE(host.load_builtin(&skill.table));
    EXPECT_EQ(host.skill_acts("loans"),
              (std::vector<std::string>{"loans.installment", "loans.confirm"}));
    EXPECT_TRUE(host.skill_acts("cards").empty());
}

TEST(SkillActsTest, ActsThatAreNotAListOfNamesRefuseTheSkill) {
    auto backend = core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    for (const char* acts : {R"("loans.installment")", R"([""])", R"([1])"}) {
        ActsSkill skill(acts);
        core::SkillHost host(*backend);
        EXPECT_FALSE(host.load_builtin(&skill.table)) << acts;
        ASSERT_EQ(host.load_errors().size(), 1u);
        EXPECT_NE(host.load_errors()[0].find("\"acts\""), std::string::npos)
            << host.load_errors()[0];
    }
}

TEST(SkillActsTest, ShippedSkillsDeclareOnlyActsTheTemplatesDefine) {
    auto backend = core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    core::SkillHost host(*backend);
    nlg::TemplateSet templates = nlg::TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses");
    for (const char* skill : {"loans", "investment", "crm"}) {
        std::string file = std::string(TELLER_BINARY_DIR "/skills/teller_skill_") + skill + ".so";
        ASSERT_TRUE(host.load(file)) << file;
        EXPECT_FALSE(host.skill_acts(skill).empty()) << skill;
        EXPECT_NO_THROW(nlg::require_skill_acts(templates, skill, host.skill_acts(skill)));
    }
}

// One loans turn's first reply that carries an act.
json::object quote_reply(core::SkillHost& host, const std::string& locale) {
    json::object request{{"conversation", "c"},
                         {"channel", "webchat"},
                         {"locale", locale},
                         {"text", "monthly payment for a 20,000 car loan over 36 months"},
                         {"intent", {{"name", "loans.installment"}, {"confidence", 0.95}}},
                         {"entities", json::array{}},
                         {"state", nullptr},
                         {"slots", json::object{}},
                         {"customer", {{"id", "ada"}, {"verified", true}}}};
    auto response = host.call("loans", request);
    EXPECT_TRUE(response);
    for (const json::value& r : response->at("replies").as_array()) {
        if (r.as_object().contains("act")) {
            return r.as_object();
        }
    }
    return {};
}

TEST(SkillActsTest, LoanQuoteShowsTheLocalesMoneyFormsAndTheAnnuityFigures) {
    auto backend = core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");
    core::SkillHost host(*backend);
    ASSERT_TRUE(host.load(TELLER_BINARY_DIR "/skills/teller_skill_loans.so"));
    nlg::TemplateSet templates = nlg::TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses");

    // Car loan at its representative 6.90%: 20,000.00 over 36 months is 616.63 a month.
    json::object en = quote_reply(host, "en");
    ASSERT_EQ(en.at("act").as_string(), "loans.installment");
    const json::object& slots = en.at("slots").as_object();
    std::string text = templates.render("loans.installment", slots, {"en", "webchat", 1}).value();
    EXPECT_NE(text.find("$20,000.00"), std::string::npos) << text;
    EXPECT_NE(text.find("$616.63"), std::string::npos) << text;
    EXPECT_NE(text.find("6.90%"), std::string::npos) << text;
    EXPECT_NE(text.find("36 months"), std::string::npos) << text;
    // The fallback text carries the same figures in the skill's own form.
    EXPECT_NE(en.at("text").as_string().find("616.63 USD a month"), std::string::npos)
        << en.at("text").as_string();

    json::object zh = quote_reply(host, "zh-CN");
    std::string zh_text =
        templates.render("loans.installment", zh.at("slots").as_object(), {"zh-CN", "webchat", 1})
            .value();
    EXPECT_NE(zh_text.find("20,000.00 美元"), std::string::npos) << zh_text;
    EXPECT_NE(zh_text.find("616.63 美元"), std::string::npos) << zh_text;
    EXPECT_NE(zh_text.find("汽车贷款"), std::string::npos) << zh_text;
}

TEST_F(NlgSetupTest, SkillActWithoutTemplateStopsTheStart) {
    load_skill(R"(["loans.installment", "loans.balloon"])");
    EXPECT_EQ(error_of([this] { load_nlg(config_, &host_); }),
              "skill loans uses act loans.balloon but no template defines it "
              "(knowledge/responses/*.yaml)");
}

TEST_F(NlgSetupTest, SkillActsWithTemplatesStart) {
    load_skill(R"(["loans.installment", "loans.confirm", "loans.product"])");
    auto nlg = load_nlg(config_, &host_);
    ASSERT_NE(nlg, nullptr);
    EXPECT_TRUE(nlg->templates().contains("loans.installment"));
    EXPECT_TRUE(nlg->options().generator_skills.empty());
}

TEST_F(NlgSetupTest, UnknownGeneratorSkillIsAnErrorNamingTheKey) {
    load_skill("[]");
    config_.nlg.generator_skills = {"loans", "mortgages"};
    std::string error = error_of([this] { load_nlg(config_, &host_); });
    EXPECT_NE(error.find("nlg.generator_skills"), std::string::npos) << error;
    EXPECT_NE(error.find("\"mortgages\""), std::string::npos) << error;
}

TEST_F(NlgSetupTest, GeneratorSkillsWithoutAGeneratorModelIsAnError) {
    load_skill("[]");
    config_.nlg.generator_skills = {"loans"};
    config_.nlg.generator_model = fs::temp_directory_path() / "teller-no-such-generator.model";
    std::string error = error_of([this] { load_nlg(config_, &host_); });
    EXPECT_NE(error.find("nlg.generator_skills is set but no usable generator model"),
              std::string::npos)
        << error;
    EXPECT_NE(error.find("nlg.generator_model"), std::string::npos) << error;
}

}  // namespace
}  // namespace teller::app
