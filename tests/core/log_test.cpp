// Masking of personal data before it reaches a log line, an event or a topic.
#include "teller/core/log.hpp"

#include <gtest/gtest.h>

namespace teller::core {
namespace {

struct MaskCase {
    std::string input;
    std::string expected;
};

class MaskTest : public ::testing::TestWithParam<MaskCase> {};

TEST_P(MaskTest, MasksPersonalData) {
    EXPECT_EQ(mask_personal_data(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MaskTest,
    ::testing::Values(MaskCase{"card 4111111111111111 lost", "card ************1111 lost"},
                      MaskCase{"4111 1111 1111 1111", "**** **** **** 1111"},
                      MaskCase{"4111-1111-1111-1111", "****-****-****-1111"},
                      MaskCase{"call +8613812345678", "call +***********78"},
                      MaskCase{"phone 07911123456", "phone *********56"},
                      MaskCase{"last four 1234", "last four 1234"},
                      MaskCase{"I want 5000 dollars", "I want 5000 dollars"},
                      MaskCase{"Authorization: Bearer abc.def", "Authorization: Bearer ***"},
                      MaskCase{"url?token=s3cr3t&x=1", "url?token=***&x=1"},
                      MaskCase{"我的卡号是6222020200112233445", "我的卡号是***************3445"},
                      MaskCase{"card 4111.1111.1111.1111", "card ****.****.****.1111"},
                      MaskCase{"4111  1111  1111  1111", "****  ****  ****  1111"},
                      MaskCase{"卡号４１１１１１１１１１１１１１１１", "卡号************1111"},
                      MaskCase{"my password: hunter2 token: abc123", "my password: *** token: ***"},
                      MaskCase{"cvv 123 and CVC: 9876", "cvv *** and CVC: ****"},
                      MaskCase{"pin is blocked", "pin is blocked"},
                      MaskCase{"version 1.2.3", "version 1.2.3"},
                      MaskCase{"total 12.50 EUR", "total 12.50 EUR"},
                      MaskCase{"trace_id=a8559b7ea3f9c4e12345678964fbd13a2",
                               "trace_id=a8559b7ea3f9c4e12345678964fbd13a2"},
                      MaskCase{"card:4111111111111111.", "card:************1111."},
                      // Found by the PII sweep (tests/faults): phones with parentheses, IBANs.
                      MaskCase{"or +1 (415) 555-2671 later", "or +* (***) ***-**71 later"},
                      MaskCase{"(415) 555-2671", "(***) ***-**71"},
                      MaskCase{"iban GB82WEST12345698765432 ok", "iban GB****************5432 ok"},
                      MaskCase{"to GB82 WEST 1234 5698 7654 32", "to GB** **** **** **** **54 32"},
                      MaskCase{"GB82WEST12345698765433", "GB82WEST12345698765433"},
                      MaskCase{"UK12 and AB12CDEF", "UK12 and AB12CDEF"}));

TEST(LoggerTest, ParsesLevelsAndDefaultsToInfo) {
    EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
    EXPECT_EQ(parse_log_level("warning"), LogLevel::warn);
    EXPECT_EQ(parse_log_level("nonsense"), LogLevel::info);
}

TEST(LoggerTest, SameSubsystemSharesOneLogger) {
    Logger a("test-subsystem");
    Logger b("test-subsystem");
    set_log_level(LogLevel::warn);
    EXPECT_FALSE(a.enabled(LogLevel::info));
    EXPECT_TRUE(b.enabled(LogLevel::error));
    set_log_level(LogLevel::info);
    EXPECT_TRUE(a.enabled(LogLevel::info));
}

}  // namespace
}  // namespace teller::core
