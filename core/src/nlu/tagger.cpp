// The joint model's sequence network: hashed per-token embedding bags, a BiGRU, BIO and intent
// heads, trained with a lazy (sparse) Adam on the embedding and dense Adam elsewhere.
#include "tagger.hpp"

#include <torch/nn/utils/rnn.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace teller::nlu::detail {
namespace {

constexpr const char* kGruNames[] = {"gru.w_ih",         "gru.w_hh",         "gru.b_ih",
                                     "gru.b_hh",         "gru.w_ih_reverse", "gru.w_hh_reverse",
                                     "gru.b_ih_reverse", "gru.b_hh_reverse"};

// Adam that updates only the embedding rows a batch touched (the table is too large for a
// dense update per step).
class LazyAdam {
public:
    LazyAdam(std::int64_t rows, std::int64_t dim)
        : m_(torch::zeros({rows, dim})), v_(torch::zeros({rows, dim})) {}

    void step(torch::Tensor& table, const torch::Tensor& sparse_grad, double lr,
              std::int64_t step) {
        torch::NoGradGuard no_grad;
        if (!sparse_grad.defined() || sparse_grad._nnz() == 0) {
            return;
        }
        constexpr double kBeta1 = 0.9;
        constexpr double kBeta2 = 0.999;
        constexpr double kEps = 1e-8;
        torch::Tensor grad = sparse_grad.coalesce();
        auto idx = grad._indices()[0];
        auto g = grad._values();
        auto m_rows = m_.index_select(0, idx).mul_(kBeta1).add_(g, 1 - kBeta1);
        auto v_rows = v_.index_select(0, idx).mul_(kBeta2).addcmul_(g, g, 1 - kBeta2);
        m_.index_copy_(0, idx, m_rows);
        v_.index_copy_(0, idx, v_rows);
        const double c1 = 1 - std::pow(kBeta1, static_cast<double>(step));
        const double c2 = 1 - std::pow(kBeta2, static_cast<double>(step));
        auto update = (m_rows / c1).div_((v_rows / c2).sqrt_().add_(kEps)).mul_(-lr);
        table.index_add_(0, idx, update);
    }

private:
    torch::Tensor m_;
    torch::Tensor v_;
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& table) {
    torch::Tensor t = table.detach().to(torch::kFloat).contiguous();
    const std::int64_t rows = t.size(0);
    auto max = t.abs().amax(1).contiguous();
    auto scale = torch::empty({rows});
    const float* m = max.data_ptr<float>();
    float* s = scale.data_ptr<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
        // The smallest power of two with max / scale <= 127.
        int exponent = 0;
        const float mantissa = std::frexp(m[r] / 127.0f, &exponent);
        if (m[r] == 0.0f) {
            exponent = 0;
        } else if (mantissa == 0.5f) {
            exponent -= 1;
        }
        s[r] = std::ldexp(1.0f, exponent);
    }
    auto q = t.div(scale.unsqueeze(1)).round_().clamp_(-127, 127).to(torch::kChar).contiguous();
    return {q, scale};
}

torch::Tensor dequantize_rows(const torch::Tensor& q, const torch::Tensor& scale) {
    return q.to(torch::kFloat).mul(scale.unsqueeze(1)).contiguous();
}

TaggerNetwork::TaggerNetwork(std::int64_t rows, int dim, int hidden, std::int64_t tags,
                             std::int64_t intents) {
    // Parameters drawn from torch's generator (seeded by the caller).
    const double e_bound = 1.0 / std::sqrt(static_cast<double>(dim));
    const double g_bound = 1.0 / std::sqrt(static_cast<double>(hidden));
    const double o_bound = 1.0 / std::sqrt(2.0 * hidden);
    embedding_ = torch::empty({rows, dim}).uniform_(-e_bound, e_bound);
    for (int direction = 0; direction < 2; ++direction) {
        gru_.push_back(torch::empty({3 * hidden, dim}).uniform_(-g_bound, g_bound));
        gru_.push_back(torch::empty({3 * hidden, hidden}).uniform_(-g_bound, g_bound));
        gru_.push_back(torch::empty({3 * hidden}).uniform_(-g_bound, g_bound));
        gru_.push_back(torch::empty({3 * hidden}).uniform_(-g_bound, g_bound));
    }
    tag_weight_ = torch::empty({tags, 2 * hidden}).uniform_(-o_bound, o_bound);
    tag_bias_ = torch::zeros({tags});
    intent_weight_ = torch::empty({intents, 2 * hidden}).uniform_(-o_bound, o_bound);
    intent_bias_ = torch::zeros({intents});
}

