// The gateway: one Boost.Beast HTTP + WebSocket server hosting the web chat, provider webhooks,
// health, readiness and metrics.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "teller/channels/agent_desk.hpp"
#include "teller/channels/channel_adapter.hpp"
#include "teller/core/bus.hpp"
#include "teller/core/events.hpp"

namespace teller::channels {

/// Settings of one gateway instance. Every field has a default that works for a first run.
struct GatewayOptions {
    /// Address to bind. Loopback by default; "0.0.0.0" or "::" to listen on every interface.
    std::string host = "127.0.0.1";

    /// TCP port; 0 asks the kernel for an ephemeral port (start() returns it).
    std::uint16_t port = 8080;

    /// Name of this instance, written as `reply_to` on every InboundMessage so the engine's
    /// replies come back here. Empty means a random "gw-<hex>" id chosen at construction.
    /// Instances behind one load balancer must have distinct ids.
    std::string instance_id;

    /// Threads running the I/O loop (at least 1).
    std::size_t io_threads = 1;

    /// Largest WebSocket message handled. A larger message is read and discarded up to
    /// `max_ws_discard_bytes` and answered with an error frame `too_large`; the connection stays.
    std::size_t max_ws_message_bytes = 64 * 1024;

    /// Largest WebSocket message tolerated at all. Past it Beast fails the connection with close
    /// code 1009 (RFC 6455 section 7.4.1), so one client cannot stream without end.
    std::size_t max_ws_discard_bytes = 4 * 1024 * 1024;

    /// Largest HTTP request body; a larger one is answered 413 and the connection closed.
    std::size_t max_http_body_bytes = 64 * 1024;

    /// Origins allowed to open the WebSocket (RFC 6455 section 10.2), each written as the
    /// browser sends it ("https://bank.example", "http://127.0.0.1:8080"); "*" allows any.
    /// Empty (the default) allows exactly: requests without an `Origin` header (non-browser
    /// clients, which can forge the header anyway) and requests whose Origin's host[:port]
    /// equals the request's `Host` header, i.e. the built-in page served by this gateway.
    /// Anything else is refused with 403 before the upgrade.
    std::vector<std::string> allowed_origins;

