// The engine side of the agent desks: commands on teller.agent applied to handed-off sessions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <thread>

#include "teller/core/bus.hpp"
#include "teller/core/dialogue.hpp"
#include "teller/core/error.hpp"
#include "teller/core/events.hpp"
#include "teller/core/handoff.hpp"
#include "teller/core/session_store.hpp"

namespace teller::core {

struct HandoffRelayOptions {
    std::string outbound_topic{kOutboundTopic};
    std::string events_topic{kEventsTopic};
    std::string handoff_topic{kHandoffTopic};
    std::string dlq_topic{kDlqTopic};
    std::size_t batch_size = 64;
    /// How long to wait for the broker's acknowledgements of one batch's output.
    std::chrono::milliseconds ack_timeout{10000};
    /// How long an acted-on command id is remembered (seen mark `agent:<id>`).
    std::chrono::seconds seen_ttl{std::chrono::hours(24 * 7)};
    /// The idle TTL written with each session; the engine's (EngineOptions::session_ttl).
    std::chrono::seconds session_ttl{1800};
    /// How often a command is redone after a compare-and-set conflict with the engine.
    int cas_attempts = 5;
    /// Milliseconds since the epoch; the system clock when empty.
    std::function<std::int64_t()> clock;
};

/// What one HandoffRelay::poll_once did.
struct HandoffRelayStats {
    std::size_t records = 0;     ///< consumed
    std::size_t applied = 0;     ///< commands run against their session (refusals included)
    std::size_t replayed = 0;    ///< applied before but not acknowledged: output sent again
    std::size_t duplicates = 0;  ///< ids already acted on, skipped
    std::size_t dead = 0;        ///< malformed, sent to the DLQ
    std::size_t committed = 0;   ///< records whose offsets were committed
};

/// Reads agents' commands (teller.agent, group kHandoffRelayGroup) and applies each to its
/// conversation through DialogueManager::agent_turn: join, message, close (then the survey).
///
/// Per record: a malformed one goes to the DLQ; an id already acted on (seen mark
/// `agent:<id>`, SET NX) is skipped; otherwise the session is loaded, the command applied and
/// the session written back with compare-and-set (redone on a conflict, since the engine
/// writes the same sessions), and its replies (teller.outbound), audit events (teller.events)
/// and desk records (teller.handoff) produced, keyed by conversation. Offsets are committed
/// only once the broker acknowledged everything produced for them; a failure forgets the seen
/// mark and rewinds, and the retry finds the command in the session's `recent` list and sends
/// the same output again rather than acting twice (at least once; desks drop repeated ids).
///
/// Everything given must outlive the relay. poll_once/run are not thread-safe (one thread, as
/// the Consumer requires); start() runs that loop on a thread of the relay's own, and then
/// poll_once/run must not be called. start()/stop() are called from one owning thread.
class HandoffRelay {
public:
    HandoffRelay(Consumer& consumer, Producer& producer, SessionStore& store,
                 const DialogueManager& dialogue, HandoffRelayOptions options = {});
    /// Stops the loop thread if it runs.
    ~HandoffRelay();
    HandoffRelay(const HandoffRelay&) = delete;
    HandoffRelay& operator=(const HandoffRelay&) = delete;

    /// Polls one batch and handles it as described above. Errors: Errc::store_unavailable (also
    /// when compare-and-set conflicts outlast cas_attempts), Errc::delivery_failed,
    /// Errc::timeout (acks) or the consumer's commit error; the records then stay uncommitted
    /// and are rewound.
    Result<HandoffRelayStats> poll_once(std::chrono::milliseconds timeout);

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
    const DialogueManager& dialogue_;
    HandoffRelayOptions options_;
    std::jthread thread_;
};

}  // namespace teller::core
