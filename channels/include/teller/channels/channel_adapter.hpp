// The contract between the gateway and a provider channel (SMS, Telegram, WhatsApp, WeChat).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/core/events.hpp"

namespace teller::core {
class SessionStore;
}

namespace teller::channels {

/// Header names are lower-cased by the gateway; values are as received.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// The value of header `name` (lower-case) in `headers`, or "" when absent.
std::string_view find_header(const HeaderList& headers, std::string_view name) noexcept;

/// One webhook request as the gateway hands it to an adapter.
struct WebhookRequest {
    std::string method;  ///< "GET" or "POST" (other methods are refused before the adapter)
    std::string target;  ///< path and query exactly as received ("/webhooks/sms?a=1")

    /// The absolute URL the provider called: the adapter's configured public base URL (e.g.
    /// "https://bot.bank.example") followed by `target`. Schemes that sign the URL (Twilio)
    /// verify against this, because behind a proxy the gateway cannot see the real URL.
    std::string public_url;

    HeaderList headers;
    std::string body;

    std::string_view header(std::string_view name) const noexcept {
        return find_header(headers, name);
    }
};

/// The HTTP answer to a webhook request.
struct WebhookResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

/// What an adapter made of one webhook request.
struct WebhookOutcome {
    /// Sent to the provider once every message below was acknowledged by Kafka. When Kafka
    /// refuses or times out, the gateway answers 503 instead so that the provider retries.
    WebhookResponse response;

    /// Customer messages to publish to teller.inbound, in order. The adapter fills `id` (the
    /// provider's own message id), `channel`, `conversation` ("<channel>:<sender or chat id>"),
    /// `sender`, `text`, `locale` when the provider says it, `metadata`; the gateway fills
    /// `received_at_ms`, `reply_to` and `trace_id`. The gateway drops a message whose
    /// (channel, id) it already accepted (the provider's retry) but still answers `response`.
    std::vector<core::InboundMessage> messages;

    /// Replies the channel itself owes without asking the engine (SMS STOP/START/HELP
    /// confirmations). Delivered through the adapter's deliver() like engine replies.
    /// The gateway publishes them to teller.outbound, filling `channel`, `created_at_ms` and
    /// `trace_id` when empty. Set `in_reply_to` to the provider's message id: a reply with one
    /// is published once per (channel, in_reply_to, sequence), so the provider's retry of the
    /// request does not send the confirmation twice; one without is published on every retry.
    std::vector<core::OutboundMessage> direct_replies;
};

/// One call to a provider's API, relative to the provider's configured base URL.
struct ProviderCall {
    std::string method = "POST";
    std::string target;  ///< path and query, e.g. "/bot<token>/sendMessage"
    HeaderList headers;  ///< extra headers; Host, Content-Length and User-Agent are added
    std::string content_type = "application/json";
    std::string body;
};

/// The provider's answer.
struct ProviderResponse {
    unsigned status = 0;
    HeaderList headers;  ///< names lower-cased
    std::string body;
};

/// Sends calls to one provider (one base URL) with that provider's timeouts, retry policy
/// (exponential backoff with jitter on network errors, 429 and 5xx, honouring Retry-After) and
/// rate limit. Thread-safe.
class ProviderClient {
public:
    virtual ~ProviderClient() = default;

    /// Sends `call`, retrying as configured. Returns the final response: a 2xx, or a non-retryable
    /// status (4xx other than 429), which the adapter judges. Errors: timeout or
    /// service_unavailable once the retries are exhausted (the message says what happened last).
    virtual core::Result<ProviderResponse> send(const ProviderCall& call) = 0;
};

/// How one delivery ended.
struct DeliveryReport {
    bool delivered = false;
    bool suppressed = false;       ///< deliberately not sent (an opted-out SMS number): no error
    unsigned provider_status = 0;  ///< last HTTP status from the provider, 0 if none came
    std::string reason;            ///< why it failed, for the `error` event and teller.dlq
};

/// An adapter's settings from the configuration (`channels.<name>.<key>` in YAML,
/// `TELLER_<NAME>_<KEY>` in the environment), e.g. {"auth_token": "...", "base_url": "..."}.
using ChannelSettings = std::map<std::string, std::string>;

/// Per-process state an adapter may keep (SMS opt-outs, offered options, access tokens).
/// Backed by the session store (Redis in production), so every gateway instance sees it.
struct ChannelContext {
    core::SessionStore* store = nullptr;  ///< never null once the gateway hands it over
};

/// One provider channel. Implementations are thread-safe: handle() runs on the gateway's I/O
/// threads, deliver() on the delivery threads, concurrently.
class ChannelAdapter {
public:
    virtual ~ChannelAdapter() = default;

    /// The channel name written on events: "sms", "telegram", "whatsapp", "wechat".
    virtual std::string_view channel() const noexcept = 0;

    /// The webhook path this adapter serves, e.g. "/webhooks/sms".
    virtual std::string_view path() const noexcept = 0;

    /// Verifies and parses one webhook request. Never throws. A request that fails the
    /// provider's signature or token check gets 401 or 403 and no messages; a malformed body
    /// gets 400 with a reason in the body; a handshake (WhatsApp verify, WeChat echostr) gets
    /// its answer; anything else the provider sends that carries no customer text (status
    /// callbacks, read receipts) gets 200 and no messages.
    virtual WebhookOutcome handle(const WebhookRequest& request) = 0;

    /// Delivers one reply through the provider's API, degrading rich content the channel
    /// cannot show. A failed report says why the provider finally refused or could not be
    /// reached; the caller turns it into an `error` event and a teller.dlq record. Never throws.
    virtual DeliveryReport deliver(const core::OutboundMessage& message,
                                   ProviderClient& client) = 0;
};

}  // namespace teller::channels
