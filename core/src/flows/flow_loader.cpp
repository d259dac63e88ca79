// Reads flow files (YAML) into Flow values, rejecting every mistake with file and line.
#include <algorithm>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "teller/core/error.hpp"
#include "teller/core/flows.hpp"

namespace teller::core {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kLocales[] = {"en", "zh-CN"};
constexpr std::string_view kEntities[] = {"amount",     "date",       "phone",
                                          "card_last4", "percentage", "account_number"};
constexpr std::string_view kOperators[] = {"==", "!=", "<=", ">=", "<", ">"};

/// Reads one file; every complaint carries the file name and a line.
class Reader {
public:
    explicit Reader(fs::path file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const YAML::Node& at, const std::string& problem) const {
        int line = at.IsDefined() ? at.Mark().line + 1 : 0;
        fail_at(line, problem);
    }

    [[noreturn]] void fail_at(int line, const std::string& problem) const {
        throw Error("flow " + file_.string() + ":" + std::to_string(line) + ": " + problem);
    }

    void only_keys(const YAML::Node& map, std::initializer_list<std::string_view> keys,
                   std::string_view what) const {
        if (!map.IsMap()) {
            fail(map, std::string(what) + " must be a mapping");
        }
        for (const auto& entry : map) {
            std::string key = entry.first.as<std::string>();
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                fail(entry.first, "unknown key \"" + key + "\" in " + std::string(what));
            }
        }
    }

    std::string scalar(const YAML::Node& node, std::string_view what) const {
        if (!node.IsDefined() || !node.IsScalar()) {
            fail(node, std::string(what) + " must be a string");
        }
        return node.as<std::string>();
    }

    /// Text in both locales, or a plain string used for both.
    LocalizedText text(const YAML::Node& node, std::string_view what) const {
        LocalizedText out;
        if (node.IsScalar()) {
            for (std::string_view l : kLocales) {
                out[std::string(l)] = node.as<std::string>();
            }
            return out;
        }
        if (!node.IsMap()) {
            fail(node, std::string(what) + " must be text or a mapping of locale to text");
        }
        for (const auto& entry : node) {
            std::string locale = entry.first.as<std::string>();
            if (std::find(std::begin(kLocales), std::end(kLocales), locale) == std::end(kLocales)) {
                fail(entry.first, "unknown locale \"" + locale + "\" in " + std::string(what) +
                                      " (use en and zh-CN)");
            }
            out[locale] = scalar(entry.second, what);
        }
        for (std::string_view l : kLocales) {
            if (!out.contains(std::string(l))) {
                fail(node, std::string(what) + " has no \"" + std::string(l) + "\" text");
            }
        }
        return out;
    }

    const fs::path& file() const { return file_; }

private:
    fs::path file_;
};

double number(const Reader& r, const YAML::Node& node, std::string_view what) {
    try {
        return node.as<double>();
    } catch (const YAML::Exception&) {
        r.fail(node, std::string(what) + " must be a number");
    }
}

SlotSpec read_slot(const Reader& r, const std::string& name, const YAML::Node& node) {
    r.only_keys(node,
                {"type", "entity", "choices", "min", "max", "max_length", "prompt", "invalid"},
                "slot \"" + name + "\"");
    SlotSpec s;
    s.name = name;
    s.line = node.Mark().line + 1;
    s.kind = node["type"] ? r.scalar(node["type"], "type") : "entity";
    if (s.kind == "entity") {
        s.entity = r.scalar(node["entity"], "slot \"" + name + "\" entity");
        if (std::find(std::begin(kEntities), std::end(kEntities), s.entity) ==
            std::end(kEntities)) {
            r.fail(node["entity"], "unknown entity type \"" + s.entity + "\"");
        }
    } else if (s.kind == "choice") {
        const YAML::Node choices = node["choices"];
        if (!choices.IsSequence() || choices.size() == 0) {
            r.fail(node, "choice slot \"" + name + "\" needs a non-empty choices list");
        }
        for (const YAML::Node& c : choices) {
            r.only_keys(c, {"value", "title"}, "a choice");
            s.choices.push_back(
                {r.scalar(c["value"], "choice value"), r.text(c["title"], "choice title")});
        }
    } else if (s.kind != "text") {
        r.fail(node["type"], "slot type must be entity, choice or text, not \"" + s.kind + "\"");
    }
    if (node["min"]) {
        s.min = number(r, node["min"], "min");
        s.has_min = true;
    }
    if (node["max"]) {
        s.max = number(r, node["max"], "max");
        s.has_max = true;
    }
    if (node["max_length"]) {
        s.max_length = static_cast<std::size_t>(number(r, node["max_length"], "max_length"));
    }
    if (!node["prompt"]) {
        r.fail(node, "slot \"" + name + "\" needs a prompt");
    }
    s.prompt = r.text(node["prompt"], "prompt");
    s.invalid = node["invalid"] ? r.text(node["invalid"], "invalid")
                                : LocalizedText{{"en", "Sorry, I can't use that."},
                                                {"zh-CN", "抱歉，这个答复无法使用。"}};
    return s;
}

