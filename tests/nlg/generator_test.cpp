// The GRU generator and the guard around it: no wrong figure ever reaches a reply.
#include "teller/nlg/generator.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "teller/nlg/nlg.hpp"
#include "tiny_kb.hpp"

namespace teller::nlg {
namespace {
namespace json = boost::json;

constexpr const char* kActs = R"(slots:
  amount: money
  due_date: date
  account_name: text
responses:
  pay.due:
    - en: "Please pay {amount} by {due_date}."
      zh-CN: "请在{due_date}前支付{amount}。"
    - en: "{amount} is due on {due_date}."
      zh-CN: "{due_date}应付{amount}。"
  pay.sent:
    - en: "Sent {amount} to {account_name}."
      zh-CN: "已向{account_name}转账{amount}。"
  pay.hello:
    - en: "Hello there!"
      zh-CN: "您好！"
)";

class GeneratorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        acts_ = new TemplateSet(TemplateSet::parse(kActs, "acts.yaml"));
        GeneratorTrainOptions options;
        options.epochs = 100;
        options.batch_size = 4;
        generator_ = Generator::train(generator_examples(*acts_), options).release();
    }
    static void TearDownTestSuite() {
        delete generator_;
        delete acts_;
    }

    static TemplateSet* acts_;
    static Generator* generator_;
};

TemplateSet* GeneratorTest::acts_ = nullptr;
Generator* GeneratorTest::generator_ = nullptr;

TEST_F(GeneratorTest, LearnsTheTemplatesDelexicalisedReplies) {
    EXPECT_EQ(generator_->generate("pay.sent", {"account_name", "amount"}, "en"),
              "Sent {amount} to {account_name}.");
    EXPECT_EQ(generator_->generate("pay.hello", {}, "zh-CN"), "您好！");
    std::string due = generator_->generate("pay.due", {"amount", "due_date"}, "en");
    EXPECT_TRUE(due == "Please pay {amount} by {due_date}." ||
                due == "{amount} is due on {due_date}.")
        << due;
}

TEST_F(GeneratorTest, SavedGeneratorAnswersTheSame) {
    const auto path = std::filesystem::temp_directory_path() / "teller-generator-test.model";
    generator_->save(path);
    auto loaded = Generator::load(path);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ((*loaded)->generate("pay.sent", {"account_name", "amount"}, "zh-CN"),
              generator_->generate("pay.sent", {"account_name", "amount"}, "zh-CN"));
    std::filesystem::remove(path);
}

TEST_F(GeneratorTest, AdversarialSlotValuesNeverProduceAWrongFigure) {
    TemplateSet templates = TemplateSet::load(TELLER_SOURCE_DIR "/knowledge/responses");
    templates.merge(*acts_);
    KnowledgeBase kb = KnowledgeBase::parse(testing::kTinyKb, "tiny.yaml");
    Nlg nlg(templates, kb, nullptr, {0.6f, {"payments"}});
    // The generator is a copy of the trained one, loaded from a file.
    const auto path = std::filesystem::temp_directory_path() / "teller-generator-guard.model";
    generator_->save(path);
    nlg.set_generator(std::move(*Generator::load(path)));
    std::filesystem::remove(path);

    const json::value amounts[] = {0.00, 1e9, "5,000", -0.005, "999999999999.995", 0.1, 12};
    const char* names[] = {"Agent 007", "账户 8888", "5,000 Savings", "{amount}"};
    int from_generator = 0;
    for (const json::value& amount : amounts) {
        for (const char* name : names) {
            for (const char* locale : {"en", "zh-CN"}) {
                json::object slots{
                    {"amount", amount}, {"due_date", "2026-12-04"}, {"account_name", name}};
                for (const char* act : {"pay.due", "pay.sent"}) {
                    ReplyContext context{locale, "webchat", "conv", 3, "payments"};
                    auto reply = nlg.render(act, slots, context);
                    ASSERT_TRUE(reply) << act;
                    from_generator += reply->source == "generator";

                    // Every figure in the reply is one of the slots' formatted values.
                    std::string rest = reply->text;
                    for (const char* slot : {"amount", "due_date", "account_name"}) {
                        std::string value = templates.format_slot(slot, slots, locale).value();
                        for (auto at = rest.find(value); at != std::string::npos;
                             at = rest.find(value)) {
                            rest.replace(at, value.size(), " ");
                        }
                    }
                    EXPECT_EQ(rest.find_first_of("0123456789"), std::string::npos)
                        << reply->text << " (" << reply->source << ")";

                    // A skill the generator is not switched on for always gets the template.
                    context.skill = "cards";
                    auto plain = nlg.render(act, slots, context);
                    EXPECT_EQ(plain->source, "template");
                    EXPECT_TRUE(plain->guard.empty());
                }
            }
        }
    }
    EXPECT_GT(from_generator, 0);
}

}  // namespace
}  // namespace teller::nlg
