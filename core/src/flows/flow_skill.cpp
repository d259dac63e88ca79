// Runs declarative flows as the built-in "flows" skill, behind the same C ABI as plugins.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>

#include <boost/json.hpp>

#include "teller/core/flows.hpp"
#include "teller/plugins/skill.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

std::string string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t int_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

/// The number at the start of an entity value ("5000.00 USD" -> 5000), if any.
std::optional<double> leading_number(std::string_view value) {
    double out = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || end == value.data()) {
        return std::nullopt;
    }
    return out;
}

/// Everything one call needs: the flows, the host, and the turn's request.
struct FlowsSkill {
    std::vector<Flow> flows;
    std::string manifest;
    const teller_host_v1* host = nullptr;

    const Flow* by_intent(std::string_view intent) const {
        for (const Flow& f : flows) {
            if (f.intent == intent) {
                return &f;
            }
        }
        return nullptr;
    }
    const Flow* by_name(std::string_view name) const {
        for (const Flow& f : flows) {
            if (f.name == name) {
                return &f;
            }
        }
        return nullptr;
    }
};

class Run {
public:
    Run(const FlowsSkill& skill, const Flow& flow, const json::object& request, json::object state)
        : skill_(skill), flow_(flow), request_(request), state_(std::move(state)) {
        locale_ = string_at(request, "locale") == "zh-CN" ? "zh-CN" : "en";
        text_ = string_at(request, "text");
        folded_ = teller::plugins::fold_answer(text_);
        if (const json::value* i = request.if_contains("intent"); i && i->is_object()) {
            intent_ = string_at(i->as_object(), "name");
        }
        if (!state_.contains("slots") || !state_.at("slots").is_object()) {
            state_["slots"] = json::object{};
        }
    }

    /// Starts the flow: slots the first message already names are taken, then the steps run.
    json::object start() {
        state_["flow"] = flow_.name;
        state_["step"] = 0;
        state_["attempts"] = 0;
        for (const auto& [name, slot] : flow_.slots) {
            if (slot.kind == "entity") {
                if (auto value = entity_value(slot); value && valid(slot, *value)) {
                    slots()[name] = *value;
                }
            }
        }
        events_.push_back(json::object{{"type", "flow_started"}, {"flow", flow_.name}});
        return proceed();
    }

    /// Handles the customer's answer to the step the flow waits on.
    json::object answer() {
        const FlowStep* step = current();
        if (step == nullptr) {
            return finish(nullptr);
        }
        if (step->kind == "ask") {
            const SlotSpec& slot = flow_.slots.at(step->slot);
            std::optional<std::string> value = read(slot);
            if (!value || !valid(slot, *value)) {
                return retry(slot);
            }
            slots()[slot.name] = *value;
            state_["attempts"] = 0;
            go_next();
            return proceed();
        }
        if (step->kind == "confirm") {
            int yes = yes_or_no();
            if (yes == 1) {
                state_["attempts"] = 0;
                go_next();
                return proceed();
            }
            if (yes == 0) {
                if (!step->on_no.empty()) {
                    jump(step->on_no);
                    return proceed();
                }
                say(step->no_text);
                return finish(nullptr);
            }
            std::int64_t attempts = int_at(state_, "attempts") + 1;
            if (attempts >= flow_.max_attempts) {
                return give_up();
            }
            state_["attempts"] = attempts;
            say({{"en", "Please answer yes or no."}, {"zh-CN", "请回答“是”或“否”。"}});
            return proceed();
        }
        return proceed();
    }

private:
    json::object& slots() { return state_["slots"].as_object(); }

    const FlowStep* current() const {
        std::int64_t i = int_at(state_, "step");
        return i >= 0 && i < static_cast<std::int64_t>(flow_.steps.size()) ? &flow_.steps[i]
                                                                           : nullptr;
    }
    void go_next() { state_["step"] = int_at(state_, "step") + 1; }
    void jump(const std::string& id) {
        for (std::size_t i = 0; i < flow_.steps.size(); ++i) {
            if (flow_.steps[i].id == id) {
                state_["step"] = static_cast<std::int64_t>(i);
                return;
            }
        }
    }

