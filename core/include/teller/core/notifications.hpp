// Proactive notifications: records on teller.crm delivered to the channel a customer last used.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

#include "teller/core/bus.hpp"
#include "teller/core/error.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

namespace teller::core {

/// The consumer group NotificationRelay is meant to run in (apart from the engines' group).
inline constexpr std::string_view kNotificationGroup = "teller-notifications";

struct NotificationOptions {
    std::string outbound_topic{kOutboundTopic};
    std::string events_topic{kEventsTopic};
    std::string dlq_topic{kDlqTopic};
    std::size_t batch_size = 64;
    /// How long to wait for the broker's acknowledgements of one batch's output.
    std::chrono::milliseconds ack_timeout{10000};
    /// How long a delivered notification id is remembered, so a redelivery is skipped.
    std::chrono::seconds seen_ttl{std::chrono::hours(24 * 7)};
    /// Milliseconds since the epoch; the system clock when empty.
    std::function<std::int64_t()> clock;
};

/// What one NotificationRelay::poll_once did.
struct NotificationStats {
    std::size_t records = 0;     ///< consumed
    std::size_t delivered = 0;   ///< OutboundMessages produced
    std::size_t duplicates = 0;  ///< ids already delivered, skipped
    std::size_t unroutable = 0;  ///< no route known for the customer: `error` event instead
    std::size_t dead = 0;        ///< malformed, sent to the DLQ
    std::size_t committed = 0;   ///< records whose offsets were committed
};

/// Reads CRM notifications and sends each to the channel its customer last wrote from.
///
/// Record value (JSON, UTF-8, key: anything, the customer id is a good choice):
/// `{"v":1, "id":"<unique id>", "customer":"<customer key>" | "conversation":"<id>",
///   "text":{"en":"...","zh-CN":"..."} | "text":"...",
///   "quick_replies":[{"title":"...","payload":"..."}, ...]}`  (quick_replies optional).
/// The customer key is what the engine records routes under: the web chat's verified customer
/// id, else the conversation id (`"conversation"` addresses an anonymous conversation).
///
/// Per record: a malformed one goes to the DLQ (with its reason and the original bytes); an id
/// already delivered is skipped; otherwise the customer's route is looked up (the engine writes
/// it after every turn), the text is picked for the route's locale (exact tag, then language,
/// then "en", then any) and an OutboundMessage (`in_reply_to` "crm:<id>", `reply_to` the
/// route's gateway, sequence 0) plus a `bot_uttered` event are produced. A customer with no
/// known route gets an `error` DialogueEvent ("no channel known for customer") instead; nothing
/// is dropped silently. Offsets are committed only once the broker acknowledged every record
/// produced for them; a failure (store down, no acknowledgement) rewinds, so the records are
/// read again. After the acknowledgement the id is remembered (value `crm:<id>`) for
/// `seen_ttl`; a crash between the two sends the notification again (at least once), and the
/// gateway's per-(in_reply_to, sequence) dedupe absorbs that on the web chat.
///
/// Everything given must outlive the relay. poll_once/run are not thread-safe (one thread, as
/// the Consumer requires); start() runs that loop on a thread of the relay's own, and then
/// poll_once/run must not be called. start()/stop() are called from one owning thread.
class NotificationRelay {
public:
    NotificationRelay(Consumer& consumer, Producer& producer, SessionStore& store,
                      NotificationOptions options = {});
    /// Stops the loop thread if it runs.
    ~NotificationRelay();
    NotificationRelay(const NotificationRelay&) = delete;
    NotificationRelay& operator=(const NotificationRelay&) = delete;

    /// Polls one batch and handles it as described above. Errors: Errc::store_unavailable,
    /// Errc::delivery_failed, Errc::timeout (acks) or the consumer's commit error; the records
    /// then stay uncommitted and are rewound.
    Result<NotificationStats> poll_once(std::chrono::milliseconds timeout);

    /// Calls poll_once until `stop` is requested, backing off after errors.
    void run(std::stop_token stop);

    /// Runs run() on the relay's own thread. Throws core::Error when already started.
    void start();

    /// Asks the loop to stop and joins it (at most one poll plus its acknowledgement wait).
    void stop();

private:
    std::int64_t now_ms() const;

    Consumer& consumer_;
    Producer& producer_;
    SessionStore& store_;
    NotificationOptions options_;
    std::jthread thread_;
};

}  // namespace teller::core
