// Training data: inline annotations, YAML data files, synonyms, lookups and their validation.
#include "teller/nlu/training_data.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <utility>

namespace teller::nlu {
namespace {

// ASCII lower case with runs of white space collapsed and the ends trimmed: the key under
// which examples count as duplicates and synonyms match.
std::string fold(std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out.push_back(' ');
            space = false;
        }
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
}

bool valid_type_name(std::string_view type) {
    if (type.empty()) {
        return false;
    }
    return std::all_of(type.begin(), type.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

std::string at_column(std::size_t column, const std::string& what) {
    return what + " (column " + std::to_string(column + 1) + ")";
}

// Reads the JSON object of a `[span]{...}` annotation starting at `begin` (the '{'). Returns
// the index after its closing brace, or nullopt with `error` set.
std::optional<std::size_t> read_json_annotation(std::string_view example, std::size_t begin,
                                                core::Entity& entity, std::string& error) {
    // Find the matching closing brace outside JSON strings.
    int depth = 0;
    bool in_string = false;
    std::size_t end = std::string_view::npos;
    for (std::size_t i = begin; i < example.size(); ++i) {
        const char c = example[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            end = i + 1;
            break;
        }
    }
    if (end == std::string_view::npos) {
        error = at_column(begin, "unclosed '{' of an annotation");
        return std::nullopt;
    }

    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(example.substr(begin, end - begin), ec);
    if (ec || !value.is_object()) {
        error = at_column(begin, "annotation is not a JSON object");
        return std::nullopt;
    }
    for (const auto& [key, field] : value.as_object()) {
        if (key != "entity" && key != "value") {
            error = at_column(begin, "unknown annotation key \"" + std::string(key) +
                                         "\" (expected entity, value)");
            return std::nullopt;
        }
        if (!field.is_string()) {
            error = at_column(begin, "annotation key \"" + std::string(key) + "\" needs a string");
            return std::nullopt;
        }
    }
    const auto* type = value.as_object().if_contains("entity");
    if (type == nullptr || !valid_type_name(type->as_string())) {
        error = at_column(begin, "annotation needs \"entity\": a type name");
        return std::nullopt;
    }
    entity.type = std::string(type->as_string());
    if (const auto* norm = value.as_object().if_contains("value")) {
        entity.value = std::string(norm->as_string());
    }
    return end;
}

// Issues for one source, in the order they were found.
class Issues {
public:
    explicit Issues(std::vector<DataIssue>& out) : out_(out) {}
    void error(const std::string& file, std::size_t line, std::string message) {
        out_.push_back({DataIssue::Severity::error, file, line, std::move(message)});
    }
    void warning(const std::string& file, std::size_t line, std::string message) {
        out_.push_back({DataIssue::Severity::warning, file, line, std::move(message)});
    }

private:
    std::vector<DataIssue>& out_;
};

std::size_t line_of(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.line >= 0 ? static_cast<std::size_t>(mark.line) + 1 : 0;
}

// Where an example was first seen, for duplicate reports.
struct Seen {
    std::string intent;
    std::string file;
    std::size_t line = 0;
};

// Accumulates examples from every source and runs the cross-source checks.
class Collector {
public:
    explicit Collector(TrainingData& data) : data_(data), issues_(data.issues) {}

    Issues& issues() { return issues_; }

    // Checks and adds one example. `declared` limits the entity types (nullptr: any).
    void add(const std::string& file, std::size_t line, const std::string& intent,
             const std::string& locale, std::string_view raw,
             const std::set<std::string>* declared) {
        AnnotatedExample parsed = parse_annotations(raw);
        if (!parsed.ok()) {
            issues_.error(file, line, "malformed annotation: " + parsed.error);
            return;
        }
        if (fold(parsed.text).empty()) {
            issues_.error(file, line, "empty example in intent " + intent);
            return;
        }
        bool types_ok = true;
        for (const core::Entity& e : parsed.entities) {
            if (declared != nullptr && !declared->contains(e.type)) {
                issues_.error(file, line,
                              "unknown entity type '" + e.type +
                                  "' (declare it under `entities:` or use a built-in type)");
                types_ok = false;
            }
        }
        if (!types_ok) {
            return;
        }

        // Locale script: CJK in English data, or none at all in Chinese data.
        const bool cjk = core::detect_locale(parsed.text) == "zh-CN";
        if (locale == "en" && cjk) {
            issues_.warning(file, line,
                            "example \"" + parsed.text + "\" in intent " + intent +
                                " is written in Chinese but the locale is en");
        } else if (locale == "zh-CN" && !cjk) {
            issues_.warning(file, line,
                            "example \"" + parsed.text + "\" in intent " + intent +
                                " has no Chinese characters but the locale is zh-CN");
        }

        // Duplicates: across intents an error (the model cannot learn both), within one a warning.
        const std::string key = fold(parsed.text);
        auto [it, fresh] = seen_.try_emplace(key, Seen{intent, file, line});
        if (!fresh) {
            const Seen& first = it->second;
            const std::string where =
                first.file + (first.line > 0 ? ":" + std::to_string(first.line) : "");
            if (first.intent != intent) {
                issues_.error(file, line,
                              "example \"" + parsed.text + "\" is under intents " + first.intent +
                                  " (" + where + ") and " + intent);
                return;
            }
            issues_.warning(file, line, "example \"" + parsed.text + "\" repeats one at " + where);
            return;
        }

        for (core::Entity& e : parsed.entities) {
            if (e.value.empty()) {
                e.value = e.text;
            }
        }
        data_.examples.push_back({std::move(parsed.text), intent, std::move(parsed.entities)});
        data_.locales.push_back(locale);
    }

    // Adds a synonym, reporting aliases already mapped to another value.
    void add_synonym(const std::string& file, std::size_t line, Synonym synonym) {
        for (const std::string& word : synonym.aliases) {
            auto [it, fresh] = alias_values_.try_emplace(fold(word), synonym.value);
            if (!fresh && it->second != synonym.value) {
                issues_.error(file, line,
                              "alias '" + word + "' is given two values: " + it->second + " and " +
                                  synonym.value);
            }
        }
        data_.synonyms.push_back(std::move(synonym));
    }

    void add_lookup(std::string entity, std::vector<std::string> values) {
        data_.lookups.push_back({std::move(entity), std::move(values)});
    }

    void declare(const std::set<std::string>& types) {
        data_.entity_types.insert(types.begin(), types.end());
    }

    // Errors first, then warnings; each kind in reading order.
    void finish() {
        std::stable_partition(data_.issues.begin(), data_.issues.end(), [](const DataIssue& i) {
            return i.severity == DataIssue::Severity::error;
        });
    }

private:
    TrainingData& data_;
    Issues issues_;
    std::map<std::string, Seen> seen_;
    std::map<std::string, std::string> alias_values_;
};

std::optional<std::vector<std::string>> string_list(const YAML::Node& node) {
    if (!node.IsSequence()) {
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (const YAML::Node& item : node) {
        if (!item.IsScalar()) {
            return std::nullopt;
        }
        out.push_back(item.Scalar());
    }
    return out;
}

// Checks that `node` (a map) has only `allowed` keys.
bool known_keys(const YAML::Node& node, std::initializer_list<std::string_view> allowed,
                const std::string& file, std::string_view where, Issues& issues) {
    bool ok = true;
    for (const auto& kv : node) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string expected;
            for (std::string_view a : allowed) {
                expected += (expected.empty() ? "" : ", ") + std::string(a);
            }
            issues.error(file, line_of(kv.first),
                         "unknown key '" + key + "' in " + std::string(where) + " (expected " +
                             expected + ")");
            ok = false;
        }
    }
    return ok;
}

// Reads one YAML data file into the collector.
void load_file(const std::filesystem::path& path, Collector& collector) {
    const std::string file = path.string();
    Issues& issues = collector.issues();
    YAML::Node root;
    try {
        root = YAML::LoadFile(file);
    } catch (const YAML::BadFile&) {
        issues.error(file, 0, "cannot open");
        return;
    } catch (const YAML::Exception& e) {
        const std::size_t line = e.mark.line >= 0 ? static_cast<std::size_t>(e.mark.line) + 1 : 0;
        issues.error(file, line, "YAML syntax: " + e.msg);
        return;
    }
    if (!root.IsMap()) {
        issues.error(file, root.IsDefined() ? line_of(root) : 1,
                     "a data file is a map with version, locale and intents");
        return;
    }
    known_keys(root, {"version", "locale", "entities", "intents", "synonyms", "lookups"}, file,
               "the file", issues);

    try {
        // version and locale.
        if (!root["version"] || !root["version"].IsScalar() || root["version"].Scalar() != "1") {
            issues.error(file, root["version"] ? line_of(root["version"]) : 1,
                         "`version: 1` is required");
        }
        std::string locale;
        if (!root["locale"] || !root["locale"].IsScalar()) {
            issues.error(file, 1, "`locale:` (en or zh-CN) is required");
        } else {
            locale = root["locale"].Scalar();
            if (locale != "en" && locale != "zh-CN") {
                issues.error(file, line_of(root["locale"]),
                             "unknown locale '" + locale + "' (expected en or zh-CN)");
            }
        }

        // Declared entity types.
        std::set<std::string> declared = builtin_entity_types();
        if (const YAML::Node entities = root["entities"]) {
            const auto names = string_list(entities);
            if (!names) {
                issues.error(file, line_of(entities), "`entities:` is a list of type names");
            } else {
                for (const std::string& name : *names) {
                    if (!valid_type_name(name)) {
                        issues.error(file, line_of(entities),
                                     "entity type '" + name + "' has characters other than " +
                                         "letters, digits, _ - .");
                    }
                    declared.insert(name);
                }
            }
        }
        collector.declare(declared);

        // Intents and their examples.
        const YAML::Node intents = root["intents"];
        if (!intents || !intents.IsSequence()) {
            issues.error(file, intents ? line_of(intents) : 1,
                         "`intents:` is required: a list of {name, examples}");
        } else {
            for (const YAML::Node& intent : intents) {
                if (!intent.IsMap()) {
                    issues.error(file, line_of(intent), "an intent is a map {name, examples}");
                    continue;
                }
                known_keys(intent, {"name", "examples"}, file, "an intent", issues);
                const YAML::Node name = intent["name"];
                if (!name || !name.IsScalar() || name.Scalar().empty()) {
                    issues.error(file, line_of(intent), "intent without a `name:`");
                    continue;
                }
                const YAML::Node examples = intent["examples"];
                if (!examples || !examples.IsSequence() || examples.size() == 0) {
                    issues.error(file, line_of(intent),
                                 "intent " + name.Scalar() + " has no examples");
                    continue;
                }
                for (const YAML::Node& example : examples) {
                    if (!example.IsScalar()) {
                        issues.error(file, line_of(example), "an example is a string");
                        continue;
                    }
                    collector.add(file, line_of(example), name.Scalar(), locale, example.Scalar(),
                                  &declared);
                }
            }
        }

        // Synonyms.
        if (const YAML::Node synonyms = root["synonyms"]) {
            if (!synonyms.IsSequence()) {
                issues.error(file, line_of(synonyms), "`synonyms:` is a list of {value, aliases}");
            } else {
                for (const YAML::Node& s : synonyms) {
                    if (!s.IsMap()) {
                        issues.error(file, line_of(s), "a synonym is a map {value, aliases}");
                        continue;
                    }
                    known_keys(s, {"value", "aliases"}, file, "a synonym", issues);
                    const auto aliases = s["aliases"] ? string_list(s["aliases"]) : std::nullopt;
                    if (!s["value"] || !s["value"].IsScalar() || !aliases) {
                        issues.error(file, line_of(s),
                                     "a synonym needs `value:` and a list of `aliases:`");
                        continue;
                    }
                    collector.add_synonym(file, line_of(s), {s["value"].Scalar(), *aliases});
                }
            }
        }

        // Lookup tables.
        if (const YAML::Node lookups = root["lookups"]) {
            if (!lookups.IsSequence()) {
                issues.error(file, line_of(lookups), "`lookups:` is a list of {entity, values}");
                return;
            }
            for (const YAML::Node& l : lookups) {
                if (!l.IsMap()) {
                    issues.error(file, line_of(l), "a lookup is a map {entity, values}");
                    continue;
                }
                known_keys(l, {"entity", "values"}, file, "a lookup", issues);
                const auto values = l["values"] ? string_list(l["values"]) : std::nullopt;
                if (!l["entity"] || !l["entity"].IsScalar() || !values) {
                    issues.error(file, line_of(l),
                                 "a lookup needs `entity:` and a list of `values:`");
                    continue;
                }
                const std::string type = l["entity"].Scalar();
                if (!declared.contains(type)) {
                    issues.error(file, line_of(l["entity"]),
                                 "unknown entity type '" + type +
                                     "' (declare it under `entities:` or use a built-in type)");
                    continue;
                }
                collector.add_lookup(type, *values);
            }
        }
    } catch (const YAML::Exception& e) {
        const std::size_t line = e.mark.line >= 0 ? static_cast<std::size_t>(e.mark.line) + 1 : 0;
        issues.error(file, line, "unexpected YAML structure: " + e.msg);
    }
}

}  // namespace

const std::set<std::string>& builtin_entity_types() {
    static const std::set<std::string> types{"amount",      "date",       "percentage",    "phone",
                                             "card_number", "card_last4", "account_number"};
    return types;
}

AnnotatedExample parse_annotations(std::string_view example) {
    AnnotatedExample out;
    std::optional<std::size_t> open;  // index in out.text where the current span started
    std::size_t open_column = 0;

    for (std::size_t i = 0; i < example.size(); ++i) {
        const char c = example[i];
        if (c == '\\' && i + 1 < example.size() &&
            std::string_view("[](){}\\").find(example[i + 1]) != std::string_view::npos) {
            out.text.push_back(example[++i]);
            continue;
        }
        if (c == '[') {
            if (open) {
                out.error = at_column(i, "nested '[' inside an annotation");
                return out;
            }
            open = out.text.size();
            open_column = i;
            continue;
        }
        if (c != ']') {
            out.text.push_back(c);
            continue;
        }

        // A closing bracket: the span ends here and the type follows.
        if (!open) {
            out.error = at_column(i, "']' without an opening '['");
            return out;
        }
        core::Entity entity;
        entity.begin = *open;
        entity.end = out.text.size();
        entity.text = out.text.substr(entity.begin);
        open.reset();
        if (entity.text.empty()) {
            out.error = at_column(open_column, "empty annotated span");
            return out;
        }
        const char next = i + 1 < example.size() ? example[i + 1] : '\0';
        if (next == '(') {
            const std::size_t close = example.find(')', i + 2);
            if (close == std::string_view::npos) {
                out.error = at_column(i + 1, "unclosed '(' of an annotation");
                return out;
            }
            entity.type = std::string(example.substr(i + 2, close - i - 2));
            if (!valid_type_name(entity.type)) {
                out.error = at_column(i + 1, "bad entity type '" + entity.type + "'");
                return out;
            }
            i = close;
        } else if (next == '{') {
            const auto end = read_json_annotation(example, i + 1, entity, out.error);
            if (!end) {
                return out;
            }
            i = *end - 1;
        } else {
            out.error = at_column(open_column, "annotation [" + entity.text +
                                                   "] needs (type) or {\"entity\": ...} after it" +
                                                   " (write \\[ for a literal bracket)");
            return out;
        }
        out.entities.push_back(std::move(entity));
    }
    if (open) {
        out.error = at_column(open_column, "unclosed '['");
    }
    return out;
}

std::string DataIssue::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line);
    }
    out += severity == Severity::error ? ": error: " : ": warning: ";
    out += message;
    return out;
}

