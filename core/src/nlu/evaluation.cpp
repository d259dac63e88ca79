// Labelled data for the intent model: CSV reading, fingerprints, evaluation, k-fold
// cross-validation and out-of-scope figures.
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "teller/nlu/evaluation.hpp"
#include "teller/nlu/intent_model.hpp"

namespace teller::nlu {
namespace {

[[noreturn]] void fail_csv(const std::filesystem::path& path, std::size_t line,
                           const std::string& what) {
    throw core::Error(path.string() + ":" + std::to_string(line) + ": " + what);
}

// One CSV record (RFC 4180): fields, and the line it started on.
struct Record {
    std::vector<std::string> fields;
    std::size_t line = 0;
};

// Splits CSV text into records: quoted fields may hold commas, doubled quotes and line breaks.
std::vector<Record> parse_csv(const std::filesystem::path& path, std::string_view data) {
    std::vector<Record> records;
    Record record;
    std::string field;
    bool quoted = false;
    bool field_started = false;
    bool after_quote = false;
    std::size_t line = 1;
    record.line = 1;

    auto end_field = [&] {
        record.fields.push_back(std::move(field));
        field.clear();
        field_started = false;
        after_quote = false;
    };
    auto end_record = [&] {
        end_field();
        const bool blank = record.fields.size() == 1 && record.fields[0].empty();
        if (!blank) {
            records.push_back(std::move(record));
        }
        record = Record{};
        record.line = line;
    };

    for (std::size_t i = 0; i < data.size(); ++i) {
        const char c = data[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < data.size() && data[i + 1] == '"') {
                    field.push_back('"');
                    ++i;
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                if (c == '\n') {
                    ++line;
                }
                field.push_back(c);
            }
            continue;
        }
        if (c == ',') {
            end_field();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
                ++i;
            }
            ++line;
            end_record();
        } else if (c == '"' && !field_started) {
            quoted = true;
            field_started = true;
        } else if (after_quote) {
            fail_csv(path, line, "unexpected character after a closing quote");
        } else {
            field.push_back(c);
            field_started = true;
        }
    }
    if (quoted) {
        fail_csv(path, record.line, "unterminated quoted field");
    }
    if (field_started || !record.fields.empty()) {
        end_record();
    }
    return records;
}

}  // namespace

std::vector<LabeledUtterance> read_labeled_csv(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw core::Error(path.string() + ": cannot open");
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    std::string data = buffer.str();
    if (data.starts_with("\xEF\xBB\xBF")) {
        data.erase(0, 3);
    }

    const std::vector<Record> records = parse_csv(path, data);
    if (records.empty()) {
        fail_csv(path, 1, "no header row");
    }

    // Find the text column and the first known intent column.
    const std::vector<std::string>& header = records.front().fields;
    auto column = [&](std::string_view name) -> std::ptrdiff_t {
        auto it = std::find(header.begin(), header.end(), name);
        return it == header.end() ? -1 : it - header.begin();
    };
    const std::ptrdiff_t text_col = column("text");
    std::ptrdiff_t intent_col = -1;
    for (std::string_view name : {"category", "intent", "label_text"}) {
        if (intent_col < 0) {
            intent_col = column(name);
        }
    }
    if (text_col < 0 || intent_col < 0) {
        fail_csv(path, 1,
                 "header needs a `text` and a `category`, `intent` or `label_text` column");
    }

    std::vector<LabeledUtterance> out;
    out.reserve(records.size() - 1);
    for (std::size_t r = 1; r < records.size(); ++r) {
        const Record& record = records[r];
        if (record.fields.size() != header.size()) {
            fail_csv(path, record.line,
                     "expected " + std::to_string(header.size()) + " fields, found " +
                         std::to_string(record.fields.size()));
        }
        const std::string& intent = record.fields[static_cast<std::size_t>(intent_col)];
        if (intent.empty()) {
            fail_csv(path, record.line, "empty intent");
        }
        out.push_back({record.fields[static_cast<std::size_t>(text_col)], intent, {}});
    }
    return out;
}

std::string fingerprint(const std::vector<LabeledUtterance>& examples) {
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    pairs.reserve(examples.size());
    for (const LabeledUtterance& e : examples) {
        pairs.emplace_back(e.intent, e.text);
    }
    std::sort(pairs.begin(), pairs.end());

    // Length-prefix each part so that no two different data sets hash the same bytes.
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx);
        throw core::Error("fingerprint: cannot initialise SHA-256");
    }
    auto feed = [ctx](std::string_view part) {
        const std::string len = std::to_string(part.size()) + ":";
        EVP_DigestUpdate(ctx, len.data(), len.size());
        EVP_DigestUpdate(ctx, part.data(), part.size());
    };
    for (const auto& [intent, text] : pairs) {
        feed(intent);
        feed(text);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_DigestFinal_ex(ctx, digest, &digest_len);
    EVP_MD_CTX_free(ctx);

    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < digest_len; ++i) {
        hex.push_back(kHex[digest[i] >> 4]);
        hex.push_back(kHex[digest[i] & 0x0F]);
    }
    return hex;
}

