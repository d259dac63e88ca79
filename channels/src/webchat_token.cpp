// Signed web chat tokens: HMAC-SHA256 over a base64url JSON payload.
#include "teller/channels/webchat_token.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "teller/core/events.hpp"

namespace teller::channels {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Longest token looked at; anything longer is refused before any work.
constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::size_t kMaxCustomerIdBytes = 128;

class TokenCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "teller.webchat_token"; }

    std::string message(int value) const override {
        switch (static_cast<WebchatTokenErrc>(value)) {
            case WebchatTokenErrc::malformed:
                return "the web chat token is malformed";
            case WebchatTokenErrc::bad_signature:
                return "the web chat token's signature does not match";
            case WebchatTokenErrc::expired:
                return "the web chat token has expired";
        }
        return "unknown web chat token error";
    }
};

int decode_char(char c) noexcept {
    const std::size_t at = kAlphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

using Mac = std::array<unsigned char, 32>;

// HMAC-SHA256; false only when OpenSSL fails.
bool hmac_sha256(std::string_view secret, std::string_view data, Mac& out) {
    unsigned int length = 0;
    const unsigned char* result =
        HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
    return result != nullptr && length == out.size();
}

}  // namespace

const boost::system::error_category& webchat_token_category() noexcept {
    static const TokenCategory category;
    return category;
}

std::string encode_base64url(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(kAlphabet[(n >> 18) & 63]);
        out.push_back(kAlphabet[(n >> 12) & 63]);
        out.push_back(kAlphabet[(n >> 6) & 63]);
        out.push_back(kAlphabet[n & 63]);
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) {
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out.push_back(kAlphabet[(n >> 18) & 63]);
        out.push_back(kAlphabet[(n >> 12) & 63]);
        if (rest == 2) {
            out.push_back(kAlphabet[(n >> 6) & 63]);
        }
    }
    return out;
}

bool decode_base64url(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 == 1) {
        return false;
    }
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        const int value = decode_char(c);
        if (value < 0) {
            return false;
        }
        buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    // The leftover bits of the last character must be zero (one encoding per byte string).
    return (buffer & ((1U << bits) - 1)) == 0;
}

std::string sign_webchat_token(std::string_view secret, const WebchatClaims& claims) {
    if (secret.empty()) {
        throw core::Error("web chat token: the secret is empty");
    }
    if (claims.customer_id.empty()) {
        throw core::Error("web chat token: the customer id is empty");
    }
    boost::json::object payload;
    payload["sub"] = claims.customer_id;
    payload["exp"] = claims.expires_at_s;
    std::string token = encode_base64url(boost::json::serialize(payload));

    Mac mac{};
    if (!hmac_sha256(secret, token, mac)) {
        throw core::Error("web chat token: HMAC-SHA256 failed", true);
    }
    token.push_back('.');
    token += encode_base64url(std::string_view(reinterpret_cast<const char*>(mac.data()), 32));
    return token;
}

core::Result<WebchatClaims> verify_webchat_token(std::string_view secret, std::string_view token,
                                                 std::int64_t now_s) {
    // Split, and decode the signature.
    const std::size_t dot = token.find('.');
    if (secret.empty() || token.size() > kMaxTokenBytes || dot == std::string_view::npos ||
        dot == 0) {
        return make_error_code(WebchatTokenErrc::malformed);
    }
    const std::string_view encoded_payload = token.substr(0, dot);
    std::string signature;
    if (!decode_base64url(token.substr(dot + 1), signature) || signature.size() != 32) {
        return make_error_code(WebchatTokenErrc::malformed);
    }

    // The signature before anything in the payload is believed.
    Mac expected{};
    if (!hmac_sha256(secret, encoded_payload, expected) ||
        CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
        return make_error_code(WebchatTokenErrc::bad_signature);
    }

    // The payload: {"sub": non-empty string, "exp": integer seconds}.
    std::string payload;
    if (!decode_base64url(encoded_payload, payload) || !core::is_valid_utf8(payload)) {
        return make_error_code(WebchatTokenErrc::malformed);
    }
    boost::system::error_code ec;
    const boost::json::value root = boost::json::parse(payload, ec);
    const boost::json::object* object = ec ? nullptr : root.if_object();
    if (object == nullptr) {
        return make_error_code(WebchatTokenErrc::malformed);
    }
    const boost::json::value* sub = object->if_contains("sub");
    const boost::json::value* exp = object->if_contains("exp");
    if (sub == nullptr || !sub->is_string() || sub->get_string().empty() ||
        sub->get_string().size() > kMaxCustomerIdBytes || exp == nullptr) {
        return make_error_code(WebchatTokenErrc::malformed);
    }
    WebchatClaims claims;
    claims.customer_id = std::string(sub->get_string());
    if (exp->is_int64()) {
        claims.expires_at_s = exp->get_int64();
    } else if (exp->is_uint64() &&
               exp->get_uint64() <=
                   static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        claims.expires_at_s = static_cast<std::int64_t>(exp->get_uint64());
    } else {
        return make_error_code(WebchatTokenErrc::malformed);
    }

    if (claims.expires_at_s <= now_s) {
        return make_error_code(WebchatTokenErrc::expired);
    }
    return claims;
}

}  // namespace teller::channels
