// The knowledge base: FAQ articles with question variants and a verbatim answer per locale.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace teller::nlg {

/// One article's questions and answer in one locale.
struct ArticleText {
    std::vector<std::string> questions;  ///< ways a customer asks it
    std::string answer;                  ///< sent verbatim, never generated
};

/// One FAQ article.
struct Article {
    std::string id;                              ///< unique, e.g. "fees.international_transfer"
    std::string topic;                           ///< grouping for reports ("fees", "cards", ...)
    std::map<std::string, ArticleText> locales;  ///< "en", "zh-CN"
    std::string origin;                          ///< "file:line" of the article
};

/// A question with the article it belongs to (training and evaluation data).
struct LabeledQuestion {
    std::string text;
    std::string article;
    std::string locale;
};

/// Articles loaded from YAML (format: knowledge/README.md). Immutable after loading; const
/// members are thread-safe.
class KnowledgeBase {
public:
    /// Loads one YAML file or every `*.yaml` file in a folder (sorted). Throws core::Error
    /// "file:line: problem" for YAML syntax, an article without id, a duplicate id, a locale
    /// (en, zh-CN) without questions or answer, an unknown key.
    static KnowledgeBase load(const std::filesystem::path& path);

    /// As load() for YAML text; `file` names it in errors.
    static KnowledgeBase parse(std::string_view yaml, std::string_view file);

    const std::vector<Article>& articles() const noexcept { return articles_; }
    /// nullptr when no article has that id.
    const Article* find(std::string_view id) const;
    /// The answer of article `id` in `locale` (en when the locale is not zh-CN); empty if unknown.
    std::string answer(std::string_view id, std::string_view locale) const;

    /// Every question variant with its article, in file order.
    std::vector<LabeledQuestion> questions() const;

    /// Fingerprint (FNV-1a, hex) of the article ids and questions: a FAQ model
    /// trained on other questions is refused at start-up.
    std::string fingerprint() const;

private:
    std::vector<Article> articles_;
};

}  // namespace teller::nlg
