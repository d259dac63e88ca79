// The LibTorch FAQ dual encoder: training, saving, loading and retrieval.
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

}  // namespace

// TODO(teller): the encoder sees only hashed words and character n-grams of four training
// variants per article, so paraphrases that share few words with them are often missed (about
// half of held-out variants in nlg_bench); more variants per article, or pretrained sentence
// embeddings, are what would lift it.
struct FaqModel::Impl {
    nlu::Tokenizer tokenizer;
    std::vector<std::string> articles;
    std::vector<std::int64_t> row_buckets;  ///< sorted bucket of each embedding row
    std::vector<float> row_idf;             ///< inverse question frequency of each row
    torch::Tensor embedding;                ///< [rows, dim]
    torch::Tensor proj_weight;              ///< [dim, dim]
    torch::Tensor proj_bias;                ///< [dim]
    torch::Tensor article_vectors;          ///< [articles, dim], unit length once frozen
    std::string fingerprint;
    boost::json::object training;

    explicit Impl(nlu::TokenizerOptions options) : tokenizer(options) {}

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

    // Unit-length question vectors for a batch of weighted bags (an empty bag gives a zero
    // vector).
    torch::Tensor encode(const torch::Tensor& rows, const torch::Tensor& offsets,
                         const torch::Tensor& weights) const {
        auto bag =
            std::get<0>(torch::embedding_bag(embedding, rows, offsets, false, 0, false, weights));
        auto q = torch::addmm(proj_bias, bag, proj_weight.t());
        return q / q.norm(2, 1, true).clamp_min(1e-6);
    }
};

FaqModel::FaqModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaqModel::~FaqModel() = default;

