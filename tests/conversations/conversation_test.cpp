// Runs the scripted conversations in tests/conversations/*.yaml against the real dialogue
// manager, skills and a model trained on the skills' own examples (see README.md there).
#include "teller/core/dialogue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/flows.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlg/error.hpp"
#include "teller/nlg/responder.hpp"
#include "teller/nlg/templates.hpp"
#include "teller/nlu/entities.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::testing {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

/// The date relative expressions ("tomorrow", "下周五") resolve against in every script, so
/// that expected dates do not move with the calendar.
constexpr std::chrono::year_month_day kScriptToday{std::chrono::year{2026}, std::chrono::month{12},
                                                   std::chrono::day{4}};

/// One scripted customer turn and what must hold after it.
struct ScriptTurn {
    int line = 0;
    std::string user;
    std::string force_intent;      ///< replaces the model's ranking (tests a skill, not the model)
    std::string expect_intent;     ///< the model's top intent must be this
    std::vector<std::string> bot;  ///< substrings of the replies, in this order
    std::vector<std::string> bot_not;  ///< substrings that must not appear
    std::vector<std::string> buttons;  ///< quick-reply titles that must be offered
    std::vector<std::string> events;   ///< event types (or a skill event's data.type) this turn
    std::map<std::string, YAML::Node> slots;  ///< session slots after the turn
    std::optional<std::string> skill;         ///< active skill after the turn ("" = none)
    std::optional<bool> handoff;
};

struct Script {
    std::string file;
    int line = 0;
    std::string name;
    std::string locale = "en";
    std::string channel = "webchat";
    std::string sender = "demo-user";
    bool signed_in = true;   ///< a web chat customer whose token the gateway checked
    bool templates = false;  ///< skills' acts rendered with knowledge/responses (else their text)
    std::vector<ScriptTurn> turns;
};

// Names a script in test output instead of dumping its bytes.
void PrintTo(const Script& script, std::ostream* os) {
    *os << script.file << ":" << script.line << " (" << script.name << ")";
}

std::vector<std::string> strings_of(const YAML::Node& node) {
    std::vector<std::string> out;
    if (!node) {
        return out;
    }
    if (node.IsScalar()) {
        out.push_back(node.as<std::string>());
        return out;
    }
    for (const YAML::Node& item : node) {
        out.push_back(item.as<std::string>());
    }
    return out;
}

// Reads one script file; a mistake in it fails with file:line.
std::vector<Script> load_scripts(const fs::path& path) {
    static const std::vector<std::string> kTurnKeys = {
        "user",    "force_intent", "expect_intent", "bot",   "bot_not",
        "buttons", "events",       "slots",         "skill", "handoff"};
    std::vector<Script> scripts;
    YAML::Node root = YAML::LoadFile(path.string());
    for (const YAML::Node& c : root["conversations"]) {
        Script s;
        s.file = path.filename().string();
        s.line = c.Mark().line + 1;
        s.name = c["name"].as<std::string>();
        if (c["locale"]) {
            s.locale = c["locale"].as<std::string>();
        }
        if (c["channel"]) {
            s.channel = c["channel"].as<std::string>();
        }
        if (c["sender"]) {
            s.sender = c["sender"].as<std::string>();
        }
        if (c["signed_in"]) {
            s.signed_in = c["signed_in"].as<bool>();
        }
        // A file may turn the templates on for all its scripts; a script may say otherwise.
        if (YAML::Node templates = c["templates"] ? c["templates"] : root["templates"]) {
            s.templates = templates.as<bool>();
        }
        for (const YAML::Node& t : c["turns"]) {
            ScriptTurn turn;
            turn.line = t.Mark().line + 1;
            for (const auto& entry : t) {
                std::string key = entry.first.as<std::string>();
                if (std::find(kTurnKeys.begin(), kTurnKeys.end(), key) == kTurnKeys.end()) {
                    throw std::runtime_error(s.file + ":" + std::to_string(turn.line) +
                                             ": unknown key \"" + key + "\"");
                }
            }
            turn.user = t["user"].as<std::string>();
            turn.force_intent = t["force_intent"] ? t["force_intent"].as<std::string>() : "";
            turn.expect_intent = t["expect_intent"] ? t["expect_intent"].as<std::string>() : "";
            turn.bot = strings_of(t["bot"]);
            turn.bot_not = strings_of(t["bot_not"]);
            turn.buttons = strings_of(t["buttons"]);
            turn.events = strings_of(t["events"]);
            if (t["slots"]) {
                for (const auto& slot : t["slots"]) {
                    turn.slots[slot.first.as<std::string>()] = slot.second;
                }
            }
            if (t["skill"]) {
                turn.skill = t["skill"].IsNull() ? "" : t["skill"].as<std::string>();
            }
            if (t["handoff"]) {
                turn.handoff = t["handoff"].as<bool>();
            }
            s.turns.push_back(std::move(turn));
        }
        scripts.push_back(std::move(s));
    }
    return scripts;
}

