// The handoff relay: teller.agent commands applied to sessions, with replies, events and records.
#include "teller/core/handoff_relay.hpp"

#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "engine/ack_tracker.hpp"
#include "engine/batch_loop.hpp"
#include "teller/core/dead_letter.hpp"
#include "teller/core/log.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

const Logger& relay_log() {
    static const Logger log("handoff");
    return log;
}

enum class Outcome { applied, replayed, duplicate, dead, failed };

}  // namespace

HandoffRelay::HandoffRelay(Consumer& consumer, Producer& producer, SessionStore& store,
                           const DialogueManager& dialogue, HandoffRelayOptions options)
    : consumer_(consumer),
      producer_(producer),
      store_(store),
      dialogue_(dialogue),
      options_(std::move(options)) {}

HandoffRelay::~HandoffRelay() {
    stop();
}

std::int64_t HandoffRelay::now_ms() const {
    if (options_.clock) {
        return options_.clock();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Result<HandoffRelayStats> HandoffRelay::poll_once(std::chrono::milliseconds timeout) {
    HandoffRelayStats stats;
    std::vector<Record> records = consumer_.poll(options_.batch_size, timeout);
    stats.records = records.size();
    if (records.empty()) {
        return stats;
    }

    // The tracker outlives this call if some acknowledgement never arrives.
    auto acks = std::make_shared<detail::AckTracker>(records.size());
    std::vector<Outcome> outcomes(records.size(), Outcome::failed);
    std::vector<std::string> seen_keys(records.size());
    boost::system::error_code batch_error;
    const std::int64_t now = now_ms();

    auto produce = [&](std::size_t i, Record out) {
        if (auto ec = producer_.produce(out, acks->expect(i))) {
            // It was never queued, so its handler will not run: settle it here.
            acks->not_queued(i);
            batch_error = ec;
        }
    };

    for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& record = records[i];

        // A record that is not an agent command goes to the DLQ.
        auto command = parse_agent_command(record.value);
        if (!command) {
            auto ec = command.error();
            produce(i, dead_letter(options_.dlq_topic, record,
                                   {"invalid agent command: " + ec.message(),
                                    ec.message(),
                                    ec.value(),
                                    ec.message(),
                                    {}},
                                   now));
            relay_log().warn("agent command sent to the DLQ", {{"topic", record.topic},
                                                               {"partition", record.partition},
                                                               {"offset", record.offset},
                                                               {"reason", ec.message()}});
            outcomes[i] = Outcome::dead;
            ++stats.dead;
            continue;
        }
        const AgentCommand& c = *command;
        const std::string seen_key = "agent:" + c.id;

        // Each command id is acted on once.
        auto first = store_.mark_seen(seen_key, options_.seen_ttl);
        if (!first) {
            batch_error = first.error();
            relay_log().warn("session store failed; agent command left uncommitted",
                             {{"command", c.id}, {"error", first.error().message()}});
            continue;
        }
        if (!*first) {
            relay_log().debug("agent command already acted on, skipped", {{"command", c.id}});
            outcomes[i] = Outcome::duplicate;
            ++stats.duplicates;
            continue;
        }
        seen_keys[i] = seen_key;

        // Load, apply (or find the output of an earlier try) and save with compare-and-set.
        std::optional<TurnOutput> turn;
        bool done = false;
        bool replayed = false;
        for (int attempt = 0; attempt < options_.cas_attempts && !done; ++attempt) {
            auto loaded = store_.load(c.conversation);
            if (!loaded) {
                batch_error = loaded.error();
                break;
            }
            json::object session;
            std::int64_t version = 0;
            if (*loaded) {
                version = (*loaded)->version;
                boost::system::error_code ec;
                json::value parsed = json::parse((*loaded)->data, ec);
                if (!ec && parsed.is_object()) {
                    session = std::move(parsed.as_object());
                }
            }
            if (auto previous = DialogueManager::find_recent(session, seen_key)) {
                TurnOutput again;
                again.replies = std::move(*previous);
                again.handoff = DialogueManager::find_recent_handoff(session, seen_key);
                turn = std::move(again);
                replayed = true;
                done = true;
                break;
            }
            turn = dialogue_.agent_turn(c, std::move(session), now);
            if (!turn->session_changed || turn->session.empty()) {
                done = true;
                break;
            }
            auto stored = store_.compare_and_set(
                c.conversation, version, json::serialize(turn->session), options_.session_ttl);
            if (!stored) {
                batch_error = stored.error();
                break;
            }
            if (*stored) {
                done = true;
            } else {
                relay_log().warn("session changed under us, redoing the agent command",
                                 {{"conversation", c.conversation}, {"attempt", attempt + 1}});
            }
        }
        if (!done) {
            if (!batch_error) {
                batch_error = make_error_code(Errc::store_unavailable);
            }
            relay_log().error("agent command not applied; record left uncommitted",
                              {{"conversation", c.conversation},
                               {"command", c.id},
                               {"partition", record.partition},
                               {"offset", record.offset}});
            continue;
        }

        // Publish the replies, events and desk records.
        for (const OutboundMessage& m : turn->replies) {
            Record out{options_.outbound_topic, m.conversation, to_json(m), {}};
            out.headers.push_back({"schema", "teller.outbound.v1"});
            produce(i, std::move(out));
        }
        for (const DialogueEvent& e : turn->events) {
            Record out{options_.events_topic, e.conversation, to_json(e), {}};
            out.headers.push_back({"schema", "teller.events.v1"});
            produce(i, std::move(out));
        }
        for (const HandoffEvent& h : turn->handoff) {
            Record out{options_.handoff_topic, h.conversation, to_json(h), {}};
            out.headers.push_back({"schema", "teller.handoff.v1"});
            produce(i, std::move(out));
        }
        for (const DialogueEvent& e : turn->events) {
            const json::value* why = e.data.if_contains("error");
            if (e.type == DialogueEventType::error && why != nullptr && why->is_string()) {
                relay_log().warn("agent command refused",
                                 {{"conversation", c.conversation},
                                  {"command", c.id},
                                  {"agent", c.agent},
                                  {"reason", std::string(why->as_string())}});
            }
        }
        outcomes[i] = replayed ? Outcome::replayed : Outcome::applied;
        ++(replayed ? stats.replayed : stats.applied);
        relay_log().debug("agent command applied", {{"conversation", c.conversation},
                                                    {"command", c.id},
                                                    {"type", to_string(c.type)},
                                                    {"replies", turn->replies.size()}});
    }

    // Wait for the broker, then commit per partition up to the first record not acknowledged.
    auto deadline = std::chrono::steady_clock::now() + options_.ack_timeout;
    if (!acks->idle()) {
        producer_.flush(options_.ack_timeout);
    }
    bool all_acked = acks->wait(deadline);
    std::map<std::int32_t, bool> blocked;
    std::vector<Record> to_commit;
    std::vector<Record> to_retry;
    for (std::size_t i = 0; i < records.size(); ++i) {
        bool failed = outcomes[i] == Outcome::failed || !acks->acked(i);
        bool& stop = blocked[records[i].partition];
        if (!stop && failed) {
            stop = true;
        }
        // A command read again must be acted on (or replayed from the session) again.
        if (stop && !seen_keys[i].empty()) {
            if (auto forgot = store_.forget_seen(seen_keys[i]); !forgot) {
                relay_log().warn("seen mark not forgotten; the command may be skipped on retry",
                                 {{"command", seen_keys[i]}, {"error", forgot.error().message()}});
            }
        }
        (stop ? to_retry : to_commit).push_back(records[i]);
    }

    // Read what was not committed again on the next poll.
    auto committed =
        detail::settle_batch(consumer_, to_commit, to_retry, relay_log(), "agent commands");
    if (!committed) {
        return committed.error();
    }
    stats.committed = *committed;
    if (auto ec = detail::batch_verdict(all_acked, stats.records, stats.committed, batch_error,
                                        relay_log())) {
        return ec;
    }
    return stats;
}

void HandoffRelay::run(std::stop_token stop) {
    relay_log().info("handoff relay started", {{"batch_size", options_.batch_size}});
    detail::poll_until_stopped(stop, relay_log(), "agent command batch", [this] {
        auto result = poll_once(std::chrono::milliseconds(100));
        return result ? boost::system::error_code{} : result.error();
    });
    relay_log().info("handoff relay stopped");
}

void HandoffRelay::start() {
    if (thread_.joinable()) {
        throw Error("handoff relay already started");
    }
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void HandoffRelay::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
}

}  // namespace teller::core