namespace {

// Top intent and confidence of each test utterance (batched); entities into `entities` when set.
std::vector<core::IntentScore> predict(const core::IntentClassifier& classifier,
                                       const std::vector<LabeledUtterance>& test,
                                       std::vector<std::vector<core::Entity>>* entities) {
    constexpr std::size_t kBatch = 256;
    std::vector<core::IntentScore> out;
    out.reserve(test.size());
    std::vector<std::string> texts;
    for (std::size_t start = 0; start < test.size(); start += kBatch) {
        const std::size_t end = std::min(test.size(), start + kBatch);
        texts.clear();
        for (std::size_t i = start; i < end; ++i) {
            texts.push_back(test[i].text);
        }
        std::vector<core::NluResult> results = classifier.parse(texts);
        if (results.size() != texts.size()) {
            throw core::Error("evaluate: the classifier returned " +
                              std::to_string(results.size()) + " results for " +
                              std::to_string(texts.size()) + " texts");
        }
        for (core::NluResult& result : results) {
            out.push_back(result.ranking.empty() ? core::IntentScore{} : result.ranking.front());
            if (entities != nullptr) {
                entities->push_back(std::move(result.entities));
            }
        }
    }
    return out;
}

// Accuracy, per-intent scores, macro-F1 and confusions from expected and predicted intents.
EvalReport score_intents(const std::vector<LabeledUtterance>& test,
                         const std::vector<core::IntentScore>& predicted) {
    EvalReport report;
    report.total = test.size();

    std::map<std::pair<std::string, std::string>, int> pairs;
    std::set<std::string> intents;
    for (std::size_t i = 0; i < test.size(); ++i) {
        intents.insert(test[i].intent);
        if (!predicted[i].intent.empty()) {
            intents.insert(predicted[i].intent);
        }
        ++pairs[{test[i].intent, predicted[i].intent}];
    }

    // Per-intent precision, recall and F1 over every intent expected or predicted.
    std::map<std::string, int> tp, predicted_count, support;
    for (const auto& [key, count] : pairs) {
        support[key.first] += count;
        predicted_count[key.second] += count;
        if (key.first == key.second) {
            tp[key.first] += count;
            report.correct += static_cast<std::size_t>(count);
        } else {
            report.worst_confusions.emplace_back(key.first, key.second, count);
        }
    }
    double f1_sum = 0;
    for (const std::string& intent : intents) {
        EvalReport::PerIntent row;
        row.intent = intent;
        row.support = support[intent];
        const double hits = tp[intent];
        row.precision = predicted_count[intent] > 0 ? hits / predicted_count[intent] : 0.0;
        row.recall = row.support > 0 ? hits / row.support : 0.0;
        const double sum = row.precision + row.recall;
        row.f1 = sum > 0 ? 2 * row.precision * row.recall / sum : 0.0;
        f1_sum += row.f1;
        report.per_intent.push_back(row);
    }
    report.accuracy = report.total > 0 ? static_cast<double>(report.correct) / report.total : 0.0;
    report.macro_f1 = intents.empty() ? 0.0 : f1_sum / static_cast<double>(intents.size());

    std::stable_sort(report.worst_confusions.begin(), report.worst_confusions.end(),
                     [](const auto& a, const auto& b) { return std::get<2>(a) > std::get<2>(b); });
    return report;
}

void finish_score(EntityScore& s) {
    const double tp = s.true_positives;
    s.precision = tp + s.false_positives > 0 ? tp / (tp + s.false_positives) : 0.0;
    s.recall = tp + s.false_negatives > 0 ? tp / (tp + s.false_negatives) : 0.0;
    const double sum = s.precision + s.recall;
    s.f1 = sum > 0 ? 2 * s.precision * s.recall / sum : 0.0;
}

double mean(const std::vector<double>& xs) {
    double sum = 0;
    for (double x : xs) {
        sum += x;
    }
    return xs.empty() ? 0.0 : sum / static_cast<double>(xs.size());
}

double stddev(const std::vector<double>& xs) {
    const double m = mean(xs);
    double sum = 0;
    for (double x : xs) {
        sum += (x - m) * (x - m);
    }
    return xs.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(xs.size()));
}

}  // namespace

EvalReport evaluate(const core::IntentClassifier& classifier,
                    const std::vector<LabeledUtterance>& test) {
    return score_intents(test, predict(classifier, test, nullptr));
}

