// The generator guard: exactly the required slots, no figure of its own, whatever the values.
#include "teller/nlg/guard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace teller::nlg {
namespace {

const std::vector<std::string> kAmountDate{"amount", "due_date"};

TEST(GuardTest, AcceptsExactlyTheRequiredSlotsWithoutOtherFigures) {
    EXPECT_TRUE(check_generated("Pay {amount} by {due_date}.", kAmountDate).accepted);
    EXPECT_TRUE(check_generated("请在{due_date}前还款{amount}。", kAmountDate).accepted);
    EXPECT_TRUE(check_generated("Hello!", {}).accepted);
}

TEST(GuardTest, RefusesMissingRepeatedOrUnknownSlots) {
    EXPECT_EQ(check_generated("Pay {amount}.", kAmountDate).reason, "missing slot due_date");
    EXPECT_EQ(check_generated("Pay {amount} {amount} by {due_date}.", kAmountDate).reason,
              "slot amount repeated");
    EXPECT_EQ(check_generated("Pay {amount} by {due_date}, {name}.", kAmountDate).reason,
              "unexpected slot name");
    EXPECT_FALSE(check_generated("Pay {amount by {due_date}.", kAmountDate).accepted);
    EXPECT_FALSE(check_generated("Pay {amount} by {due_date}}.", kAmountDate).accepted);
}

TEST(GuardTest, RefusesAnyFigureOutsideTheSlots) {
    const std::vector<std::string> bad = {
        "Pay {amount} by {due_date}, or 5,000.00 later.", "Pay {amount} by {due_date} plus ¥ fees.",
        "Pay {amount} by {due_date} at 3% interest.",     "Pay {amount} by {due_date}, ０ fees.",
        "请在{due_date}前还款{amount}，另加五千元。",     "请在{due_date}前还款{amount}和两百块。",
        "Pay {amount} by {due_date} or $ later.",         "Pay {amount} by {due_date}, 1e9 left.",
    };
    for (const std::string& text : bad) {
        EXPECT_FALSE(check_generated(text, kAmountDate).accepted) << text;
    }
}

TEST(GuardTest, RefusesValuesOfSlotsTheReplyMustNotMention) {
    const std::vector<std::string> forbidden{"Ada Lovelace"};
    EXPECT_FALSE(
        check_generated("Pay {amount} by {due_date}, Ada Lovelace.", kAmountDate, forbidden)
            .accepted);
    EXPECT_TRUE(check_generated("Pay {amount} by {due_date}.", kAmountDate, forbidden).accepted);
}

}  // namespace
}  // namespace teller::nlg
