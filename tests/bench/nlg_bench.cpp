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

void faq_figures(const std::string& dir, int fold, const nlg::FaqTrainOptions& options) {
    // Split by variant: variant `fold` (mod the article's count) of every article and locale is
    // held out; the model never sees it.
    nlg::KnowledgeBase kb = nlg::KnowledgeBase::load(dir + "/faq");
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
    auto start = Clock::now();
    auto model = nlg::FaqModel::train(train, options, "bench");
    const double train_ms = ms_since(start);

    std::map<std::string, std::array<int, 3>> by_locale;  // top1, top3, total
    std::vector<double> latency;
    std::vector<float> right_scores;
    std::vector<float> wrong_scores;
    for (const nlg::LabeledQuestion& q : test) {
        start = Clock::now();
        auto hits = model->retrieve(q.text, 3);
        latency.push_back(ms_since(start));
        auto& row = by_locale[q.locale];
        row[0] += hits[0].article == q.article;
        row[1] += std::any_of(hits.begin(), hits.end(),
                              [&](const nlg::FaqHit& h) { return h.article == q.article; });
        row[2] += 1;
        (hits[0].article == q.article ? right_scores : wrong_scores).push_back(hits[0].score);
    }
    std::printf(
        "FAQ retrieval (%zu articles; trained on %zu variants in %.1f s; held-out variant "
        "#%d of each article and locale)\n",
        kb.articles().size(), train.size(), train_ms / 1000, fold);
    int t1 = 0;
    int t3 = 0;
    int n = 0;
    for (const auto& [locale, row] : by_locale) {
        std::printf("  %-6s top-1 %5.1f%%  top-3 %5.1f%%  (%d questions)\n", locale.c_str(),
                    100.0 * row[0] / row[2], 100.0 * row[1] / row[2], row[2]);
        t1 += row[0];
        t3 += row[1];
        n += row[2];
    }
    std::printf("  all    top-1 %5.1f%%  top-3 %5.1f%%  (%d questions)\n", 100.0 * t1 / n,
                100.0 * t3 / n, n);
    // Questions no article answers: how often would the bot answer anyway at the threshold?
    const char* off_topic[] = {"tell me a joke",
                               "what's the weather like tomorrow",
                               "who won the football match",
                               "recommend a good restaurant",
                               "sing me a song",
                               "what's the capital of Australia",
                               "book me a flight to Paris",
                               "how old are you",
                               "讲个笑话",
                               "明天会下雨吗",
                               "推荐一家餐厅",
                               "给我唱首歌",
                               "澳大利亚的首都是哪里",
                               "帮我订机票",
                               "你几岁了",
                               "昨晚球赛谁赢了"};
    std::vector<float> off_scores;
    for (const char* text : off_topic) {
        off_scores.push_back(model->retrieve(text, 1)[0].score);
    }
    // What each threshold would do: held-out questions answered rightly and wrongly, off-topic
    // questions answered (all wrong).
    auto at_least = [](const std::vector<float>& v, float t) {
        return static_cast<int>(std::count_if(v.begin(), v.end(), [t](float s) { return s >= t; }));
    };
    std::printf("  threshold  answered-right  answered-wrong  off-topic-answered\n");
    for (float t : {0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f}) {
        std::printf("    %.1f      %5.1f%%          %5.1f%%          %d of %zu\n", t,
                    100.0 * at_least(right_scores, t) / n, 100.0 * at_least(wrong_scores, t) / n,
                    at_least(off_scores, t), off_scores.size());
    }
    std::printf("  retrieval latency: p50 %.3f ms  p99 %.3f ms\n", percentile(latency, 0.5),
                percentile(latency, 0.99));
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
                // After the guard: any digit left once the slots' values are removed is a
                // wrong figure.
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
        "  slot error rate after the guard:  %.1f%% (%d of %d replies; %d from the "
        "generator, the rest from templates)\n",
        100.0 * after_errors / total, after_errors, total, used);
    std::printf(
        "  latency per reply: generator+guard p50 %.2f ms p99 %.2f ms; template "
        "p50 %.3f ms p99 %.3f ms\n",
        percentile(gen_ms, 0.5), percentile(gen_ms, 0.99), percentile(template_ms, 0.5),
        percentile(template_ms, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = TELLER_SOURCE_DIR "/knowledge";
    int fold = 4;
    bool faq_only = false;
    nlg::FaqTrainOptions faq_options;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--knowledge") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (std::strcmp(argv[i], "--fold") == 0 && i + 1 < argc) {
            fold = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--faq-epochs") == 0 && i + 1 < argc) {
            faq_options.epochs = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--faq-dim") == 0 && i + 1 < argc) {
            faq_options.dim = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--faq-dropout") == 0 && i + 1 < argc) {
            faq_options.feature_dropout = std::strtof(argv[++i], nullptr);
        } else if (std::strcmp(argv[i], "--faq-scale") == 0 && i + 1 < argc) {
            faq_options.scale = std::strtof(argv[++i], nullptr);
        } else if (std::strcmp(argv[i], "--faq-centroid") == 0 && i + 1 < argc) {
            faq_options.centroid_weight = std::strtof(argv[++i], nullptr);
        } else if (std::strcmp(argv[i], "--faq-only") == 0) {
            faq_only = true;
        } else {
            std::printf(
                "usage: nlg_bench [--knowledge DIR] [--fold K] [--faq-only] [--faq-epochs N]\n"
                "                 [--faq-dim N] [--faq-dropout P] [--faq-scale S]\n"
                "  --fold K  which question variant of each article is held out "
                "(default 4, the last of five)\n");
            return argv[i] == std::string("--help") ? 0 : 2;
        }
    }
    // One core: every figure is single-threaded.
    nlu::set_compute_threads(1);
    faq_figures(dir, fold, faq_options);
    if (!faq_only) {
        generator_figures(dir);
    }
    return 0;
}
