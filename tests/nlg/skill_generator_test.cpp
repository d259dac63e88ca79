// The generator switched on for the loans skill: adversarial slot values through the dialogue
// never produce a figure the templates would not show, and switched off nothing changes.
#include "teller/nlg/nlg.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/dialogue.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/plugins/skill.hpp"
#include "tiny_kb.hpp"

namespace teller::nlg {
namespace {
namespace json = boost::json;
using core::DialogueEventType;

// A stand-in for the loans skill: the customer's text is the JSON reply {act, slots} it returns,
// so the test can put any slot value through the dialogue. Its fallback text shows no figure.
constexpr std::string_view kFallback = "(fallback without figures)";

char* echo_turn(void*, const char* request_json) noexcept {
    return plugins::guarded_handle(request_json, [](const json::object& request) {
        json::object reply = json::parse(request.at("text").as_string()).as_object();
        reply["text"] = kFallback;
        return json::value(json::object{{"replies", json::array{reply}}, {"state", nullptr}});
    });
}

int echo_init(const teller_host_v1*, const char*, void** state) {
    *state = nullptr;
    return 0;
}

void echo_shutdown(void*) {}

const teller_skill_v1* echo_loans_table() {
    static const std::string manifest = plugins::build_manifest(
        "loans", "1.0.0", "test stand-in for the loans skill",
        {{"loans.quote", "Quote", "报价", {"quote me a loan"}, {"贷款报价"}}},
        {"loans.installment", "loans.not_eligible_max", "loans.confirm", "loans.submitted"});
    static const teller_skill_v1 table{
        TELLER_SKILL_API_VERSION, "loans",       manifest.c_str(), &echo_init, &echo_turn,
        &plugins::free_c_string,  &echo_shutdown};
    return &table;
}

// Hostile values: zero, huge, tiny, negative, many digits, other slots' look-alikes, Chinese.
std::vector<json::value> adversarial_money() {
    return {0,
            1e9,
            0.01,
            -250.5,
            "123456789012345.67",
            "0.005",
            json::object{{"amount", "5000"}, {"currency", "CNY"}},
            json::object{{"amount", "-0.01"}, {"currency", "USD"}},
            "12345678901234567890.5"};  // beyond what the formatter takes: the skill's text
}

std::vector<json::object> adversarial_turns() {
    std::vector<json::object> turns;
    const std::vector<json::value> months = {0, 1, 360, -12, 999999999};
    const std::vector<json::value> rates = {0, 0.01, -1, 99.999, "3.45"};
    const std::vector<std::string> texts = {"个人贷款（一万元，3年）", "$20,000.00", "{principal}",
                                            "LN-1001 8.90%", "car loan"};
    const std::vector<json::value> amounts = adversarial_money();
    std::size_t i = 0;
    for (const json::value& money : amounts) {
        const json::value& other = amounts[(i + 3) % amounts.size()];
        const json::value& m = months[i % months.size()];
        const json::value& r = rates[i % rates.size()];
        const std::string& text = texts[i % texts.size()];
        turns.push_back({{"act", "loans.installment"},
                         {"slots",
                          {{"product", text},
                           {"principal", money},
                           {"term_months", m},
                           {"rate", r},
                           {"monthly_payment", other},
                           {"total_interest", money}}}});
        turns.push_back({{"act", "loans.not_eligible_max"},
                         {"slots",
                          {{"monthly_payment", money},
                           {"income_share", r},
                           {"share_limit", 40},
                           {"affordable", other}}}});
        turns.push_back({{"act", "loans.confirm"},
                         {"slots",
                          {{"product", "personal loan"},
                           {"principal", money},
                           {"term_months", m},
                           {"purpose", text},
                           {"income", other},
                           {"employment", "在职"}}}});
        turns.push_back({{"act", "loans.submitted"},
                         {"slots",
                          {{"product", text},
                           {"principal", other},
                           {"term_months", m},
                           {"application_id", "LN-" + std::to_string(1000 + i)}}}});
        ++i;
    }
    return turns;
}

class SkillGeneratorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // A small generator trained on the loans templates, as `teller train-faq --generator`
        // trains one on the whole folder.
        TemplateSet loans = TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses/loans.yaml");
        GeneratorTrainOptions options;
        options.epochs = 30;
        options.batch_size = 8;
        auto generator = Generator::train(generator_examples(loans), options);
        path_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                          "teller-skill-generator-test.model");
        generator->save(*path_);
    }
    static void TearDownTestSuite() {
        std::filesystem::remove(*path_);
        delete path_;
    }

    SkillGeneratorTest()
        : backend_(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_) {
        EXPECT_TRUE(host_.load_builtin(echo_loans_table()));
    }

    // An Nlg over the real templates; the generator loaded when `with_generator`.
    std::unique_ptr<Nlg> make_nlg(std::set<std::string> generator_skills, bool with_generator) {
        auto nlg =
            std::make_unique<Nlg>(TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses"),
                                  KnowledgeBase::parse(testing::kTinyKb, "tiny.yaml"), nullptr,
                                  NlgOptions{0.8f, std::move(generator_skills)});
        if (with_generator) {
            auto generator = Generator::load(*path_);
            EXPECT_TRUE(generator) << generator.error().message();
            nlg->set_generator(std::move(*generator));
        }
        return nlg;
    }

    core::TurnOutput turn(const Responder& nlg, const json::object& said,
                          const std::string& locale) {
        core::DialogueOptions options;
        options.responder = &nlg;
        options.require_verification = false;
        core::DialogueManager dialogue(host_, options);
        core::InboundMessage in;
        in.id = "m" + std::to_string(++sequence_);
        in.channel = "webchat";
        in.conversation = "webchat:ada";
        in.sender = "ada";
        in.locale = locale;
        in.text = json::serialize(said);
        core::NluResult nlu;
        nlu.ranking = {{"loans.quote", 0.99f}};
        return dialogue.run_turn(in, nlu, {}, 1000);
    }

    static const json::object* nlg_info(const core::TurnOutput& out) {
        for (const core::DialogueEvent& e : out.events) {
            if (e.type == DialogueEventType::bot_uttered) {
                const json::value* info = e.data.if_contains("nlg");
                return info != nullptr ? info->if_object() : nullptr;
            }
        }
        return nullptr;
    }

    static std::filesystem::path* path_;
    std::unique_ptr<core::Backend> backend_;
    core::SkillHost host_;
    int sequence_ = 0;
};

