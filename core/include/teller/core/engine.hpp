// The engine loop: consume inbound records, run turns, publish replies and events, commit.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>

#include "teller/core/bus.hpp"
#include "teller/core/dialogue.hpp"
#include "teller/core/error.hpp"
#include "teller/core/events.hpp"
#include "teller/core/nlu.hpp"
#include "teller/core/session_store.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::core {

struct EngineOptions {
    std::string outbound_topic{kOutboundTopic};
    std::string events_topic{kEventsTopic};
    std::string dlq_topic{kDlqTopic};
    /// Where handed-off conversations go to the agent desks (TurnOutput::handoff).
    std::string handoff_topic{kHandoffTopic};
    DialogueOptions dialogue;
    std::chrono::seconds session_ttl{1800};
    std::size_t batch_size = 64;
    /// How long to wait for the broker's acknowledgements of one batch's output.
    std::chrono::milliseconds ack_timeout{10000};
    /// Session store retries on Errc::store_unavailable, with doubling backoff from this.
    int store_attempts = 4;
    std::chrono::milliseconds store_backoff{20};
    /// How often a turn is redone after a compare-and-set conflict.
    int cas_attempts = 5;
    /// Milliseconds since the epoch; the system clock when empty (replay sets a fixed one).
    std::function<std::int64_t()> clock;
};

/// What one poll_once did.
struct BatchStats {
    std::size_t records = 0;    ///< consumed
    std::size_t answered = 0;   ///< turns run
    std::size_t replayed = 0;   ///< redelivered inbound ids answered from the session
    std::size_t dead = 0;       ///< sent to the DLQ
    std::size_t committed = 0;  ///< records whose offsets were committed
};

/// The dialogue engine. Everything it is given must outlive it. Not thread-safe: one thread
/// calls poll_once / run (the Consumer is single-threaded); run several engines to scale.
class Engine {
public:
    Engine(Consumer& consumer, Producer& producer, SessionStore& store,
           const IntentClassifier& classifier, const SkillHost& skills, EngineOptions options = {});

    /// Polls one batch and handles it: parse (failures to the DLQ), batched NLU, per record
    /// load session, run or replay the turn, save with compare-and-set, publish replies,
    /// events and agent desk records (a replayed turn publishes its replies and desk records
    /// again, not its events), wait for every acknowledgement, then commit. Offsets are never
    /// committed past a record whose output was not acknowledged or whose session could not be
    /// saved. Errors: Errc::store_unavailable, Errc::delivery_failed, Errc::timeout (acks) or the
    /// consumer's commit error; the records then stay uncommitted.
    Result<BatchStats> poll_once(std::chrono::milliseconds timeout);

    /// Calls poll_once until `stop` is requested, backing off after errors.
    void run(std::stop_token stop);

private:
    struct Pending;
    std::int64_t now_ms() const;

    Consumer& consumer_;
    Producer& producer_;
    SessionStore& store_;
    const IntentClassifier& classifier_;
    DialogueManager dialogue_;
    EngineOptions options_;
};

}  // namespace teller::core
