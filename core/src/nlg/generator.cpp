// The LibTorch reply generator: GRU encoder-decoder with additive attention and beam search.
#include "teller/nlg/generator.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "nlu/model_file.hpp"
#include "teller/core/log.hpp"

namespace teller::nlg {
namespace {

constexpr const char* kKind = "reply_generator_gru";
constexpr std::int64_t kPad = 0;
constexpr std::int64_t kBos = 1;
constexpr std::int64_t kEos = 2;
constexpr std::int64_t kUnk = 3;

[[noreturn]] void rethrow_torch(const c10::Error& e, const char* what) {
    throw core::Error(std::string("generator: torch failed while ") + what + ": " +
                      e.what_without_backtrace());
}

// Reply tokens: `{slot}` placeholders, ASCII word runs, single UTF-8 characters, single bytes
// (spaces and punctuation included), so that concatenating the tokens gives the text back.
std::vector<std::string> reply_tokens(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    auto word = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '\'';
    };
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t n = 1;
        if (c == '{' && text.find('}', i) != std::string_view::npos) {
            n = text.find('}', i) - i + 1;
        } else if (word(text[i])) {
            while (i + n < text.size() && word(text[i + n])) {
                ++n;
            }
        } else if (c >= 0xF0) {
            n = 4;
        } else if (c >= 0xE0) {
            n = 3;
        } else if (c >= 0xC0) {
            n = 2;
        }
        n = std::min(n, text.size() - i);
        out.emplace_back(text.substr(i, n));
        i += n;
    }
    return out;
}

// Encoder input tokens: the act's parts, the slot names, the locale.
std::vector<std::string> source_tokens(std::string_view act, const std::vector<std::string>& slots,
                                       std::string_view locale) {
    std::vector<std::string> out;
    std::string part;
    for (char c : act) {
        if (c == '.' || c == '_') {
            if (!part.empty()) {
                out.push_back("a:" + part);
            }
            part.clear();
        } else {
            part.push_back(c);
        }
    }
    if (!part.empty()) {
        out.push_back("a:" + part);
    }
    out.push_back("act:" + std::string(act));
    for (const std::string& s : slots) {
        out.push_back("s:" + s);
    }
    out.push_back("l:" + std::string(locale));
    return out;
}

class Vocabulary {
public:
    Vocabulary() : words_{"<pad>", "<bos>", "<eos>", "<unk>"} {}
    explicit Vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
        for (std::size_t i = 0; i < words_.size(); ++i) {
            index_[words_[i]] = static_cast<std::int64_t>(i);
        }
    }
    void add(const std::string& w) {
        if (!index_.contains(w)) {
            index_[w] = static_cast<std::int64_t>(words_.size());
            words_.push_back(w);
        }
    }
    std::int64_t id(const std::string& w) const {
        auto it = index_.find(w);
        return it == index_.end() ? kUnk : it->second;
    }
    const std::string& word(std::int64_t id) const { return words_[static_cast<std::size_t>(id)]; }
    std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
    const std::vector<std::string>& words() const { return words_; }

private:
    std::vector<std::string> words_;
    std::map<std::string, std::int64_t> index_;
};

// The network; every parameter is a named tensor so that saving and loading are plain blobs.
// The modules are `mutable` because libtorch's forward() is non-const; forward changes no state,
// so concurrent generate() calls are safe.
struct Network {
    mutable torch::nn::Embedding src_embedding{nullptr};
    mutable torch::nn::Embedding tgt_embedding{nullptr};
    mutable torch::nn::GRU encoder{nullptr};
    mutable torch::nn::GRUCell decoder{nullptr};
    mutable torch::nn::Linear attn_query{nullptr};
    mutable torch::nn::Linear attn_key{nullptr};
    mutable torch::nn::Linear attn_score{nullptr};
    mutable torch::nn::Linear output{nullptr};

    Network(std::int64_t src_vocab, std::int64_t tgt_vocab, std::int64_t emb, std::int64_t hidden)
        : src_embedding(src_vocab, emb),
          tgt_embedding(tgt_vocab, emb),
          encoder(torch::nn::GRUOptions(emb, hidden).batch_first(true)),
          decoder(emb + hidden, hidden),
          attn_query(hidden, hidden),
          attn_key(hidden, hidden),
          attn_score(torch::nn::LinearOptions(hidden, 1).bias(false)),
          output(2 * hidden, tgt_vocab) {}

