// The LibTorch FAQ retrieval model (encoder ensemble + lexical match): training, files, retrieval.
#include "teller/nlg/faq_model.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <span>

#include "nlu/model_file.hpp"
#include "teller/core/log.hpp"
#include "teller/nlu/tokenizer.hpp"

namespace teller::nlg {
namespace {

constexpr const char* kKind = "faq_dual_encoder";
// Version 2: an ensemble of encoders, nearest-question and tf-idf scores. Version 1 files (one
// encoder) are refused with model_mismatch: retrain.
constexpr std::int64_t kVersion = 2;

// Restores torch's intra-op thread count when training ends.
class ThreadCountGuard {
public:
    explicit ThreadCountGuard(int threads) : saved_(torch::get_num_threads()) {
        torch::set_num_threads(threads);
    }
    ~ThreadCountGuard() { torch::set_num_threads(saved_); }
    ThreadCountGuard(const ThreadCountGuard&) = delete;
    ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

private:
    int saved_;
};

// The only place torch's error space is translated for the FAQ model.
[[noreturn]] void rethrow_torch(const c10::Error& e, const char* what) {
    throw core::Error(std::string("faq: torch failed while ") + what + ": " +
                      e.what_without_backtrace());
}

nlu::detail::Blob to_blob(const std::string& name, const torch::Tensor& tensor, bool i64) {
    torch::Tensor t = tensor.detach().to(i64 ? torch::kLong : torch::kFloat).contiguous();
    nlu::detail::Blob blob;
    blob.name = name;
    blob.dtype = i64 ? "i64" : "f32";
    blob.shape.assign(t.sizes().begin(), t.sizes().end());
    blob.bytes.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
    return blob;
}

torch::Tensor from_blob(const nlu::detail::Blob& blob) {
    const auto type = blob.dtype == "i64" ? torch::kLong : torch::kFloat;
    torch::Tensor t = torch::empty(blob.shape, torch::TensorOptions().dtype(type));
    if (static_cast<std::size_t>(t.nbytes()) != blob.bytes.size()) {
        throw std::runtime_error("blob size");
    }
    std::memcpy(t.data_ptr(), blob.bytes.data(), blob.bytes.size());
    return t;
}

// Splits an answer into sentences, trimmed (., !, ?, ; before a space or the end, and their
// full-width forms, end one); pieces of fewer than two tokens are dropped.
std::vector<std::string> sentences(std::string_view text, const nlu::Tokenizer& tokenizer) {
    std::vector<std::string> out;
    std::string current;
    auto flush = [&] {
        const auto first = current.find_first_not_of(" \n");
        if (first != std::string::npos && tokenizer.tokens(current).size() >= 2) {
            out.push_back(current.substr(first, current.find_last_not_of(" \n") - first + 1));
        }
        current.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        current.push_back(c);
        const bool ascii_end = (c == '.' || c == '!' || c == '?' || c == ';' || c == '\n') &&
                               (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n');
        bool wide_end = false;
        for (std::string_view mark : {"\u3002", "\uff01", "\uff1f", "\uff1b"}) {
            wide_end = wide_end || std::string_view(current).ends_with(mark);
        }
        if (ascii_end || wide_end) {
            flush();
        }
    }
    flush();
    return out;
}

}  // namespace

std::vector<LabeledQuestion> answer_sentences(const KnowledgeBase& knowledge) {
    const nlu::Tokenizer tokenizer;
    std::vector<LabeledQuestion> out;
    for (const Article& a : knowledge.articles()) {
        for (const auto& [locale, text] : a.locales) {
            for (std::string& s : sentences(text.answer, tokenizer)) {
                out.push_back({std::move(s), a.id, locale});
            }
        }
    }
    return out;
}

// TODO(teller): the encoders see only hashed words and character n-grams of the written
// variants and answers, so a paraphrase that shares no word with them (synonyms, slang) is
// still missed; pretrained sentence embeddings are what would close that gap.
struct FaqModel::Impl {
    /// One encoder of the ensemble.
    struct Member {
        torch::Tensor embedding;    ///< [rows, dim]
        torch::Tensor proj_weight;  ///< [dim, dim]
        torch::Tensor proj_bias;    ///< [dim]
        torch::Tensor articles;     ///< [articles, dim], unit length
        torch::Tensor neighbours;   ///< [training questions, dim], unit length
    };