std::pair<torch::Tensor, torch::Tensor> TaggerNetwork::forward(
    const std::vector<const TaggedExample*>& batch, bool train, float dropout) const {
    const auto size = static_cast<std::int64_t>(batch.size());
    std::int64_t longest = 1;
    for (const TaggedExample* e : batch) {
        longest = std::max<std::int64_t>(longest, e->token_rows.size());
    }

    // One embedding bag per (example, position); padding and empty utterances get empty bags.
    std::vector<std::int64_t> rows;
    std::vector<std::int64_t> offsets;
    std::vector<std::int64_t> lengths;
    offsets.reserve(static_cast<std::size_t>(size * longest));
    for (const TaggedExample* e : batch) {
        for (std::int64_t t = 0; t < longest; ++t) {
            offsets.push_back(static_cast<std::int64_t>(rows.size()));
            if (t < static_cast<std::int64_t>(e->token_rows.size())) {
                const auto& r = e->token_rows[static_cast<std::size_t>(t)];
                rows.insert(rows.end(), r.begin(), r.end());
            }
        }
        lengths.push_back(std::max<std::int64_t>(1, e->token_rows.size()));
    }
    auto row_tensor = torch::tensor(rows, torch::kLong);
    auto offset_tensor = torch::tensor(offsets, torch::kLong);
    auto length_tensor = torch::tensor(lengths, torch::kLong);
    auto x =
        std::get<0>(torch::embedding_bag(embedding_, row_tensor, offset_tensor, false, 1, train))
            .view({size, longest, -1});
    if (train && dropout > 0) {
        x = torch::dropout(x, dropout, true);
    }

    // Bidirectional GRU over the real tokens only (packed), so padding never leaks backwards.
    namespace rnn = torch::nn::utils::rnn;
    const rnn::PackedSequence packed = rnn::pack_padded_sequence(x, length_tensor, true, false);
    const std::int64_t hidden = gru_[1].size(1);
    auto hx = torch::zeros({2, size, hidden});
    auto out_data = std::get<0>(
        torch::gru(packed.data(), packed.batch_sizes(), hx, gru_, true, 1, 0.0, train, true));
    const rnn::PackedSequence out_packed(out_data, packed.batch_sizes(), packed.sorted_indices(),
                                         packed.unsorted_indices());
    auto out = std::get<0>(rnn::pad_packed_sequence(out_packed, true, 0.0, longest));
    if (train && dropout > 0) {
        out = torch::dropout(out, dropout, true);
    }

    // Heads: per-token tag log-probabilities; intent logits from the max over real tokens.
    auto tag_logp = torch::log_softmax(torch::matmul(out, tag_weight_.t()).add(tag_bias_), -1);
    auto positions = torch::arange(longest, torch::kLong).unsqueeze(0);
    auto padding = positions.ge(length_tensor.unsqueeze(1)).unsqueeze(2);
    auto pooled = std::get<0>(out.masked_fill(padding, -1e4).max(1));
    auto intent_logits = torch::addmm(intent_bias_, pooled, intent_weight_.t());
    return {tag_logp, intent_logits};
}

