// The agent desk: conversations handed to people, rebuilt from teller.handoff, and the agents'
// commands produced to teller.agent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/system/error_code.hpp>

#include "teller/core/bus.hpp"
#include "teller/core/handoff.hpp"

namespace teller::channels {

/// Bounds and pacing of one desk. Every field has a default that works for a first run.
struct AgentDeskOptions {
    /// Open conversations kept; past it the least recently active one is forgotten (WARN).
    std::size_t max_conversations = 1000;

    /// Transcript lines kept per conversation; the oldest go first.
    std::size_t max_transcript_lines = 200;

    /// Event ids remembered to drop redeliveries; the oldest are forgotten first.
    std::size_t remembered_event_ids = 100'000;

    /// Records taken from teller.handoff per poll, and the poll's wait.
    std::size_t max_batch = 500;
    std::chrono::milliseconds poll_timeout{100};

    /// Pause after a failed poll before the next one.
    std::chrono::milliseconds error_backoff{500};
};

/// Where a conversation is on the desk.
enum class DeskState {
    queued,    ///< waiting for an agent
    assigned,  ///< an agent took it
};

std::string_view to_string(DeskState state) noexcept;

/// One open conversation as the desk knows it.
struct DeskConversation {
    std::string conversation;
    std::string channel;
    std::string customer;  ///< verified customer id; "" for an anonymous customer
    bool verified = false;
    std::string locale;
    std::string reason;  ///< why it was handed off ("customer_request", ...)
    DeskState state = DeskState::queued;
    std::string agent;                             ///< assigned: who took it
    std::vector<core::TranscriptLine> transcript;  ///< oldest first, at most max_transcript_lines
    std::int64_t queued_at_ms = 0;
    std::int64_t last_activity_ms = 0;  ///< the newest event's time
};

/// What apply() did with an event.
enum class DeskChange {
    opened,     ///< a conversation entered the desk (queued, or first seen by a later event)
    updated,    ///< an open conversation changed (assigned, a message, queued again)
    closed,     ///< the conversation left the desk
    duplicate,  ///< the event's id was seen before: nothing changed
    ignored,    ///< closed for a conversation the desk does not hold: nothing changed
};

std::string_view to_string(DeskChange change) noexcept;

/// Counters of one desk. Read through AgentDeskState::stats().
struct AgentDeskStats {
    std::uint64_t events = 0;      ///< events applied (not duplicates)
    std::uint64_t duplicates = 0;  ///< events dropped as redeliveries
    std::uint64_t malformed = 0;   ///< records that were no HandoffEvent
    std::uint64_t evicted = 0;     ///< conversations forgotten past max_conversations
};

/// The open conversations of the desk, fed with HandoffEvents in topic order. Bounded by
/// AgentDeskOptions. Thread-safe: every member may be called from any thread; listeners run
/// under the desk's lock (see subscribe()).
class AgentDeskState {
public:
    /// Told about every change: the event, what it did, and the conversation afterwards (for
    /// `closed`, as it was just before). Runs under the desk's lock, in event order: it must be
    /// quick (queue a frame) and must not call back into the desk.
    using Listener =
        std::function<void(const core::HandoffEvent&, DeskChange, const DeskConversation&)>;

    explicit AgentDeskState(AgentDeskOptions options = {});

    /// Applies one event and tells the listeners (not for `duplicate` and `ignored`).
    DeskChange apply(const core::HandoffEvent& event);

    /// Counts a record that could not be parsed.
    void count_malformed();

    /// Registers `listener` and returns its id together with the conversations open at that
    /// moment, atomically: no change is both in the snapshot and told to the listener, and none
    /// is missed. The snapshot holds no transcripts (see find()).
    std::uint64_t subscribe(Listener listener, std::vector<DeskConversation>* snapshot);

    /// Removes a listener; when this returns it is not running and will not run again, unless
    /// called from inside a listener. Unknown ids are ignored.
    void unsubscribe(std::uint64_t id);

    /// Open conversations, least recently active first, without transcripts.
    std::vector<DeskConversation> conversations() const;

    /// One open conversation with its transcript, or nullopt.
    std::optional<DeskConversation> find(std::string_view conversation) const;

    std::size_t size() const;
    AgentDeskStats stats() const;
    const AgentDeskOptions& options() const noexcept { return options_; }

private:
    DeskChange apply_locked(const core::HandoffEvent& event, DeskConversation& out);
    void add_line(DeskConversation& conversation, std::string from, std::string text,
                  std::int64_t at_ms);
    void remember_id(const std::string& id);

    const AgentDeskOptions options_;
    mutable std::mutex mutex_;
    std::map<std::string, DeskConversation, std::less<>> open_;
    std::unordered_set<std::string> seen_ids_;
    std::deque<std::string> seen_order_;
    std::map<std::uint64_t, Listener> listeners_;
    std::uint64_t next_listener_ = 1;
    AgentDeskStats stats_;
};

/// The desk of one gateway: a thread that consumes teller.handoff into an AgentDeskState, and
/// the producer of agents' commands to teller.agent.
///
/// Thread safety: start() and stop() from one controlling thread; send() and state() from any.
class AgentDesk {
public:
    /// Told once per command: success when the broker acknowledged the record, else why not.
    /// Runs on the producer's delivery thread (or at once, in send(), when nothing was queued).
    using SendHandler = std::function<void(const boost::system::error_code&)>;

    /// Keeps references to `consumer` (subscribed to teller.handoff, read from the start so that
    /// the desk rebuilds what is open; the desk never commits) and `producer`; both must
    /// outlive the desk.
    AgentDesk(core::Consumer& consumer, core::Producer& producer, AgentDeskOptions options = {});
    ~AgentDesk();
    AgentDesk(const AgentDesk&) = delete;
    AgentDesk& operator=(const AgentDesk&) = delete;

    /// Starts the consuming thread. Throws core::Error when already running.
    void start();

    /// Stops and joins the thread (after its current poll). Idempotent.
    void stop();

    AgentDeskState& state() noexcept { return state_; }

    /// Fills in `command.id` (unique: 16 random bytes in hex) and `command.at_ms` (now) and
    /// produces it to teller.agent, keyed by conversation, with headers `schema:
    /// teller.agent.v1` and `trace_id`. `on_done` learns the broker's answer. Returns an error
    /// when nothing was queued (then `on_done` is not called): payload_too_large, or the
    /// producer's own (broker_unavailable). Thread-safe.
    boost::system::error_code send(core::AgentCommand& command, SendHandler on_done);

    /// Feeds records as the consuming thread does (parse, apply); for tests and tools.
    void apply_records(const std::vector<core::Record>& records);

private:
    void run();

    core::Consumer& consumer_;
    core::Producer& producer_;
    AgentDeskState state_;
    std::atomic<bool> running_{false};
    std::thread thread_;
};

}  // namespace teller::channels
