// Delivers replies from teller.outbound through the provider channels (SMS, Telegram, ...).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "teller/channels/channel_adapter.hpp"
#include "teller/core/bus.hpp"
#include "teller/core/events.hpp"

namespace teller::core {
class SessionStore;
}

namespace teller::channels {

/// The consumer group every gateway instance's ProviderDelivery joins, so that each reply is
/// delivered by one instance (unlike the web chat, whose sockets live on one instance each).
inline constexpr std::string_view kDeliveryGroup = "teller-delivery";

struct ProviderDeliveryOptions {
    std::string events_topic{core::kEventsTopic};
    std::string dlq_topic{core::kDlqTopic};

    /// Threads delivering one batch; each conversation is always given to the same one, so its
    /// replies leave in order. 1 delivers on the polling thread.
    std::size_t workers = 4;

    /// Records taken per poll.
    std::size_t max_batch = 64;

    /// Longest wait for the first record of a poll; also bounds how long stop() waits between
    /// batches (a batch under way finishes first, provider retries included).
    std::chrono::milliseconds poll_timeout{100};

    /// How long to wait for Kafka to acknowledge a batch's error events and DLQ records.
    std::chrono::milliseconds ack_timeout{10'000};

    /// Pause after a batch that could not be committed, so a broken broker is not hammered.
    std::chrono::milliseconds error_backoff{500};

    /// How long a delivered reply is remembered for deduplication.
    std::chrono::seconds dedupe_ttl{24 * 3600};

    /// Milliseconds since the epoch for event timestamps; the system clock when empty.
    std::function<std::int64_t()> clock;
};

/// Counters for tests and /metrics; approximate while running.
struct ProviderDeliveryStats {
    std::uint64_t records = 0;          ///< records polled
    std::uint64_t delivered = 0;        ///< replies the provider accepted
    std::uint64_t duplicates = 0;       ///< replies already delivered (a redelivered record)
    std::uint64_t suppressed = 0;       ///< replies the adapter chose not to send (opt-outs)
    std::uint64_t failed = 0;           ///< replies given up on: error event and teller.dlq record
    std::uint64_t skipped = 0;          ///< records for other channels (web chat) or unparsable
    std::uint64_t commits = 0;          ///< batches committed
    std::uint64_t retried_batches = 0;  ///< batches rewound because Kafka refused their output
};

/// The deduplication key of one reply: "delivered:<channel>:<conversation>:<in_reply_to>:
/// <sequence>". A proactive reply (no in_reply_to) uses "@<partition>.<offset>" of its record
/// instead, which is stable across redeliveries of that record.
std::string delivery_key(const core::OutboundMessage& message, const core::Record& record);

/// One polling thread reading teller.outbound as a member of kDeliveryGroup (the app creates
/// the consumer). Each batch: records are parsed (unparsable ones are skipped with a WARN:
/// the web chat dispatchers see them too), those whose `channel` is a registered provider
/// channel are handed to that adapter's deliver() with that provider's client, on
/// `workers` threads keyed by conversation so one conversation's replies keep their order; a
/// delivered reply is remembered in the session store under delivery_key(); a failed report
/// (not suppressed) produces an `error` DialogueEvent on teller.events (data: stage
/// "delivery", channel, reason, provider_status) and a teller.dlq record (reason, channel,
/// provider_status, source topic/partition/offset/key, value_base64, at), both keyed by
/// conversation. Once Kafka acknowledged those, the batch is committed; otherwise the batch is
/// rewound and tried again (its delivered replies are then skipped as duplicates).
///
/// Delivery is at least once. The reply is remembered only after the provider accepted it, so a
/// crash (or a lost store write) between the provider's answer and the store write delivers
/// that reply again when the record is redelivered; with no store, every redelivery repeats.
/// Every gateway in the group must register the same channels: a record for a channel this
/// instance lacks is skipped and committed.
///
/// Thread safety: add_channel(), start() and stop() from one controlling thread; stats() from
/// any. The consumer is used only by the polling thread.
class ProviderDelivery {
public:
    /// Keeps references: `consumer`, `producer` and `store` (may be null: no deduplication)
    /// must outlive the delivery loop.
    ProviderDelivery(core::Consumer& consumer, core::Producer& producer, core::SessionStore* store,
                     ProviderDeliveryOptions options = {});
    ~ProviderDelivery();
    ProviderDelivery(const ProviderDelivery&) = delete;
    ProviderDelivery& operator=(const ProviderDelivery&) = delete;

    /// Delivers `adapter.channel()`'s replies through `adapter` and `client` (both must outlive
    /// the loop). Call before start(). Throws core::Error for "webchat", a channel registered
    /// twice, or after start().
    void add_channel(ChannelAdapter& adapter, ProviderClient& client);

    /// The channels registered, in name order.
    std::vector<std::string> channels() const;

    /// Starts the polling thread. Throws core::Error when already running.
    void start();

    /// Finishes the current batch and joins the thread. Idempotent; called by the destructor.
    void stop();

    /// Polls and handles one batch on the calling thread (what the loop does); for tests and
    /// tools that drive the loop themselves. Not while started. Errors: the commit's error, or
    /// delivery_failed / timeout when Kafka did not acknowledge the batch's output (the batch
    /// was rewound).
    core::Result<std::size_t> poll_once(std::chrono::milliseconds timeout);

    ProviderDeliveryStats stats() const;

private:
    struct Route {
        ChannelAdapter* adapter = nullptr;
        ProviderClient* client = nullptr;
    };
    enum class Outcome { delivered, duplicate, suppressed, failed, skipped };

    void run();
    Outcome deliver_one(const core::Record& record, const core::OutboundMessage& message,
                        const Route& route, DeliveryReport& report);
    std::int64_t now_ms() const;

    core::Consumer& consumer_;
    core::Producer& producer_;
    core::SessionStore* store_;
    ProviderDeliveryOptions options_;
    std::map<std::string, Route, std::less<>> routes_;
    std::atomic<bool> running_{false};
    std::thread thread_;

    std::atomic<std::uint64_t> records_{0};
    std::atomic<std::uint64_t> delivered_{0};
    std::atomic<std::uint64_t> duplicates_{0};
    std::atomic<std::uint64_t> suppressed_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> skipped_{0};
    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> retried_batches_{0};
};

}  // namespace teller::channels
