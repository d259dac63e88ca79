// The LibTorch joint model: an ensemble of fastText-style intent networks (bags of hashed
// n-grams, one hidden layer, softmax) and a BiGRU sequence network with BIO tag and intent heads.
#include "teller/nlu/intent_model.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <unordered_map>

#include "model_file.hpp"
#include "sequence_tags.hpp"
#include "tagger.hpp"
#include "teller/core/log.hpp"
#include "teller/nlu/entities.hpp"
#include "teller/nlu/tokenizer.hpp"

namespace teller::nlu {
namespace {

constexpr int kTopK = 5;

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

// Flattened feature rows of a batch, as embedding_bag takes them.
struct Bags {
    std::vector<std::int64_t> rows;
    std::vector<std::int64_t> offsets;
};

// The only place torch's error space is translated: c10::Error becomes a core::Error.
[[noreturn]] void rethrow_torch(const c10::Error& e, const char* what) {
    throw core::Error(std::string("nlu: torch failed while ") + what + ": " +
                      e.what_without_backtrace());
}

detail::Blob to_blob(const std::string& name, const torch::Tensor& tensor,
                     const std::string& dtype) {
    torch::Tensor t = tensor.detach().contiguous();
    t = dtype == "f16"   ? t.to(torch::kHalf)
        : dtype == "i64" ? t.to(torch::kLong)
        : dtype == "i8"  ? t.to(torch::kChar)
                         : t.to(torch::kFloat);
    t = t.contiguous();
    detail::Blob blob;
    blob.name = name;
    blob.dtype = dtype;
    blob.shape.assign(t.sizes().begin(), t.sizes().end());
    blob.bytes.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
    return blob;
}

// An embedding table as int8 rows plus a `<name>.scale` f32 blob (see quantize_rows()).
void push_quantized(std::vector<detail::Blob>& blobs, const std::string& name,
                    const torch::Tensor& table) {
    const auto [q, scale] = detail::quantize_rows(table);
    blobs.push_back(to_blob(name, q, "i8"));
    blobs.push_back(to_blob(name + ".scale", scale, "f32"));
}

torch::Tensor from_blob(const detail::Blob& blob) {
    const auto type = blob.dtype == "f16"   ? torch::kHalf
                      : blob.dtype == "i64" ? torch::kLong
                      : blob.dtype == "i8"  ? torch::kChar
                                            : torch::kFloat;
    torch::Tensor t = torch::empty(blob.shape, torch::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), blob.bytes.data(), blob.bytes.size());
    return type == torch::kHalf ? t.to(torch::kFloat) : t;
}

// One network of the ensemble: mean bag of feature embeddings, ReLU hidden layer, logits.
struct Network {
    torch::Tensor embedding;      ///< [rows, dim]
    torch::Tensor hidden_weight;  ///< [hidden, dim]
    torch::Tensor hidden_bias;    ///< [hidden]
    torch::Tensor output_weight;  ///< [labels, hidden]
    torch::Tensor output_bias;    ///< [labels]

