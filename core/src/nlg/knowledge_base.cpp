// Loading the FAQ knowledge base from YAML, with file:line errors.
#include "teller/nlg/knowledge_base.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "teller/core/error.hpp"
#include "teller/nlu/tokenizer.hpp"

namespace teller::nlg {
namespace {

[[noreturn]] void fail(std::string_view file, const YAML::Node& node, const std::string& what) {
    throw core::Error(std::string(file) + ":" + std::to_string(node.Mark().line + 1) + ": " + what);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw core::Error(path.string() + ": cannot be read");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

ArticleText article_text(std::string_view file, const YAML::Node& node, const std::string& what) {
    if (!node.IsMap()) {
        fail(file, node, what + " must be a map with `questions` and `answer`");
    }
    ArticleText out;
    for (const auto& entry : node) {
        const std::string key = entry.first.as<std::string>();
        if (key != "questions" && key != "answer") {
            fail(file, entry.first, "unknown key \"" + key + "\" in " + what);
        }
    }
    const YAML::Node questions = node["questions"];
    if (!questions || !questions.IsSequence() || questions.size() == 0) {
        fail(file, node, what + " has no questions");
    }
    for (const YAML::Node& q : questions) {
        std::string text = q.as<std::string>();
        if (text.empty()) {
            fail(file, q, what + " has an empty question");
        }
        out.questions.push_back(std::move(text));
    }
    const YAML::Node answer = node["answer"];
    if (!answer || !answer.IsScalar() || answer.as<std::string>().empty()) {
        fail(file, node, what + " has no answer");
    }
    out.answer = answer.as<std::string>();
    return out;
}

}  // namespace

KnowledgeBase KnowledgeBase::parse(std::string_view yaml, std::string_view file) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw core::Error(std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    KnowledgeBase kb;
    try {
        const YAML::Node articles = root["articles"];
        if (!root.IsMap() || !articles || !articles.IsSequence()) {
            fail(file, root, "expected a map with an `articles` list");
        }
        std::set<std::string> ids;
        for (const YAML::Node& node : articles) {
            if (!node.IsMap()) {
                fail(file, node, "an article must be a map");
            }
            Article a;
            a.origin = std::string(file) + ":" + std::to_string(node.Mark().line + 1);
            const YAML::Node id = node["id"];
            if (!id || !id.IsScalar() || id.as<std::string>().empty()) {
                fail(file, node, "article without an id");
            }
            a.id = id.as<std::string>();
            if (!ids.insert(a.id).second) {
                fail(file, id, "article id \"" + a.id + "\" is used twice");
            }
            if (const YAML::Node topic = node["topic"]) {
                a.topic = topic.as<std::string>();
            }
            for (const auto& entry : node) {
                const std::string key = entry.first.as<std::string>();
                if (key != "id" && key != "topic" && key != "en" && key != "zh-CN") {
                    fail(file, entry.first,
                         "unknown key \"" + key + "\" in article \"" + a.id + "\"");
                }
            }
            for (const char* locale : {"en", "zh-CN"}) {
                const YAML::Node text = node[locale];
                if (!text) {
                    fail(file, node,
                         "article \"" + a.id + "\" has no " + std::string(locale) + " part");
                }
                a.locales[locale] = article_text(
                    file, text, "the " + std::string(locale) + " part of \"" + a.id + "\"");
            }
            kb.articles_.push_back(std::move(a));
        }
    } catch (const YAML::Exception& e) {
        throw core::Error(std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return kb;
}

KnowledgeBase KnowledgeBase::load(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        return parse(read_file(path), path.string());
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    KnowledgeBase all;
    for (const fs::path& file : files) {
        KnowledgeBase one = parse(read_file(file), file.string());
        for (Article& a : one.articles_) {
            if (const Article* before = all.find(a.id)) {
                throw core::Error(a.origin + ": article id \"" + a.id + "\" is already used at " +
                                  before->origin);
            }
            all.articles_.push_back(std::move(a));
        }
    }
    return all;
}

const Article* KnowledgeBase::find(std::string_view id) const {
    for (const Article& a : articles_) {
        if (a.id == id) {
            return &a;
        }
    }
    return nullptr;
}

std::string KnowledgeBase::answer(std::string_view id, std::string_view locale) const {
    const Article* a = find(id);
    if (a == nullptr) {
        return {};
    }
    return a->locales.at(locale == "zh-CN" ? "zh-CN" : "en").answer;
}

std::vector<LabeledQuestion> KnowledgeBase::questions() const {
    std::vector<LabeledQuestion> out;
    for (const Article& a : articles_) {
        for (const auto& [locale, text] : a.locales) {
            for (const std::string& q : text.questions) {
                out.push_back({q, a.id, locale});
            }
        }
    }
    return out;
}

std::string KnowledgeBase::fingerprint() const {
    std::string all;
    for (const LabeledQuestion& q : questions()) {
        all += q.article + '\x1f' + q.text + '\x1e';
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(nlu::fnv1a_64(all)));
    return hex;
}

}  // namespace teller::nlg
