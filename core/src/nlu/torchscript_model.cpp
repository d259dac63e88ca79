// Loads a TorchScript joint model and its JSON sidecar, checks its signature, runs it in batches.
#include "teller/nlu/torchscript_model.hpp"

#include <torch/script.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "sequence_tags.hpp"
#include "teller/core/log.hpp"
#include "teller/nlu/entities.hpp"

namespace teller::nlu {
namespace {

constexpr int kTopK = 5;
constexpr const char* kFormat = "teller-torchscript/1";
constexpr const char* kSignature =
    "forward(self, token_ids: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]";

// Fills `reason` (when given) and returns the error.
core::Result<std::unique_ptr<TorchScriptModel>> fail(core::Errc code, std::string* reason,
                                                     const std::string& why) {
    if (reason != nullptr) {
        *reason = why;
    }
    core::Logger("nlu").warn("torchscript model rejected", {{"reason", why}});
    return core::make_error_code(code);
}

bool is_tensor(const c10::TypePtr& type) {
    return type->kind() == c10::TypeKind::TensorType;
}

}  // namespace

struct TorchScriptModel::Impl {
    torch::jit::Module module;
    std::vector<std::string> labels;
    detail::TagSet tag_set;
    std::vector<std::int64_t> tag_columns;  ///< module column of each TagSet tag
    std::unordered_map<std::string, std::int64_t> vocabulary;
    std::int64_t pad_id = 0;
    std::int64_t unk_id = 1;
    std::size_t max_tokens = 128;

    // (intent logits [B, C], tag log-probabilities [B, T, K] in TagSet order), spans per text.
    std::pair<torch::Tensor, torch::Tensor> run(
        std::span<const std::string> texts,
        std::vector<std::vector<detail::TokenSpan>>& spans) const {
        spans.resize(texts.size());
        std::size_t longest = 1;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            spans[i] = detail::token_spans(texts[i]);
            if (spans[i].size() > max_tokens) {
                spans[i].resize(max_tokens);
            }
            longest = std::max(longest, spans[i].size());
        }
        const auto batch = static_cast<std::int64_t>(texts.size());
        const auto width = static_cast<std::int64_t>(longest);
        auto ids = torch::full({batch, width}, pad_id, torch::kLong);
        auto lengths = torch::empty({batch}, torch::kLong);
        auto* id = ids.data_ptr<std::int64_t>();
        auto* len = lengths.data_ptr<std::int64_t>();
        for (std::size_t i = 0; i < texts.size(); ++i) {
            for (std::size_t t = 0; t < spans[i].size(); ++t) {
                const auto it = vocabulary.find(spans[i][t].text);
                id[i * longest + t] = it == vocabulary.end() ? unk_id : it->second;
            }
            len[i] = static_cast<std::int64_t>(std::max<std::size_t>(1, spans[i].size()));
        }
        torch::NoGradGuard no_grad;
        const c10::IValue out = const_cast<torch::jit::Module&>(module).forward({ids, lengths});
        const auto tuple = out.toTuple();
        torch::Tensor intents = tuple->elements().at(0).toTensor().to(torch::kFloat);
        torch::Tensor tags = tuple->elements().at(1).toTensor().to(torch::kFloat);
        tags = torch::log_softmax(tags, 2)
                   .index_select(2, torch::tensor(tag_columns, torch::kLong))
                   .contiguous();
        return {intents, tags};
    }
};

TorchScriptModel::TorchScriptModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TorchScriptModel::~TorchScriptModel() = default;

