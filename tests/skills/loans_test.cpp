// The loans skill through the skill host: annuity arithmetic, quotes, eligibility, applications.
#include "annuity.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "teller/core/backend.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::skills::loans {
namespace {
namespace json = boost::json;

// Reference values computed independently with Python:
//   m = P*r/(1-(1+r)**-n), r = rate/1200 (m = P/n at 0%); interest = m*n - P; both to cents.
struct Case {
    double principal;
    double rate;
    int months;
    std::int64_t monthly_cents;
    std::int64_t interest_cents;
};

TEST(AnnuityTest, MatchesIndependentlyComputedPayments) {
    const Case cases[] = {
        {10000, 5.0, 36, 29971, 78952},        // 299.71, 789.52
        {10000, 0.0, 36, 27778, 0},            // no interest: P / n
        {12000, 0.0, 7, 171429, 0},            // 1714.29 a month, still no interest
        {300000, 4.5, 360, 152006, 24722013},  // 30-year mortgage
        {100000, 3.8, 360, 46596, 6774465},    // another 30-year mortgage
        {200000, 3.5, 240, 115992, 7838066},   // 20 years
        {25000, 6.9, 60, 49385, 463108},       // car loan
        {5000, 14.9, 12, 45106, 41267},        // short, expensive
        {1000, 12.0, 1, 101000, 1000},         // one month: principal plus 1% interest
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::to_string(c.principal) + " at " + std::to_string(c.rate) + "% for " +
                     std::to_string(c.months));
        std::optional<Quote> q = quote(c.principal, c.rate, c.months);
        ASSERT_TRUE(q);
        EXPECT_EQ(q->monthly_cents, c.monthly_cents);
        EXPECT_EQ(q->total_interest_cents, c.interest_cents);
    }
    std::optional<double> exact = annuity_payment(10000, 5.0, 36);
    ASSERT_TRUE(exact);
    EXPECT_NEAR(*exact, 299.708971, 1e-6);
}

