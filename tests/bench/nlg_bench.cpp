// NLG figures: FAQ retrieval top-1/top-3 on held-out question variants, generator slot errors
// before and after the guard, BLEU against held-out template variations, latency per reply.
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "teller/nlg/guard.hpp"
#include "teller/nlg/nlg.hpp"
#include "teller/nlu/intent_model.hpp"

namespace {
using namespace teller;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// BLEU tokens: placeholders, ASCII words, single other characters; spaces dropped.
std::vector<std::string> bleu_tokens(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t n = 1;
        if (c == '{' && text.find('}', i) != std::string::npos) {
            n = text.find('}', i) - i + 1;
        } else if (std::isalnum(c) != 0) {
            while (i + n < text.size() && std::isalnum(static_cast<unsigned char>(text[i + n]))) {
                ++n;
            }
        } else if (c >= 0xE0) {
            n = c >= 0xF0 ? 4 : 3;
        } else if (c >= 0xC0) {
            n = 2;
        }
        if (c != ' ') {
            std::string t = text.substr(i, n);
            std::transform(t.begin(), t.end(), t.begin(),
                           [](unsigned char x) { return static_cast<char>(std::tolower(x)); });
            out.push_back(t);
        }
        i += n;
    }
    return out;
}

// Corpus BLEU-4 with the brevity penalty (one reference per hypothesis).
double corpus_bleu(const std::vector<std::pair<std::string, std::string>>& pairs) {
    double match[4] = {0, 0, 0, 0};
    double total[4] = {0, 0, 0, 0};
    double hyp_len = 0;
    double ref_len = 0;
    for (const auto& [hyp_text, ref_text] : pairs) {
        auto hyp = bleu_tokens(hyp_text);
        auto ref = bleu_tokens(ref_text);
        hyp_len += static_cast<double>(hyp.size());
        ref_len += static_cast<double>(ref.size());
        for (int n = 1; n <= 4; ++n) {
            std::map<std::vector<std::string>, int> ref_counts;
            for (std::size_t i = 0; i + n <= ref.size(); ++i) {
                ++ref_counts[{ref.begin() + i, ref.begin() + i + n}];
            }
            for (std::size_t i = 0; i + n <= hyp.size(); ++i) {
                auto& c = ref_counts[{hyp.begin() + i, hyp.begin() + i + n}];
                if (c > 0) {
                    --c;
                    match[n - 1] += 1;
                }
                total[n - 1] += 1;
            }
        }
    }
    double log_sum = 0;
    for (int n = 0; n < 4; ++n) {
        if (match[n] == 0 || total[n] == 0) {
            return 0;
        }
        log_sum += std::log(match[n] / total[n]) / 4;
    }
    const double bp = hyp_len >= ref_len ? 1.0 : std::exp(1 - ref_len / std::max(1.0, hyp_len));
    return 100 * bp * std::exp(log_sum);
}

// Settings of the FAQ figures (command-line flags).
struct FaqBenchOptions {
    std::string dir;
    int fold = 4;
    bool all_folds = false;
    bool errors = false;
    float threshold = nlg::kDefaultFaqThreshold;
    std::string out_of_scope = TELLER_SOURCE_DIR "/tests/bench/faq_out_of_scope.txt";
    nlg::FaqTrainOptions train;
};

// One question of the out-of-scope set and its kind (the last `# kind: NAME` line above it).
struct OutOfScope {
    std::string kind;
    std::string text;
};

// The out-of-scope set: one question a line; `# kind: NAME` starts a kind, other `#` comments
// and blank lines are skipped.
std::vector<OutOfScope> read_out_of_scope(const std::string& path) {
    std::vector<OutOfScope> out;
    std::string kind = "other";
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) {
        std::printf("  (no out-of-scope set at %s)\n", path.c_str());
        return out;
    }
    char line[1024];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        std::string text(line);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
            text.pop_back();
        }
        if (text.starts_with("# kind: ")) {
            kind = text.substr(8);
        } else if (!text.empty() && text[0] != '#') {
            out.push_back({kind, text});
        }
    }
    std::fclose(f);
    return out;
}

// One fold's results.
struct FoldResult {
    std::map<std::string, std::array<int, 3>> by_locale;   // top1, top3, total
    std::vector<float> right_scores;                       // best score of a right top-1
    std::vector<float> wrong_scores;                       // best score of a wrong top-1
    std::map<std::string, std::vector<float>> out_scores;  // best score of out-of-scope, by kind
    std::vector<double> latency;
    double train_s = 0;
    std::size_t train_size = 0;
    std::size_t articles = 0;
};

int at_least(const std::vector<float>& v, float t) {
    return static_cast<int>(std::count_if(v.begin(), v.end(), [t](float s) { return s >= t; }));
}

