// Signed web chat tokens: who the customer is, proven by the bank's site, checked at /ws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/system/error_code.hpp>

#include "teller/core/error.hpp"

namespace teller::channels {

/// Why a web chat token was refused.
enum class WebchatTokenErrc {
    malformed = 1,      ///< not `<base64url>.<base64url>`, or the payload is not the JSON below
    bad_signature = 2,  ///< the HMAC does not match: tampered, or signed with another secret
    expired = 3,        ///< `exp` is not after the verification time
};

/// The category for WebchatTokenErrc ("teller.webchat_token").
const boost::system::error_category& webchat_token_category() noexcept;

inline boost::system::error_code make_error_code(WebchatTokenErrc e) noexcept {
    return {static_cast<int>(e), webchat_token_category()};
}

/// What a token says about the customer.
struct WebchatClaims {
    std::string customer_id;        ///< `sub`: the bank's customer id (1 to 128 bytes of UTF-8)
    std::int64_t expires_at_s = 0;  ///< `exp`: Unix seconds after which the token is refused
};

/// Signs `claims` as `base64url(payload) + "." + base64url(HMAC-SHA256(secret, first part))`,
/// where payload is the JSON object `{"sub":"...","exp":<seconds>}` and base64url is RFC 4648
/// section 5 without padding. The HMAC covers the encoded first part exactly as sent. This is
/// what the bank's web site issues to a logged-in customer (any language can produce it).
/// Throws core::Error for an empty secret or an empty customer id. Thread-safe.
std::string sign_webchat_token(std::string_view secret, const WebchatClaims& claims);

/// Checks a token made by sign_webchat_token() against `secret` at `now_s` (Unix seconds):
/// the signature first (compared in constant time with CRYPTO_memcmp), then the payload's
/// shape, then the expiry. Errors: WebchatTokenErrc. Never throws; thread-safe.
core::Result<WebchatClaims> verify_webchat_token(std::string_view secret, std::string_view token,
                                                 std::int64_t now_s);

/// base64url (RFC 4648 section 5) without padding.
std::string encode_base64url(std::string_view bytes);

/// Decodes unpadded base64url; false when `text` holds anything else (padding included).
bool decode_base64url(std::string_view text, std::string& out);

}  // namespace teller::channels

namespace boost::system {
template <>
struct is_error_code_enum<teller::channels::WebchatTokenErrc> : std::true_type {};
}  // namespace boost::system
