// State shared by the gateway's listener, HTTP sessions and WebSocket sessions (private).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <map>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "rate_limiter.hpp"
#include "teller/channels/channel_adapter.hpp"
#include "teller/channels/gateway.hpp"
#include "teller/core/bus.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"

namespace teller::channels::detail {

class WsSession;

/// An open connection stop() has to close: an HTTP session or a WebSocket session.
class Connection {
public:
    virtual ~Connection() = default;

    /// Closes the connection from its own strand. Thread-safe; may be called more than once.
    virtual void shutdown() = 0;
};

/// Tells callbacks that arrive on foreign threads (librdkafka's delivery reports) whether the
/// gateway's io_context may still be posted to. Shared so it outlives the gateway.
struct Lifeline {
    std::mutex mutex;
    bool open = false;
};

/// Hashing that lets unordered maps keyed by std::string be searched with a string_view.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

/// One hosted provider channel.
struct ChannelRoute {
    std::shared_ptr<ChannelAdapter> adapter;
    std::string public_base_url;  ///< resolved at start(): never empty afterwards
};

/// Counters served by /metrics: families of labelled monotonic counters. Thread-safe.
class Metrics {
public:
    /// Adds `n` to the counter `family` with `labels` (already rendered, e.g.
    /// `channel="sms",status="200"`; values escaped with label_value()).
    void add(std::string_view family, std::string labels, std::uint64_t n = 1);

    /// A snapshot: family -> labels -> value.
    std::map<std::string, std::map<std::string, std::uint64_t>, std::less<>> snapshot() const;

    /// `value` escaped for a Prometheus label value (backslash, double quote, newline).
    static std::string label_value(std::string_view value);

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::map<std::string, std::uint64_t>, std::less<>> counters_;
};

/// Counter family names.
inline constexpr std::string_view kConnectionsOpened = "teller_gateway_connections_opened_total";
inline constexpr std::string_view kMessagesAccepted = "teller_gateway_messages_accepted_total";
inline constexpr std::string_view kMessagesRejected = "teller_gateway_messages_rejected_total";
inline constexpr std::string_view kWebhookRequests = "teller_gateway_webhook_requests_total";
inline constexpr std::string_view kTokensRefused = "teller_gateway_webchat_tokens_refused_total";

/// `channel="<channel>"`.
std::string channel_label(std::string_view channel);

/// `channel="<channel>",reason="<reason>"`.
std::string reason_labels(std::string_view channel, std::string_view reason);

class GatewayState {
public:
    GatewayState(GatewayOptions options, core::Producer& producer);

    /// Connections, for stop() and connection_count(). Thread-safe.
    void add_connection(Connection* connection, std::weak_ptr<Connection> weak);
    void remove_connection(Connection* connection);
    std::size_t connection_count() const;
    std::vector<std::shared_ptr<Connection>> live_connections() const;
    bool wait_for_no_connections(std::chrono::milliseconds timeout);

    /// Which sockets hold which conversation, and the replies each conversation has been shown.
    /// Thread-safe. detach() is safe from a session's destructor.
    void attach(const std::string& conversation, const std::shared_ptr<WsSession>& session);
    void detach(const std::string& conversation, const WsSession* session);
    bool deliver(const core::OutboundMessage& message);
    bool is_connected(std::string_view conversation) const;

    /// /readyz: started, not stopping, and the hook (if any) says yes.
    bool ready() const;

    /// True when the producer holds `max_in_flight` unacknowledged records: accept nothing new.
    bool overloaded() const;

    /// The hosted channel serving `path` (no query), or null.
    const ChannelRoute* find_channel(std::string_view path) const;

    GatewayOptions options;
    core::Producer& producer;
    core::Logger log{"gateway"};
    std::function<bool()> readiness;
    std::atomic<bool> running{false};
    std::shared_ptr<Lifeline> lifeline = std::make_shared<Lifeline>();
    std::vector<ChannelRoute> channels;  // fixed once started
    ChannelContext context;
    AgentDesk* agent_desk = nullptr;  // set before start() when options.agent_token is set
    RateLimiter limiter;
    Metrics metrics;

private:
    // Replies remembered per socket for deduplication (a redelivered reply is not shown twice
    // on one socket, but a socket that reconnected and resent its message gets it), and how
    // long a conversation with no socket is kept.
    static constexpr std::size_t kRememberedReplies = 256;
    static constexpr std::chrono::minutes kIdleRetention{10};
    static constexpr std::chrono::seconds kSweepInterval{60};

    struct ConversationEntry {
        std::vector<std::pair<const WsSession*, std::weak_ptr<WsSession>>> sockets;
        std::deque<std::string> recent;  // keys in arrival order, to bound seen_by
        std::unordered_map<const WsSession*, std::unordered_set<std::string>> seen_by;
        std::chrono::steady_clock::time_point idle_since;
    };

    void sweep_locked(std::chrono::steady_clock::time_point now);

    mutable std::mutex connections_mutex_;
    std::condition_variable connections_cv_;
    std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;

    mutable std::mutex conversations_mutex_;
    std::unordered_map<std::string, ConversationEntry, StringHash, std::equal_to<>> conversations_;
    std::chrono::steady_clock::time_point last_sweep_ = std::chrono::steady_clock::now();

public:
    /// Declared last so it is destroyed first: handlers still queued in it own sessions, whose
    /// destructors use the members above.
    boost::asio::io_context ioc;

    /// Runs adapters' handle() and the seen marks (both may block on Redis). Created by start(),
    /// joined by stop(); declared after `ioc` so it is destroyed (joined) before it.
    std::optional<boost::asio::thread_pool> webhook_pool;
};

}  // namespace teller::channels::detail