double TaggerNetwork::train(const std::vector<TaggedExample>& examples,
                            const TaggerOptions& options, float label_smoothing, std::uint64_t seed,
                            const std::function<void(int, double)>& on_epoch) {
    std::vector<torch::Tensor> dense = gru_;
    for (torch::Tensor* t : {&tag_weight_, &tag_bias_, &intent_weight_, &intent_bias_}) {
        dense.push_back(*t);
    }
    for (torch::Tensor& t : dense) {
        t.set_requires_grad(true);
    }
    embedding_.set_requires_grad(true);
    torch::optim::Adam adam(dense, torch::optim::AdamOptions(options.learning_rate));
    LazyAdam sparse(embedding_.size(0), embedding_.size(1));

    std::vector<std::size_t> order(examples.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::mt19937_64 rng(seed);
    const auto batch = static_cast<std::size_t>(options.batch_size);
    const std::size_t steps_per_epoch = (examples.size() + batch - 1) / batch;
    const double total_steps = static_cast<double>(steps_per_epoch) * options.epochs;
    const bool tagging = tags() > 1;
    auto intent_loss_options =
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing);
    std::int64_t step = 0;
    double epoch_loss = 0;

    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        // A fixed Fisher-Yates shuffle (std::shuffle differs between standard libraries).
        for (std::size_t i = order.size() - 1; i > 0; --i) {
            std::swap(order[i], order[rng() % (i + 1)]);
        }
        double loss_sum = 0;
        for (std::size_t start = 0; start < order.size(); start += batch) {
            const std::size_t end = std::min(order.size(), start + batch);
            std::vector<const TaggedExample*> members;
            std::vector<std::int64_t> intents;
            for (std::size_t k = start; k < end; ++k) {
                members.push_back(&examples[order[k]]);
                intents.push_back(examples[order[k]].intent);
            }
            const double lr =
                options.learning_rate * (1.0 - static_cast<double>(step) / total_steps);
            ++step;

            adam.zero_grad();
            embedding_.mutable_grad() = torch::Tensor();
            auto [tag_logp, intent_logits] = forward(members, true, options.dropout);
            auto loss =
                options.intent_loss_weight *
                torch::nn::functional::cross_entropy(
                    intent_logits, torch::tensor(intents, torch::kLong), intent_loss_options);
            if (tagging) {
                // Tag targets with padding ignored (-100).
                const std::int64_t longest = tag_logp.size(1);
                std::vector<std::int64_t> targets(members.size() * longest, -100);
                for (std::size_t b = 0; b < members.size(); ++b) {
                    const auto& tags = members[b]->tags;
                    std::copy(tags.begin(), tags.end(), targets.begin() + b * longest);
                }
                loss = loss + torch::nll_loss(tag_logp.reshape({-1, tag_logp.size(2)}),
                                              torch::tensor(targets, torch::kLong), {},
                                              at::Reduction::Mean, -100);
            }
            loss.backward();
            loss_sum += loss.item<double>();

            torch::nn::utils::clip_grad_norm_(dense, 5.0);
            for (auto& group : adam.param_groups()) {
                static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
            }
            adam.step();
            sparse.step(embedding_, embedding_.grad(), lr, step);
        }
        epoch_loss = loss_sum / static_cast<double>(steps_per_epoch);
        on_epoch(epoch, epoch_loss);
    }

    // Freeze, rounding the embedding as it is stored (int8) so a reloaded model answers alike.
    for (torch::Tensor& t : gru_) {
        t = t.detach().contiguous();
    }
    for (torch::Tensor* t : {&tag_weight_, &tag_bias_, &intent_weight_, &intent_bias_}) {
        *t = t->detach().contiguous();
    }
    const auto [q, scale] = quantize_rows(embedding_.detach());
    embedding_ = dequantize_rows(q, scale);
    return epoch_loss;
}

std::vector<std::pair<std::string, torch::Tensor>> TaggerNetwork::named_tensors() const {
    std::vector<std::pair<std::string, torch::Tensor>> out{{"embedding", embedding_}};
    for (std::size_t i = 0; i < gru_.size(); ++i) {
        out.emplace_back(kGruNames[i], gru_[i]);
    }
    out.emplace_back("tag.weight", tag_weight_);
    out.emplace_back("tag.bias", tag_bias_);
    out.emplace_back("intent.weight", intent_weight_);
    out.emplace_back("intent.bias", intent_bias_);
    return out;
}

bool TaggerNetwork::assign(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
    std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
    auto get = [&](const std::string& name) {
        auto it = by_name.find(name);
        return it == by_name.end() ? torch::Tensor() : it->second;
    };
    embedding_ = get("embedding");
    gru_.clear();
    for (const char* name : kGruNames) {
        gru_.push_back(get(name));
    }
    tag_weight_ = get("tag.weight");
    tag_bias_ = get("tag.bias");
    intent_weight_ = get("intent.weight");
    intent_bias_ = get("intent.bias");
    const bool present =
        embedding_.defined() && tag_weight_.defined() && tag_bias_.defined() &&
        intent_weight_.defined() && intent_bias_.defined() &&
        std::all_of(gru_.begin(), gru_.end(), [](const torch::Tensor& t) { return t.defined(); });
    if (!present || embedding_.dim() != 2 || gru_[1].dim() != 2) {
        return false;
    }

    // Shapes: GRU gates 3H over input D and hidden H, both directions; heads over 2H.
    const std::int64_t dim = embedding_.size(1);
    const std::int64_t hidden = gru_[1].size(1);
    for (int d = 0; d < 2; ++d) {
        const auto& w_ih = gru_[4 * d];
        const auto& w_hh = gru_[4 * d + 1];
        const auto& b_ih = gru_[4 * d + 2];
        const auto& b_hh = gru_[4 * d + 3];
        if (w_ih.sizes() != torch::IntArrayRef{3 * hidden, dim} ||
            w_hh.sizes() != torch::IntArrayRef{3 * hidden, hidden} ||
            b_ih.sizes() != torch::IntArrayRef{3 * hidden} ||
            b_hh.sizes() != torch::IntArrayRef{3 * hidden}) {
            return false;
        }
    }
    return tag_weight_.dim() == 2 && tag_weight_.size(1) == 2 * hidden && tag_bias_.dim() == 1 &&
           tag_bias_.size(0) == tag_weight_.size(0) && intent_weight_.dim() == 2 &&
           intent_weight_.size(1) == 2 * hidden && intent_bias_.dim() == 1 &&
           intent_bias_.size(0) == intent_weight_.size(0);
}

}  // namespace teller::nlu::detail
