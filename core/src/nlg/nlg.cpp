// The NLG component: templates, FAQ answers from the knowledge base, the guarded generator.
#include "teller/nlg/nlg.hpp"

#include <algorithm>

#include "teller/core/log.hpp"
#include "teller/nlg/guard.hpp"

namespace teller::nlg {

Nlg::Nlg(TemplateSet templates, KnowledgeBase knowledge, std::unique_ptr<FaqModel> faq,
         NlgOptions options)
    : templates_(std::move(templates)),
      knowledge_(std::move(knowledge)),
      faq_(std::move(faq)),
      options_(std::move(options)) {
    templates_.require(act::all, "response templates");
    if (faq_ && faq_->training_fingerprint() != knowledge_.fingerprint()) {
        throw core::Error(
            "the FAQ model was trained on other questions than the knowledge base "
            "has (model " +
            faq_->training_fingerprint() + ", knowledge base " + knowledge_.fingerprint() +
            "); run `teller train-faq` to retrain it");
    }
}

Nlg::~Nlg() = default;

void Nlg::set_generator(std::unique_ptr<Generator> generator) {
    generator_ = std::move(generator);
}

core::Result<RenderedReply> Nlg::render(std::string_view act, const boost::json::object& slots,
                                        const ReplyContext& context) const {
    RenderContext rc{context.locale, context.channel,
                     variation_seed(context.conversation, context.turn)};
    auto text = templates_.render(act, slots, rc);
    if (!text) {
        return text.error();
    }
    RenderedReply reply{std::move(*text), "template", ""};
    const bool wanted = options_.generator_skills.contains(context.skill) ||
                        options_.generator_skills.contains("*");
    if (!generator_ || !wanted) {
        return reply;
    }

    // TODO(teller): the required slots are those of the richest eligible variation, not of the
    // one the seed picked, so a generator reply may mention a slot the template would have left
    // out (never a wrong value: every slot is filled from the given values).
    // The generator phrases the reply with the slots the chosen template variation carries;
    // its words are used only when the guard finds exactly those slots and no figure of its own.
    std::vector<std::string> required;
    for (const Variation& v : templates_.variations(act)) {
        bool chosen = true;
        for (const std::string& name : v.slots) {
            const boost::json::value* x = slots.if_contains(name);
            chosen = chosen && x != nullptr && !x->is_null();
        }
        if (chosen && v.slots.size() > required.size()) {
            required = v.slots;
        }
    }
    std::vector<std::string> forbidden;
    for (const auto& [name, value] : slots) {
        if (value.is_string() &&
            std::find(required.begin(), required.end(), name) == required.end()) {
            forbidden.emplace_back(value.as_string());
        }
    }
    const std::string locale = context.locale == "zh-CN" ? "zh-CN" : "en";
    std::string generated = generator_->generate(act, required, locale);
    GuardVerdict verdict = check_generated(generated, required, forbidden);
    reply.guard = verdict.reason;
    if (!verdict.accepted) {
        core::Logger("nlg").debug("generator output refused",
                                  {{"act", act}, {"reason", verdict.reason}});
        return reply;
    }
    auto filled = templates_.fill(generated, slots, locale);
    if (!filled) {
        reply.guard = "slot formatting failed";
        return reply;
    }
    return RenderedReply{std::move(*filled), "generator", verdict.reason};
}

std::optional<FaqDecision> Nlg::ask_faq(std::string_view text, std::string_view locale) const {
    if (!faq_) {
        return std::nullopt;
    }
    FaqDecision decision;
    auto hits = faq_->retrieve(text, 1);
    if (hits.empty()) {
        return decision;
    }
    decision.article = hits.front().article;
    decision.score = hits.front().score;
    decision.answered = decision.score >= options_.faq_threshold;
    if (decision.answered) {
        decision.answer = knowledge_.answer(decision.article, locale);
    }
    return decision;
}

void require_skill_acts(const TemplateSet& templates, std::string_view skill,
                        std::span<const std::string> acts) {
    for (const std::string& act : acts) {
        if (!templates.contains(act)) {
            throw core::Error("skill " + std::string(skill) + " uses act " + act +
                              " but no template defines it (knowledge/responses/*.yaml)");
        }
    }
}

}  // namespace teller::nlg