    // Runs steps until one waits for the customer or the flow ends. Bounded, so a goto loop
    // in a flow file cannot hang the engine.
    json::object proceed() {
        for (int guard = 0; guard < 256; ++guard) {
            const FlowStep* step = current();
            if (step == nullptr) {
                return finish(nullptr);
            }
            const std::string& kind = step->kind;
            if (kind == "ask") {
                if (slots().contains(step->slot)) {
                    go_next();
                    continue;
                }
                ask(flow_.slots.at(step->slot));
                return respond();
            }
            if (kind == "confirm") {
                pending_buttons_ = {json::object{{"title", locale_ == "zh-CN" ? "是" : "Yes"},
                                                 {"payload", "/affirm"}},
                                    json::object{{"title", locale_ == "zh-CN" ? "否" : "No"},
                                                 {"payload", "/deny"}}};
                say(step->text);
                return respond();
            }
            if (kind == "action") {
                if (!act(*step)) {
                    say(step->error_text);
                    return finish(nullptr);
                }
                go_next();
                continue;
            }
            if (kind == "branch") {
                go_next();
                for (const FlowStep::Case& c : step->cases) {
                    if (holds(c)) {
                        jump(c.target);
                        break;
                    }
                }
                continue;
            }
            if (kind == "say") {
                say(step->text);
                go_next();
                continue;
            }
            if (kind == "goto") {
                jump(step->target);
                continue;
            }
            if (kind == "end") {
                if (!step->text.empty()) {
                    say(step->text);
                }
                events_.push_back(json::object{{"type", "flow_completed"}, {"flow", flow_.name}});
                return finish(nullptr);
            }
            if (kind == "handoff") {
                if (!step->text.empty()) {
                    say(step->text);
                }
                handoff_ = true;
                return finish(nullptr);
            }
        }
        say({{"en", "Sorry, something went wrong in this conversation's script."},
             {"zh-CN", "抱歉，对话流程出错了。"}});
        return finish(nullptr);
    }

    void ask(const SlotSpec& slot) {
        if (slot.kind == "choice") {
            for (const SlotSpec::Choice& c : slot.choices) {
                pending_buttons_.push_back(
                    json::object{{"title", c.title.at(locale_)}, {"payload", c.value}});
            }
        }
        say(slot.prompt);
    }

    json::object retry(const SlotSpec& slot) {
        std::int64_t attempts = int_at(state_, "attempts") + 1;
        if (attempts >= flow_.max_attempts) {
            return give_up();
        }
        state_["attempts"] = attempts;
        std::string prefix = render(slot.invalid);
        if (slot.kind == "choice") {
            for (const SlotSpec::Choice& c : slot.choices) {
                pending_buttons_.push_back(
                    json::object{{"title", c.title.at(locale_)}, {"payload", c.value}});
            }
        }
        replies_.push_back(json::object{{"text", prefix + " " + render(slot.prompt)}});
        return respond();
    }

    json::object give_up() {
        say({{"en",
              "Let's stop here for now; you can start again any time, or type \"agent\" "
              "to talk to a person."},
             {"zh-CN", "先到这里，您可以随时重新开始，或输入“人工”联系客服。"}});
        events_.push_back(json::object{{"type", "flow_abandoned"}, {"flow", flow_.name}});
        return finish(nullptr);
    }

    // The answer to a slot question, before validation.
    std::optional<std::string> read(const SlotSpec& slot) const {
        if (slot.kind == "entity") {
            return entity_value(slot);
        }
        if (slot.kind == "choice") {
            static constexpr std::array<std::string_view, 9> kWide{"１", "２", "３", "４", "５",
                                                                   "６", "７", "８", "９"};
            for (std::size_t i = 0; i < slot.choices.size(); ++i) {
                const SlotSpec::Choice& c = slot.choices[i];
                bool by_number =
                    folded_ == std::to_string(i + 1) || (i < kWide.size() && folded_ == kWide[i]);
                bool by_title = std::any_of(c.title.begin(), c.title.end(), [&](const auto& t) {
                    return teller::plugins::fold_answer(t.second) == folded_;
                });
                if (text_ == c.value || folded_ == teller::plugins::fold_answer(c.value) ||
                    by_number || by_title) {
                    return c.value;
                }
            }
            return std::nullopt;
        }
        std::string trimmed = text_;
        trimmed.erase(0, trimmed.find_first_not_of(" \t\r\n"));
        trimmed.erase(trimmed.find_last_not_of(" \t\r\n") + 1);
        if (trimmed.empty()) {
            return std::nullopt;
        }
        return trimmed;
    }

    std::optional<std::string> entity_value(const SlotSpec& slot) const {
        const json::value* list = request_.if_contains("entities");
        if (list == nullptr || !list->is_array()) {
            return std::nullopt;
        }
        for (const json::value& e : list->as_array()) {
            if (e.is_object() && string_at(e.as_object(), "type") == slot.entity) {
                return string_at(e.as_object(), "value");
            }
        }
        return std::nullopt;
    }