    nlu::Tokenizer tokenizer;
    std::vector<std::string> articles;
    std::vector<std::int64_t> row_buckets;  ///< sorted bucket of each embedding row
    std::vector<float> row_idf;             ///< inverse text frequency of each row
    std::vector<Member> members;
    torch::Tensor neighbour_articles;  ///< [training questions] i64: the article of each
    /// [articles, most questions of one article] i64: each article's neighbour rows, padded
    /// with the neighbour count (a row that scores -1).
    torch::Tensor neighbour_slots;
    // TODO(teller): the tf-idf matrix is stored dense (rows x articles floats, about 5 MB of
    // the 25 MB starter model) and the embeddings are trained with dense Adam updates, so file
    // size and training time grow with features x articles; a sparse layout would keep both
    // small for knowledge bases of thousands of articles.
    torch::Tensor lexical;  ///< [rows, articles]: tf-idf, unit length per article
    float neighbour_weight = 0;
    float lexical_weight = 0;
    std::string fingerprint;
    boost::json::object training;

    explicit Impl(nlu::TokenizerOptions options) : tokenizer(options) {}

    // Fills neighbour_slots from neighbour_articles (valid article indexes).
    void index_neighbours() {
        const auto count = neighbour_articles.size(0);
        const auto* article = neighbour_articles.data_ptr<std::int64_t>();
        std::vector<std::vector<std::int64_t>> by_article(articles.size());
        std::size_t widest = 1;
        for (std::int64_t i = 0; i < count; ++i) {
            auto& slot = by_article[static_cast<std::size_t>(article[i])];
            slot.push_back(i);
            widest = std::max(widest, slot.size());
        }
        std::vector<std::int64_t> flat;
        for (auto& slot : by_article) {
            slot.resize(widest, count);
            flat.insert(flat.end(), slot.begin(), slot.end());
        }
        neighbour_slots = torch::tensor(flat, torch::kLong)
                              .reshape({static_cast<std::int64_t>(articles.size()),
                                        static_cast<std::int64_t>(widest)});
    }

    Member train_member(const std::vector<std::vector<std::int64_t>>& rows,
                        const std::vector<std::int64_t>& targets,
                        const std::vector<float>& example_weights, std::size_t question_count,
                        const FaqTrainOptions& options, std::uint64_t seed,
                        double& last_loss) const;

    void append_rows(std::string_view text, std::vector<std::int64_t>& out) const {
        for (std::int64_t bucket : tokenizer.feature_ids(text)) {
            auto it = std::lower_bound(row_buckets.begin(), row_buckets.end(), bucket);
            if (it != row_buckets.end() && *it == bucket) {
                out.push_back(it - row_buckets.begin());
            }
        }
    }

    // Appends the weight of each row of one bag: its idf, normalised to sum 1 in the bag, so
    // rare (topical) words count more than "how", "do", "我".
    void append_weights(std::span<const std::int64_t> rows, std::vector<float>& out) const {
        float sum = 0;
        for (std::int64_t r : rows) {
            sum += row_idf[static_cast<std::size_t>(r)];
        }
        for (std::int64_t r : rows) {
            out.push_back(row_idf[static_cast<std::size_t>(r)] / std::max(sum, 1e-6f));
        }
    }

    // Unit-length text vectors of one member for a batch of weighted bags (an empty bag gives a
    // zero vector).
    static torch::Tensor encode(const Member& m, const torch::Tensor& rows,
                                const torch::Tensor& offsets, const torch::Tensor& weights) {
        auto bag =
            std::get<0>(torch::embedding_bag(m.embedding, rows, offsets, false, 0, false, weights));
        auto q = torch::addmm(m.proj_bias, bag, m.proj_weight.t());
        return q / q.norm(2, 1, true).clamp_min(1e-6);
    }

