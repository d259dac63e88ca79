// ProviderClient over Boost.Beast: HTTP/1.1 and HTTPS calls to one provider's API, with retries.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "teller/channels/channel_adapter.hpp"

namespace teller::channels {

/// Settings of one HttpProviderClient. The defaults suit a provider API on the Internet.
struct HttpProviderOptions {
    /// Name written on log lines ("telegram", "sms", ...).
    std::string provider = "provider";

    /// "https://api.telegram.org" or "http://127.0.0.1:9000/prefix": scheme http or https, a
    /// host (name, IPv4 or [IPv6]), an optional port and an optional path prefix that every
    /// ProviderCall::target is appended to.
    std::string base_url;

    /// Time allowed to resolve and connect (TCP, and the TLS handshake for https).
    std::chrono::milliseconds connect_timeout{5'000};

    /// Time allowed for one attempt as a whole: connect, send the request, read the response.
    std::chrono::milliseconds total_timeout{15'000};

    /// Attempts per call, the first included (at least 1).
    int max_attempts = 4;

    /// Backoff before attempt n+1: a uniformly random wait in [0, min(cap, base * 2^(n-1))]
    /// ("full jitter"), or the provider's Retry-After when that is longer (capped below).
    std::chrono::milliseconds backoff_base{200};
    std::chrono::milliseconds backoff_cap{5'000};

    /// Longest Retry-After honoured; a provider asking for more is retried after this.
    std::chrono::milliseconds retry_after_cap{30'000};

    /// Calls per second to this provider across every thread (token bucket holding up to one
    /// second of calls; each attempt takes a token). 0 = no limit.
    double rate_per_second = 0;

    /// Largest response body read; a larger one fails the call (payload_too_large, no retry).
    std::size_t max_response_bytes = 1024 * 1024;

    /// PEM file of certificate authorities to trust instead of the system store (a private
    /// provider gateway, tests). Empty: the system's default verify paths.
    std::string ca_file;

    std::string user_agent = "teller/0.1";
};

/// Sends each call on a fresh connection from its own io_context (no pooling; provider
/// deliveries are few per second, and a fresh connection never meets a half-closed one).
/// HTTPS verifies the certificate chain against the system store (or `ca_file`) and the host
/// name (RFC 6125), and sends SNI for host names.
///
/// Retried: network errors (refused, reset, closed without an answer), timeouts, 429 and 5xx,
/// waiting as `HttpProviderOptions` says and logging each retry at WARN (provider, status,
/// attempt). Not retried: other statuses (returned as they are), a certificate that fails
/// verification, a response past `max_response_bytes`. Retry-After is read as delta-seconds or
/// an HTTP date (RFC 9110 section 10.2.3).
///
/// Errors from send(): timeout (the last attempt timed out), payload_too_large,
/// service_unavailable (anything else, including 429/5xx on every attempt). The reason is logged.
///
/// Thread-safe: send() may run on many threads at once.
class HttpProviderClient final : public ProviderClient {
public:
    /// Throws core::Error naming the setting when `base_url` cannot be parsed or a limit is not
    /// positive, or when `ca_file` cannot be loaded.
    explicit HttpProviderClient(HttpProviderOptions options);
    ~HttpProviderClient() override;
    HttpProviderClient(const HttpProviderClient&) = delete;
    HttpProviderClient& operator=(const HttpProviderClient&) = delete;

    core::Result<ProviderResponse> send(const ProviderCall& call) override;

    const HttpProviderOptions& options() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Parses a Retry-After value: delta-seconds ("120") or an IMF-fixdate ("Sun, 06 Nov 1994
/// 08:49:37 GMT") relative to `now`. A date in the past gives zero; nullopt when unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace teller::channels