    /// An HTTP connection that sends no complete request for this long is closed.
    std::chrono::milliseconds http_idle_timeout{30'000};

    /// Time allowed for the WebSocket opening handshake.
    std::chrono::milliseconds ws_handshake_timeout{10'000};

    /// A WebSocket that is silent for this long is closed. A ping is sent at half the interval,
    /// so a live browser tab that answers pings stays connected.
    std::chrono::milliseconds ws_idle_timeout{60'000};

    /// Frames queued for one socket before the gateway gives up on a client that does not read
    /// (the socket is closed with 1008 "policy violation").
    std::size_t max_queued_frames = 256;

    /// The scheme, host and port providers use to reach this gateway (behind a proxy:
    /// "https://bot.bank.example"), without a trailing slash. A webhook's
    /// WebhookRequest::public_url is this followed by the request target; schemes that sign the
    /// URL (Twilio) verify against it. Empty means "http://<host>:<bound port>". One channel
    /// may override it through add_channel().
    std::string public_base_url;

    /// Bounded buffering: the most records the producer may hold unacknowledged
    /// (core::Producer::in_flight()) before the gateway stops accepting. Past it a webhook is
    /// answered 503 with Retry-After and a web chat message gets the `unavailable` error frame
    /// (the client resends it with the same id), before anything is published or marked seen:
    /// nothing is accepted that cannot be buffered, so a Kafka outage costs retries, not
    /// messages or memory.
    std::size_t max_in_flight = 10'000;

    /// Per-conversation rate limit: a token bucket refilled at `conversation_rate` messages per
    /// second holding at most `conversation_burst`. A web chat message past it gets the error
    /// frame `rate_limited` (not published; the client may resend it later with the same id);
    /// a webhook whose message is past it is answered 429 with Retry-After (providers retry).
    double conversation_rate = 5.0;
    double conversation_burst = 20.0;

    /// Conversations whose buckets are remembered; past it the least recently active one is
    /// forgotten (and starts again with a full bucket). Bounds the limiter's memory.
    std::size_t rate_limit_conversations = 100'000;

    /// Secret for signed web chat tokens (see webchat_token.hpp). Empty: `/ws` needs no token
    /// and every web chat customer is anonymous. Set: `/ws` requires `?token=<token>` signed
    /// with this secret and not expired, else 401 before the upgrade; the socket's messages
    /// carry `metadata.customer_id` (the token's `sub`) and `metadata.verified = true`.
    std::string webchat_token_secret;

    /// Demo sign-in, for the embedded first run only: with a token secret set, every load of
    /// the built-in page carries a fresh token (12 hours) for this customer id, so anyone who
    /// reaches the page is that customer. Empty (the default) turns it off; never set it where
    /// real customers' data is served.
    std::string demo_customer_id;

    /// Longest time a webhook request may take from arrival to the answer: the adapter, the
    /// dedupe marks and Kafka's acknowledgement of every record. Past it the answer is 503 with
    /// Retry-After and the request's seen marks are forgotten, so the provider's retry is
    /// processed. Keep it under the provider's own timeout (WeChat waits 5 s).
    std::chrono::milliseconds webhook_timeout{4'000};

    /// Threads running adapters' handle() and the seen marks (both may wait on Redis), so the
    /// I/O threads never block.
    std::size_t webhook_threads = 4;

    /// How long a provider's message id is remembered for dedupe (`<channel>:<id>`).
    std::chrono::seconds webhook_dedupe_ttl{24 * 3600};

    /// Shared token of the agent desk (`/agent`, `/agent/ws`); a secret, never logged. Empty
    /// (the default) turns the desk off: both paths answer 404 saying how to turn it on. Set,
    /// it must be at least 16 characters and Gateway::set_agent_desk() must be called.
    std::string agent_token;
};

/// One Boost.Beast server per instance. Routes:
///   - `GET /`        the self-contained web chat page (HTML, CSS and JS embedded, no CDN);
///   - `GET /healthz` 200 "ok" while the process serves requests;
///   - `GET /readyz`  200 "ready" when started and the readiness hook says so, else 503;
///   - `GET /metrics` counters in the Prometheus text format (version 0.0.4);
///   - `GET /ws`      WebSocket upgrade for the web chat (426 without an upgrade, 403 from a
///                    refused origin, 401 without a valid token when a token secret is set);
///   - `GET /agent`   the self-contained agent desk page, and `GET /agent/ws` its WebSocket
///                    (same origin policy as /ws), when `agent_token` is set; else both 404
///                    "agent desk disabled: ..." (see "Agent desk protocol" below);
///   - each channel's path (add_channel), GET and POST, see "Webhooks" below;
///   - any other path 404, a known path with another method 405, a body past
///     `max_http_body_bytes` 413. Every response carries `Server: teller`.
///
/// Webhooks: a request to an adapter's path() becomes a WebhookRequest (header names lower
/// case, public_url from `public_base_url`) handed to ChannelAdapter::handle() on a webhook
/// thread. Its messages get `received_at_ms`, `reply_to` and `trace_id`, their text is masked
/// like web chat text, and each is published to `teller.inbound` (key conversation, headers
/// `schema: teller.inbound.v1` and `trace_id`) unless `<channel>:<id>` was already accepted
/// (SessionStore::mark_seen, `webhook_dedupe_ttl`): a provider's retry is answered but not
/// published again. Direct replies go to `teller.outbound` (`schema: teller.outbound.v1`) as
/// OutboundMessage JSON for the delivery dispatcher; one with an `in_reply_to` is deduped the
/// same way (`<channel>:<in_reply_to>#direct<sequence>`). The adapter's response is sent only
/// once Kafka acknowledged every record. Other answers: 405 for another method; 413 for a
/// body past the limit (the adapter never sees it); 429 with Retry-After when a message's
/// conversation is past its rate limit (nothing published or marked); 503 with Retry-After
/// when the producer holds `max_in_flight` records, when the session store or Kafka fails or
/// `webhook_timeout` passes (the request's seen marks are forgotten first, so the retry is
/// processed; a record Kafka took late is then published twice, and the engine, which knows
/// recent message ids, re-sends its stored replies instead of running the turn again); 500 when
/// handle() throws (logged, nothing published).
///
/// Web chat protocol: JSON objects in WebSocket frames (text frames; binary frames holding
/// UTF-8 JSON are accepted too).
///
/// Client to server:
///   - `{"type":"hello","conversation":"<optional id>","locale":"<optional BCP 47>"}` opens or
///     resumes a conversation. An id must read `webchat:` followed by 16 to 64 characters from
///     [A-Za-z0-9_-]; an absent or refused id gets a fresh `webchat:<32 hex>` (a refused one
///     also gets an error frame `bad_request` first). A second hello naming another
///     conversation is refused with `bad_request`.
///   - `{"type":"message","text":"...","id":"<optional client message id>"}` sends a customer
///     message. `text` must be non-empty; `id`, when given, 1 to 64 characters from
///     [A-Za-z0-9._:-]. A message before any hello opens a conversation implicitly (a welcome
///     frame is sent first).
///
/// Server to client:
///   - `{"type":"welcome","conversation":"webchat:..."}` answers hello (or the first message).
///   - `{"type":"ack","id":"..."}` once Kafka acknowledged the InboundMessage. `id` is the client's
///     id, or the one the gateway generated when the client gave none.
///   - `{"type":"reply","text":"...","quick_replies":[{"title":"...","payload":"..."}],
///     "in_reply_to":"...","sequence":n,"locale":"..."}` (locale only when set); `in_reply_to` is
///     the client's message id ("" for a proactive message). Tapping a quick reply should send its
///     `payload` as a message.
///   - `{"type":"error","code":"...","message":"...","id":"..."}` with code `invalid_json`,
///     `invalid_utf8`, `too_large`, `bad_request`, `unavailable` (the message was not
///     accepted by Kafka, or the gateway holds too many unacknowledged records: resend it with
///     the same id) or `rate_limited` (the conversation sends faster than `conversation_rate`:
///     not published; resend it later with the same id). `id` is present when the failure concerns
///     one identified message. The connection stays open after every error frame.
///
/// Each accepted message is produced to `teller.inbound`, keyed by conversation, with headers
/// `schema: teller.inbound.v1` and `trace_id`, as an InboundMessage with channel "webchat",
/// id `<conversation>/<client id or generated id>` (scoped so that one client's ids cannot
/// collide with, or suppress as duplicates, another conversation's), sender = conversation,
/// the hello's locale, `reply_to` = this instance and a fresh W3C-style trace id. A socket
/// opened with a verified token adds `metadata.customer_id` and `metadata.verified = true`.
///
/// Two limits that come from RFC 6455 and Beast 1.81 rather than choice: a *text* frame holding
/// invalid UTF-8 makes Beast fail the connection with close code 1007 (RFC 6455 section 8.1
/// requires it, and Beast offers no switch); a client can reconnect and resume with hello.
/// Invalid UTF-8 in a *binary* frame gets an `invalid_utf8` error frame and the connection
/// stays. A message past `max_ws_discard_bytes` is failed with 1009.
///
/// Agent desk protocol (`/agent/ws`): JSON objects in text frames (binary frames holding UTF-8
/// JSON are accepted too), for people answering conversations handed off by the engine
/// (core/handoff.hpp). The page reads the token from its URL fragment (`/agent#token=...`, never
/// sent to the server in a request line, so never in access logs) and sends it in the first
/// frame.
///
/// Agent to server:
///   - `{"type":"hello","token":"<agent_token>","agent":"<display name, 1-64 bytes>"}` must come
///     within 5 seconds of the upgrade; the token is compared in constant time. A wrong token, or
///     any other frame first, gets the error frame `unauthorized` and close code 1008; so does a
///     socket that sends no hello in time. The name is what the customer's transcript shows; it
///     is not verified (one token is shared by every agent).
///   - `{"type":"view","conversation":"<id>"}` asks for one conversation's transcript.
///   - `{"type":"join"|"close","conversation":"<id>","id":"<optional client id>"}` and
///     `{"type":"message","conversation":"<id>","text":"<1-4096 bytes>","id":"..."}` become an
///     AgentCommand on `teller.agent` (key conversation, headers `schema: teller.agent.v1` and
///     `trace_id`, a fresh unique command id). The desk refuses, before producing, a command for a
///     conversation it does not hold (`not_found`), a join of a conversation another agent holds
///     and a message or close from an agent who does not hold it (`conflict`); the engine decides
///     the rest (the first join wins).
///
/// Server to agent:
///   - `{"type":"snapshot","agent":"...","conversations":[<summary>...]}` answers hello: every open
///     conversation, least recently active first. A summary holds conversation, channel,
///     customer, verified, locale, reason, state ("queued", "assigned"; "closed" in the update
///     that removes it), agent, queued_at_ms and last_activity_ms.
///   - `{"type":"update","event":"<HandoffEventType>","change":"opened|updated|closed",
///     "conversation":<summary>,"lines":[{"from":"customer|bot|agent","text":"...","at_ms":n}],
///     "reason":"...","by":"..."}` for every event on `teller.handoff` after the snapshot, in
///     order. `lines` are the lines the event adds; for `queued` they are the whole transcript so
///     far and replace what the client holds. `reason` and `by` only for `closed`.
///   - `{"type":"transcript","conversation":<summary>,"lines":[...]}` answers view.
///   - `{"type":"ack","id":"...","command":"<command id>","command_type":"join|message|close",
///     "conversation":"..."}` once Kafka acknowledged the command (`id` when the client gave one).
///   - `{"type":"error","code":"...","message":"...","id":"..."}` with code `invalid_json`,
///     `invalid_utf8`, `too_large`, `bad_request`, `unauthorized`, `not_found`, `conflict` or
///     `unavailable` (Kafka did not take the command: retry). The connection stays open after
///     every error frame but `unauthorized`. The limits on frames (size, UTF-8 in text frames,
///     queued frames) are those of the web chat.
///
/// Thread safety: add_channel(), set_channel_context(), set_readiness(), set_agent_desk(), start()
/// and stop() from one controlling thread (the setters before start()); deliver(),
/// is_connected(), connection_count(), metrics_text() from any thread.
class Gateway {
public:
    /// Keeps a reference to `producer`, which must outlive the gateway (or at least stop()).
    /// Throws core::Error when `options` are unusable (no io thread, zero limits).
    Gateway(GatewayOptions options, core::Producer& producer);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    /// Sets the hook /readyz consults (e.g. "Kafka reachable"). Absent hook: ready once started.
    /// A hook that throws counts as not ready. Call before start().
    void set_readiness(std::function<bool()> ready);

    /// Hosts `adapter`'s webhook at its path(). `public_base_url`, when not empty, replaces
    /// GatewayOptions::public_base_url for this channel (from the adapter's settings). Call
    /// before start(). Throws core::Error for a null adapter, a path that does not start with
    /// '/', that holds a query, or that another route (built-in or channel) already serves, and
    /// when called after start().
    void add_channel(std::shared_ptr<ChannelAdapter> adapter, std::string public_base_url = {});

    /// The context webhooks use: `context.store` keeps the dedupe marks (the same store the
    /// adapters were given, Redis in production so every instance shares them) and must
    /// outlive the gateway. Required when a channel was added: start() throws core::Error
    /// without it. Throws core::Error for a null store or when called after start().
    void set_channel_context(ChannelContext context);

    /// The desk behind `/agent/ws` (its state and the producer of agents' commands); it must
    /// outlive the gateway. Needed when GatewayOptions::agent_token is set (start() throws
    /// core::Error without it), ignored otherwise. Throws core::Error after start().
    void set_agent_desk(AgentDesk& desk);

    /// Binds, listens and starts the io threads; returns the bound port. Throws core::Error
    /// naming the address when it cannot bind or was already started.
    std::uint16_t start();

    /// Stops accepting, sends close frames (1001 "going away") to every WebSocket, waits up to
    /// about two seconds for connections to finish, then stops the io threads. Idempotent;
    /// also called by the destructor. Delivery callbacks arriving afterwards are ignored.
    void stop();

    /// Pushes a reply to every WebSocket of `message.conversation` on this instance. Returns
    /// true when at least one socket took it, or when the reply (same in_reply_to and
    /// sequence) was already shown to that conversation and is skipped as a duplicate. Returns
    /// false, with a WARN, when no socket here holds the conversation: the reply is dropped.
    /// Thread-safe.
    // TODO(teller): the web chat has no offline delivery; a reply for a customer who closed the
    // tab is lost, and should instead be parked (Redis, short TTL) and replayed on resume.
    bool deliver(const core::OutboundMessage& message);

    /// Whether a WebSocket on this instance currently holds `conversation`. Thread-safe.
    bool is_connected(std::string_view conversation) const;

    /// Open connections (HTTP and WebSocket). Thread-safe.
    std::size_t connection_count() const;

    /// The body `/metrics` serves (Prometheus text format 0.0.4). Thread-safe.
    std::string metrics_text() const;

    /// This instance's id (the `reply_to` it writes).
    const std::string& instance_id() const noexcept;

    /// The bound port after start(), 0 before.
    std::uint16_t port() const noexcept;

    /// The path of the WebSocket endpoint ("/ws").
    static constexpr std::string_view kWebSocketPath = "/ws";

    /// The paths of the agent desk's page and WebSocket.
    static constexpr std::string_view kAgentPagePath = "/agent";
    static constexpr std::string_view kAgentSocketPath = "/agent/ws";

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::channels