    // Logits for a batch of bags; `train` turns dropout on and asks for sparse gradients.
    torch::Tensor forward(const torch::Tensor& rows, const torch::Tensor& offsets, bool train,
                          float dropout) const {
        auto bag = std::get<0>(torch::embedding_bag(embedding, rows, offsets, false, 1, train));
        auto hidden = torch::relu(torch::addmm(hidden_bias, bag, hidden_weight.t()));
        if (train && dropout > 0) {
            hidden = torch::dropout(hidden, dropout, true);
        }
        return torch::addmm(output_bias, hidden, output_weight.t());
    }
};

// Buckets counted at least `min_count` times, at most `max_rows` of them (the most frequent;
// ties broken by bucket id, so the choice is deterministic), sorted by bucket id.
std::vector<std::int64_t> frequent_buckets(const std::unordered_map<std::int64_t, int>& counts,
                                           int min_count, std::int64_t max_rows) {
    std::vector<std::pair<int, std::int64_t>> kept;
    for (const auto& [bucket, count] : counts) {
        if (count >= min_count) {
            kept.emplace_back(-count, bucket);
        }
    }
    if (max_rows > 0 && static_cast<std::int64_t>(kept.size()) > max_rows) {
        std::nth_element(kept.begin(), kept.begin() + max_rows, kept.end());
        kept.resize(static_cast<std::size_t>(max_rows));
    }
    std::vector<std::int64_t> buckets;
    buckets.reserve(kept.size());
    for (const auto& [negative_count, bucket] : kept) {
        buckets.push_back(bucket);
    }
    std::sort(buckets.begin(), buckets.end());
    return buckets;
}

std::pair<torch::Tensor, torch::Tensor> bag_tensors(const Bags& bags) {
    auto rows = torch::from_blob(const_cast<std::int64_t*>(bags.rows.data()),
                                 {static_cast<std::int64_t>(bags.rows.size())}, torch::kLong);
    auto offsets = torch::from_blob(const_cast<std::int64_t*>(bags.offsets.data()),
                                    {static_cast<std::int64_t>(bags.offsets.size())}, torch::kLong);
    return {rows, offsets};
}

// Trains one network in place. Returns the last epoch's mean loss.
double train_network(Network& net, const std::vector<std::vector<std::int64_t>>& rows,
                     const std::vector<std::int64_t>& targets, std::int64_t row_count,
                     std::int64_t classes, const TrainOptions& options, std::uint64_t seed,
                     const std::function<void(int, double)>& on_epoch) {
    const std::int64_t dim = options.embedding_dim;
    const std::int64_t hidden = options.hidden_dim;

    // Parameters: small uniform embeddings, Linear-style uniform layers.
    torch::manual_seed(seed);
    net.embedding = torch::empty({row_count, dim}).uniform_(-1.0 / dim, 1.0 / dim);
    const double h_bound = 1.0 / std::sqrt(static_cast<double>(dim));
    const double o_bound = 1.0 / std::sqrt(static_cast<double>(hidden));
    net.hidden_weight = torch::empty({hidden, dim}).uniform_(-h_bound, h_bound);
    net.hidden_bias = torch::empty({hidden}).uniform_(-h_bound, h_bound);
    net.output_weight = torch::empty({classes, hidden}).uniform_(-o_bound, o_bound);
    net.output_bias = torch::empty({classes}).uniform_(-o_bound, o_bound);
    for (torch::Tensor* t : {&net.embedding, &net.hidden_weight, &net.hidden_bias,
                             &net.output_weight, &net.output_bias}) {
        t->set_requires_grad(true);
    }
    torch::optim::Adam dense(
        {net.hidden_weight, net.hidden_bias, net.output_weight, net.output_bias},
        torch::optim::AdamOptions(options.learning_rate));
    // Lazy (sparse) Adam state for the embedding rows.
    torch::Tensor m = torch::zeros({row_count, dim});
    torch::Tensor v = torch::zeros({row_count, dim});
    constexpr double kBeta1 = 0.9;
    constexpr double kBeta2 = 0.999;
    constexpr double kEps = 1e-8;

    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::mt19937_64 rng(seed);
    const auto batch = static_cast<std::size_t>(options.batch_size);
    const std::size_t steps_per_epoch = (rows.size() + batch - 1) / batch;
    const double total_steps = static_cast<double>(steps_per_epoch) * options.epochs;
    std::int64_t step = 0;
    auto loss_options =
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(options.label_smoothing);
    double epoch_loss = 0;

    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        // A fixed Fisher-Yates shuffle (std::shuffle differs between standard libraries).
        for (std::size_t i = order.size() - 1; i > 0; --i) {
            std::swap(order[i], order[rng() % (i + 1)]);
        }
        double loss_sum = 0;
        for (std::size_t start = 0; start < order.size(); start += batch) {
            const std::size_t end = std::min(order.size(), start + batch);
            Bags bags;
            std::vector<std::int64_t> batch_targets;
            for (std::size_t k = start; k < end; ++k) {
                bags.offsets.push_back(static_cast<std::int64_t>(bags.rows.size()));
                bags.rows.insert(bags.rows.end(), rows[order[k]].begin(), rows[order[k]].end());
                batch_targets.push_back(targets[order[k]]);
            }
            auto target =
                torch::from_blob(batch_targets.data(),
                                 {static_cast<std::int64_t>(batch_targets.size())}, torch::kLong);
            const double lr =
                options.learning_rate * (1.0 - static_cast<double>(step) / total_steps);
            ++step;

            dense.zero_grad();
            net.embedding.mutable_grad() = torch::Tensor();
            const auto [row_tensor, offset_tensor] = bag_tensors(bags);
            auto logits = net.forward(row_tensor, offset_tensor, true, options.dropout);
            auto loss = torch::nn::functional::cross_entropy(logits, target, loss_options);
            loss.backward();
            loss_sum += loss.item<double>();

            for (auto& group : dense.param_groups()) {
                static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
            }
            dense.step();

            // Sparse Adam step on the rows this batch touched.
            torch::NoGradGuard no_grad;
            torch::Tensor grad = net.embedding.grad();
            if (grad.defined() && grad._nnz() > 0) {
                grad = grad.coalesce();
                auto idx = grad._indices()[0];
                auto g = grad._values();
                auto m_rows = m.index_select(0, idx).mul_(kBeta1).add_(g, 1 - kBeta1);
                auto v_rows = v.index_select(0, idx).mul_(kBeta2).addcmul_(g, g, 1 - kBeta2);
                m.index_copy_(0, idx, m_rows);
                v.index_copy_(0, idx, v_rows);
                const double c1 = 1 - std::pow(kBeta1, static_cast<double>(step));
                const double c2 = 1 - std::pow(kBeta2, static_cast<double>(step));
                auto update = (m_rows / c1).div_((v_rows / c2).sqrt_().add_(kEps)).mul_(-lr);
                net.embedding.index_add_(0, idx, update);
            }
        }
        epoch_loss = loss_sum / static_cast<double>(steps_per_epoch);
        on_epoch(epoch, epoch_loss);
    }