// Trains without held-out variant `fold` (mod each article's count, per locale) and scores the
// held-out variants and the out-of-scope set.
FoldResult run_fold(const nlg::KnowledgeBase& kb, const std::vector<OutOfScope>& out_of_scope,
                    int fold, const FaqBenchOptions& options) {
    std::vector<nlg::LabeledQuestion> train;
    std::vector<nlg::LabeledQuestion> test;
    for (const nlg::Article& a : kb.articles()) {
        for (const auto& [locale, text] : a.locales) {
            const std::size_t held = static_cast<std::size_t>(fold) % text.questions.size();
            for (std::size_t i = 0; i < text.questions.size(); ++i) {
                (i == held ? test : train).push_back({text.questions[i], a.id, locale});
            }
        }
    }
    FoldResult r;
    r.articles = kb.articles().size();
    r.train_size = train.size();
    auto start = Clock::now();
    auto model = nlg::FaqModel::train(train, options.train, "bench", nlg::answer_sentences(kb));
    r.train_s = ms_since(start) / 1000;

    for (const nlg::LabeledQuestion& q : test) {
        start = Clock::now();
        auto hits = model->retrieve(q.text, 3);
        r.latency.push_back(ms_since(start));
        auto& row = r.by_locale[q.locale];
        const bool right = hits[0].article == q.article;
        row[0] += right;
        row[1] += std::any_of(hits.begin(), hits.end(),
                              [&](const nlg::FaqHit& h) { return h.article == q.article; });
        row[2] += 1;
        (right ? r.right_scores : r.wrong_scores).push_back(hits[0].score);
        if (!right && options.errors) {
            std::printf("  miss [%s] %s\n      want %s, got %s %.2f, %s %.2f, %s %.2f\n",
                        q.locale.c_str(), q.text.c_str(), q.article.c_str(),
                        hits[0].article.c_str(), hits[0].score, hits[1].article.c_str(),
                        hits[1].score, hits[2].article.c_str(), hits[2].score);
        }
    }
    for (const OutOfScope& q : out_of_scope) {
        auto hit = model->retrieve(q.text, 1)[0];
        r.out_scores[q.kind].push_back(hit.score);
        if (options.errors && hit.score >= options.threshold) {
            std::printf("  out-of-scope (%s) answered: %s -> %s %.2f\n", q.kind.c_str(),
                        q.text.c_str(), hit.article.c_str(), hit.score);
        }
    }
    return r;
}

void print_fold(const FoldResult& r, int fold, float threshold, bool table) {
    std::printf(
        "FAQ retrieval (%zu articles; trained on %zu variants + answer sentences in %.1f s; "
        "held-out variant #%d of each article and locale)\n",
        r.articles, r.train_size, r.train_s, fold);
    int t1 = 0;
    int t3 = 0;
    int n = 0;
    for (const auto& [locale, row] : r.by_locale) {
        std::printf("  %-6s top-1 %5.1f%%  top-3 %5.1f%%  (%d questions)\n", locale.c_str(),
                    100.0 * row[0] / row[2], 100.0 * row[1] / row[2], row[2]);
        t1 += row[0];
        t3 += row[1];
        n += row[2];
    }
    std::printf("  all    top-1 %5.1f%%  top-3 %5.1f%%  (%d questions)\n", 100.0 * t1 / n,
                100.0 * t3 / n, n);

    // What each threshold would do: held-out questions answered (and how many of those
    // rightly), out-of-scope questions answered (every one of them wrongly), by kind.
    std::printf("  threshold  answered  precision  answered-wrong  out-of-scope answered:");
    for (const auto& [kind, scores] : r.out_scores) {
        std::printf("  %s (of %zu)", kind.c_str(), scores.size());
    }
    std::printf("\n");
    auto line = [&](float t) {
        const int right = at_least(r.right_scores, t);
        const int wrong = at_least(r.wrong_scores, t);
        std::printf("    %.3f%s    %5.1f%%     %5.1f%%       %5.1f%%       ", t,
                    t == threshold ? "*" : " ", 100.0 * (right + wrong) / n,
                    right + wrong == 0 ? 0.0 : 100.0 * right / (right + wrong), 100.0 * wrong / n);
        for (const auto& [kind, scores] : r.out_scores) {
            std::printf("  %5.1f%% (%d)", 100.0 * at_least(scores, t) / scores.size(),
                        at_least(scores, t));
        }
        std::printf("\n");
    };
    if (table) {
        for (int i = 6; i <= 16; ++i) {
            line(static_cast<float>(i) * 0.05f);
        }
    }
    line(threshold);
    std::printf("  retrieval latency: p50 %.3f ms  p99 %.3f ms\n", percentile(r.latency, 0.5),
                percentile(r.latency, 0.99));
}