DetailedReport evaluate_detailed(const core::IntentClassifier& classifier,
                                 const std::vector<LabeledUtterance>& test,
                                 std::size_t examples_per_pair) {
    std::vector<std::vector<core::Entity>> entities;
    std::vector<core::IntentScore> predictions = predict(classifier, test, &entities);
    return detailed_report(test, std::move(predictions), entities, examples_per_pair);
}

DetailedReport detailed_report(const std::vector<LabeledUtterance>& test,
                               std::vector<core::IntentScore> predictions,
                               const std::vector<std::vector<core::Entity>>& entities,
                               std::size_t examples_per_pair) {
    if (predictions.size() != test.size() ||
        (!entities.empty() && entities.size() != test.size())) {
        throw core::Error("detailed_report: one prediction per test utterance is needed");
    }
    DetailedReport report;
    report.predictions = std::move(predictions);
    report.intents = score_intents(test, report.predictions);

    // The confusion matrix over every expected or predicted intent, with example utterances.
    std::set<std::string> labels;
    for (std::size_t i = 0; i < test.size(); ++i) {
        labels.insert(test[i].intent);
        labels.insert(report.predictions[i].intent.empty() ? "(none)"
                                                           : report.predictions[i].intent);
    }
    report.labels.assign(labels.begin(), labels.end());
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < report.labels.size(); ++i) {
        index[report.labels[i]] = i;
    }
    report.confusion.assign(report.labels.size(), std::vector<int>(report.labels.size(), 0));
    for (std::size_t i = 0; i < test.size(); ++i) {
        const std::string& predicted =
            report.predictions[i].intent.empty() ? "(none)" : report.predictions[i].intent;
        ++report.confusion[index[test[i].intent]][index[predicted]];
        if (predicted != test[i].intent) {
            auto& examples = report.confusion_examples[{test[i].intent, predicted}];
            if (examples.size() < examples_per_pair) {
                examples.push_back(test[i].text);
            }
        }
    }

    // Entities: exact (type, begin, end) matches, over the types the test data annotates.
    std::set<std::string> types;
    for (const LabeledUtterance& u : test) {
        for (const core::Entity& e : u.entities) {
            types.insert(e.type);
        }
    }
    report.has_entities = !types.empty() && !entities.empty();
    if (!report.has_entities) {
        return report;
    }
    std::map<std::string, EntityScore> scores;
    for (const std::string& type : types) {
        scores[type].type = type;
    }
    for (std::size_t i = 0; i < test.size(); ++i) {
        using Key = std::tuple<std::string, std::size_t, std::size_t>;
        std::multiset<Key> gold;
        for (const core::Entity& e : test[i].entities) {
            gold.insert({e.type, e.begin, e.end});
        }
        for (const core::Entity& e : entities[i]) {
            if (!types.contains(e.type)) {
                continue;
            }
            auto it = gold.find({e.type, e.begin, e.end});
            if (it != gold.end()) {
                ++scores[e.type].true_positives;
                gold.erase(it);
            } else {
                ++scores[e.type].false_positives;
            }
        }
        for (const Key& missed : gold) {
            ++scores[std::get<0>(missed)].false_negatives;
        }
    }
    report.entity_micro.type = "(micro)";
    for (auto& [type, score] : scores) {
        finish_score(score);
        report.entity_micro.true_positives += score.true_positives;
        report.entity_micro.false_positives += score.false_positives;
        report.entity_micro.false_negatives += score.false_negatives;
        report.entity_types.push_back(score);
    }
    finish_score(report.entity_micro);
    return report;
}

std::vector<int> stratified_folds(const std::vector<LabeledUtterance>& data, int k,
                                  std::uint64_t seed) {
    if (k < 2) {
        throw core::Error("cross-validation needs at least 2 folds");
    }
    std::map<std::string, std::vector<std::size_t>> by_intent;
    for (std::size_t i = 0; i < data.size(); ++i) {
        by_intent[data[i].intent].push_back(i);
    }

    // Shuffle within each intent, then deal round-robin; the dealer keeps going across intents.
    std::mt19937_64 rng(seed);
    std::vector<int> folds(data.size(), 0);
    std::size_t dealt = 0;
    for (auto& [intent, indices] : by_intent) {
        std::shuffle(indices.begin(), indices.end(), rng);
        for (std::size_t index : indices) {
            folds[index] = static_cast<int>(dealt++ % static_cast<std::size_t>(k));
        }
    }
    return folds;
}