    // Freeze: drop autograd state and round the embedding as it is stored (int8 rows), so a
    // saved and reloaded model answers exactly like this one.
    for (torch::Tensor* t :
         {&net.hidden_weight, &net.hidden_bias, &net.output_weight, &net.output_bias}) {
        *t = t->detach().contiguous();
    }
    const auto [q, scale] = detail::quantize_rows(net.embedding.detach());
    net.embedding = detail::dequantize_rows(q, scale);
    return epoch_loss;
}

}  // namespace

struct IntentModel::Impl {
    Tokenizer tokenizer;
    std::vector<std::string> labels;
    std::vector<std::int64_t> row_buckets;  ///< sorted bucket id of each embedding row
    std::vector<Network> members;           ///< the ensemble; probabilities are averaged
    std::string fingerprint;
    boost::json::object training;  ///< options and figures of the training run

    // The sequence network (absent in intent-only models).
    detail::TaggerNetwork tagger;
    detail::TagSet tag_set;
    std::vector<std::int64_t> tagger_buckets;  ///< sorted bucket id of each tagger row
    int tagger_min_n = 0;
    int tagger_max_n = 0;
    bool tagger_intent_member = false;

    explicit Impl(TokenizerOptions options) : tokenizer(options) {}

    // The tagger's view of one text: each token's feature rows (unseen features dropped).
    detail::TaggedExample tagger_input(const std::vector<detail::TokenSpan>& tokens) const {
        detail::TaggedExample out;
        const auto features =
            detail::token_features(tokens, tagger_min_n, tagger_max_n, tokenizer.options().buckets);
        out.token_rows.resize(features.size());
        for (std::size_t i = 0; i < features.size(); ++i) {
            for (std::int64_t bucket : features[i]) {
                auto it = std::lower_bound(tagger_buckets.begin(), tagger_buckets.end(), bucket);
                if (it != tagger_buckets.end() && *it == bucket) {
                    out.token_rows[i].push_back(it - tagger_buckets.begin());
                }
            }
        }
        return out;
    }

    // Feature rows of one text; features never seen in training are dropped.
    void append_rows(std::string_view text, std::vector<std::int64_t>& out) const {
        for (std::int64_t bucket : tokenizer.feature_ids(text)) {
            auto it = std::lower_bound(row_buckets.begin(), row_buckets.end(), bucket);
            if (it != row_buckets.end() && *it == bucket) {
                out.push_back(it - row_buckets.begin());
            }
        }
    }
};