void faq_figures(const FaqBenchOptions& options) {
    nlg::KnowledgeBase kb = nlg::KnowledgeBase::load(options.dir + "/faq");
    const std::vector<OutOfScope> out_of_scope = read_out_of_scope(options.out_of_scope);
    if (!options.all_folds) {
        print_fold(run_fold(kb, out_of_scope, options.fold, options), options.fold,
                   options.threshold, true);
        return;
    }

    // Every fold: as many as the most variants any article has in a locale.
    std::size_t folds = 0;
    for (const nlg::Article& a : kb.articles()) {
        for (const auto& [locale, text] : a.locales) {
            folds = std::max(folds, text.questions.size());
        }
    }
    double sum1 = 0;
    double sum3 = 0;
    std::printf("FAQ retrieval, every fold (threshold %.3g)\n", options.threshold);
    std::printf("  fold  top-1   top-3   answered  precision  train s  out-of-scope answered\n");
    for (std::size_t fold = 0; fold < folds; ++fold) {
        FoldResult r = run_fold(kb, out_of_scope, static_cast<int>(fold), options);
        int t1 = 0;
        int t3 = 0;
        int n = 0;
        for (const auto& [locale, row] : r.by_locale) {
            t1 += row[0];
            t3 += row[1];
            n += row[2];
        }
        const int right = at_least(r.right_scores, options.threshold);
        const int wrong = at_least(r.wrong_scores, options.threshold);
        std::printf("  %4zu  %5.1f%%  %5.1f%%  %5.1f%%    %5.1f%%     %5.1f  ", fold,
                    100.0 * t1 / n, 100.0 * t3 / n, 100.0 * (right + wrong) / n,
                    right + wrong == 0 ? 0.0 : 100.0 * right / (right + wrong), r.train_s);
        for (const auto& [kind, scores] : r.out_scores) {
            std::printf("  %s %.1f%%", kind.c_str(),
                        100.0 * at_least(scores, options.threshold) / scores.size());
        }
        std::printf("\n");
        sum1 += 100.0 * t1 / n;
        sum3 += 100.0 * t3 / n;
    }
    std::printf("  mean  %5.1f%%  %5.1f%%\n", sum1 / static_cast<double>(folds),
                sum3 / static_cast<double>(folds));
}