std::filesystem::path* SkillGeneratorTest::path_ = nullptr;

TEST_F(SkillGeneratorTest, AdversarialSlotValuesNeverGiveAWrongFigure) {
    std::unique_ptr<Nlg> nlg = make_nlg({"loans"}, true);
    const TemplateSet& templates = nlg->templates();
    int from_generator = 0;
    int from_template = 0;
    int fallbacks = 0;
    for (const json::object& said : adversarial_turns()) {
        for (const std::string locale : {"en", "zh-CN"}) {
            const std::string act(said.at("act").as_string());
            const json::object& slots = said.at("slots").as_object();
            core::TurnOutput out = turn(*nlg, said, locale);
            ASSERT_EQ(out.replies.size(), 1u);
            const std::string& text = out.replies[0].text;
            // The dialogue may take the locale from the text (Chinese slot values): check the
            // figures in the locale the reply was rendered in.
            const std::string used = out.replies[0].locale;
            SCOPED_TRACE(act + " " + locale + "/" + used + ": " + json::serialize(slots) + " -> " +
                         text);
            const json::object* info = nlg_info(out);

            // A value the formatter refuses (too many digits) falls back to the skill's text.
            if (info == nullptr) {
                EXPECT_EQ(text, kFallback);
                EXPECT_FALSE(templates.render(act, slots, {used, "webchat", 0}));
                ++fallbacks;
                continue;
            }
            EXPECT_EQ(info->at("act").as_string(), act);
            const std::string source(info->at("source").as_string());
            ASSERT_TRUE(source == "template" || source == "generator") << source;

            // Every slot a variation shows, formatted by its type; longest first, so that a
            // value containing another is removed whole.
            std::vector<std::string> figures;
            std::set<std::string> names;
            for (const Variation& v : templates.variations(act)) {
                names.insert(v.slots.begin(), v.slots.end());
            }
            for (const std::string& name : names) {
                figures.push_back(templates.format_slot(name, slots, used).value());
            }
            std::sort(
                figures.begin(), figures.end(),
                [](const std::string& a, const std::string& b) { return a.size() > b.size(); });

            if (source == "template") {
                // Exactly one of the act's variations, filled with the formatted values.
                bool matches = false;
                for (const Variation& v : templates.variations(act)) {
                    auto filled = templates.fill(v.text.at(used), slots, used);
                    matches = matches || (filled && *filled == text);
                }
                EXPECT_TRUE(matches);
                ++from_template;
                continue;
            }

            // Generator words: every figure in them is a formatted slot value, and each slot
            // the template shows is there.
            ++from_generator;
            EXPECT_EQ(info->at("guard").as_string(), "ok");
            std::string rest = text;
            for (const std::string& figure : figures) {
                EXPECT_NE(text.find(figure), std::string::npos) << "missing " << figure;
                for (auto at = rest.find(figure); at != std::string::npos; at = rest.find(figure)) {
                    rest.replace(at, figure.size(), " ");
                }
            }
            EXPECT_EQ(rest.find_first_of("0123456789$%"), std::string::npos) << rest;
            for (std::string_view sign : {"¥", "元", "€", "£", "美元"}) {
                EXPECT_EQ(rest.find(sign), std::string::npos) << rest;
            }
        }
    }
    std::cout << "replies: " << from_generator << " generator, " << from_template << " template, "
              << fallbacks << " fallback\n";
    // The check above is only worth something if the generator's words were used.
    EXPECT_GT(from_generator, 0);
    EXPECT_GT(from_template + from_generator, fallbacks);
}

TEST_F(SkillGeneratorTest, WithoutGeneratorSkillsEveryReplyIsTheTemplate) {
    // A generator loaded but switched on for no skill changes no word of any reply.
    std::unique_ptr<Nlg> off = make_nlg({}, true);
    std::unique_ptr<Nlg> none = make_nlg({}, false);
    std::unique_ptr<Nlg> other = make_nlg({"cards"}, true);
    for (const json::object& said : adversarial_turns()) {
        for (const std::string locale : {"en", "zh-CN"}) {
            core::TurnOutput a = turn(*off, said, locale);
            core::TurnOutput b = turn(*none, said, locale);
            core::TurnOutput c = turn(*other, said, locale);
            ASSERT_EQ(a.replies.size(), 1u);
            ASSERT_EQ(b.replies.size(), 1u);
            ASSERT_EQ(c.replies.size(), 1u);
            EXPECT_EQ(a.replies[0].text, b.replies[0].text);
            EXPECT_EQ(c.replies[0].text, b.replies[0].text);
            if (const json::object* info = nlg_info(a)) {
                EXPECT_EQ(info->at("source").as_string(), "template");
                EXPECT_EQ(info->at("guard").as_string(), "");
            }
        }
    }
}

}  // namespace
}  // namespace teller::nlg