    std::vector<std::pair<std::string, torch::Tensor>> parameters() const {
        std::vector<std::pair<std::string, torch::Tensor>> out;
        auto add = [&](const std::string& prefix, const torch::nn::Module& m) {
            for (const auto& p : m.named_parameters()) {
                out.emplace_back(prefix + "." + p.key(), p.value());
            }
        };
        add("src_embedding", *src_embedding);
        add("tgt_embedding", *tgt_embedding);
        add("encoder", *encoder);
        add("decoder", *decoder);
        add("attn_query", *attn_query);
        add("attn_key", *attn_key);
        add("attn_score", *attn_score);
        add("output", *output);
        return out;
    }

    // Encoder states [B, S, H], their attention keys, a mask of real tokens, and the first
    // decoder state [B, H].
    struct Encoded {
        torch::Tensor states;
        torch::Tensor keys;
        torch::Tensor mask;
        torch::Tensor hidden;
    };

    Encoded encode(const torch::Tensor& src) const {
        auto [states, last] = encoder->forward(src_embedding->forward(src));
        return {states, attn_key->forward(states), src.ne(kPad), last.squeeze(0)};
    }

    // One decoder step: logits [B, V], the new state and the new attention context.
    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> step(
        const Encoded& e, const torch::Tensor& prev, const torch::Tensor& hidden,
        const torch::Tensor& context) const {
        auto input = torch::cat({tgt_embedding->forward(prev), context}, 1);
        auto h = decoder->forward(input, hidden);
        auto scores = attn_score->forward(torch::tanh(e.keys + attn_query->forward(h).unsqueeze(1)))
                          .squeeze(2)
                          .masked_fill(e.mask.logical_not(), -1e9);
        auto weights = torch::softmax(scores, 1);
        auto ctx = torch::bmm(weights.unsqueeze(1), e.states).squeeze(1);
        auto logits = output->forward(torch::cat({h, ctx}, 1));
        return {logits, h, ctx};
    }
};

// Pads id sequences into one [B, L] tensor.
torch::Tensor padded(const std::vector<std::vector<std::int64_t>>& rows) {
    std::size_t width = 1;
    for (const auto& r : rows) {
        width = std::max(width, r.size());
    }
    std::vector<std::int64_t> flat(rows.size() * width, kPad);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::copy(rows[i].begin(), rows[i].end(), flat.begin() + static_cast<long>(i * width));
    }
    return torch::tensor(flat, torch::kLong)
        .view({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(width)});
}

}  // namespace

std::vector<GeneratorExample> generator_examples(const TemplateSet& templates, int hold_out,
                                                 std::vector<GeneratorExample>* held_out) {
    std::vector<GeneratorExample> out;
    for (const std::string& act : templates.acts()) {
        auto variations = templates.variations(act);
        for (std::size_t k = 0; k < variations.size(); ++k) {
            const Variation& v = variations[k];
            const bool held = hold_out > 0 && variations.size() > 1 &&
                              k == static_cast<std::size_t>(hold_out - 1) % variations.size();
            for (const auto& [locale, text] : v.text) {
                GeneratorExample e{act, v.slots, locale, text};
                if (held) {
                    if (held_out != nullptr) {
                        held_out->push_back(std::move(e));
                    }
                } else {
                    out.push_back(std::move(e));
                }
            }
        }
    }
    return out;
}

struct Generator::Impl {
    Vocabulary source;
    Vocabulary target;
    GeneratorTrainOptions options;
    std::unique_ptr<Network> net;
};

Generator::Generator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Generator::~Generator() = default;