std::vector<Script> all_scripts() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(TELLER_SOURCE_DIR "/tests/conversations")) {
        if (entry.path().extension() == ".yaml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<Script> scripts;
    for (const fs::path& f : files) {
        std::vector<Script> more = load_scripts(f);
        scripts.insert(scripts.end(), more.begin(), more.end());
    }
    return scripts;
}

/// The skills' acts rendered with knowledge/responses, as `teller run` does, for scripts that
/// expect the formatted figures (`templates: true`). The dialogue's own acts keep their
/// built-in texts (the scripts were written against those) and no FAQ is asked.
class SkillTemplates final : public nlg::Responder {
public:
    SkillTemplates()
        : templates_(nlg::TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses")) {}

    core::Result<nlg::RenderedReply> render(std::string_view act, const json::object& slots,
                                            const nlg::ReplyContext& context) const override {
        if (context.skill.empty()) {
            return make_error_code(nlg::Errc::no_template);
        }
        nlg::RenderContext rc{context.locale, context.channel,
                              nlg::variation_seed(context.conversation, context.turn)};
        auto text = templates_.render(act, slots, rc);
        if (!text) {
            return text.error();
        }
        return nlg::RenderedReply{*text, "template", ""};
    }

    std::optional<nlg::FaqDecision> ask_faq(std::string_view, std::string_view) const override {
        return std::nullopt;
    }

private:
    nlg::TemplateSet templates_;
};

/// Skills, backend and model, built once for every script (training takes seconds).
class Bot {
public:
    static Bot& get() {
        static Bot bot;
        return bot;
    }

    core::SkillHost& host() { return *host_; }
    const nlg::Responder& templates() const { return templates_; }
    const nlu::IntentModel& model() const { return *model_; }
    void reset_backend() {
        // Each script starts from the demo bank's file, not from what earlier scripts changed.
        backend_->replace(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json"));
    }

private:
    // A backend whose data can be reset between scripts while the skills keep their host.
    class ResettableBackend final : public core::Backend {
    public:
        explicit ResettableBackend(std::unique_ptr<core::Backend> inner)
            : inner_(std::move(inner)) {}
        core::Result<json::value> call(std::string_view operation,
                                       const json::object& args) override {
            return inner_->call(operation, args);
        }
        void replace(std::unique_ptr<core::Backend> inner) { inner_ = std::move(inner); }

    private:
        std::unique_ptr<core::Backend> inner_;
    };

    Bot()
        : backend_(std::make_unique<ResettableBackend>(
              core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json"))),
          host_(std::make_unique<core::SkillHost>(*backend_)) {
        auto loaded = host_->load_directory(TELLER_BINARY_DIR "/skills");
        if (!loaded) {
            throw std::runtime_error("no skills in " TELLER_BINARY_DIR "/skills");
        }
        if (!host_->load_builtin(core::flows_skill_table(TELLER_SOURCE_DIR "/flows"))) {
            throw std::runtime_error("the flows in " TELLER_SOURCE_DIR "/flows did not load");
        }
        std::vector<nlu::LabeledUtterance> data;
        for (const core::TrainingExample& e : host_->training_examples()) {
            data.push_back({e.text, e.intent, {}});
        }
        model_ = nlu::IntentModel::train(data, nlu::TrainOptions{});
    }

    std::unique_ptr<ResettableBackend> backend_;
    std::unique_ptr<core::SkillHost> host_;
    std::unique_ptr<nlu::IntentModel> model_;
    SkillTemplates templates_;
};

std::string ranking_text(const core::NluResult& nlu) {
    std::string out;
    for (const core::IntentScore& s : nlu.ranking) {
        out += s.intent + "=" + std::to_string(s.confidence) + " ";
    }
    return out;
}

std::string yaml_scalar(const YAML::Node& node) {
    return node.IsNull() ? "null" : node.as<std::string>();
}

std::string json_scalar(const json::value& v) {
    if (v.is_string()) {
        return std::string(v.as_string());
    }
    if (v.is_null()) {
        return "null";
    }
    return json::serialize(v);
}

class ConversationTest : public ::testing::TestWithParam<Script> {};

TEST_P(ConversationTest, RunsAsScripted) {
    const Script& script = GetParam();
    Bot& bot = Bot::get();
    bot.reset_backend();
    core::DialogueOptions options;
    options.responder = script.templates ? &bot.templates() : nullptr;
    core::DialogueManager dialogue(bot.host(), options);
    nlu::EntityContext context;
    context.today = kScriptToday;

    json::object session;
    std::int64_t now_ms = 1'796'400'000'000;  // 2026-12-04T...: a fixed clock, as replay uses
    int index = 0;
    for (const ScriptTurn& turn : script.turns) {
        SCOPED_TRACE(script.file + ":" + std::to_string(turn.line) + " \"" + turn.user + "\"");
        ++index;

        // Understand the turn: the model's ranking (or the forced intent) and the rule
        // entities at the scripts' fixed date.
        std::vector<std::string> texts{turn.user};
        core::NluResult nlu = bot.model().parse(texts).front();
        if (!turn.expect_intent.empty()) {
            ASSERT_FALSE(nlu.ranking.empty());
            EXPECT_EQ(nlu.ranking.front().intent, turn.expect_intent) << ranking_text(nlu);
        }
        if (!turn.force_intent.empty()) {
            nlu.ranking = {core::IntentScore{turn.force_intent, 0.99f}};
        }
        nlu.entities = nlu::extract_entities(turn.user, context);

        core::InboundMessage in;
        in.id = script.name + "/" + std::to_string(index);
        in.channel = script.channel;
        in.conversation = script.channel + ":" + script.sender;
        in.sender = script.sender;
        in.text = turn.user;
        in.locale = script.locale;
        if (script.signed_in && script.channel == "webchat") {
            in.metadata = {{"customer_id", script.sender}, {"verified", true}};
        }
        now_ms += 5'000;
        core::TurnOutput out = dialogue.run_turn(in, nlu, std::move(session), now_ms);
        session = std::move(out.session);

        std::string replies;
        std::vector<std::string> titles;
        for (const core::OutboundMessage& m : out.replies) {
            replies += m.text + "\n";
            for (const core::Choice& c : m.quick_replies) {
                titles.push_back(c.title);
            }
        }
        std::size_t at = 0;
        for (const std::string& part : turn.bot) {
            std::size_t found = replies.find(part, at);
            EXPECT_NE(found, std::string::npos)
                << "expected \"" << part << "\" (in order) in the replies:\n"
                << replies << "NLU: " << ranking_text(nlu);
            if (found != std::string::npos) {
                at = found + part.size();
            }
        }
        for (const std::string& part : turn.bot_not) {
            EXPECT_EQ(replies.find(part), std::string::npos)
                << "\"" << part << "\" must not be in:\n"
                << replies;
        }
        for (const std::string& title : turn.buttons) {
            EXPECT_NE(std::find(titles.begin(), titles.end(), title), titles.end())
                << "no button \"" << title << "\" in: " << replies;
        }
        std::vector<std::string> seen;
        for (const core::DialogueEvent& e : out.events) {
            seen.emplace_back(core::to_string(e.type));
            if (const json::value* type = e.data.if_contains("type"); type && type->is_string()) {
                seen.emplace_back(type->as_string());
            }
        }
        for (const std::string& type : turn.events) {
            EXPECT_NE(std::find(seen.begin(), seen.end(), type), seen.end())
                << "no event \"" << type << "\" this turn";
        }
        for (const auto& [name, expected] : turn.slots) {
            const json::value* slots = session.if_contains("slots");
            const json::value* value =
                slots && slots->is_object() ? slots->as_object().if_contains(name) : nullptr;
            if (expected.IsNull()) {
                EXPECT_TRUE(value == nullptr || value->is_null()) << "slot " << name;
                continue;
            }
            ASSERT_NE(value, nullptr) << "slot " << name << " is not set";
            EXPECT_EQ(json_scalar(*value), yaml_scalar(expected)) << "slot " << name;
        }
        if (turn.skill) {
            const json::value* skill = session.if_contains("skill");
            std::string active = skill && skill->is_string() ? std::string(skill->as_string()) : "";
            EXPECT_EQ(active, *turn.skill) << "active skill";
        }
        if (turn.handoff) {
            const json::value* handoff = session.if_contains("handoff");
            bool handed = handoff != nullptr && !handoff->is_null() &&
                          !(handoff->is_bool() && !handoff->as_bool());
            EXPECT_EQ(handed, *turn.handoff) << "handoff";
        }
    }
}

std::string script_name(const ::testing::TestParamInfo<Script>& info) {
    std::string name = info.param.file.substr(0, info.param.file.find('.')) + "_" +
                       std::to_string(info.param.line);
    for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            c = '_';
        }
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(Scripts, ConversationTest, ::testing::ValuesIn(all_scripts()),
                         script_name);

}  // namespace
}  // namespace teller::testing