// Parses "slot op value" (value may be quoted).
FlowStep::Case read_case(const Reader& r, const YAML::Node& node) {
    r.only_keys(node, {"if", "goto"}, "a branch case");
    std::string condition = r.scalar(node["if"], "if");
    static const std::regex kCondition(
        R"(^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$)");
    std::smatch m;
    if (!std::regex_match(condition, m, kCondition)) {
        r.fail(node["if"], "condition \"" + condition +
                               "\" is not `slot <op> value` with op one of "
                               "== != < <= > >=");
    }
    std::string value = m[3].str();
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
    }
    return {m[1].str(), m[2].str(), value, r.scalar(node["goto"], "goto")};
}

FlowStep read_step(const Reader& r, const YAML::Node& node) {
    r.only_keys(node,
                {"id", "ask", "confirm", "action", "branch", "say", "goto", "end", "handoff",
                 "on_no", "no_text", "on_error"},
                "a step");
    FlowStep step;
    step.line = node.Mark().line + 1;
    step.id = node["id"] ? r.scalar(node["id"], "id") : "";
    int kinds = 0;
    for (std::string_view k :
         {"ask", "confirm", "action", "branch", "say", "goto", "end", "handoff"}) {
        if (node[std::string(k)]) {
            step.kind = std::string(k);
            ++kinds;
        }
    }
    if (kinds != 1) {
        r.fail(node,
               "a step needs exactly one of ask, confirm, action, branch, say, goto, end, "
               "handoff");
    }
    const YAML::Node body = node[step.kind];
    if (step.kind == "ask") {
        step.slot = r.scalar(body, "ask");
    } else if (step.kind == "confirm") {
        step.text = r.text(body, "confirm");
        if (node["on_no"]) {
            step.on_no = r.scalar(node["on_no"], "on_no");
        }
        step.no_text = node["no_text"] ? r.text(node["no_text"], "no_text")
                                       : LocalizedText{{"en", "All right, I've done nothing."},
                                                       {"zh-CN", "好的，没有做任何操作。"}};
    } else if (step.kind == "action") {
        step.operation = r.scalar(body, "action");
        step.error_text =
            node["on_error"]
                ? r.text(node["on_error"], "on_error")
                : LocalizedText{{"en", "Sorry, that didn't work. Nothing was changed."},
                                {"zh-CN", "抱歉，操作未成功，没有做任何更改。"}};
    } else if (step.kind == "branch") {
        if (!body.IsSequence() || body.size() == 0) {
            r.fail(body, "branch needs a list of {if, goto} cases");
        }
        for (const YAML::Node& c : body) {
            step.cases.push_back(read_case(r, c));
        }
    } else if (step.kind == "goto") {
        step.target = r.scalar(body, "goto");
    } else if (step.kind == "say") {
        step.text = r.text(body, "say");
    } else if (step.kind == "end" || step.kind == "handoff") {
        if (!body.IsNull() && !(body.IsScalar() && body.as<std::string>().empty())) {
            step.text = r.text(body, step.kind);
        }
    }
    return step;
}

// Every `{name}` in `text` must be a slot or `result.<field>`.
void check_template(const Reader& r, int line, const LocalizedText& text, const Flow& flow) {
    static const std::regex kPlaceholder(R"(\{([^{}]*)\})");
    for (const auto& [locale, t] : text) {
        for (auto it = std::sregex_iterator(t.begin(), t.end(), kPlaceholder);
             it != std::sregex_iterator(); ++it) {
            std::string name = (*it)[1].str();
            if (name.starts_with("result.") || flow.slots.contains(name)) {
                continue;
            }
            r.fail_at(line, "the " + locale + " text names {" + name + "}, which is not a slot");
        }
    }
}

}  // namespace

