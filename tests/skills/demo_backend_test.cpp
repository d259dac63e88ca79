// The demo bank's card operations: recent transactions, daily limits and disputes.
#include "teller/core/backend.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <boost/json.hpp>

namespace teller::core {
namespace {
namespace json = boost::json;

class DemoBackendCardsTest : public ::testing::Test {
protected:
    std::unique_ptr<Backend> bank_ = make_demo_backend(TELLER_SOURCE_DIR "/deploy/demo-bank.json");

    json::object call(std::string_view operation, json::object args) {
        args["customer"] = "demo-1";
        auto r = bank_->call(operation, args);
        EXPECT_TRUE(r) << operation;
        return r && r->is_object() ? r->as_object() : json::object{};
    }
};

TEST_F(DemoBackendCardsTest, TransactionsAreTheCardsNewestFirstUpToTheLimit) {
    json::object r = call("cards.transactions", {{"last4", "4821"}, {"limit", 3}});
    const json::array& list = r.at("transactions").as_array();
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[0].at("id").as_string(), "tx-1001");
    EXPECT_EQ(list[0].at("date").as_string(), "2026-12-03");
    EXPECT_EQ(list[0].at("merchant").as_string(), "Blue Bottle Coffee");
    EXPECT_EQ(list[0].at("amount").as_string(), "4.50");
    EXPECT_EQ(list[0].at("currency").as_string(), "USD");
    EXPECT_GE(list[1].at("date").as_string(), list[2].at("date").as_string());

    // Only that card's transactions, five by default.
    json::object other = call("cards.transactions", {{"last4", "7730"}});
    EXPECT_EQ(other.at("transactions").as_array().size(), 4u);
    EXPECT_EQ(call("cards.transactions", {{"last4", "4821"}}).at("transactions").as_array().size(),
              5u);
    EXPECT_EQ(call("cards.transactions", {{"last4", "0000"}}).at("error").as_string(),
              "card_not_found");
}

TEST_F(DemoBackendCardsTest, ChineseCustomerHasChineseMerchants) {
    auto r = bank_->call("cards.transactions", {{"customer", "demo-user-zh"}, {"last4", "6602"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->at("transactions").at(0).at("merchant").as_string(), "美团外卖");
    EXPECT_EQ(r->at("transactions").at(0).at("currency").as_string(), "CNY");
}

TEST_F(DemoBackendCardsTest, LimitsShowDailyAndMaximumPerKind) {
    json::object r = call("cards.limits", {{"last4", "4821"}});
    EXPECT_EQ(r.at("currency").as_string(), "USD");
    EXPECT_EQ(r.at("limits").at("atm").at("daily").as_string(), "500.00");
    EXPECT_EQ(r.at("limits").at("atm").at("max").as_string(), "1000.00");
    EXPECT_TRUE(r.at("limits").as_object().contains("pos"));
    EXPECT_TRUE(r.at("limits").as_object().contains("online"));
    // cards.list does not carry the limits.
    json::object cards = call("cards.list", {});
    EXPECT_FALSE(cards.at("cards").at(0).as_object().contains("limits"));
}

TEST_F(DemoBackendCardsTest, SetLimitChangesItWithinTheMaximum) {
    json::object r =
        call("cards.set_limit", {{"last4", "4821"}, {"kind", "atm"}, {"amount", "800"}});
    EXPECT_EQ(r.at("limit").at("daily").as_string(), "800.00");
    EXPECT_EQ(r.at("limit").at("kind").as_string(), "atm");
    EXPECT_EQ(call("cards.limits", {{"last4", "4821"}}).at("limits").at("atm").at("daily"),
              "800.00");
}

TEST_F(DemoBackendCardsTest, SetLimitRefusesOverTheMaximumNegativeAndUnknown) {
    json::object over =
        call("cards.set_limit", {{"last4", "4821"}, {"kind", "atm"}, {"amount", "1000.01"}});
    EXPECT_EQ(over.at("error").as_string(), "over_maximum");
    EXPECT_EQ(over.at("max").as_string(), "1000.00");
    EXPECT_EQ(call("cards.set_limit", {{"last4", "4821"}, {"kind", "atm"}, {"amount", "-5"}})
                  .at("error")
                  .as_string(),
              "invalid_amount");
    EXPECT_EQ(call("cards.set_limit", {{"last4", "4821"}, {"kind", "atm"}, {"amount", "lots"}})
                  .at("error")
                  .as_string(),
              "invalid_amount");
    EXPECT_EQ(call("cards.set_limit", {{"last4", "4821"}, {"kind", "fuel"}, {"amount", "10"}})
                  .at("error")
                  .as_string(),
              "unknown_limit");
    // An inactive card's limits are not changed; nothing else was either.
    EXPECT_EQ(call("cards.set_limit", {{"last4", "1195"}, {"kind", "atm"}, {"amount", "10"}})
                  .at("error")
                  .as_string(),
              "card_not_active");
    EXPECT_EQ(call("cards.limits", {{"last4", "4821"}}).at("limits").at("atm").at("daily"),
              "500.00");
}

TEST_F(DemoBackendCardsTest, DisputeGivesACaseOnceAndRefusesUnknownIds) {
    json::object opened =
        call("cards.dispute",
             {{"last4", "7730"}, {"transaction", "tx-1013"}, {"reason", "charged_twice"}});
    std::string ref(opened.at("case").as_string());
    EXPECT_TRUE(ref.starts_with("DSP-")) << ref;
    EXPECT_EQ(opened.at("transaction").at("merchant").as_string(), "Apple Store");

    json::object again =
        call("cards.dispute",
             {{"last4", "7730"}, {"transaction", "tx-1013"}, {"reason", "wrong_amount"}});
    EXPECT_EQ(again.at("error").as_string(), "already_disputed");
    EXPECT_EQ(again.at("case").as_string(), ref);

    EXPECT_EQ(call("cards.dispute", {{"transaction", "tx-9999"}, {"reason", "charged_twice"}})
                  .at("error")
                  .as_string(),
              "transaction_not_found");
    // A transaction of another card is not found through this one.
    EXPECT_EQ(call("cards.dispute",
                   {{"last4", "4821"}, {"transaction", "tx-1012"}, {"reason", "charged_twice"}})
                  .at("error")
                  .as_string(),
              "transaction_not_found");
    EXPECT_EQ(call("cards.dispute", {{"transaction", "tx-1012"}, {"reason", "bored"}})
                  .at("error")
                  .as_string(),
              "invalid_reason");
    // Another customer's transaction is not this customer's to dispute.
    EXPECT_EQ(call("cards.dispute", {{"transaction", "tx-2001"}, {"reason", "not_received"}})
                  .at("error")
                  .as_string(),
              "transaction_not_found");
    // The listing shows the open case.
    json::object list = call("cards.transactions", {{"last4", "7730"}});
    bool shown = false;
    for (const json::value& tx : list.at("transactions").as_array()) {
        if (tx.at("id") == "tx-1013") {
            shown = tx.as_object().contains("dispute");
        }
    }
    EXPECT_TRUE(shown);
}

}  // namespace
}  // namespace teller::core