std::unique_ptr<FaqModel> FaqModel::train(const std::vector<LabeledQuestion>& questions,
                                          const FaqTrainOptions& options, std::string fingerprint) {
    if (questions.empty()) {
        throw core::Error("faq: no questions to train on");
    }
    if (options.epochs < 1 || options.dim < 1 || options.buckets < 1 || options.batch_size < 1 ||
        options.feature_dropout < 0 || options.feature_dropout >= 1 || options.scale <= 0) {
        throw core::Error("faq: invalid training options");
    }
    const auto started = std::chrono::steady_clock::now();
    ThreadCountGuard threads(1);
    nlu::TokenizerOptions tok;
    tok.buckets = options.buckets;
    auto impl = std::make_unique<Impl>(tok);
    impl->fingerprint = std::move(fingerprint);

    // Articles (sorted ids) and the feature rows every question uses.
    std::map<std::string, std::int64_t> article_index;
    for (const LabeledQuestion& q : questions) {
        article_index.emplace(q.article, 0);
    }
    for (auto& [id, index] : article_index) {
        index = static_cast<std::int64_t>(impl->articles.size());
        impl->articles.push_back(id);
    }
    std::set<std::int64_t> seen;
    for (const LabeledQuestion& q : questions) {
        for (std::int64_t b : impl->tokenizer.feature_ids(q.text)) {
            seen.insert(b);
        }
    }
    impl->row_buckets.assign(seen.begin(), seen.end());
    std::vector<std::vector<std::int64_t>> rows(questions.size());
    std::vector<std::int64_t> targets(questions.size());
    std::vector<int> document_count(impl->row_buckets.size(), 0);
    for (std::size_t i = 0; i < questions.size(); ++i) {
        impl->append_rows(questions[i].text, rows[i]);
        targets[i] = article_index.at(questions[i].article);
        std::vector<std::int64_t> unique = rows[i];
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        for (std::int64_t r : unique) {
            ++document_count[static_cast<std::size_t>(r)];
        }
    }
    for (int df : document_count) {
        impl->row_idf.push_back(static_cast<float>(
            std::log((1.0 + static_cast<double>(questions.size())) / (1.0 + df)) + 1.0));
    }
    if (impl->row_idf.empty()) {
        impl->row_idf.push_back(1.0f);
    }

    const std::int64_t dim = options.dim;
    const auto row_count = std::max<std::int64_t>(1, impl->row_buckets.size());
    const auto n_articles = static_cast<std::int64_t>(impl->articles.size());
    double last_loss = 0;
    try {
        torch::manual_seed(options.seed);
        impl->embedding = torch::empty({row_count, dim}).normal_(0, 0.1).set_requires_grad(true);
        const double bound = 1.0 / std::sqrt(static_cast<double>(dim));
        impl->proj_weight =
            torch::empty({dim, dim}).uniform_(-bound, bound).set_requires_grad(true);
        impl->proj_bias = torch::zeros({dim}).set_requires_grad(true);
        impl->article_vectors =
            torch::empty({n_articles, dim}).normal_(0, 0.1).set_requires_grad(true);
        torch::optim::Adam adam(
            {impl->embedding, impl->proj_weight, impl->proj_bias, impl->article_vectors},
            torch::optim::AdamOptions(options.learning_rate));

        std::vector<std::size_t> order(rows.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::mt19937_64 rng(options.seed);
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
                for (std::size_t k = start; k < std::min(order.size(), start + batch); ++k) {
                    offsets.push_back(static_cast<std::int64_t>(flat.size()));
                    const std::size_t first = flat.size();
                    for (std::int64_t row : rows[order[k]]) {
                        if (unit(rng) >= options.feature_dropout) {
                            flat.push_back(row);
                        }
                    }
                    impl->append_weights(std::span(flat).subspan(first), weights);
                    batch_targets.push_back(targets[order[k]]);
                }
                auto row_t = torch::tensor(flat, torch::kLong);
                auto off_t = torch::tensor(offsets, torch::kLong);
                auto weight_t = torch::tensor(weights, torch::kFloat);
                auto target_t = torch::tensor(batch_targets, torch::kLong);

                adam.zero_grad();
                auto q = impl->encode(row_t, off_t, weight_t);
                auto a =
                    impl->article_vectors / impl->article_vectors.norm(2, 1, true).clamp_min(1e-6);
                auto logits = torch::mm(q, a.t()) * options.scale;
                auto loss = torch::nn::functional::cross_entropy(logits, target_t);
                loss.backward();
                adam.step();
                loss_sum += loss.item<double>();
                ++steps;
            }
            last_loss = loss_sum / static_cast<double>(steps);
        }

        // Freeze: no autograd state, unit-length article vectors.
        torch::NoGradGuard no_grad;
        impl->embedding = impl->embedding.detach().contiguous();
        impl->proj_weight = impl->proj_weight.detach().contiguous();
        impl->proj_bias = impl->proj_bias.detach().contiguous();
        // Each article's vector: the learned one plus the centroid of its questions as the
        // trained encoder sees them (the centroid generalises better to unseen paraphrases).
        std::vector<std::int64_t> flat;
        std::vector<float> weights;
        std::vector<std::int64_t> offsets;
        for (const auto& r : rows) {
            offsets.push_back(static_cast<std::int64_t>(flat.size()));
            flat.insert(flat.end(), r.begin(), r.end());
            impl->append_weights(r, weights);
        }
        auto encoded =
            impl->encode(torch::tensor(flat, torch::kLong), torch::tensor(offsets, torch::kLong),
                         torch::tensor(weights, torch::kFloat));
        auto centroids = torch::zeros({n_articles, dim})
                             .index_add_(0, torch::tensor(targets, torch::kLong), encoded);
        centroids = centroids / centroids.norm(2, 1, true).clamp_min(1e-6);
        auto a = impl->article_vectors.detach();
        a = a / a.norm(2, 1, true).clamp_min(1e-6);
        a = options.centroid_weight * centroids + (1 - options.centroid_weight) * a;
        impl->article_vectors = (a / a.norm(2, 1, true).clamp_min(1e-6)).contiguous();
    } catch (const c10::Error& e) {
        rethrow_torch(e, "training");
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    impl->training = {{"questions", questions.size()},
                      {"epochs", options.epochs},
                      {"dim", options.dim},
                      {"learning_rate", options.learning_rate},
                      {"scale", options.scale},
                      {"feature_dropout", options.feature_dropout},
                      {"seed", options.seed},
                      {"final_loss", last_loss}};
    core::Logger("faq").info("faq model trained", {{"questions", questions.size()},
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
                   {"articles", std::move(articles)},
                   {"tokenizer",
                    {{"min_n", tok.min_n},
                     {"max_n", tok.max_n},
                     {"word_bigrams", tok.word_bigrams},
                     {"buckets", tok.buckets},
                     {"hash", "fnv1a64"}}},
                   {"training", impl_->training},
                   {"training_fingerprint", impl_->fingerprint}};
    try {
        auto buckets = torch::tensor(impl_->row_buckets, torch::kLong);
        file.blobs.push_back(to_blob("row_buckets", buckets, true));
        file.blobs.push_back(
            to_blob("row_idf", torch::tensor(impl_->row_idf, torch::kFloat), false));
        file.blobs.push_back(to_blob("embedding", impl_->embedding, false));
        file.blobs.push_back(to_blob("proj.weight", impl_->proj_weight, false));
        file.blobs.push_back(to_blob("proj.bias", impl_->proj_bias, false));
        file.blobs.push_back(to_blob("articles", impl_->article_vectors, false));
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
        const auto& tok_json = h.at("tokenizer").as_object();
        nlu::TokenizerOptions tok;
        tok.min_n = static_cast<int>(tok_json.at("min_n").as_int64());
        tok.max_n = static_cast<int>(tok_json.at("max_n").as_int64());
        tok.word_bigrams = tok_json.at("word_bigrams").as_bool();
        tok.buckets = tok_json.at("buckets").as_int64();
        if (tok_json.at("hash").as_string() != "fnv1a64" || tok.buckets < 1 ||
            tok.max_n < tok.min_n || tok.max_n > 64) {
            return corrupt;
        }
        auto impl = std::make_unique<Impl>(tok);
        for (const boost::json::value& id : h.at("articles").as_array()) {
            impl->articles.emplace_back(id.as_string());
        }
        impl->fingerprint = std::string(h.at("training_fingerprint").as_string());
        impl->training = h.at("training").as_object();

        std::map<std::string, torch::Tensor> t;
        for (const nlu::detail::Blob& blob : file->blobs) {
            t[blob.name] = from_blob(blob);
        }
        for (const char* name :
             {"row_buckets", "row_idf", "embedding", "proj.weight", "proj.bias", "articles"}) {
            if (t.count(name) == 0) {
                return corrupt;
            }
        }
        impl->embedding = t["embedding"];
        impl->proj_weight = t["proj.weight"];
        impl->proj_bias = t["proj.bias"];
        impl->article_vectors = t["articles"];
        const torch::Tensor& buckets = t["row_buckets"];
        const auto n = static_cast<std::int64_t>(impl->articles.size());
        const bool shapes_ok =
            buckets.dim() == 1 && impl->embedding.dim() == 2 &&
            impl->embedding.size(0) == std::max<std::int64_t>(1, buckets.size(0)) &&
            impl->proj_weight.dim() == 2 && impl->proj_weight.size(1) == impl->embedding.size(1) &&
            impl->proj_bias.dim() == 1 && impl->proj_bias.size(0) == impl->proj_weight.size(0) &&
            impl->article_vectors.dim() == 2 && impl->article_vectors.size(0) == n && n > 0 &&
            impl->article_vectors.size(1) == impl->proj_weight.size(0);
        if (!shapes_ok) {
            return corrupt;
        }
        const auto* data = buckets.data_ptr<std::int64_t>();
        impl->row_buckets.assign(data, data + buckets.size(0));
        if (!std::is_sorted(impl->row_buckets.begin(), impl->row_buckets.end())) {
            return corrupt;
        }
        const torch::Tensor& idf = t["row_idf"];
        if (idf.dim() != 1 || idf.size(0) != impl->embedding.size(0)) {
            return corrupt;
        }
        impl->row_idf.assign(idf.data_ptr<float>(), idf.data_ptr<float>() + idf.size(0));
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
        std::vector<float> weights;
        impl_->append_weights(rows, weights);
        auto q = impl_->encode(torch::tensor(rows, torch::kLong),
                               torch::tensor(std::vector<std::int64_t>{0}, torch::kLong),
                               torch::tensor(weights, torch::kFloat));
        auto scores = torch::mm(q, impl_->article_vectors.t()).squeeze(0);
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