Flow load_flow_file(const fs::path& file) {
    Reader r(file);
    YAML::Node root;
    try {
        root = YAML::LoadFile(file.string());
    } catch (const YAML::ParserException& e) {
        r.fail_at(e.mark.line + 1, "YAML syntax: " + e.msg);
    } catch (const YAML::BadFile&) {
        throw Error("flow " + file.string() + ": cannot be read");
    }
    r.only_keys(root,
                {"version", "flow", "intent", "title", "examples", "slots", "steps", "max_attempts",
                 "verified"},
                "a flow file");
    if (!root["version"] || root["version"].as<std::string>() != "1") {
        r.fail(root, "\"version: 1\" is required");
    }

    Flow flow;
    flow.file = file.string();
    flow.name = r.scalar(root["flow"], "flow");
    flow.intent = r.scalar(root["intent"], "intent");
    if (flow.intent.find('.') == std::string::npos) {
        r.fail(root["intent"], "intent \"" + flow.intent +
                                   "\" must be written skill-style, "
                                   "e.g. \"transfers.own_accounts\"");
    }
    flow.title = r.text(root["title"], "title");
    if (root["verified"]) {
        try {
            flow.verified = root["verified"].as<bool>();
        } catch (const YAML::Exception&) {
            r.fail(root["verified"], "verified must be true or false");
        }
    }
    if (root["max_attempts"]) {
        flow.max_attempts = static_cast<int>(number(r, root["max_attempts"], "max_attempts"));
    }

    // Examples per locale.
    r.only_keys(root["examples"], {"en", "zh-CN"}, "examples");
    for (std::string_view l : kLocales) {
        const YAML::Node list = root["examples"][std::string(l)];
        if (!list.IsSequence() || list.size() < 5) {
            r.fail(root["examples"],
                   "examples need at least 5 \"" + std::string(l) + "\" utterances");
        }
        std::set<std::string> seen;
        for (const YAML::Node& e : list) {
            std::string text = r.scalar(e, "an example");
            if (!seen.insert(text).second) {
                r.fail(e, "duplicate example \"" + text + "\"");
            }
            flow.examples[std::string(l)].push_back(text);
        }
    }

    if (root["slots"]) {
        if (!root["slots"].IsMap()) {
            r.fail(root["slots"], "slots must be a mapping of name to slot");
        }
        for (const auto& entry : root["slots"]) {
            std::string name = entry.first.as<std::string>();
            flow.slots.emplace(name, read_slot(r, name, entry.second));
        }
    }

    const YAML::Node steps = root["steps"];
    if (!steps.IsSequence() || steps.size() == 0) {
        r.fail(root, "steps must be a non-empty list");
    }
    std::set<std::string> ids;
    for (const YAML::Node& s : steps) {
        FlowStep step = read_step(r, s);
        if (!step.id.empty() && !ids.insert(step.id).second) {
            r.fail_at(step.line, "duplicate step id \"" + step.id + "\"");
        }
        flow.steps.push_back(std::move(step));
    }

    // Cross-references: slots, step ids, templates.
    for (const FlowStep& step : flow.steps) {
        auto known_step = [&](const std::string& id) {
            if (!ids.contains(id)) {
                r.fail_at(step.line, "no step has the id \"" + id + "\"");
            }
        };
        if (step.kind == "ask" && !flow.slots.contains(step.slot)) {
            r.fail_at(step.line, "ask names the unknown slot \"" + step.slot + "\"");
        }
        if (step.kind == "goto") {
            known_step(step.target);
        }
        if (!step.on_no.empty()) {
            known_step(step.on_no);
        }
        for (const FlowStep::Case& c : step.cases) {
            if (!flow.slots.contains(c.slot)) {
                r.fail_at(step.line, "the condition names the unknown slot \"" + c.slot + "\"");
            }
            known_step(c.target);
        }
        for (const LocalizedText* t : {&step.text, &step.no_text, &step.error_text}) {
            check_template(r, step.line, *t, flow);
        }
    }
    for (const auto& [name, slot] : flow.slots) {
        check_template(r, slot.line, slot.prompt, flow);
        check_template(r, slot.line, slot.invalid, flow);
    }
    return flow;
}

std::vector<Flow> load_flows(const fs::path& directory) {
    std::vector<Flow> flows;
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) {
        return flows;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(directory)) {
        if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::map<std::string, std::string> intent_file;
    std::map<std::string, std::string> name_file;
    for (const fs::path& f : files) {
        Flow flow = load_flow_file(f);
        if (auto [it, fresh] = intent_file.emplace(flow.intent, f.string()); !fresh) {
            throw Error("flow " + f.string() + ": intent \"" + flow.intent + "\" is also used by " +
                        it->second);
        }
        if (auto [it, fresh] = name_file.emplace(flow.name, f.string()); !fresh) {
            throw Error("flow " + f.string() + ": flow name \"" + flow.name +
                        "\" is also used by " + it->second);
        }
        flows.push_back(std::move(flow));
    }
    return flows;
}

}  // namespace teller::core
