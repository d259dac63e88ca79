// Training data for skills: inline entity annotations, YAML data files, synonyms, lookup tables
// and the validator behind `teller validate-data`.
//
// A data file holds one skill's examples in one locale:
//
//     version: 1
//     locale: en                      # en or zh-CN
//     entities: [account]             # types beyond the rule-based ones (amount, date, ...)
//     intents:
//       - name: transfer
//         examples:
//           - send [500](amount) to [savings](account)
//           - move [five hundred]{"entity": "amount", "value": "500.00 USD"} to savings
//     synonyms:
//       - value: savings
//         aliases: [savings account, saver]
//     lookups:
//       - entity: account
//         values: [savings, current, joint]
//
// An annotation is `[span](type)` or `[span]{"entity": "type", "value": "normalised"}` (a JSON
// object; `value` optional). It becomes a core::Entity with byte offsets into the plain text,
// so Chinese spans ("转[五千元](amount)") are UTF-8 byte ranges. `\[`, `\]`, `\(`, `\)`, `\{`,
// `\}` and `\\` stand for the character itself; annotations do not nest.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/nlu.hpp"
#include "teller/core/skill_host.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::nlu {

/// Entity types the rule-based extractors produce (entities.hpp); data files may annotate
/// them without declaring them.
const std::set<std::string>& builtin_entity_types();

/// One example with its annotations removed, or the reason it cannot be read.
struct AnnotatedExample {
    std::string text;                    ///< the plain text
    std::vector<core::Entity> entities;  ///< in order; offsets are bytes into `text`
    std::string error;                   ///< empty when the annotations are well formed
    bool ok() const { return error.empty(); }
};

/// Parses the inline annotations of one example (see the file comment). On malformed syntax
/// (an unclosed or stray bracket, nesting, an empty span or type, a missing `(type)`, bad JSON
/// or unknown JSON keys) `error` names the problem and the byte column where it starts.
/// Thread-safe.
AnnotatedExample parse_annotations(std::string_view example);

/// A canonical entity value and the other ways customers write it.
struct Synonym {
    std::string value;
    std::vector<std::string> aliases;
};

/// Known values of one entity type (account names, card products...).
struct LookupTable {
    std::string entity;
    std::vector<std::string> values;
};

/// Where a problem in training data is, and what it is.
struct DataIssue {
    enum class Severity { error, warning };
    Severity severity = Severity::error;
    std::string file;      ///< a path, or "skill <name>" for examples from a skill plugin
    std::size_t line = 0;  ///< 1-based; 0 when the source has no lines
    std::string message;

    /// "file:line: error: message" (no line part when line is 0).
    std::string to_string() const;
};

/// Everything read from one or more data files (or skills' examples).
struct TrainingData {
    std::vector<LabeledUtterance> examples;
    std::vector<std::string> locales;  ///< the locale of each example, same order
    std::vector<Synonym> synonyms;
    std::vector<LookupTable> lookups;
    std::set<std::string> entity_types;  ///< declared types plus the built-in ones
    std::vector<DataIssue> issues;       ///< errors first, then warnings, each in reading order

    std::size_t error_count() const;
    std::size_t warning_count() const;

    /// The canonical value for `text` when it is a synonym's value or alias (ASCII case and
    /// runs of spaces ignored), else `text` unchanged. Thread-safe (const).
    std::string normalise(std::string_view text) const;

    /// Sets each entity's value to its canonical form (see normalise()) when the value is a
    /// known alias. Rule-based values ("5000.00 USD") are left as they are.
    void normalise_entities(std::vector<core::Entity>& entities) const;

    /// Entities for lookup-table values found in `text` as whole words (ASCII case ignored;
    /// CJK values match anywhere), longest first, never overlapping; values are normalised.
    std::vector<core::Entity> find_lookup_entities(std::string_view text) const;
};

/// Reads and validates YAML data files (see the file comment). Never throws for bad content:
/// every problem lands in `issues` with file and line. Errors: YAML syntax, unknown keys, a
/// version other than 1, a missing or unknown locale, malformed annotations, entity types
/// neither declared nor built in, an intent without examples, the same example (ASCII case and
/// spaces ignored) under two intents (across files too), an alias given two values. Warnings:
/// an example repeated in one intent, an example written in another locale's script (CJK in
/// `en`, none in `zh-CN`). Examples with errors are left out of `examples`. Thread-safe.
TrainingData load_training_data(const std::vector<std::filesystem::path>& files);

/// The same checks on skills' examples (strings that may carry inline annotations). Skills
/// declare no `entities:` list, so any annotated type is accepted. Issues name the file
/// "skill examples (INTENT)" with line 0. Thread-safe.
TrainingData from_training_examples(const std::vector<core::TrainingExample>& examples);

/// Reads labelled examples by extension: `.csv` (read_labeled_csv), `.yaml`/`.yml`
/// (load_training_data; throws on any error, naming the first), `.jsonl` (SNIPS: `tokens`,
/// `tags` in BIO form, `intent`; the text is the tokens joined by single spaces and each B-/I-
/// run becomes an entity with byte offsets into it). Throws core::Error naming file and line.
std::vector<LabeledUtterance> read_labeled_data(const std::filesystem::path& path);

/// Reads a SNIPS-style JSON-lines file (see read_labeled_data). Throws core::Error naming the
/// file and line.
std::vector<LabeledUtterance> read_snips_jsonl(const std::filesystem::path& path);

}  // namespace teller::nlu