    static bool valid(const SlotSpec& slot, const std::string& value) {
        if (slot.kind == "text") {
            return !value.empty() && value.size() <= slot.max_length;
        }
        if (slot.has_min || slot.has_max) {
            std::optional<double> n = leading_number(value);
            if (!n || (slot.has_min && *n < slot.min) || (slot.has_max && *n > slot.max)) {
                return false;
            }
        }
        return !value.empty();
    }

    bool holds(const FlowStep::Case& c) {
        const json::value* v = slots().if_contains(c.slot);
        std::string left = v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
        // The right side is another slot when it names one, else a literal.
        std::string right = c.value;
        if (flow_.slots.contains(c.value)) {
            const json::value* rv = slots().if_contains(c.value);
            right = rv != nullptr && rv->is_string() ? std::string(rv->as_string()) : "";
        }
        std::optional<double> l = leading_number(left);
        std::optional<double> r = leading_number(right);
        if (l && r && c.op != "==" && c.op != "!=") {
            if (c.op == "<")
                return *l < *r;
            if (c.op == "<=")
                return *l <= *r;
            if (c.op == ">")
                return *l > *r;
            return *l >= *r;
        }
        bool equal = l && r ? *l == *r : left == right;
        if (c.op == "==") {
            return equal;
        }
        if (c.op == "!=") {
            return !equal;
        }
        return false;  // an ordering on text that is not a number
    }

    // Calls the backend with every slot; keeps the result for templates.
    bool act(const FlowStep& step) {
        json::object args = slots();
        if (const json::value* c = request_.if_contains("customer"); c && c->is_object()) {
            args["customer"] = string_at(c->as_object(), "id");
        }
        json::value result =
            teller::plugins::call_backend(skill_.host, step.operation.c_str(), args);
        bool ok = result.is_object() && !result.as_object().contains("error");
        events_.push_back(json::object{{"type", "flow_action"},
                                       {"flow", flow_.name},
                                       {"operation", step.operation},
                                       {"ok", ok}});
        if (ok) {
            state_["result"] = result;
        }
        return ok;
    }

    int yes_or_no() const {
        static const std::vector<std::string_view> kYes = {
            "/affirm", "yes",  "y",  "yeah", "yep",  "sure", "ok",   "okay", "confirm",
            "是",      "是的", "对", "好",   "好的", "确认", "可以", "行"};
        static const std::vector<std::string_view> kNo = {"/deny", "no",   "n",    "nope",
                                                          "不",    "不是", "不要", "否"};
        if (intent_ == "affirm") {
            return 1;
        }
        if (intent_ == "deny") {
            return 0;
        }
        if (std::find(kYes.begin(), kYes.end(), folded_) != kYes.end()) {
            return 1;
        }
        if (std::find(kNo.begin(), kNo.end(), folded_) != kNo.end()) {
            return 0;
        }
        return -1;
    }

    // `text` in the turn's locale with {slot} and {result.field} filled in.
    std::string render(const LocalizedText& text) {
        auto it = text.find(locale_);
        std::string t = it != text.end() ? it->second : text.begin()->second;
        static const std::regex kPlaceholder(R"(\{([^{}]*)\})");
        std::string out;
        std::size_t last = 0;
        for (auto m = std::sregex_iterator(t.begin(), t.end(), kPlaceholder);
             m != std::sregex_iterator(); ++m) {
            out += t.substr(last, m->position() - last);
            std::string name = (*m)[1].str();
            const json::value* v = nullptr;
            if (name.starts_with("result.")) {
                if (const json::value* r = state_.if_contains("result"); r && r->is_object()) {
                    v = r->as_object().if_contains(name.substr(7));
                }
            } else {
                v = slots().if_contains(name);
            }
            out += v == nullptr ? "" : shown(name, *v);
            last = m->position() + m->length();
        }
        return out + t.substr(last);
    }

    // A slot's value as the customer should read it: a choice's title, else the value.
    std::string shown(const std::string& slot, const json::value& v) const {
        std::string value = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
        auto spec = flow_.slots.find(slot);
        if (spec != flow_.slots.end()) {
            for (const SlotSpec::Choice& c : spec->second.choices) {
                if (c.value == value) {
                    return c.title.at(locale_);
                }
            }
        }
        return value;
    }

