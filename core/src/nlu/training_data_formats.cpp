// Labelled data by file type: CSV, YAML data files and SNIPS-style JSON lines with BIO tags.
#include "teller/nlu/training_data.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <string>

namespace teller::nlu {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, std::size_t line,
                       const std::string& what) {
    throw core::Error(path.string() + ":" + std::to_string(line) + ": " + what);
}

// One SNIPS record: tokens joined by spaces, each B-/I- run an entity.
LabeledUtterance snips_record(const std::filesystem::path& path, std::size_t line,
                              const boost::json::object& record) {
    const auto* tokens = record.if_contains("tokens");
    const auto* tags = record.if_contains("tags");
    const auto* intent = record.if_contains("intent");
    if (tokens == nullptr || !tokens->is_array() || intent == nullptr || !intent->is_string()) {
        fail(path, line, "a record needs `tokens` (array) and `intent` (string)");
    }
    if (tags != nullptr &&
        (!tags->is_array() || tags->as_array().size() != tokens->as_array().size())) {
        fail(path, line, "`tags` must be an array as long as `tokens`");
    }

    LabeledUtterance out;
    out.intent = std::string(intent->as_string());
    core::Entity* open = nullptr;
    const auto& words = tokens->as_array();
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (!words[i].is_string()) {
            fail(path, line, "tokens must be strings");
        }
        if (i > 0) {
            out.text.push_back(' ');
        }
        const std::size_t begin = out.text.size();
        out.text += std::string(words[i].as_string());
        const std::size_t end = out.text.size();

        const std::string tag = tags == nullptr || !tags->as_array()[i].is_string()
                                    ? "O"
                                    : std::string(tags->as_array()[i].as_string());
        const std::string type = tag.size() > 2 ? tag.substr(2) : "";
        if (tag.starts_with("I-") && open != nullptr && open->type == type) {
            open->end = end;
            continue;
        }
        open = nullptr;
        if (tag.starts_with("B-") || tag.starts_with("I-")) {
            out.entities.push_back({type, "", "", begin, end});
            open = &out.entities.back();
        } else if (tag != "O") {
            fail(path, line, "tag '" + tag + "' is not O, B-type or I-type");
        }
    }
    for (core::Entity& e : out.entities) {
        e.text = out.text.substr(e.begin, e.end - e.begin);
        e.value = e.text;
    }
    return out;
}

}  // namespace

std::vector<LabeledUtterance> read_snips_jsonl(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw core::Error(path.string() + ": cannot open");
    }
    std::vector<LabeledUtterance> out;
    std::string text;
    for (std::size_t line = 1; std::getline(in, text); ++line) {
        if (text.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        boost::system::error_code ec;
        const boost::json::value value = boost::json::parse(text, ec);
        if (ec || !value.is_object()) {
            fail(path, line, "not a JSON object");
        }
        out.push_back(snips_record(path, line, value.as_object()));
    }
    return out;
}

std::vector<LabeledUtterance> read_labeled_data(const std::filesystem::path& path) {
    const std::string ext = path.extension().string();
    if (ext == ".jsonl") {
        return read_snips_jsonl(path);
    }
    if (ext == ".yaml" || ext == ".yml") {
        TrainingData data = load_training_data({path});
        if (data.error_count() > 0) {
            throw core::Error(data.issues.front().to_string() + " (teller validate-data " +
                              path.string() + " lists every problem)");
        }
        return std::move(data.examples);
    }
    return read_labeled_csv(path);
}

}  // namespace teller::nlu