    // Every article's score for one bag of rows: see FaqTrainOptions for the mix.
    torch::Tensor scores(const std::vector<std::int64_t>& rows) const {
        std::vector<float> weights;
        append_weights(rows, weights);
        auto row_t = torch::tensor(rows, torch::kLong);
        auto off_t = torch::zeros({1}, torch::kLong);
        auto weight_t = torch::tensor(weights, torch::kFloat);
        const auto n = static_cast<std::int64_t>(articles.size());
        const float centroid_weight = 1 - neighbour_weight - lexical_weight;
        auto total = torch::zeros({n});
        for (const Member& m : members) {
            auto q = encode(m, row_t, off_t, weight_t);
            total += centroid_weight * torch::mm(q, m.articles.t()).squeeze(0);
            auto near =
                torch::cat({torch::mm(q, m.neighbours.t()).squeeze(0), torch::full({1}, -1.0f)});
            auto slots = near.index_select(0, neighbour_slots.reshape({-1}))
                             .reshape({n, neighbour_slots.size(1)});
            total += neighbour_weight * std::get<0>(slots.max(1));
        }
        total /= static_cast<double>(members.size());

        // tf-idf cosine: the query's distinct rows weighted by idf.
        std::vector<std::int64_t> unique = rows;
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        std::vector<float> idf;
        for (std::int64_t r : unique) {
            idf.push_back(row_idf[static_cast<std::size_t>(r)]);
        }
        auto q = torch::tensor(idf, torch::kFloat);
        q = q / q.norm().clamp_min(1e-6);
        auto lex = torch::mv(lexical.index_select(0, torch::tensor(unique, torch::kLong)).t(), q);
        return total + lexical_weight * lex;
    }
};

// One encoder trained on `rows` (bags) -> `targets`, each example weighted; the first
// `question_count` texts are questions (neighbours and centroids), the rest answer sentences.
FaqModel::Impl::Member FaqModel::Impl::train_member(
    const std::vector<std::vector<std::int64_t>>& rows, const std::vector<std::int64_t>& targets,
    const std::vector<float>& example_weights, std::size_t question_count,
    const FaqTrainOptions& options, std::uint64_t seed, double& last_loss) const {
    const Impl& impl = *this;
    const std::int64_t dim = options.dim;
    const auto row_count = static_cast<std::int64_t>(impl.row_idf.size());
    const auto n_articles = static_cast<std::int64_t>(impl.articles.size());
    torch::manual_seed(seed);
    Member m;
    m.embedding = torch::empty({row_count, dim}).normal_(0, 0.1).set_requires_grad(true);
    const double bound = 1.0 / std::sqrt(static_cast<double>(dim));
    m.proj_weight = torch::empty({dim, dim}).uniform_(-bound, bound).set_requires_grad(true);
    m.proj_bias = torch::zeros({dim}).set_requires_grad(true);
    m.articles = torch::empty({n_articles, dim}).normal_(0, 0.1).set_requires_grad(true);
    torch::optim::Adam adam({m.embedding, m.proj_weight, m.proj_bias, m.articles},
                            torch::optim::AdamOptions(options.learning_rate));

    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto batch = static_cast<std::size_t>(options.batch_size);
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        // A fixed Fisher-Yates shuffle (std::shuffle differs between standard libraries).
        for (std::size_t i = order.size() - 1; i > 0; --i) {
            std::swap(order[i], order[rng() % (i + 1)]);
        }
        double loss_sum = 0;
        std::size_t steps = 0;
        for (std::size_t start = 0; start < order.size(); start += batch) {
            // Bags with some features dropped, so one word never decides alone.
            std::vector<std::int64_t> flat;
            std::vector<float> weights;
            std::vector<std::int64_t> offsets;
            std::vector<std::int64_t> batch_targets;
            std::vector<float> batch_weights;
            for (std::size_t k = start; k < std::min(order.size(), start + batch); ++k) {
                offsets.push_back(static_cast<std::int64_t>(flat.size()));
                const std::size_t first = flat.size();
                for (std::int64_t row : rows[order[k]]) {
                    if (unit(rng) >= options.feature_dropout) {
                        flat.push_back(row);
                    }
                }
                impl.append_weights(std::span(flat).subspan(first), weights);
                batch_targets.push_back(targets[order[k]]);
                batch_weights.push_back(example_weights[order[k]]);
            }
            auto q =
                encode(m, torch::tensor(flat, torch::kLong), torch::tensor(offsets, torch::kLong),
                       torch::tensor(weights, torch::kFloat));
            auto a = m.articles / m.articles.norm(2, 1, true).clamp_min(1e-6);
            auto logits = torch::mm(q, a.t()) * options.scale;
            auto per_example = torch::nn::functional::cross_entropy(
                logits, torch::tensor(batch_targets, torch::kLong),
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
            auto w = torch::tensor(batch_weights, torch::kFloat);
            auto loss = (per_example * w).sum() / w.sum().clamp_min(1e-6);

            adam.zero_grad();
            loss.backward();
            adam.step();
            loss_sum += loss.item<double>();
            ++steps;
        }
        last_loss = loss_sum / static_cast<double>(steps);
    }

    // Freeze: no autograd state; every question encoded (the neighbours), the article vectors
    // the learned one mixed with the centroid of the article's encoded questions (the centroid
    // generalises better to unseen paraphrases).
    torch::NoGradGuard no_grad;
    m.embedding = m.embedding.detach().contiguous();
    m.proj_weight = m.proj_weight.detach().contiguous();
    m.proj_bias = m.proj_bias.detach().contiguous();
    std::vector<std::int64_t> flat;
    std::vector<float> weights;
    std::vector<std::int64_t> offsets;
    for (std::size_t i = 0; i < question_count; ++i) {
        offsets.push_back(static_cast<std::int64_t>(flat.size()));
        flat.insert(flat.end(), rows[i].begin(), rows[i].end());
        impl.append_weights(rows[i], weights);
    }
    auto encoded =
        encode(m, torch::tensor(flat, torch::kLong), torch::tensor(offsets, torch::kLong),
               torch::tensor(weights, torch::kFloat));
    m.neighbours = encoded.contiguous();
    std::vector<std::int64_t> question_targets(targets.begin(),
                                               targets.begin() + static_cast<long>(question_count));
    auto centroids = torch::zeros({n_articles, dim})
                         .index_add_(0, torch::tensor(question_targets, torch::kLong), encoded);
    centroids = centroids / centroids.norm(2, 1, true).clamp_min(1e-6);
    auto a = m.articles.detach();
    a = a / a.norm(2, 1, true).clamp_min(1e-6);
    a = options.centroid_weight * centroids + (1 - options.centroid_weight) * a;
    m.articles = (a / a.norm(2, 1, true).clamp_min(1e-6)).contiguous();
    return m;
}

FaqModel::FaqModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaqModel::~FaqModel() = default;

std::unique_ptr<FaqModel> FaqModel::train(const std::vector<LabeledQuestion>& questions,
                                          const FaqTrainOptions& options, std::string fingerprint,
                                          const std::vector<LabeledQuestion>& answers) {
    if (questions.empty()) {
        throw core::Error("faq: no questions to train on");
    }
    const bool shares_ok = options.neighbour_weight >= 0 && options.lexical_weight >= 0 &&
                           options.neighbour_weight + options.lexical_weight <= 1;
    if (options.epochs < 1 || options.dim < 1 || options.buckets < 1 || options.batch_size < 1 ||
        options.feature_dropout < 0 || options.feature_dropout >= 1 || options.scale <= 0 ||
        options.ensemble < 1 || options.answer_weight < 0 || !shares_ok) {
        throw core::Error("faq: invalid training options");
    }
    const auto started = std::chrono::steady_clock::now();
    ThreadCountGuard threads(1);
    nlu::TokenizerOptions tok;
    tok.buckets = options.buckets;
    auto impl = std::make_unique<Impl>(tok);
    impl->fingerprint = std::move(fingerprint);
    impl->neighbour_weight = options.neighbour_weight;
    impl->lexical_weight = options.lexical_weight;

    // Articles (sorted ids); the training texts: every question, then the answer sentences of
    // known articles (when they count).
    std::map<std::string, std::int64_t> article_index;
    for (const LabeledQuestion& q : questions) {
        article_index.emplace(q.article, 0);
    }
    for (auto& [id, index] : article_index) {
        index = static_cast<std::int64_t>(impl->articles.size());
        impl->articles.push_back(id);
    }
    std::vector<const LabeledQuestion*> texts;
    std::vector<float> example_weights;
    for (const LabeledQuestion& q : questions) {
        texts.push_back(&q);
        example_weights.push_back(1.0f);
    }
    if (options.answer_weight > 0) {
        for (const LabeledQuestion& a : answers) {
            if (article_index.count(a.article) != 0) {
                texts.push_back(&a);
                example_weights.push_back(options.answer_weight);
            }
        }
    }

    // The feature rows the texts use, and each row's inverse text frequency.
    std::set<std::int64_t> seen;
    for (const LabeledQuestion* t : texts) {
        for (std::int64_t b : impl->tokenizer.feature_ids(t->text)) {
            seen.insert(b);
        }
    }
    impl->row_buckets.assign(seen.begin(), seen.end());
    std::vector<std::vector<std::int64_t>> rows(texts.size());
    std::vector<std::int64_t> targets(texts.size());
    std::vector<int> document_count(impl->row_buckets.size(), 0);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        impl->append_rows(texts[i]->text, rows[i]);
        targets[i] = article_index.at(texts[i]->article);
        std::vector<std::int64_t> unique = rows[i];
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        for (std::int64_t r : unique) {
            ++document_count[static_cast<std::size_t>(r)];
        }
    }
    for (int df : document_count) {
        impl->row_idf.push_back(static_cast<float>(
            std::log((1.0 + static_cast<double>(texts.size())) / (1.0 + df)) + 1.0));
    }
    if (impl->row_idf.empty()) {
        impl->row_idf.push_back(1.0f);
    }
    const auto row_count = static_cast<std::int64_t>(impl->row_idf.size());
    const auto n_articles = static_cast<std::int64_t>(impl->articles.size());