TEST(AnnuityTest, RefusesImpossibleInputs) {
    EXPECT_FALSE(annuity_payment(10000, 5.0, 0));
    EXPECT_FALSE(annuity_payment(10000, 5.0, -12));
    EXPECT_FALSE(annuity_payment(-1, 5.0, 12));
    EXPECT_FALSE(annuity_payment(10000, -0.5, 12));
    EXPECT_FALSE(quote(10000, std::nan(""), 12));
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A conversation with the loans skill, carrying its state from turn to turn as the engine does.
class LoansTest : public ::testing::Test {
protected:
    LoansTest()
        : backend_(core::make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json")),
          host_(*backend_, core::SkillHostOptions{std::chrono::milliseconds(2000)}) {
        auto loaded = host_.load(TELLER_LOANS_SKILL);
        EXPECT_TRUE(loaded) << (host_.load_errors().empty() ? "" : host_.load_errors().back());
    }

    // One customer turn; returns every reply text joined by newlines.
    std::string say(const std::string& text, const std::string& intent = "out_of_scope",
                    json::array entities = {}) {
        json::object request{{"conversation", "conv-" + customer_},
                             {"channel", "webchat"},
                             {"locale", locale_},
                             {"text", text},
                             {"intent", {{"name", intent}, {"confidence", 0.95}}},
                             {"entities", std::move(entities)},
                             {"state", state_},
                             {"slots", json::object{}},
                             {"customer", {{"id", customer_}, {"verified", false}}}};
        auto response = host_.call("loans", request);
        EXPECT_TRUE(response) << "turn: " << text;
        if (!response) {
            state_ = nullptr;
            return {};
        }
        last_ = *response;
        state_ = response->contains("state") ? response->at("state") : json::value();
        std::string out;
        // As the dialogue shows it without templates: each reply's text, then its list items.
        for (const json::value& r : response->at("replies").as_array()) {
            out += std::string(r.at("text").as_string()) + "\n";
            if (const json::value* items = r.as_object().if_contains("items")) {
                for (const json::value& i : items->as_array()) {
                    out += std::string(i.at("text").as_string()) + "\n";
                }
            }
        }
        return out;
    }

    std::string step() const {
        if (!state_.is_object() || !state_.as_object().contains("step")) {
            return {};
        }
        return std::string(state_.at("step").as_string());
    }

    std::unique_ptr<core::Backend> backend_;
    core::SkillHost host_;
    std::string locale_ = "en";
    std::string customer_ = "demo-user";
    json::value state_;
    json::object last_;
};

::testing::AssertionResult has(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "\"" << part << "\" not in: " << text;
}

TEST_F(LoansTest, IntentsAreRegisteredWithoutCollidingWithCards) {
    ASSERT_TRUE(host_.load(TELLER_CARDS_SKILL));
    EXPECT_EQ(host_.skills(), (std::vector<std::string>{"loans", "cards"}));
    for (std::string_view intent : {"loans.products", "loans.installment", "loans.eligibility",
                                    "loans.apply", "loans.status"}) {
        const core::IntentInfo* info = host_.find_intent(intent);
        ASSERT_NE(info, nullptr) << intent;
        EXPECT_EQ(info->skill, "loans");
    }

    // No example text may be taught as two different intents, and each intent has ~40 per locale.
    std::map<std::string, std::string> intent_of;
    std::map<std::pair<std::string, std::string>, int> count;
    for (const core::TrainingExample& e : host_.training_examples()) {
        std::string key = e.text;
        for (char& c : key) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        auto [it, fresh] = intent_of.emplace(key, e.intent);
        EXPECT_TRUE(fresh || it->second == e.intent)
            << "\"" << e.text << "\" is both " << it->second << " and " << e.intent;
        ++count[{e.intent, e.locale}];
    }
    for (std::string_view intent : {"loans.products", "loans.installment", "loans.eligibility",
                                    "loans.apply", "loans.status"}) {
        EXPECT_GE((count[{std::string(intent), "en"}]), 40) << intent;
        EXPECT_GE((count[{std::string(intent), "zh-CN"}]), 40) << intent;
    }
}

TEST_F(LoansTest, ProductsListRatesAndTermsInBothLocales) {
    std::string en = say("what loans do you offer", "loans.products");
    EXPECT_TRUE(has(en,
                    "personal loan: 1,000.00 USD to 50,000.00 USD, 12 to 60 months, 6.90% to "
                    "14.90% a year"));
    EXPECT_TRUE(has(en, "car loan"));
    EXPECT_TRUE(has(en, "home loan: 50,000.00 USD to 2,000,000.00 USD, 60 to 360 months"));
    EXPECT_TRUE(state_.is_null());

    locale_ = "zh-CN";
    std::string zh = say("你们有哪些贷款产品", "loans.products");
    EXPECT_TRUE(
        has(zh, "住房贷款：50,000.00美元至2,000,000.00美元，60至360个月，年利率3.50%至6.50%"));
    EXPECT_TRUE(has(zh, "汽车贷款"));
}

TEST_F(LoansTest, CatalogueInDemoBankFileIsValidConfigAndMatchesTheBuiltIn) {
    json::value bank = json::parse(read_text(TELLER_SOURCE_DIR "/deploy/demo-bank.json"));
    core::SkillHost configured(*backend_);
    ASSERT_TRUE(configured.load(TELLER_LOANS_SKILL, bank.at("loans").as_object()));
    json::object request{{"text", "loans"},
                         {"locale", "en"},
                         {"intent", {{"name", "loans.products"}, {"confidence", 1.0}}},
                         {"state", nullptr},
                         {"customer", {{"id", "demo-user"}}}};
    auto from_file = configured.call("loans", request);
    auto built_in = host_.call("loans", request);
    ASSERT_TRUE(from_file);
    ASSERT_TRUE(built_in);
    EXPECT_EQ(json::serialize(*from_file), json::serialize(*built_in));

    // A catalogue that contradicts itself is refused at load time.
    core::SkillHost bad(*backend_);
    json::object broken{{"products", json::array{json::object{{"id", "x"}}}}};
    EXPECT_FALSE(bad.load(TELLER_LOANS_SKILL, broken));
}

TEST_F(LoansTest, RateOutsideTheProductRangeIsNotQuoted) {
    json::array rate{json::object{{"type", "percentage"}, {"value", "0"}, {"text", "0%"}}};
    std::string r = say("monthly payment for a 20,000 car loan over 36 months at 0%",
                        "loans.installment", rate);
    EXPECT_TRUE(has(r, "offered at 4.90% to 9.90% a year, so this quote uses 6.90%")) << r;
    EXPECT_FALSE(has(r, "at 0.00% a year")) << r;
}

TEST_F(LoansTest, InstallmentInEnglishAsksForMissingSlotsAndRepromptsInvalidOnes) {
    json::array rate{json::object{{"type", "percentage"}, {"value", "5"}, {"text", "5%"}}};
    std::string r =
        say("What's the monthly payment on a car loan at 5%?", "loans.installment", rate);
    EXPECT_TRUE(has(r, "How much would you like to borrow?"));
    EXPECT_EQ(step(), "amount");

    r = say("0");
    EXPECT_TRUE(has(r, "more than zero"));
    EXPECT_EQ(step(), "amount");

    r = say("10,000");
    EXPECT_TRUE(has(r, "Over how many months"));
    EXPECT_EQ(step(), "term");

    r = say("100 months");
    EXPECT_TRUE(has(r, "runs from 12 to 84 months"));
    EXPECT_EQ(step(), "term");

    r = say("three years");
    EXPECT_TRUE(has(r, "299.71 USD a month"));
    EXPECT_TRUE(has(r, "789.52 USD interest"));
    EXPECT_TRUE(has(r, "5.00%"));
    EXPECT_TRUE(has(r, "apply"));
    EXPECT_EQ(step(), "offer");

    r = say("no", "deny");
    EXPECT_TRUE(state_.is_null());
}

TEST_F(LoansTest, InstallmentInChineseForAThirtyYearMortgage) {
    locale_ = "zh-CN";
    std::string r = say("帮我算一下月供", "loans.installment");
    EXPECT_TRUE(has(r, "请问是哪种贷款"));
    EXPECT_EQ(step(), "product");
    ASSERT_EQ(last_.at("replies").as_array()[0].at("quick_replies").as_array().size(), 3u);

    r = say("房贷");
    EXPECT_TRUE(has(r, "您想借多少钱"));

    r = say("30万");
    EXPECT_EQ(step(), "term");

    r = say("50年");
    EXPECT_TRUE(has(r, "期限须在60至360个月之间"));
    EXPECT_EQ(step(), "term");

    r = say("三十年");
    EXPECT_TRUE(has(r, "每月还款1,520.06美元"));
    EXPECT_TRUE(has(r, "总利息247,220.13美元"));
    EXPECT_TRUE(has(r, "年利率4.50%"));
    EXPECT_EQ(step(), "offer");
}

TEST_F(LoansTest, RepeatedUnusableAnswersEndTheFlow) {
    say("calculate my monthly installment for a car loan", "loans.installment");
    EXPECT_EQ(step(), "amount");
    say("lots");
    say("-5");
    EXPECT_EQ(step(), "amount");
    std::string r = say("a big one");
    EXPECT_TRUE(has(r, "stopped"));
    EXPECT_TRUE(state_.is_null());
}

TEST_F(LoansTest, EligibleWhenTheInstallmentFitsTheIncome) {
    std::string r =
        say("Am I eligible for a car loan of 20000 over 48 months?", "loans.eligibility");
    EXPECT_TRUE(has(r, "monthly income"));
    EXPECT_EQ(step(), "income");

    r = say("I earn 5000 a month");
    EXPECT_TRUE(has(r, "you're eligible"));
    EXPECT_TRUE(has(r, "478.00 USD a month, 10% of your monthly income"));
    EXPECT_EQ(step(), "offer");

    // Accepting the offer starts an application with what is already known.
    r = say("yes", "affirm");
    EXPECT_TRUE(has(r, "What is the loan for?"));
    EXPECT_EQ(step(), "purpose");
}

TEST_F(LoansTest, NotEligibleWhenTheInstallmentTakesTooMuchOfTheIncome) {
    locale_ = "zh-CN";
    say("我能贷款吗", "loans.eligibility");
    EXPECT_EQ(step(), "product");
    say("个人贷款");
    EXPECT_EQ(step(), "amount");
    json::array amount{
        json::object{{"type", "amount"}, {"value", "50000.00 USD"}, {"text", "5万"}}};
    say("5万", "out_of_scope", amount);
    EXPECT_EQ(step(), "term");
    say("60个月");
    EXPECT_EQ(step(), "income");
    std::string r = say("2000");
    EXPECT_TRUE(has(r, "不符合条件"));
    EXPECT_TRUE(has(r, "每月还款1,035.49美元将占您月收入的52%，超过了40%的上限"));
    EXPECT_TRUE(has(r, "最多可贷约38,600.00美元"));
    EXPECT_TRUE(state_.is_null());
}

TEST_F(LoansTest, NotEligibleAboveTheProductLimit) {
    std::string r = say("can I borrow 80000 as a personal loan over 5 years", "loans.eligibility");
    EXPECT_EQ(step(), "income");
    r = say("9000");
    EXPECT_TRUE(has(r, "not eligible"));
    EXPECT_TRUE(has(r, "1,000.00 USD to 50,000.00 USD"));
}

TEST_F(LoansTest, ApplicationInEnglishIsSubmittedAfterConfirmationAndShowsInStatus) {
    std::string r = say("I want to apply for a loan", "loans.apply");
    EXPECT_EQ(step(), "product");
    r = say("car");
    EXPECT_EQ(step(), "amount");
    r = say("$150,000");
    EXPECT_TRUE(has(r, "5,000.00 USD to 100,000.00 USD"));
    EXPECT_EQ(step(), "amount");
    r = say("$15,000");
    EXPECT_EQ(step(), "term");
    r = say("4 years");
    EXPECT_EQ(step(), "purpose");
    r = say("buying a used car");
    EXPECT_EQ(step(), "income");
    r = say("4,500");
    EXPECT_EQ(step(), "employment");
    r = say("a poet");
    EXPECT_TRUE(has(r, "employment status"));
    EXPECT_EQ(step(), "employment");
    r = say("I'm self-employed");
    EXPECT_EQ(step(), "confirm");
    EXPECT_TRUE(has(r,
                    "car loan of 15,000.00 USD over 48 months, for: buying a used car, "
                    "monthly income 4,500.00 USD, self-employed. Shall I submit it?"));

    r = say("yes", "affirm");
    EXPECT_TRUE(has(r, "LN-1001"));
    EXPECT_TRUE(state_.is_null());
    EXPECT_EQ(last_.at("slots").at("loan_application"), "LN-1001");

    r = say("what's the status of my loan application", "loans.status");
    EXPECT_TRUE(has(r, "LN-1001: car loan, 15,000.00 USD over 48 months, submitted"));
}

TEST_F(LoansTest, ApplicationInChineseIsSubmittedAndStatusIsPerCustomer) {
    locale_ = "zh-CN";
    customer_ = "demo-user-zh";
    std::string r = say("我要申请个人贷款", "loans.apply");
    EXPECT_EQ(step(), "amount");
    r = say("两万");
    EXPECT_EQ(step(), "term");
    r = say("三年");
    EXPECT_EQ(step(), "purpose");
    r = say("装修房子");
    EXPECT_EQ(step(), "income");
    r = say("月收入8000");
    EXPECT_EQ(step(), "employment");
    r = say("在职");
    EXPECT_EQ(step(), "confirm");
    EXPECT_TRUE(has(r,
                    "个人贷款，金额20,000.00美元，期限36个月，用途：装修房子，"
                    "税后月收入8,000.00美元，就业状况：在职。确认提交吗？"));
    r = say("确认");
    EXPECT_TRUE(has(r, "编号为LN-1001"));

    r = say("我的贷款申请进度怎么样", "loans.status");
    EXPECT_TRUE(has(r, "LN-1001：个人贷款，20,000.00美元，36个月，已提交"));

    // Another customer sees none of it.
    customer_ = "demo-user";
    locale_ = "en";
    r = say("check my loan application", "loans.status");
    EXPECT_TRUE(has(r, "no loan applications"));
}

TEST_F(LoansTest, CancelMidwayOrDecliningLeavesNothingSubmitted) {
    say("I'd like to take out a car loan", "loans.apply");
    say("20000");
    EXPECT_EQ(step(), "term");
    std::string r = say("never mind", "cancel");
    EXPECT_TRUE(has(r, "Nothing was submitted"));
    EXPECT_TRUE(state_.is_null());

    // Declining at the summary submits nothing either.
    say("apply for a personal loan of 5000 over 24 months", "loans.apply");
    EXPECT_EQ(step(), "purpose");
    say("a new laptop");
    say("3000");
    say("employed");
    EXPECT_EQ(step(), "confirm");
    r = say("no", "deny");
    EXPECT_TRUE(has(r, "haven't submitted"));

    r = say("status of my loan", "loans.status");
    EXPECT_TRUE(has(r, "no loan applications"));
}

TEST_F(LoansTest, StateNamingAnUnknownProductAsksForTheProductAgain) {
    state_ = json::object{{"flow", "loans.installment"},
                          {"step", "term"},
                          {"attempts", 0},
                          {"product", "yacht"},
                          {"amount", 10000.0}};
    std::string r = say("24 months");
    EXPECT_TRUE(has(r, "Which loan is it for?"));
    EXPECT_EQ(step(), "product");
    r = say("personal");
    EXPECT_TRUE(has(r, "over 24 months at 8.90% a year costs 456.39 USD a month"));
}

}  // namespace
}  // namespace teller::skills::loans