void generator_figures(const std::string& dir) {
    nlg::TemplateSet templates = nlg::TemplateSet::load(dir + "/responses");
    std::vector<nlg::GeneratorExample> held_out;
    auto train = nlg::generator_examples(templates, 1, &held_out);
    auto start = Clock::now();
    auto generator = nlg::Generator::train(train, {});
    std::printf(
        "\nGenerator (GRU encoder-decoder, attention, beam 4; trained on %zu variations "
        "in %.1f s; first variation of every act with several held out: %zu)\n",
        train.size(), ms_since(start) / 1000, held_out.size());

    // BLEU of the generated reply against the held-out variation of the same act and locale.
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const nlg::GeneratorExample& e : held_out) {
        pairs.emplace_back(generator->generate(e.act, e.slots, e.locale), e.reply);
    }
    std::printf("  BLEU-4 vs held-out variations: %.1f (%zu pairs)\n", corpus_bleu(pairs),
                pairs.size());

    // Slot errors on every act with adversarial values, before and after the guard.
    const json::value amounts[] = {0.00, 1e9, "5,000", -0.005, "999999999999.995", 12};
    const char* texts[] = {"Agent 007", "5,000 Savings", "账户 8888"};
    int total = 0;
    int raw_errors = 0;
    int after_errors = 0;
    int used = 0;
    std::vector<double> template_ms;
    std::vector<nlg::GeneratorExample> all = nlg::generator_examples(templates);
    std::vector<double> gen_ms;
    for (const nlg::GeneratorExample& e : all) {
        for (const json::value& amount : amounts) {
            for (const char* text : texts) {
                json::object slots;
                for (const std::string& s : e.slots) {
                    const auto type = templates.slot_types().at(s);
                    slots[s] = type == nlg::SlotType::date      ? json::value("2026-12-04")
                               : type == nlg::SlotType::text    ? json::value(text)
                               : type == nlg::SlotType::percent ? json::value(3.45)
                               : type == nlg::SlotType::number  ? json::value(12)
                                                                : amount;
                }
                ++total;
                start = Clock::now();
                std::string delex = generator->generate(e.act, e.slots, e.locale);
                auto verdict = nlg::check_generated(delex, e.slots);
                gen_ms.push_back(ms_since(start));
                // A raw slot error: the output does not carry exactly the required slots, or
                // carries a figure of its own.
                raw_errors += !verdict.accepted;
                start = Clock::now();
                auto reply = verdict.accepted ? templates.fill(delex, slots, e.locale)
                                              : templates.render(e.act, slots, {e.locale, "", 0});
                template_ms.push_back(ms_since(start));
                used += verdict.accepted;
                // After the guard: in a generator reply the guard let through, any digit left
                // once the slots' values are removed is a wrong figure. A refused output falls
                // back to the template, the bank's own words (their fixed figures, such as
                // "10 working days", are right by definition), so it cannot add an error.
                if (!verdict.accepted) {
                    continue;
                }
                std::string rest = reply.value();
                for (const std::string& s : e.slots) {
                    std::string v = templates.format_slot(s, slots, e.locale).value();
                    for (auto at = rest.find(v); at != std::string::npos; at = rest.find(v)) {
                        rest.replace(at, v.size(), " ");
                    }
                }
                after_errors += rest.find_first_of("0123456789") != std::string::npos;
            }
        }
    }
    std::printf("  slot error rate before the guard: %.1f%% (%d of %d generated replies)\n",
                100.0 * raw_errors / total, raw_errors, total);
    std::printf(
        "  slot error rate after the guard:  %.1f%% (%d wrong of %d replies; %d from the "
        "generator, checked; the rest the templates' own words)\n",
        100.0 * after_errors / total, after_errors, total, used);
    std::printf(
        "  latency per reply: generator+guard p50 %.2f ms p99 %.2f ms; template "
        "p50 %.3f ms p99 %.3f ms\n",
        percentile(gen_ms, 0.5), percentile(gen_ms, 0.99), percentile(template_ms, 0.5),
        percentile(template_ms, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
    FaqBenchOptions faq;
    faq.dir = TELLER_SOURCE_DIR "/knowledge";
    bool faq_only = false;
    nlg::FaqTrainOptions& t = faq.train;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--knowledge" && has_value) {
            faq.dir = argv[++i];
        } else if (arg == "--fold" && has_value) {
            faq.fold = std::atoi(argv[++i]);
        } else if (arg == "--all-folds") {
            faq.all_folds = true;
        } else if (arg == "--faq-errors") {
            faq.errors = true;
        } else if (arg == "--threshold" && has_value) {
            faq.threshold = std::strtof(argv[++i], nullptr);
        } else if (arg == "--out-of-scope" && has_value) {
            faq.out_of_scope = argv[++i];
        } else if (arg == "--faq-epochs" && has_value) {
            t.epochs = std::atoi(argv[++i]);
        } else if (arg == "--faq-dim" && has_value) {
            t.dim = std::atoi(argv[++i]);
        } else if (arg == "--faq-dropout" && has_value) {
            t.feature_dropout = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-scale" && has_value) {
            t.scale = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-seed" && has_value) {
            t.seed = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "--faq-batch" && has_value) {
            t.batch_size = std::atoi(argv[++i]);
        } else if (arg == "--faq-lr" && has_value) {
            t.learning_rate = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-centroid" && has_value) {
            t.centroid_weight = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-ensemble" && has_value) {
            t.ensemble = std::atoi(argv[++i]);
        } else if (arg == "--faq-answers" && has_value) {
            t.answer_weight = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-neighbour" && has_value) {
            t.neighbour_weight = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-lexical" && has_value) {
            t.lexical_weight = std::strtof(argv[++i], nullptr);
        } else if (arg == "--faq-only") {
            faq_only = true;
        } else {
            std::printf(
                "usage: nlg_bench [--knowledge DIR] [--fold K | --all-folds] [--faq-only]\n"
                "                 [--faq-errors] [--threshold T] [--out-of-scope FILE]\n"
                "                 [--faq-epochs N] [--faq-dim N] [--faq-dropout P]\n"
                "                 [--faq-scale S] [--faq-batch N] [--faq-lr R] [--faq-centroid W]\n"
                "                 [--faq-ensemble N] [--faq-answers W] [--faq-neighbour W]\n"
                "                 [--faq-lexical W] [--faq-seed N]\n"
                "  --fold K       which question variant of each article and locale is held out\n"
                "                 (K mod the article's count; default 4)\n"
                "  --all-folds    every fold, one line each, and the mean\n"
                "  --faq-errors   print every wrong top-1 and every answered out-of-scope "
                "question\n"
                "  --threshold T  the threshold the answered/precision figures use (default: "
                "the built-in default, %.3g)\n"
                "  --out-of-scope FILE  questions no article answers, one a line (default "
                "tests/bench/faq_out_of_scope.txt)\n"
                "  --faq-*        FAQ training options (see nlg::FaqTrainOptions)\n",
                nlg::kDefaultFaqThreshold);
            return arg == "--help" ? 0 : 2;
        }
    }
    // One core: every figure is single-threaded.
    nlu::set_compute_threads(1);
    faq_figures(faq);
    if (!faq_only) {
        generator_figures(faq.dir);
    }
    return 0;
}