    double last_loss = 0;
    try {
        // The lexical part: per article, log(1 + weighted count of its texts holding a row)
        // times the row's idf, unit length.
        std::vector<float> lexical(static_cast<std::size_t>(row_count * n_articles), 0.0f);
        for (std::size_t i = 0; i < texts.size(); ++i) {
            std::vector<std::int64_t> unique = rows[i];
            std::sort(unique.begin(), unique.end());
            unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
            for (std::int64_t r : unique) {
                lexical[static_cast<std::size_t>(r * n_articles + targets[i])] +=
                    example_weights[i];
            }
        }
        auto lex = torch::tensor(lexical, torch::kFloat).reshape({row_count, n_articles});
        lex =
            torch::log1p(lex) * torch::tensor(impl->row_idf, torch::kFloat).reshape({row_count, 1});
        impl->lexical = (lex / lex.norm(2, 0, true).clamp_min(1e-6)).contiguous();
        impl->neighbour_articles = torch::tensor(
            std::vector<std::int64_t>(targets.begin(),
                                      targets.begin() + static_cast<long>(questions.size())),
            torch::kLong);
        impl->index_neighbours();

        for (int k = 0; k < options.ensemble; ++k) {
            impl->members.push_back(
                impl->train_member(rows, targets, example_weights, questions.size(), options,
                                   options.seed + static_cast<std::uint64_t>(k), last_loss));
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "training");
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    impl->training = {{"questions", questions.size()},
                      {"answer_sentences", texts.size() - questions.size()},
                      {"epochs", options.epochs},
                      {"dim", options.dim},
                      {"learning_rate", options.learning_rate},
                      {"scale", options.scale},
                      {"feature_dropout", options.feature_dropout},
                      {"ensemble", options.ensemble},
                      {"answer_weight", options.answer_weight},
                      {"seed", options.seed},
                      {"final_loss", last_loss}};
    core::Logger("faq").info("faq model trained", {{"questions", questions.size()},
                                                   {"texts", texts.size()},
                                                   {"articles", impl->articles.size()},
                                                   {"rows", row_count},
                                                   {"seconds", seconds}});
    return std::unique_ptr<FaqModel>(new FaqModel(std::move(impl)));
}

void FaqModel::save(const std::filesystem::path& path) const {
    nlu::detail::ModelFile file;
    boost::json::array articles;
    for (const std::string& id : impl_->articles) {
        articles.push_back(boost::json::string(id));
    }
    const nlu::TokenizerOptions& tok = impl_->tokenizer.options();
    file.header = {{"kind", kKind},
                   {"version", kVersion},
                   {"articles", std::move(articles)},
                   {"tokenizer", nlu::to_json(tok)},
                   {"ensemble", impl_->members.size()},
                   {"neighbour_weight", impl_->neighbour_weight},
                   {"lexical_weight", impl_->lexical_weight},
                   {"training", impl_->training},
                   {"training_fingerprint", impl_->fingerprint}};
    try {
        file.blobs.push_back(
            to_blob("row_buckets", torch::tensor(impl_->row_buckets, torch::kLong), true));
        file.blobs.push_back(
            to_blob("row_idf", torch::tensor(impl_->row_idf, torch::kFloat), false));
        file.blobs.push_back(to_blob("lexical", impl_->lexical, false));
        file.blobs.push_back(to_blob("neighbour_articles", impl_->neighbour_articles, true));
        for (std::size_t k = 0; k < impl_->members.size(); ++k) {
            const Impl::Member& m = impl_->members[k];
            const std::string p = "m" + std::to_string(k) + ".";
            file.blobs.push_back(to_blob(p + "embedding", m.embedding, false));
            file.blobs.push_back(to_blob(p + "proj.weight", m.proj_weight, false));
            file.blobs.push_back(to_blob(p + "proj.bias", m.proj_bias, false));
            file.blobs.push_back(to_blob(p + "articles", m.articles, false));
            file.blobs.push_back(to_blob(p + "neighbours", m.neighbours, false));
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "saving");
    }
    nlu::detail::write_model_file(path, file);
}

core::Result<std::unique_ptr<FaqModel>> FaqModel::load(const std::filesystem::path& path) {
    auto file = nlu::detail::read_model_file(path);
    if (!file) {
        return file.error();
    }
    const auto corrupt = core::make_error_code(core::Errc::model_corrupt);
    try {
        const boost::json::object& h = file->header;
        const boost::json::value* kind = h.if_contains("kind");
        if (kind == nullptr || !kind->is_string() || kind->as_string() != kKind) {
            return corrupt;
        }
        const boost::json::value* version = h.if_contains("version");
        if (version == nullptr || !version->is_int64() || version->as_int64() != kVersion) {
            return core::make_error_code(core::Errc::model_mismatch);
        }
        const std::optional<nlu::TokenizerOptions> tok =
            nlu::tokenizer_options_from_json(h.at("tokenizer").as_object());
        if (!tok) {
            return corrupt;
        }
        auto impl = std::make_unique<Impl>(*tok);
        for (const boost::json::value& id : h.at("articles").as_array()) {
            impl->articles.emplace_back(id.as_string());
        }
        impl->fingerprint = std::string(h.at("training_fingerprint").as_string());
        impl->training = h.at("training").as_object();
        impl->neighbour_weight = static_cast<float>(h.at("neighbour_weight").to_number<double>());
        impl->lexical_weight = static_cast<float>(h.at("lexical_weight").to_number<double>());
        const std::int64_t ensemble = h.at("ensemble").to_number<std::int64_t>();
        if (ensemble < 1 || ensemble > 64 || impl->neighbour_weight < 0 ||
            impl->lexical_weight < 0 || impl->neighbour_weight + impl->lexical_weight > 1) {
            return corrupt;
        }

        std::map<std::string, torch::Tensor> t;
        for (const nlu::detail::Blob& blob : file->blobs) {
            t[blob.name] = from_blob(blob);
        }
        auto take = [&](const std::string& name) {
            auto it = t.find(name);
            if (it == t.end()) {
                throw std::runtime_error("missing blob " + name);
            }
            return it->second;
        };
        const torch::Tensor buckets = take("row_buckets");
        const torch::Tensor idf = take("row_idf");
        impl->lexical = take("lexical");
        impl->neighbour_articles = take("neighbour_articles");
        const auto n = static_cast<std::int64_t>(impl->articles.size());
        const std::int64_t rows = std::max<std::int64_t>(1, buckets.size(0));
        bool shapes_ok = n > 0 && buckets.dim() == 1 && idf.dim() == 1 && idf.size(0) == rows &&
                         impl->lexical.dim() == 2 && impl->lexical.size(0) == rows &&
                         impl->lexical.size(1) == n && impl->neighbour_articles.dim() == 1 &&
                         impl->neighbour_articles.dtype() == torch::kLong &&
                         buckets.dtype() == torch::kLong && idf.dtype() == torch::kFloat;
        if (shapes_ok) {
            auto na = impl->neighbour_articles;
            shapes_ok = na.size(0) > 0 && na.min().item<std::int64_t>() >= 0 &&
                        na.max().item<std::int64_t>() < n;
        }
        for (std::int64_t k = 0; shapes_ok && k < ensemble; ++k) {
            const std::string p = "m" + std::to_string(k) + ".";
            Impl::Member m{take(p + "embedding"), take(p + "proj.weight"), take(p + "proj.bias"),
                           take(p + "articles"), take(p + "neighbours")};
            shapes_ok = m.embedding.dim() == 2 && m.embedding.size(0) == rows &&
                        m.proj_weight.dim() == 2 && m.proj_weight.size(1) == m.embedding.size(1) &&
                        m.proj_bias.dim() == 1 && m.proj_bias.size(0) == m.proj_weight.size(0) &&
                        m.articles.dim() == 2 && m.articles.size(0) == n &&
                        m.articles.size(1) == m.proj_weight.size(0) && m.neighbours.dim() == 2 &&
                        m.neighbours.size(0) == impl->neighbour_articles.size(0) &&
                        m.neighbours.size(1) == m.proj_weight.size(0);
            impl->members.push_back(std::move(m));
        }
        if (!shapes_ok) {
            return corrupt;
        }
        const auto* data = buckets.data_ptr<std::int64_t>();
        impl->row_buckets.assign(data, data + buckets.size(0));
        if (!std::is_sorted(impl->row_buckets.begin(), impl->row_buckets.end())) {
            return corrupt;
        }
        impl->row_idf.assign(idf.data_ptr<float>(), idf.data_ptr<float>() + idf.size(0));
        impl->index_neighbours();
        return std::unique_ptr<FaqModel>(new FaqModel(std::move(impl)));
    } catch (const std::exception&) {
        return corrupt;
    }
}

std::vector<FaqHit> FaqModel::retrieve(std::string_view text, std::size_t k) const {
    std::vector<std::int64_t> rows;
    impl_->append_rows(text, rows);
    std::vector<FaqHit> hits;
    if (rows.empty()) {
        for (std::size_t i = 0; i < std::min(k, impl_->articles.size()); ++i) {
            hits.push_back({impl_->articles[i], 0.0f});
        }
        return hits;
    }
    try {
        torch::InferenceMode guard;
        auto scores = impl_->scores(rows);
        const auto top = std::min<std::int64_t>(static_cast<std::int64_t>(k), scores.size(0));
        auto [values, indices] = scores.topk(top);
        for (std::int64_t i = 0; i < top; ++i) {
            hits.push_back(
                {impl_->articles[static_cast<std::size_t>(indices[i].item<std::int64_t>())],
                 values[i].item<float>()});
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "retrieving");
    }
    return hits;
}

const std::vector<std::string>& FaqModel::articles() const {
    return impl_->articles;
}

const std::string& FaqModel::training_fingerprint() const {
    return impl_->fingerprint;
}

}  // namespace teller::nlg