std::size_t TrainingData::error_count() const {
    return static_cast<std::size_t>(std::count_if(issues.begin(), issues.end(), [](const auto& i) {
        return i.severity == DataIssue::Severity::error;
    }));
}

std::size_t TrainingData::warning_count() const {
    return issues.size() - error_count();
}

std::string TrainingData::normalise(std::string_view text) const {
    const std::string key = fold(text);
    for (const Synonym& s : synonyms) {
        if (fold(s.value) == key) {
            return s.value;
        }
        for (const std::string& alias : s.aliases) {
            if (fold(alias) == key) {
                return s.value;
            }
        }
    }
    return std::string(text);
}

void TrainingData::normalise_entities(std::vector<core::Entity>& entities) const {
    for (core::Entity& e : entities) {
        e.value = normalise(e.value);
    }
}

std::vector<core::Entity> TrainingData::find_lookup_entities(std::string_view text) const {
    const std::string folded = [&] {
        std::string s(text);
        for (char& c : s) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        return s;
    }();
    auto word_char = [&](std::size_t i) {
        const char c = folded[i];
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };

    // Every match of every value, then the longest ones that do not overlap.
    std::vector<core::Entity> found;
    for (const LookupTable& table : lookups) {
        for (const std::string& value : table.values) {
            std::string needle = fold(value);
            if (needle.empty()) {
                continue;
            }
            for (std::size_t at = folded.find(needle); at != std::string::npos;
                 at = folded.find(needle, at + 1)) {
                const std::size_t end = at + needle.size();
                const bool ascii_edges = word_char(at) || word_char(end - 1);
                if (ascii_edges &&
                    ((at > 0 && word_char(at - 1)) || (end < folded.size() && word_char(end)))) {
                    continue;
                }
                found.push_back({table.entity, normalise(value),
                                 std::string(text.substr(at, end - at)), at, end});
            }
        }
    }
    std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return a.end - a.begin > b.end - b.begin;
    });
    std::vector<core::Entity> kept;
    for (core::Entity& e : found) {
        const bool overlaps = std::any_of(kept.begin(), kept.end(), [&](const auto& k) {
            return e.begin < k.end && k.begin < e.end;
        });
        if (!overlaps) {
            kept.push_back(std::move(e));
        }
    }
    std::sort(kept.begin(), kept.end(),
              [](const auto& a, const auto& b) { return a.begin < b.begin; });
    return kept;
}

TrainingData load_training_data(const std::vector<std::filesystem::path>& files) {
    TrainingData data;
    data.entity_types = builtin_entity_types();
    Collector collector(data);
    for (const std::filesystem::path& path : files) {
        load_file(path, collector);
    }
    collector.finish();
    return data;
}

TrainingData from_training_examples(const std::vector<core::TrainingExample>& examples) {
    TrainingData data;
    data.entity_types = builtin_entity_types();
    Collector collector(data);
    for (const core::TrainingExample& e : examples) {
        collector.add("skill examples (" + e.intent + ")", 0, e.intent, e.locale, e.text, nullptr);
    }
    for (const LabeledUtterance& u : data.examples) {
        for (const core::Entity& e : u.entities) {
            data.entity_types.insert(e.type);
        }
    }
    collector.finish();
    return data;
}

}  // namespace teller::nlu