core::Result<std::unique_ptr<TorchScriptModel>> TorchScriptModel::load(
    const std::filesystem::path& module, std::string* reason, std::filesystem::path sidecar) {
    if (sidecar.empty()) {
        sidecar = module;
        sidecar += ".json";
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(module, ec)) {
        return fail(core::Errc::model_missing, reason,
                    "no TorchScript module at " + module.string());
    }
    if (!std::filesystem::is_regular_file(sidecar, ec)) {
        return fail(core::Errc::model_missing, reason,
                    "no sidecar " + sidecar.string() + " next to the TorchScript module");
    }
    auto impl = std::make_unique<Impl>();

    // Sidecar: labels, tags, vocabulary.
    try {
        std::ifstream in(sidecar, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        const boost::json::object root = boost::json::parse(text.str()).as_object();
        if (root.at("format").as_string() != kFormat) {
            return fail(core::Errc::model_mismatch, reason,
                        "sidecar format is not \"" + std::string(kFormat) + "\"");
        }
        for (const auto& label : root.at("labels").as_array()) {
            impl->labels.emplace_back(label.as_string());
        }
        std::vector<std::string> tags;
        std::vector<std::string> types;
        for (const auto& tag : root.at("tags").as_array()) {
            tags.emplace_back(tag.as_string());
            if (tags.back().rfind("B-", 0) == 0) {
                types.push_back(tags.back().substr(2));
            }
        }
        impl->tag_set = detail::TagSet(types);
        for (std::size_t j = 0; j < impl->tag_set.size(); ++j) {
            const auto it = std::find(tags.begin(), tags.end(), impl->tag_set.name(j));
            if (it == tags.end()) {
                return fail(core::Errc::model_corrupt, reason,
                            "sidecar tags lack " + impl->tag_set.name(j) +
                                " (need O and B-/I- for every type)");
            }
            impl->tag_columns.push_back(it - tags.begin());
        }
        if (tags.size() != impl->tag_set.size()) {
            return fail(core::Errc::model_corrupt, reason,
                        "sidecar tags must be O plus B-<type> and I-<type> pairs");
        }
        const auto& vocabulary = root.at("vocabulary").as_array();
        for (std::size_t i = 0; i < vocabulary.size(); ++i) {
            impl->vocabulary.emplace(std::string(vocabulary[i].as_string()),
                                     static_cast<std::int64_t>(i));
        }
        impl->pad_id = root.at("pad_id").as_int64();
        impl->unk_id = root.at("unk_id").as_int64();
        if (const auto* max = root.if_contains("max_tokens")) {
            impl->max_tokens = static_cast<std::size_t>(std::max<std::int64_t>(1, max->as_int64()));
        }
        const auto size = static_cast<std::int64_t>(vocabulary.size());
        if (impl->labels.empty() || impl->pad_id < 0 || impl->pad_id >= size || impl->unk_id < 0 ||
            impl->unk_id >= size) {
            return fail(core::Errc::model_corrupt, reason,
                        "sidecar needs labels and pad_id/unk_id inside the vocabulary");
        }
    } catch (const std::exception& e) {
        return fail(core::Errc::model_corrupt, reason,
                    "sidecar " + sidecar.string() + " is not valid: " + e.what());
    }

    // The module and its forward schema.
    try {
        impl->module = torch::jit::load(module.string());
        impl->module.eval();
    } catch (const c10::Error& e) {
        return fail(
            core::Errc::model_corrupt, reason,
            module.string() + " is not a TorchScript archive: " + e.what_without_backtrace());
    }
    const auto method = impl->module.find_method("forward");
    if (!method) {
        return fail(core::Errc::model_mismatch, reason,
                    "the module has no forward method; expected " + std::string(kSignature));
    }
    const c10::FunctionSchema& schema = method->function().getSchema();
    const auto& args = schema.arguments();
    const auto& returns = schema.returns();
    const auto tuple = returns.size() == 1 ? returns[0].type()->cast<c10::TupleType>() : nullptr;
    const bool signature_ok = args.size() == 3 && is_tensor(args[1].type()) &&
                              is_tensor(args[2].type()) && tuple != nullptr &&
                              tuple->elements().size() == 2 && is_tensor(tuple->elements()[0]) &&
                              is_tensor(tuple->elements()[1]);
    if (!signature_ok) {
        return fail(core::Errc::model_mismatch, reason,
                    "forward is `" + c10::toString(schema) + "`; expected " + kSignature);
    }

    // A probe batch of two padded sequences checks the output shapes against the sidecar.
    try {
        torch::jit::Module& m = impl->module;
        auto ids = torch::full({2, 2}, impl->pad_id, torch::kLong);
        auto lengths = torch::tensor(std::vector<std::int64_t>{1, 2}, torch::kLong);
        torch::NoGradGuard no_grad;
        const auto out = m.forward({ids, lengths}).toTuple();
        const auto intents = out->elements().at(0).toTensor();
        const auto tags = out->elements().at(1).toTensor();
        const auto classes = static_cast<std::int64_t>(impl->labels.size());
        const auto k = static_cast<std::int64_t>(impl->tag_set.size());
        if (intents.sizes() != torch::IntArrayRef{2, classes} ||
            tags.sizes() != torch::IntArrayRef{2, 2, k}) {
            std::ostringstream why;
            why << "forward returned intent logits " << intents.sizes() << " and tag logits "
                << tags.sizes() << "; the sidecar needs [B, " << classes << "] and [B, T, " << k
                << "]";
            return fail(core::Errc::model_mismatch, reason, why.str());
        }
    } catch (const c10::Error& e) {
        return fail(core::Errc::model_mismatch, reason,
                    std::string("forward failed on a probe batch: ") + e.what_without_backtrace());
    }
    return std::unique_ptr<TorchScriptModel>(new TorchScriptModel(std::move(impl)));
}

std::vector<core::NluResult> TorchScriptModel::parse(std::span<const std::string> texts) const {
    return parse(texts, EntitySource::rules_and_model);
}

std::vector<core::NluResult> TorchScriptModel::parse_sent(
    std::span<const std::string> texts, std::span<const std::int64_t> sent_at_ms) const {
    return parse(texts, EntitySource::rules_and_model, sent_at_ms);
}

std::vector<core::NluResult> TorchScriptModel::parse(
    std::span<const std::string> texts, EntitySource source,
    std::span<const std::int64_t> sent_at_ms) const {
    std::vector<core::NluResult> results(texts.size());
    if (texts.empty()) {
        return results;
    }
    std::vector<std::vector<detail::TokenSpan>> spans;
    try {
        auto [logits, tag_logp] = impl_->run(texts, spans);
        auto probs = torch::softmax(logits, 1);
        const auto k = std::min<std::int64_t>(kTopK, probs.size(1));
        auto [values, indices] = probs.topk(k, 1);
        values = values.contiguous();
        indices = indices.contiguous();
        const float* v = values.data_ptr<float>();
        const std::int64_t* idx = indices.data_ptr<std::int64_t>();
        const float* scores = tag_logp.data_ptr<float>();
        const auto stride = static_cast<std::size_t>(tag_logp.size(1) * tag_logp.size(2));
        for (std::size_t i = 0; i < texts.size(); ++i) {
            for (std::int64_t j = 0; j < k; ++j) {
                const std::size_t at = i * static_cast<std::size_t>(k) + j;
                results[i].ranking.push_back(
                    {impl_->labels[static_cast<std::size_t>(idx[at])], v[at]});
            }

            // Entities: the tag head's, rules', or both (rules win where they overlap).
            std::vector<core::Entity> model;
            if (source != EntitySource::rules && impl_->tag_set.size() > 1) {
                const auto tags = impl_->tag_set.viterbi(scores + i * stride, spans[i].size());
                model = impl_->tag_set.decode(texts[i], spans[i], tags);
            }
            if (source == EntitySource::model) {
                results[i].entities = std::move(model);
            } else if (source == EntitySource::rules) {
                results[i].entities = extract_entities(texts[i], context_sent_at(sent_at_ms, i));
            } else {
                results[i].entities = merge_entities(
                    extract_entities(texts[i], context_sent_at(sent_at_ms, i)), std::move(model));
            }
        }
    } catch (const c10::Error& e) {
        throw core::Error(std::string("nlu: torchscript model failed while parsing: ") +
                          e.what_without_backtrace());
    }
    return results;
}

std::vector<std::string> TorchScriptModel::intents() const {
    std::vector<std::string> out = impl_->labels;
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> TorchScriptModel::entity_types() const {
    return impl_->tag_set.types();
}

core::Result<std::unique_ptr<core::IntentClassifier>> load_classifier(
    const std::filesystem::path& path, std::string* reason) {
    // TorchScript archives are zip files ("PK\3\4").
    char magic[4] = {};
    {
        std::ifstream in(path, std::ios::binary);
        in.read(magic, sizeof(magic));
    }
    if (magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
        auto model = TorchScriptModel::load(path, reason);
        if (!model) {
            return model.error();
        }
        return std::unique_ptr<core::IntentClassifier>(std::move(*model));
    }
    auto model = IntentModel::load(path);
    if (!model) {
        if (reason != nullptr) {
            *reason = path.string() + ": " + model.error().message();
            if (model.error() == core::make_error_code(core::Errc::model_mismatch)) {
                *reason += "; retrain it with `teller train`";
            }
        }
        return model.error();
    }
    return std::unique_ptr<core::IntentClassifier>(std::move(*model));
}

}  // namespace teller::nlu
