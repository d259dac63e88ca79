// The bank backend over HTTP/JSON: each operation is a POST to the bank's adapter service.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "teller/core/backend.hpp"

namespace teller::core {

/// Settings of make_http_backend(). The wire contract is in docs/backend-http.md.
struct HttpBackendOptions {
    /// `http://host[:port][/prefix]` or `https://host[:port][/prefix]`; a call to operation
    /// `op` is `POST {base_url}/v1/{op}`.
    std::string base_url;

    /// Budget of one call, all attempts and back-off included. The skill host gives a whole
    /// skill turn SkillHostOptions::call_timeout (2 s by default) and a turn may make more than
    /// one backend call, so keep this below it: with both at 2 s a hung bank is reported by the
    /// skill host first (Errc::skill_failed) while the backend call ends on its own at 2 s.
    std::chrono::milliseconds timeout{2000};

    /// Bound on connecting (TCP and TLS handshake) within one attempt.
    std::chrono::milliseconds connect_timeout{1000};

    /// Sent as `Authorization: Bearer <token>` when not empty.
    std::string bearer_token;

    /// Sent as `<api_key_header>: <api_key>` when both are not empty (e.g. "X-Api-Key").
    std::string api_key_header;
    std::string api_key;

    /// Responses with a longer body are refused (Errc::payload_too_large).
    std::size_t max_response_bytes = 1024 * 1024;

    /// Attempts for a read operation (see read_operations); state-changing ones get one.
    int max_attempts = 3;

    /// Pause before the second attempt; doubled for each further one.
    std::chrono::milliseconds backoff{50};

    /// Operations that change nothing at the bank and may be retried. Every other operation is
    /// sent once, with an `Idempotency-Key` header. otp.verify is not here on purpose: banks
    /// count verification attempts, so a retry could lock the customer out.
    std::vector<std::string> read_operations{"cards.list", "accounts.balance", "cards.transactions",
                                             "cards.limits"};

    /// Certificate authorities for https (PEM file); the system's default paths when empty.
    std::string ca_file;
};

/// Builds a Backend that sends every call to a bank over HTTP/1.1 (TLS for https, with peer
/// and host name verification and SNI). call() returns the response's JSON object; business
/// outcomes stay `{ "error": ... }` members of a 200 answer. call() errors, each logged once
/// at WARN with operation, status, attempts and latency_ms (never the arguments):
///  - `errc::operation_not_supported`: the bank answered 404 or 501 (no such operation);
///  - Errc::missing_field: 400 or 422 (arguments the bank refuses);
///  - Errc::service_unavailable: any other 4xx, 5xx, a refused or reset connection, a TLS
///    failure, after the retries a read operation is allowed;
///  - Errc::timeout: no complete answer within `timeout`;
///  - Errc::payload_too_large: a body over max_response_bytes (413 from the bank too);
///  - Errc::malformed_json: a 200 whose body is not a JSON object.
/// call() never throws and is thread-safe; each attempt uses its own connection.
/// Throws core::Error when the options are invalid (base URL, non-positive limits) or the
/// certificate authorities cannot be loaded.
std::unique_ptr<Backend> make_http_backend(HttpBackendOptions options);

/// The `Idempotency-Key` sent with `operation` and `args`: the first 32 hex digits of
/// SHA-256 over `operation`, a newline and `args` serialized with object members sorted by
/// key, so the same turn retried (by the engine or a redelivered event) sends the same key.
std::string backend_idempotency_key(std::string_view operation, const boost::json::object& args);

}  // namespace teller::core