    void say(const LocalizedText& text) {
        json::object r{{"text", render(text)}};
        if (!pending_buttons_.empty()) {
            r["quick_replies"] = std::move(pending_buttons_);
            pending_buttons_ = {};
        }
        replies_.push_back(std::move(r));
    }

    json::object respond() {
        if (!pending_buttons_.empty() && !replies_.empty()) {
            replies_.back().as_object()["quick_replies"] = std::move(pending_buttons_);
            pending_buttons_ = {};
        }
        json::object r{{"replies", replies_}, {"state", state_}};
        if (!events_.empty()) {
            r["events"] = events_;
        }
        return r;
    }

    json::object finish(std::nullptr_t) {
        json::object r{{"replies", replies_}, {"state", nullptr}};
        if (!events_.empty()) {
            r["events"] = events_;
        }
        if (handoff_) {
            r["handoff"] = true;
        }
        return r;
    }

    const FlowsSkill& skill_;
    const Flow& flow_;
    const json::object& request_;
    json::object state_;
    std::string locale_;
    std::string text_;
    std::string folded_;
    std::string intent_;
    json::array replies_;
    json::array events_;
    json::array pending_buttons_;
    bool handoff_ = false;
};

json::object handle_turn(FlowsSkill& skill, const json::object& request) {
    const json::value* state = request.if_contains("state");
    if (state != nullptr && state->is_object()) {
        const Flow* flow = skill.by_name(string_at(state->as_object(), "flow"));
        if (flow != nullptr) {
            return Run(skill, *flow, request, state->as_object()).answer();
        }
    }
    std::string intent;
    if (const json::value* i = request.if_contains("intent"); i && i->is_object()) {
        intent = string_at(i->as_object(), "name");
    }
    const Flow* flow = skill.by_intent(intent);
    if (flow == nullptr) {
        bool zh = string_at(request, "locale") == "zh-CN";
        return json::object{
            {"replies", json::array{json::object{{"text", zh ? "抱歉，这个我帮不了。"
                                                             : "Sorry, I can't help with that."}}}},
            {"state", nullptr}};
    }
    return Run(skill, *flow, request, json::object{}).start();
}

std::string build_manifest(const std::vector<Flow>& flows) {
    json::array intents;
    for (const Flow& f : flows) {
        json::object examples;
        for (const auto& [locale, list] : f.examples) {
            examples[locale] = json::array(list.begin(), list.end());
        }
        json::object title;
        for (const auto& [locale, t] : f.title) {
            title[locale] = t;
        }
        json::object intent{
            {"name", f.intent}, {"title", std::move(title)}, {"examples", std::move(examples)}};
        if (f.verified) {
            intent["verified"] = true;
        }
        intents.push_back(std::move(intent));
    }
    return json::serialize(json::object{{"name", "flows"},
                                        {"version", "1.0.0"},
                                        {"description", "Declarative flows from YAML files"},
                                        {"intents", std::move(intents)}});
}

// Every FlowsSkill made by flows_skill_table(). They live until the process exits, because
// a host may still hold one as its skill state; init binds the most recent.
std::mutex g_mutex;
std::vector<std::unique_ptr<FlowsSkill>> g_skills;

int init(const teller_host_v1* host, const char* config_json, void** state) {
    (void)config_json;
    std::lock_guard lock(g_mutex);
    if (host == nullptr || host->api_version != TELLER_SKILL_API_VERSION || state == nullptr ||
        g_skills.empty()) {
        return 1;
    }
    g_skills.back()->host = host;
    *state = g_skills.back().get();
    return 0;
}

void shutdown(void* state) {
    (void)state;  // the FlowsSkill lives until the process exits (see g_skills)
}

}  // namespace

const teller_skill_v1* flows_skill_table(const std::filesystem::path& directory) {
    auto skill = std::make_unique<FlowsSkill>();
    skill->flows = load_flows(directory);  // throws core::Error naming file and line
    if (skill->flows.empty()) {
        return nullptr;
    }
    skill->manifest = build_manifest(skill->flows);

    std::lock_guard lock(g_mutex);
    g_skills.push_back(std::move(skill));
    static teller_skill_v1 table;
    table = {TELLER_SKILL_API_VERSION,
             "flows",
             g_skills.back()->manifest.c_str(),
             &init,
             &teller::plugins::handle_turns<FlowsSkill, handle_turn>,
             &teller::plugins::free_c_string,
             &shutdown};
    return &table;
}

}  // namespace teller::core
