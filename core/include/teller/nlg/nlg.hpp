// The NLG component the engine uses: templates, the knowledge base, FAQ retrieval, generator.
#pragma once

#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "teller/nlg/faq_model.hpp"
#include "teller/nlg/generator.hpp"
#include "teller/nlg/knowledge_base.hpp"
#include "teller/nlg/responder.hpp"
#include "teller/nlg/templates.hpp"

namespace teller::nlg {

struct NlgOptions {
    /// The best article's score (FaqModel's mix of cosine and word-overlap scores) at or above
    /// which its answer is sent.
    float faq_threshold = kDefaultFaqThreshold;
    /// Skills whose templated replies the generator phrases ("*" for every reply, including
    /// the dialogue's own). Empty: the generator is off.
    std::set<std::string> generator_skills;
};

/// Templates, knowledge base, FAQ model (optional) and generator (optional) behind the
/// Responder interface. Immutable after construction (set_generator before first use);
/// render() and ask_faq() are thread-safe.
class Nlg final : public Responder {
public:
    /// Throws core::Error when `templates` lacks one of act::all, or when `faq` was trained on
    /// other questions than `knowledge` has (the message says to run `teller train-faq`).
    Nlg(TemplateSet templates, KnowledgeBase knowledge, std::unique_ptr<FaqModel> faq,
        NlgOptions options = {});
    ~Nlg() override;

    /// Lets the generator phrase the replies of options().generator_skills.
    void set_generator(std::unique_ptr<Generator> generator);

    /// Template, or generator output that passed the guard; `source` says which. A refused
    /// generator output is logged at DEBUG and the template is used.
    core::Result<RenderedReply> render(std::string_view act, const boost::json::object& slots,
                                       const ReplyContext& context) const override;

    /// The best article; answered when its score reaches options().faq_threshold. nullopt
    /// without a FAQ model.
    std::optional<FaqDecision> ask_faq(std::string_view text,
                                       std::string_view locale) const override;

    const TemplateSet& templates() const noexcept { return templates_; }
    const KnowledgeBase& knowledge() const noexcept { return knowledge_; }
    bool faq_enabled() const noexcept { return faq_ != nullptr; }
    const NlgOptions& options() const noexcept { return options_; }

private:
    TemplateSet templates_;
    KnowledgeBase knowledge_;
    std::unique_ptr<FaqModel> faq_;
    std::unique_ptr<Generator> generator_;
    NlgOptions options_;
};

/// Start-up check of a skill's manifest "acts" against the loaded templates. Throws
/// core::Error "skill loans uses act loans.installment but no template defines it
/// (knowledge/responses/*.yaml)" for the first act `templates` lacks. Thread-safe.
void require_skill_acts(const TemplateSet& templates, std::string_view skill,
                        std::span<const std::string> acts);

}  // namespace teller::nlg