std::unique_ptr<Generator> Generator::train(const std::vector<GeneratorExample>& examples,
                                            const GeneratorTrainOptions& options) {
    if (examples.empty()) {
        throw core::Error("generator: no training examples");
    }
    if (options.epochs < 1 || options.embedding_dim < 1 || options.hidden_dim < 1 ||
        options.batch_size < 1) {
        throw core::Error("generator: invalid training options");
    }
    const auto started = std::chrono::steady_clock::now();
    const int saved_threads = torch::get_num_threads();
    torch::set_num_threads(1);
    auto impl = std::make_unique<Impl>();
    impl->options = options;

    // Vocabularies and id sequences.
    std::vector<std::vector<std::int64_t>> src(examples.size());
    std::vector<std::vector<std::int64_t>> tgt(examples.size());
    for (const GeneratorExample& e : examples) {
        for (const std::string& t : source_tokens(e.act, e.slots, e.locale)) {
            impl->source.add(t);
        }
        for (const std::string& t : reply_tokens(e.reply)) {
            impl->target.add(t);
        }
    }
    for (std::size_t i = 0; i < examples.size(); ++i) {
        const GeneratorExample& e = examples[i];
        for (const std::string& t : source_tokens(e.act, e.slots, e.locale)) {
            src[i].push_back(impl->source.id(t));
        }
        tgt[i].push_back(kBos);
        for (const std::string& t : reply_tokens(e.reply)) {
            tgt[i].push_back(impl->target.id(t));
        }
        tgt[i].push_back(kEos);
    }

    double last_loss = 0;
    try {
        torch::manual_seed(options.seed);
        impl->net = std::make_unique<Network>(impl->source.size(), impl->target.size(),
                                              options.embedding_dim, options.hidden_dim);
        std::vector<torch::Tensor> params;
        for (auto& [name, p] : impl->net->parameters()) {
            params.push_back(p);
        }
        torch::optim::Adam adam(params, torch::optim::AdamOptions(options.learning_rate));
        std::vector<std::size_t> order(examples.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::mt19937_64 rng(options.seed);
        const auto batch = static_cast<std::size_t>(options.batch_size);
        for (int epoch = 1; epoch <= options.epochs; ++epoch) {
            for (std::size_t i = order.size() - 1; i > 0; --i) {
                std::swap(order[i], order[rng() % (i + 1)]);
            }
            double loss_sum = 0;
            int steps = 0;
            for (std::size_t start = 0; start < order.size(); start += batch) {
                // Teacher forcing over the padded batch; padding is not scored.
                std::vector<std::vector<std::int64_t>> s;
                std::vector<std::vector<std::int64_t>> t;
                for (std::size_t k = start; k < std::min(order.size(), start + batch); ++k) {
                    s.push_back(src[order[k]]);
                    t.push_back(tgt[order[k]]);
                }
                auto src_t = padded(s);
                auto tgt_t = padded(t);
                adam.zero_grad();
                auto enc = impl->net->encode(src_t);
                auto hidden = enc.hidden;
                auto context = torch::zeros({src_t.size(0), options.hidden_dim});
                std::vector<torch::Tensor> logits;
                for (std::int64_t j = 0; j + 1 < tgt_t.size(1); ++j) {
                    auto [l, h, c] = impl->net->step(enc, tgt_t.select(1, j), hidden, context);
                    logits.push_back(l);
                    hidden = h;
                    context = c;
                }
                auto all = torch::stack(logits, 1);
                auto gold = tgt_t.slice(1, 1);
                auto loss = torch::nn::functional::cross_entropy(
                    all.reshape({-1, all.size(2)}), gold.reshape({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPad));
                loss.backward();
                torch::nn::utils::clip_grad_norm_(params, 5.0);
                adam.step();
                loss_sum += loss.item<double>();
                ++steps;
            }
            last_loss = loss_sum / steps;
        }
        for (auto& p : params) {
            p.set_requires_grad(false);
        }
    } catch (const c10::Error& e) {
        torch::set_num_threads(saved_threads);
        rethrow_torch(e, "training");
    }
    torch::set_num_threads(saved_threads);
    core::Logger("nlg").info(
        "generator trained",
        {{"examples", examples.size()},
         {"loss", last_loss},
         {"seconds",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    return std::unique_ptr<Generator>(new Generator(std::move(impl)));
}

void Generator::save(const std::filesystem::path& path) const {
    nlu::detail::ModelFile file;
    boost::json::array source(impl_->source.words().begin(), impl_->source.words().end());
    boost::json::array target(impl_->target.words().begin(), impl_->target.words().end());
    file.header = {{"kind", kKind},
                   {"source", std::move(source)},
                   {"target", std::move(target)},
                   {"embedding_dim", impl_->options.embedding_dim},
                   {"hidden_dim", impl_->options.hidden_dim}};
    try {
        for (const auto& [name, p] : impl_->net->parameters()) {
            torch::Tensor t = p.detach().to(torch::kFloat).contiguous();
            nlu::detail::Blob blob;
            blob.name = name;
            blob.dtype = "f32";
            blob.shape.assign(t.sizes().begin(), t.sizes().end());
            blob.bytes.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
            file.blobs.push_back(std::move(blob));
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "saving");
    }
    nlu::detail::write_model_file(path, file);
}

core::Result<std::unique_ptr<Generator>> Generator::load(const std::filesystem::path& path) {
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
        auto words = [&](const char* key) {
            std::vector<std::string> out;
            for (const auto& w : h.at(key).as_array()) {
                out.emplace_back(w.as_string());
            }
            return out;
        };
        auto impl = std::make_unique<Impl>();
        impl->source = Vocabulary(words("source"));
        impl->target = Vocabulary(words("target"));
        impl->options.embedding_dim = static_cast<int>(h.at("embedding_dim").as_int64());
        impl->options.hidden_dim = static_cast<int>(h.at("hidden_dim").as_int64());
        if (impl->target.size() <= kUnk || impl->options.embedding_dim < 1 ||
            impl->options.hidden_dim < 1 || impl->options.hidden_dim > 4096) {
            return corrupt;
        }
        impl->net =
            std::make_unique<Network>(impl->source.size(), impl->target.size(),
                                      impl->options.embedding_dim, impl->options.hidden_dim);
        std::map<std::string, const nlu::detail::Blob*> blobs;
        for (const auto& b : file->blobs) {
            blobs[b.name] = &b;
        }
        torch::NoGradGuard no_grad;
        for (auto& [name, p] : impl->net->parameters()) {
            auto it = blobs.find(name);
            if (it == blobs.end() || it->second->dtype != "f32" ||
                std::vector<std::int64_t>(p.sizes().begin(), p.sizes().end()) !=
                    it->second->shape ||
                it->second->bytes.size() != static_cast<std::size_t>(p.nbytes())) {
                return corrupt;
            }
            std::memcpy(p.data_ptr(), it->second->bytes.data(), it->second->bytes.size());
            p.set_requires_grad(false);
        }
        return std::unique_ptr<Generator>(new Generator(std::move(impl)));
    } catch (const std::exception&) {
        return corrupt;
    }
}

std::string Generator::generate(std::string_view act, const std::vector<std::string>& slots,
                                std::string_view locale, int beam, int max_tokens) const {
    // Known source tokens only; an act the model never saw still gets its slots and locale.
    std::vector<std::int64_t> src;
    for (const std::string& t : source_tokens(act, slots, locale)) {
        if (std::int64_t id = impl_->source.id(t); id != kUnk) {
            src.push_back(id);
        }
    }
    if (src.empty()) {
        return {};
    }
    struct Hypothesis {
        std::vector<std::int64_t> tokens;
        double score = 0;
        torch::Tensor hidden;
        torch::Tensor context;
    };
    std::string out;
    try {
        torch::InferenceMode guard;
        const Network& net = *impl_->net;
        auto enc = net.encode(torch::tensor(src, torch::kLong).unsqueeze(0));
        std::vector<Hypothesis> live{
            {{kBos}, 0.0, enc.hidden, torch::zeros({1, impl_->options.hidden_dim})}};
        std::vector<Hypothesis> done;
        for (int step = 0; step < max_tokens && !live.empty(); ++step) {
            // Every live hypothesis extended by its best tokens; the best `beam` survive.
            std::vector<Hypothesis> next;
            for (const Hypothesis& h : live) {
                auto prev = torch::tensor(std::vector<std::int64_t>{h.tokens.back()}, torch::kLong);
                auto [logits, hidden, context] = net.step(enc, prev, h.hidden, h.context);
                auto logp = torch::log_softmax(logits, 1).squeeze(0);
                auto [values, indices] = logp.topk(beam);
                for (int k = 0; k < beam; ++k) {
                    Hypothesis n{h.tokens, h.score + values[k].item<double>(), hidden, context};
                    n.tokens.push_back(indices[k].item<std::int64_t>());
                    next.push_back(std::move(n));
                }
            }
            std::sort(next.begin(), next.end(),
                      [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
            live.clear();
            for (Hypothesis& n : next) {
                if (static_cast<int>(live.size() + done.size()) >= beam) {
                    break;
                }
                (n.tokens.back() == kEos ? done : live).push_back(std::move(n));
            }
        }
        for (Hypothesis& h : live) {
            done.push_back(std::move(h));
        }
        // Length-normalised log-probability picks the final reply.
        auto norm = [](const Hypothesis& h) {
            return h.score / static_cast<double>(std::max<std::size_t>(1, h.tokens.size() - 1));
        };
        const Hypothesis& best = *std::max_element(
            done.begin(), done.end(),
            [&](const Hypothesis& a, const Hypothesis& b) { return norm(a) < norm(b); });
        for (std::size_t i = 1; i < best.tokens.size(); ++i) {
            const std::int64_t id = best.tokens[i];
            if (id == kEos) {
                break;
            }
            if (id > kUnk) {
                out += impl_->target.word(id);
            }
        }
    } catch (const c10::Error& e) {
        rethrow_torch(e, "generating");
    }
    return out;
}

}  // namespace teller::nlg
