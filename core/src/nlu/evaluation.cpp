// Labelled data for the intent model: CSV reading, training-data fingerprints and evaluation.
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

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
        out.push_back({record.fields[static_cast<std::size_t>(text_col)], intent});
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

EvalReport evaluate(const core::IntentClassifier& classifier,
                    const std::vector<LabeledUtterance>& test) {
    constexpr std::size_t kBatch = 256;
    EvalReport report;
    report.total = test.size();

    // Predict in batches and count (expected, predicted) pairs.
    std::map<std::pair<std::string, std::string>, int> pairs;
    std::set<std::string> intents;
    std::vector<std::string> texts;
    for (std::size_t start = 0; start < test.size(); start += kBatch) {
        const std::size_t end = std::min(test.size(), start + kBatch);
        texts.clear();
        for (std::size_t i = start; i < end; ++i) {
            texts.push_back(test[i].text);
        }
        const std::vector<core::NluResult> results = classifier.parse(texts);
        for (std::size_t i = start; i < end; ++i) {
            const core::NluResult& result = results.at(i - start);
            std::string predicted = result.ranking.empty() ? "" : result.ranking.front().intent;
            intents.insert(test[i].intent);
            if (!predicted.empty()) {
                intents.insert(predicted);
            }
            ++pairs[{test[i].intent, std::move(predicted)}];
        }
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

}  // namespace teller::nlu