IntentModel::IntentModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IntentModel::~IntentModel() = default;

std::unique_ptr<IntentModel> IntentModel::train(const std::vector<LabeledUtterance>& examples,
                                                const TrainOptions& options) {
    if (examples.empty()) {
        throw core::Error("nlu: no training examples");
    }
    if (options.epochs < 1 || options.embedding_dim < 1 || options.hidden_dim < 1 ||
        options.buckets < 1 || options.batch_size < 1 || options.min_count < 1 ||
        options.ensemble < 1 || options.max_n < options.min_n || options.dropout < 0 ||
        options.dropout >= 1) {
        throw core::Error("nlu: invalid training options");
    }
    const TaggerOptions& topt = options.tagger;
    if (topt.epochs < 1 || topt.embedding_dim < 1 || topt.hidden_dim < 1 || topt.min_count < 1 ||
        topt.batch_size < 1 || topt.max_n < topt.min_n || topt.dropout < 0 || topt.dropout >= 1) {
        throw core::Error("nlu: invalid tagger options");
    }
    std::vector<std::string> types;
    for (const LabeledUtterance& e : examples) {
        for (const core::Entity& entity : e.entities) {
            types.push_back(entity.type);
        }
    }
    const bool want_tags = topt.enabled && !types.empty();
    const bool train_tagger = want_tags || topt.intent_member;
    const auto started = std::chrono::steady_clock::now();
    ThreadCountGuard threads(1);
    core::Logger log("nlu");

    TokenizerOptions tok;
    tok.min_n = options.min_n;
    tok.max_n = options.max_n;
    tok.word_bigrams = options.word_bigrams;
    tok.buckets = options.buckets;
    auto impl = std::make_unique<Impl>(tok);
    impl->fingerprint = fingerprint(examples);

    // Labels (sorted) and each example's hashed features.
    std::map<std::string, std::int64_t> label_index;
    for (const LabeledUtterance& e : examples) {
        label_index.emplace(e.intent, 0);
    }
    for (auto& [name, index] : label_index) {
        index = static_cast<std::int64_t>(impl->labels.size());
        impl->labels.push_back(name);
    }
    std::vector<std::vector<std::int64_t>> buckets(examples.size());
    std::unordered_map<std::int64_t, int> document_count;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        buckets[i] = impl->tokenizer.feature_ids(examples[i].text);
        std::vector<std::int64_t> unique = buckets[i];
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        for (std::int64_t b : unique) {
            ++document_count[b];
        }
    }

    // Keep the buckets seen often enough (the most frequent max_rows); each becomes one row.
    impl->row_buckets = frequent_buckets(document_count, options.min_count, options.max_rows);
    std::vector<std::vector<std::int64_t>> rows(examples.size());
    std::vector<std::int64_t> targets(examples.size());
    for (std::size_t i = 0; i < examples.size(); ++i) {
        impl->append_rows(examples[i].text, rows[i]);
        targets[i] = label_index.at(examples[i].intent);
    }

    const auto row_count = std::max<std::int64_t>(1, impl->row_buckets.size());
    const auto classes = static_cast<std::int64_t>(impl->labels.size());
    double final_loss = 0;
    try {
        // Each member differs only in its seed; epochs are reported across all members.
        const int total_epochs =
            options.epochs * options.ensemble + (train_tagger ? options.tagger.epochs : 0);
        for (int k = 0; k < options.ensemble; ++k) {
            Network net;
            auto on_epoch = [&](int epoch, double loss) {
                const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
                const int done = k * options.epochs + epoch;
                log.debug("epoch done", {{"member", k}, {"epoch", epoch}, {"loss", loss}});
                if (options.progress) {
                    options.progress(done, total_epochs, loss, seconds);
                }
            };
            final_loss =
                train_network(net, rows, targets, row_count, classes, options,
                              options.seed + static_cast<std::uint64_t>(k) * 7919, on_epoch);
            impl->members.push_back(std::move(net));
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "training");
    }

    // The sequence network, when there are entity annotations to learn or it joins the ensemble.
    if (train_tagger) {
        impl->tag_set = detail::TagSet(want_tags ? types : std::vector<std::string>{});
        impl->tagger_min_n = topt.min_n;
        impl->tagger_max_n = topt.max_n;
        impl->tagger_intent_member = topt.intent_member;

        // Feature vocabulary: buckets seen in at least min_count utterances.
        std::vector<std::vector<detail::TokenSpan>> spans(examples.size());
        std::unordered_map<std::int64_t, int> seen;
        for (std::size_t i = 0; i < examples.size(); ++i) {
            spans[i] = detail::token_spans(examples[i].text);
            std::vector<std::int64_t> unique;
            for (const auto& f :
                 detail::token_features(spans[i], topt.min_n, topt.max_n, tok.buckets)) {
                unique.insert(unique.end(), f.begin(), f.end());
            }
            std::sort(unique.begin(), unique.end());
            unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
            for (std::int64_t b : unique) {
                ++seen[b];
            }
        }
        impl->tagger_buckets = frequent_buckets(seen, topt.min_count, topt.max_rows);
        std::vector<detail::TaggedExample> tagged(examples.size());
        for (std::size_t i = 0; i < examples.size(); ++i) {
            tagged[i] = impl->tagger_input(spans[i]);
            tagged[i].tags = impl->tag_set.encode(spans[i], examples[i].entities);
            tagged[i].intent = label_index.at(examples[i].intent);
        }

        try {
            const std::uint64_t seed = options.seed + 104729;
            torch::manual_seed(seed);
            impl->tagger = detail::TaggerNetwork(
                std::max<std::int64_t>(1, impl->tagger_buckets.size()), topt.embedding_dim,
                topt.hidden_dim, static_cast<std::int64_t>(impl->tag_set.size()), classes);
            auto on_epoch = [&](int epoch, double loss) {
                log.debug("tagger epoch done", {{"epoch", epoch}, {"loss", loss}});
                if (options.progress) {
                    const double seconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                            .count();
                    const int ensemble_epochs = options.epochs * options.ensemble;
                    options.progress(ensemble_epochs + epoch, ensemble_epochs + topt.epochs, loss,
                                     seconds);
                }
            };
            impl->tagger.train(tagged, topt, options.label_smoothing, seed, on_epoch);
        } catch (const c10::Error& e) {
            rethrow_torch(e, "training the tagger");
        }
    }

    impl->training = {{"examples", examples.size()},
                      {"epochs", options.epochs},
                      {"learning_rate", options.learning_rate},
                      {"label_smoothing", options.label_smoothing},
                      {"dropout", options.dropout},
                      {"ensemble", options.ensemble},
                      {"batch_size", options.batch_size},
                      {"min_count", options.min_count},
                      {"seed", options.seed},
                      {"final_loss", final_loss}};
    if (train_tagger) {
        impl->training["tagger"] = {
            {"epochs", topt.epochs},         {"embedding_dim", topt.embedding_dim},
            {"hidden_dim", topt.hidden_dim}, {"learning_rate", topt.learning_rate},
            {"dropout", topt.dropout},       {"intent_loss_weight", topt.intent_loss_weight},
            {"batch_size", topt.batch_size}, {"min_count", topt.min_count}};
    }
    log.info("intent model trained",
             {{"examples", examples.size()},
              {"intents", impl->labels.size()},
              {"rows", row_count},
              {"seconds",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    return std::unique_ptr<IntentModel>(new IntentModel(std::move(impl)));
}

void IntentModel::save(const std::filesystem::path& path) const {
    detail::ModelFile file;
    boost::json::array labels;
    for (const std::string& label : impl_->labels) {
        labels.push_back(boost::json::string(label));
    }
    const TokenizerOptions& tok = impl_->tokenizer.options();
    file.header = {
        {"labels", std::move(labels)},
        {"tokenizer", to_json(tok)},
        {"network",
         {{"kind", "bag_mean_relu_softmax"},
          {"members", impl_->members.size()},
          {"rows", feature_rows()},
          {"embedding_dim", embedding_dim()}}},
        {"training", impl_->training},
        {"training_fingerprint", impl_->fingerprint},
    };
    if (impl_->tagger.defined()) {
        boost::json::array types;
        for (const std::string& type : impl_->tag_set.types()) {
            types.push_back(boost::json::string(type));
        }
        file.header["tagger"] = {{"kind", "token_bag_bigru_bio"},
                                 {"entity_types", std::move(types)},
                                 {"min_n", impl_->tagger_min_n},
                                 {"max_n", impl_->tagger_max_n},
                                 {"intent_member", impl_->tagger_intent_member}};
    }
    try {
        auto buckets =
            torch::from_blob(const_cast<std::int64_t*>(impl_->row_buckets.data()),
                             {static_cast<std::int64_t>(impl_->row_buckets.size())}, torch::kLong);
        file.blobs.push_back(to_blob("row_buckets", buckets, "i64"));
        for (std::size_t k = 0; k < impl_->members.size(); ++k) {
            const Network& net = impl_->members[k];
            const std::string prefix = "m" + std::to_string(k) + ".";
            push_quantized(file.blobs, prefix + "embedding", net.embedding);
            file.blobs.push_back(to_blob(prefix + "hidden.weight", net.hidden_weight, "f32"));
            file.blobs.push_back(to_blob(prefix + "hidden.bias", net.hidden_bias, "f32"));
            file.blobs.push_back(to_blob(prefix + "output.weight", net.output_weight, "f32"));
            file.blobs.push_back(to_blob(prefix + "output.bias", net.output_bias, "f32"));
        }
        if (impl_->tagger.defined()) {
            auto tagger_buckets = torch::from_blob(
                const_cast<std::int64_t*>(impl_->tagger_buckets.data()),
                {static_cast<std::int64_t>(impl_->tagger_buckets.size())}, torch::kLong);
            file.blobs.push_back(to_blob("tagger.row_buckets", tagger_buckets, "i64"));
            for (const auto& [name, tensor] : impl_->tagger.named_tensors()) {
                if (name == "embedding") {
                    push_quantized(file.blobs, "tagger." + name, tensor);
                } else {
                    file.blobs.push_back(to_blob("tagger." + name, tensor, "f32"));
                }
            }
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "saving");
    }
    detail::write_model_file(path, file);
}

core::Result<std::unique_ptr<IntentModel>> IntentModel::load(const std::filesystem::path& path) {
    auto file = detail::read_model_file(path);
    if (!file) {
        return file.error();
    }
    const auto corrupt = core::make_error_code(core::Errc::model_corrupt);
    try {
        // Header fields.
        const boost::json::object& h = file->header;
        const std::optional<TokenizerOptions> tok =
            tokenizer_options_from_json(h.at("tokenizer").as_object());
        if (!tok) {
            return corrupt;
        }
        auto impl = std::make_unique<Impl>(*tok);
        for (const boost::json::value& label : h.at("labels").as_array()) {
            impl->labels.emplace_back(label.as_string());
        }
        impl->fingerprint = std::string(h.at("training_fingerprint").as_string());
        impl->training = h.at("training").as_object();

        // Weights, with every shape checked against the others.
        std::map<std::string, torch::Tensor> tensors;
        for (const detail::Blob& blob : file->blobs) {
            tensors[blob.name] = from_blob(blob);
        }
        // Int8 tables (with a `<name>.scale` blob) back to float; older files hold f16 ones.
        for (auto& [name, tensor] : tensors) {
            const auto scale = tensors.find(name + ".scale");
            if (tensor.scalar_type() == torch::kChar) {
                if (scale == tensors.end() || tensor.dim() != 2 || scale->second.dim() != 1 ||
                    scale->second.size(0) != tensor.size(0)) {
                    return corrupt;
                }
                tensor = detail::dequantize_rows(tensor, scale->second);
            }
        }
        const auto members = h.at("network").as_object().at("members").as_int64();
        if (tensors.count("row_buckets") == 0 || members < 1 || members > 64) {
            return corrupt;
        }
        const torch::Tensor& buckets = tensors["row_buckets"];
        const auto classes = static_cast<std::int64_t>(impl->labels.size());
        if (buckets.dim() != 1 || classes < 1) {
            return corrupt;
        }
        for (std::int64_t k = 0; k < members; ++k) {
            const std::string prefix = "m" + std::to_string(k) + ".";
            for (const char* name :
                 {"embedding", "hidden.weight", "hidden.bias", "output.weight", "output.bias"}) {
                if (tensors.count(prefix + name) == 0) {
                    return corrupt;
                }
            }
            Network net;
            net.embedding = tensors[prefix + "embedding"];
            net.hidden_weight = tensors[prefix + "hidden.weight"];
            net.hidden_bias = tensors[prefix + "hidden.bias"];
            net.output_weight = tensors[prefix + "output.weight"];
            net.output_bias = tensors[prefix + "output.bias"];
            const bool shapes_ok =
                net.embedding.dim() == 2 &&
                net.embedding.size(0) == std::max<std::int64_t>(1, buckets.size(0)) &&
                net.hidden_weight.dim() == 2 &&
                net.hidden_weight.size(1) == net.embedding.size(1) && net.hidden_bias.dim() == 1 &&
                net.hidden_bias.size(0) == net.hidden_weight.size(0) &&
                net.output_weight.dim() == 2 && net.output_weight.size(0) == classes &&
                net.output_weight.size(1) == net.hidden_weight.size(0) &&
                net.output_bias.dim() == 1 && net.output_bias.size(0) == classes;
            if (!shapes_ok) {
                return corrupt;
            }
            impl->members.push_back(std::move(net));
        }
        const auto* data = buckets.data_ptr<std::int64_t>();
        impl->row_buckets.assign(data, data + buckets.size(0));
        if (!std::is_sorted(impl->row_buckets.begin(), impl->row_buckets.end())) {
            return corrupt;
        }

        // The sequence network; files from before it existed have none.
        if (const auto* tagger = h.if_contains("tagger")) {
            const auto& t = tagger->as_object();
            if (t.at("kind").as_string() != "token_bag_bigru_bio") {
                return core::make_error_code(core::Errc::model_mismatch);
            }
            std::vector<std::string> types;
            for (const boost::json::value& type : t.at("entity_types").as_array()) {
                types.emplace_back(type.as_string());
            }
            impl->tag_set = detail::TagSet(std::move(types));
            impl->tagger_min_n = static_cast<int>(t.at("min_n").as_int64());
            impl->tagger_max_n = static_cast<int>(t.at("max_n").as_int64());
            impl->tagger_intent_member = t.at("intent_member").as_bool();
            std::vector<std::pair<std::string, torch::Tensor>> named;
            for (const auto& [name, tensor] : tensors) {
                if (name.rfind("tagger.", 0) == 0 && name != "tagger.row_buckets") {
                    named.emplace_back(name.substr(7), tensor);
                }
            }
            const auto it = tensors.find("tagger.row_buckets");
            if (it == tensors.end() || it->second.dim() != 1 || !impl->tagger.assign(named) ||
                impl->tagger.rows() != std::max<std::int64_t>(1, it->second.size(0)) ||
                impl->tagger.tags() != static_cast<std::int64_t>(impl->tag_set.size()) ||
                impl->tagger.intents() != classes || impl->tagger_max_n < impl->tagger_min_n ||
                impl->tagger_max_n > 64) {
                return corrupt;
            }
            const auto* tb = it->second.data_ptr<std::int64_t>();
            impl->tagger_buckets.assign(tb, tb + it->second.size(0));
            if (!std::is_sorted(impl->tagger_buckets.begin(), impl->tagger_buckets.end())) {
                return corrupt;
            }
        }
        return std::unique_ptr<IntentModel>(new IntentModel(std::move(impl)));
    } catch (const c10::Error&) {
        return corrupt;
    } catch (const std::exception&) {
        return corrupt;
    }
}

std::vector<core::NluResult> IntentModel::parse(std::span<const std::string> texts) const {
    return parse(texts, EntitySource::rules_and_model);
}

std::vector<core::NluResult> IntentModel::parse_sent(
    std::span<const std::string> texts, std::span<const std::int64_t> sent_at_ms) const {
    return parse(texts, EntitySource::rules_and_model, sent_at_ms);
}

std::vector<core::NluResult> IntentModel::parse(std::span<const std::string> texts,
                                                EntitySource source,
                                                std::span<const std::int64_t> sent_at_ms) const {
    std::vector<core::NluResult> results(texts.size());
    std::vector<std::vector<core::Entity>> model_entities(texts.size());
    if (texts.empty()) {
        return results;
    }
    Bags bags;
    for (const std::string& text : texts) {
        bags.offsets.push_back(static_cast<std::int64_t>(bags.rows.size()));
        impl_->append_rows(text, bags.rows);
    }
    try {
        torch::InferenceMode guard;
        const auto [rows, offsets] = bag_tensors(bags);
        torch::Tensor probs;
        for (const Network& net : impl_->members) {
            auto p = torch::softmax(net.forward(rows, offsets, false, 0.0f), 1);
            probs = probs.defined() ? probs.add_(p) : p;
        }
        double weight = static_cast<double>(impl_->members.size());

        // The sequence network: one more intent member, and the tag head's entities.
        if (impl_->tagger.defined()) {
            std::vector<std::vector<detail::TokenSpan>> spans(texts.size());
            std::vector<detail::TaggedExample> inputs(texts.size());
            std::vector<const detail::TaggedExample*> batch;
            for (std::size_t i = 0; i < texts.size(); ++i) {
                spans[i] = detail::token_spans(texts[i]);
                inputs[i] = impl_->tagger_input(spans[i]);
                batch.push_back(&inputs[i]);
            }
            auto [tag_logp, intent_logits] = impl_->tagger.forward(batch, false, 0.0f);
            if (impl_->tagger_intent_member) {
                probs.add_(torch::softmax(intent_logits, 1));
                weight += 1;
            }
            const bool tagging = impl_->tag_set.size() > 1 && source != EntitySource::rules;
            if (tagging) {
                tag_logp = tag_logp.contiguous();
                const float* scores = tag_logp.data_ptr<float>();
                const std::size_t stride =
                    static_cast<std::size_t>(tag_logp.size(1) * tag_logp.size(2));
                for (std::size_t i = 0; i < texts.size(); ++i) {
                    const auto tags = impl_->tag_set.viterbi(scores + i * stride, spans[i].size());
                    model_entities[i] = impl_->tag_set.decode(texts[i], spans[i], tags);
                }
            }
        }
        if (weight > 1) {
            probs.div_(weight);
        }
        const auto k = std::min<std::int64_t>(kTopK, probs.size(1));
        auto [values, indices] = probs.topk(k, 1);
        values = values.contiguous();
        indices = indices.contiguous();
        const float* v = values.data_ptr<float>();
        const std::int64_t* idx = indices.data_ptr<std::int64_t>();
        for (std::size_t i = 0; i < texts.size(); ++i) {
            auto& ranking = results[i].ranking;
            ranking.reserve(static_cast<std::size_t>(k));
            for (std::int64_t j = 0; j < k; ++j) {
                const std::size_t at = i * static_cast<std::size_t>(k) + j;
                ranking.push_back({impl_->labels[static_cast<std::size_t>(idx[at])], v[at]});
            }
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "parsing");
    }

    // Rule entities (entities.hpp, dated against today in UTC) win over overlapping model ones.
    for (std::size_t i = 0; i < texts.size(); ++i) {
        if (source == EntitySource::model) {
            results[i].entities = std::move(model_entities[i]);
        } else if (source == EntitySource::rules) {
            results[i].entities = extract_entities(texts[i], context_sent_at(sent_at_ms, i));
        } else {
            results[i].entities =
                merge_entities(extract_entities(texts[i], context_sent_at(sent_at_ms, i)),
                               std::move(model_entities[i]));
        }
    }
    return results;
}

std::vector<std::string> IntentModel::entity_types() const {
    return impl_->tag_set.size() > 1 ? impl_->tag_set.types() : std::vector<std::string>{};
}

std::vector<std::string> IntentModel::intents() const {
    return impl_->labels;
}

std::int64_t IntentModel::feature_rows() const {
    return impl_->members.front().embedding.size(0);
}

int IntentModel::embedding_dim() const {
    return static_cast<int>(impl_->members.front().embedding.size(1));
}

const std::string& IntentModel::training_fingerprint() const {
    return impl_->fingerprint;
}

void set_compute_threads(int threads) {
    torch::set_num_threads(std::max(1, threads));
}

}  // namespace teller::nlu
