// Consumes replies from teller.outbound and hands those meant for this gateway to its sockets.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "teller/channels/gateway.hpp"
#include "teller/core/bus.hpp"

namespace teller::channels {

struct OutboundDispatcherOptions {
    /// Records taken per poll.
    std::size_t max_batch = 256;

    /// Longest wait for the first record of a poll; also bounds how long stop() waits.
    std::chrono::milliseconds poll_timeout{100};

    /// Pause after a poll or commit that threw, so a broken consumer does not spin.
    std::chrono::milliseconds error_backoff{200};
};

/// Counters for tests and /metrics. Read with relaxed ordering; approximate while running.
struct OutboundDispatcherStats {
    std::uint64_t records = 0;    ///< records polled
    std::uint64_t delivered = 0;  ///< replies a socket here took (or already had)
    std::uint64_t dropped = 0;    ///< replies for this instance whose socket was gone
    std::uint64_t skipped = 0;    ///< replies for other instances or channels
    std::uint64_t malformed = 0;  ///< records that did not parse as an OutboundMessage
    std::uint64_t commits = 0;    ///< successful commits
    std::uint64_t commit_errors = 0;
};

/// One loop thread: poll `consumer` (which the app subscribes to teller.outbound with a group id
/// unique to this instance, so every instance sees every reply), parse each record with
/// core::parse_outbound, deliver web chat replies whose `reply_to` is this gateway's instance
/// id (or is empty and the conversation is connected here), then commit the batch. Records that
/// do not parse are logged (WARN) and skipped; nothing a record holds can stop the loop.
///
/// Thread safety: start() and stop() from one controlling thread. The consumer is used only by
/// the loop thread, as core::Consumer requires.
class OutboundDispatcher {
public:
    /// Keeps references; `consumer` and `gateway` must outlive the dispatcher.
    OutboundDispatcher(core::Consumer& consumer, Gateway& gateway,
                       OutboundDispatcherOptions options = {});
    ~OutboundDispatcher();
    OutboundDispatcher(const OutboundDispatcher&) = delete;
    OutboundDispatcher& operator=(const OutboundDispatcher&) = delete;

    /// Starts the loop thread. Throws core::Error when already running.
    void start();

    /// Asks the loop to finish its current batch and joins it. Idempotent.
    void stop();

    OutboundDispatcherStats stats() const;

private:
    void run();
    void handle_batch(const std::vector<core::Record>& records);

    core::Consumer& consumer_;
    Gateway& gateway_;
    OutboundDispatcherOptions options_;
    std::atomic<bool> running_{false};
    std::thread thread_;

    std::atomic<std::uint64_t> records_{0};
    std::atomic<std::uint64_t> delivered_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> skipped_{0};
    std::atomic<std::uint64_t> malformed_{0};
    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> commit_errors_{0};
};

}  // namespace teller::channels