CrossValidation cross_validate(const std::vector<LabeledUtterance>& data, int k, std::uint64_t seed,
                               const Trainer& train,
                               const std::function<void(const FoldResult&)>& on_fold) {
    if (k < 2 || static_cast<std::size_t>(k) > data.size()) {
        throw core::Error("cross-validation needs 2 to " + std::to_string(data.size()) +
                          " folds, got " + std::to_string(k));
    }
    const std::vector<int> folds = stratified_folds(data, k, seed);
    CrossValidation cv;
    cv.out_of_fold.resize(data.size());
    std::vector<double> accuracies, macro_f1s;
    for (int fold = 0; fold < k; ++fold) {
        std::vector<LabeledUtterance> train_part, test_part;
        for (std::size_t i = 0; i < data.size(); ++i) {
            (folds[i] == fold ? test_part : train_part).push_back(data[i]);
        }
        const std::unique_ptr<core::IntentClassifier> model = train(train_part);
        const std::vector<core::IntentScore> predicted = predict(*model, test_part, nullptr);
        const EvalReport report = score_intents(test_part, predicted);
        for (std::size_t i = 0, t = 0; i < data.size(); ++i) {
            if (folds[i] == fold) {
                cv.out_of_fold[i] = predicted[t++];
            }
        }
        FoldResult result{fold + 1, train_part.size(), test_part.size(), report.accuracy,
                          report.macro_f1};
        accuracies.push_back(result.accuracy);
        macro_f1s.push_back(result.macro_f1);
        cv.folds.push_back(result);
        if (on_fold) {
            on_fold(result);
        }
    }
    cv.mean_accuracy = mean(accuracies);
    cv.std_accuracy = stddev(accuracies);
    cv.mean_macro_f1 = mean(macro_f1s);
    cv.std_macro_f1 = stddev(macro_f1s);
    return cv;
}

std::vector<std::string> choose_holdout_intents(const std::vector<LabeledUtterance>& data, int n,
                                                std::uint64_t seed) {
    std::set<std::string> unique;
    for (const LabeledUtterance& u : data) {
        unique.insert(u.intent);
    }
    if (n < 1 || static_cast<std::size_t>(n) >= unique.size()) {
        throw core::Error("cannot hold out " + std::to_string(n) + " of " +
                          std::to_string(unique.size()) + " intents (some must stay in scope)");
    }
    std::vector<std::string> intents(unique.begin(), unique.end());
    std::mt19937_64 rng(seed);
    std::shuffle(intents.begin(), intents.end(), rng);
    intents.resize(static_cast<std::size_t>(n));
    std::sort(intents.begin(), intents.end());
    return intents;
}

std::pair<std::vector<LabeledUtterance>, std::vector<LabeledUtterance>> split_out_of_scope(
    const std::vector<LabeledUtterance>& data, const std::vector<std::string>& held_out) {
    const std::set<std::string> out(held_out.begin(), held_out.end());
    std::pair<std::vector<LabeledUtterance>, std::vector<LabeledUtterance>> parts;
    for (const LabeledUtterance& u : data) {
        (out.contains(u.intent) ? parts.second : parts.first).push_back(u);
    }
    return parts;
}

OutOfScopeReport evaluate_out_of_scope(const core::IntentClassifier& classifier,
                                       const std::vector<LabeledUtterance>& in_scope,
                                       const std::vector<LabeledUtterance>& out_of_scope,
                                       const std::vector<std::string>& held_out, double threshold,
                                       const std::vector<double>& sweep) {
    OutOfScopeReport report;
    report.held_out = held_out;
    report.threshold = threshold;
    const std::vector<core::IntentScore> in = predict(classifier, in_scope, nullptr);
    const std::vector<core::IntentScore> oos = predict(classifier, out_of_scope, nullptr);
    auto accepted = [](const core::IntentScore& s, double t) {
        return !s.intent.empty() && s.confidence >= t;
    };

    report.in_total = in.size();
    report.oos_total = oos.size();
    for (std::size_t i = 0; i < in.size(); ++i) {
        const bool right = in[i].intent == in_scope[i].intent;
        report.in_correct += right ? 1 : 0;
        if (!accepted(in[i], threshold)) {
            ++report.in_rejected;
        } else if (right) {
            ++report.in_accepted_correct;
        }
    }
    for (const core::IntentScore& s : oos) {
        ++(accepted(s, threshold) ? report.oos_accepted : report.oos_rejected);
    }

    // The same counts at each sweep threshold, as shares.
    for (double t : sweep) {
        ThresholdRow row;
        row.threshold = t;
        std::size_t rejected = 0, accepted_correct = 0, false_reject = 0;
        for (const core::IntentScore& s : oos) {
            rejected += accepted(s, t) ? 0 : 1;
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (!accepted(in[i], t)) {
                ++false_reject;
            } else if (in[i].intent == in_scope[i].intent) {
                ++accepted_correct;
            }
        }
        auto share = [](std::size_t part, std::size_t whole) {
            return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
        };
        row.oos_rejected = share(rejected, oos.size());
        row.in_scope_accepted_correct = share(accepted_correct, in.size());
        row.in_scope_false_reject = share(false_reject, in.size());
        report.sweep.push_back(row);
    }
    return report;
}

}  // namespace teller::nlu
