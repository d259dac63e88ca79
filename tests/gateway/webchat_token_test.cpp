// Tests of signed web chat tokens: round trip, tampering, wrong secret, expiry, garbage.
#include "teller/channels/webchat_token.hpp"

#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace teller::channels {
namespace {

constexpr std::string_view kSecret = "s3cret-for-tests-only";
constexpr std::int64_t kNow = 1'800'000'000;

std::string token_for(std::string customer, std::int64_t exp) {
    return sign_webchat_token(kSecret, {std::move(customer), exp});
}

TEST(WebchatTokenTest, SignedTokenVerifiesAndNamesTheCustomer) {
    const std::string token = token_for("cust-42", kNow + 600);
    auto claims = verify_webchat_token(kSecret, token, kNow);

    ASSERT_TRUE(claims) << claims.error().message();
    EXPECT_EQ(claims->customer_id, "cust-42");
    EXPECT_EQ(claims->expires_at_s, kNow + 600);
    // URL-safe as it is: no characters that need escaping in a query string.
    EXPECT_EQ(token.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
              std::string::npos);
}

TEST(WebchatTokenTest, NonAsciiCustomerIdRoundTrips) {
    auto claims = verify_webchat_token(kSecret, token_for("客户-7", kNow + 1), kNow);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->customer_id, "客户-7");
}

TEST(WebchatTokenTest, TamperedPayloadIsRefused) {
    const std::string token = token_for("cust-42", kNow + 600);
    const std::string other = token_for("cust-99", kNow + 600);
    // Someone else's payload with this token's signature.
    const std::string forged = other.substr(0, other.find('.')) + token.substr(token.find('.'));

    auto claims = verify_webchat_token(kSecret, forged, kNow);
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error(), make_error_code(WebchatTokenErrc::bad_signature));
}

TEST(WebchatTokenTest, FlippedSignatureCharacterIsRefused) {
    std::string token = token_for("cust-42", kNow + 600);
    char& last = token[token.size() - 5];
    last = last == 'A' ? 'B' : 'A';

    auto claims = verify_webchat_token(kSecret, token, kNow);
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error(), make_error_code(WebchatTokenErrc::bad_signature));
}

TEST(WebchatTokenTest, WrongSecretIsRefused) {
    auto claims = verify_webchat_token("another-secret", token_for("cust-42", kNow + 600), kNow);
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error(), make_error_code(WebchatTokenErrc::bad_signature));
}

TEST(WebchatTokenTest, ExpiredTokenIsRefused) {
    const std::string token = token_for("cust-42", kNow);
    EXPECT_TRUE(verify_webchat_token(kSecret, token, kNow - 1));

    auto claims = verify_webchat_token(kSecret, token, kNow);
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error(), make_error_code(WebchatTokenErrc::expired));
}

TEST(WebchatTokenTest, GarbageIsMalformed) {
    for (const std::string token :
         {std::string(), std::string("."), std::string("abc"), std::string("abc."),
          std::string(".abc"), std::string("a.b.c"), std::string("!!!!.????"),
          std::string(5000, 'a') + "." + std::string(43, 'A')}) {
        auto claims = verify_webchat_token(kSecret, token, kNow);
        ASSERT_FALSE(claims) << token;
        EXPECT_EQ(claims.error(), make_error_code(WebchatTokenErrc::malformed)) << token;
    }
}

// A token signed with the right secret whose payload is not the documented JSON.
std::string sign_raw_payload(std::string_view payload) {
    const std::string encoded = encode_base64url(payload);
    unsigned char mac[32];
    unsigned int length = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size(), mac, &length);
    return encoded + "." +
           encode_base64url(std::string_view(reinterpret_cast<const char*>(mac), length));
}

TEST(WebchatTokenTest, SignedButWrongShapedPayloadIsMalformed) {
    ASSERT_TRUE(
        verify_webchat_token(kSecret, sign_raw_payload(R"({"sub":"x","exp":1900000000})"), kNow));
    for (const std::string payload :
         {std::string("not json"), std::string("[1]"), std::string(R"({"sub":"x"})"),
          std::string(R"({"exp":1900000000})"), std::string(R"({"sub":"","exp":1900000000})"),
          std::string(R"({"sub":7,"exp":1900000000})"),
          std::string(R"({"sub":"x","exp":"tomorrow"})"), std::string(R"({"sub":"x","exp":1.9e9})"),
          std::string("\xff\xfe")}) {
        auto claims = verify_webchat_token(kSecret, sign_raw_payload(payload), kNow);
        ASSERT_FALSE(claims) << payload;
        EXPECT_EQ(claims.error(), make_error_code(WebchatTokenErrc::malformed)) << payload;
    }
}

TEST(WebchatTokenTest, Base64urlRoundTripsAndRefusesPadding) {
    for (const std::string bytes : {std::string(), std::string("f"), std::string("fo"),
                                    std::string("foo"), std::string("\xff\xfe\x00\x01", 4)}) {
        std::string decoded;
        ASSERT_TRUE(decode_base64url(encode_base64url(bytes), decoded));
        EXPECT_EQ(decoded, bytes);
    }
    std::string out;
    EXPECT_EQ(encode_base64url("\xfb\xff"), "-_8");
    EXPECT_FALSE(decode_base64url("Zm9v=", out));
    EXPECT_FALSE(decode_base64url("Zm9+", out));
    EXPECT_FALSE(decode_base64url("Z", out));
}

TEST(WebchatTokenTest, SigningNeedsASecretAndACustomer) {
    EXPECT_THROW(sign_webchat_token("", {"c", kNow}), core::Error);
    EXPECT_THROW(sign_webchat_token(kSecret, {"", kNow}), core::Error);
}

}  // namespace
}  // namespace teller::channels
