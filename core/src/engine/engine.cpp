// The engine loop: batches of inbound records through NLU, dialogue, the session store and Kafka.
#include "teller/core/engine.hpp"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "engine/ack_tracker.hpp"
#include "engine/batch_loop.hpp"
#include "engine/route_memory.hpp"
#include "teller/core/dead_letter.hpp"
#include "teller/core/log.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

const Logger& engine_log() {
    static const Logger log("engine");
    return log;
}

enum class Outcome { answered, replayed, dead, failed };

}  // namespace

Engine::Engine(Consumer& consumer, Producer& producer, SessionStore& store,
               const IntentClassifier& classifier, const SkillHost& skills, EngineOptions options)
    : consumer_(consumer),
      producer_(producer),
      store_(store),
      classifier_(classifier),
      dialogue_(skills, options.dialogue),
      options_(std::move(options)) {}

std::int64_t Engine::now_ms() const {
    if (options_.clock) {
        return options_.clock();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Result<BatchStats> Engine::poll_once(std::chrono::milliseconds timeout) {
    BatchStats stats;
    std::vector<Record> records = consumer_.poll(options_.batch_size, timeout);
    stats.records = records.size();
    if (records.empty()) {
        return stats;
    }
    auto batch_start = std::chrono::steady_clock::now();

    // Parse every record; NLU runs once over the texts of those that parsed.
    std::vector<Result<InboundMessage>> inbound;
    std::vector<std::string> texts;
    std::vector<std::int64_t> sent_at;  // "yesterday" means the day before the customer wrote
    std::vector<std::size_t> nlu_index(records.size(), 0);
    inbound.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        inbound.push_back(parse_inbound(records[i].value));
        if (inbound.back()) {
            nlu_index[i] = texts.size();
            texts.push_back(inbound.back()->text);
            sent_at.push_back(inbound.back()->received_at_ms);
        }
    }
    std::vector<NluResult> understood = classifier_.parse_sent(texts, sent_at);
    understood.resize(texts.size());

    // The tracker outlives this call if some acknowledgement never arrives.
    auto acks = std::make_shared<detail::AckTracker>(records.size());
    std::vector<Outcome> outcomes(records.size(), Outcome::failed);
    boost::system::error_code batch_error;

    // Partitions where a record failed: their later records wait for the retry too, so no
    // customer's later message is answered before an earlier one, and nothing answered now is
    // answered again when the failed record is read again.
    std::set<std::int32_t> failed_partitions;
    auto produce = [&](std::size_t i, Record out) {
        auto ec = producer_.produce(out, acks->expect(i));
        if (ec) {
            // It was never queued, so its handler will not run: settle it here.
            acks->not_queued(i);
            batch_error = ec;
            failed_partitions.insert(records[i].partition);
        }
    };

    for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& record = records[i];
        auto record_start = std::chrono::steady_clock::now();
        if (failed_partitions.contains(record.partition)) {
            outcomes[i] = Outcome::failed;
            continue;
        }

        // A record that is not a valid InboundMessage goes to the DLQ.
        if (!inbound[i]) {
            auto ec = inbound[i].error();
            Record out = dead_letter(options_.dlq_topic, record,
                                     {"invalid inbound message: " + ec.message(),
                                      ec.message(),
                                      ec.value(),
                                      ec.message(),
                                      {}},
                                     now_ms());
            engine_log().warn("record sent to the DLQ", {{"topic", record.topic},
                                                         {"partition", record.partition},
                                                         {"offset", record.offset},
                                                         {"reason", ec.message()}});
            produce(i, std::move(out));
            outcomes[i] = Outcome::dead;
            ++stats.dead;
            continue;
        }
        const InboundMessage& in = *inbound[i];
        const NluResult& nlu = understood[nlu_index[i]];

        // Load, run (or replay) and save with compare-and-set; redo after a conflict.
        std::optional<TurnOutput> turn;
        std::optional<std::vector<OutboundMessage>> replay;
        std::vector<HandoffEvent> replay_handoff;
        bool saved = false;
        int store_attempt = 0;
        boost::system::error_code store_error;
        for (int cas = 0; cas < options_.cas_attempts && !saved;) {
            auto retry_store = [&](const boost::system::error_code& ec) {
                ++store_attempt;
                if (store_attempt >= options_.store_attempts) {
                    return false;
                }
                engine_log().warn("session store failed, retrying",
                                  {{"conversation", in.conversation},
                                   {"error", ec.message()},
                                   {"attempt", store_attempt}});
                std::this_thread::sleep_for(options_.store_backoff * (1 << (store_attempt - 1)));
                return true;
            };

            auto loaded = store_.load(in.conversation);
            if (!loaded) {
                store_error = loaded.error();
                if (retry_store(loaded.error())) {
                    continue;
                }
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
                } else {
                    engine_log().warn("unreadable session replaced",
                                      {{"conversation", in.conversation}});
                }
            }

            if (auto previous = DialogueManager::find_recent(session, in.id)) {
                // Answer through the gateway that asked this time: the customer may have
                // reconnected elsewhere, or the first gateway may have restarted under a new id.
                for (OutboundMessage& reply : *previous) {
                    reply.reply_to = in.reply_to;
                }
                replay = std::move(previous);
                replay_handoff = DialogueManager::find_recent_handoff(session, in.id);
                saved = true;
                break;
            }

            turn = dialogue_.run_turn(in, nlu, std::move(session), now_ms());
            auto stored = store_.compare_and_set(
                in.conversation, version, json::serialize(turn->session), options_.session_ttl);
            if (!stored) {
                store_error = stored.error();
                if (retry_store(stored.error())) {
                    continue;
                }
                break;
            }
            if (!*stored) {
                engine_log().warn("session changed under us, redoing the turn",
                                  {{"conversation", in.conversation}, {"attempt", cas + 1}});
                ++cas;
                continue;
            }
            saved = true;
        }
        if (!saved) {
            batch_error = store_error ? store_error : make_error_code(Errc::store_unavailable);
            engine_log().error("turn not saved; record left uncommitted",
                               {{"conversation", in.conversation},
                                {"partition", record.partition},
                                {"offset", record.offset}});
            outcomes[i] = Outcome::failed;
            failed_partitions.insert(record.partition);
            continue;
        }

        // Publish the replies (and, for a new turn, its events).
        const std::vector<OutboundMessage>& replies = replay ? *replay : turn->replies;
        detail::remember_route(store_, in, replies, now_ms());  // for notifications
        for (const OutboundMessage& m : replies) {
            Record out{options_.outbound_topic, m.conversation, to_json(m), {}};
            out.headers.push_back({"schema", "teller.outbound.v1"});
            if (!m.trace_id.empty()) {
                out.headers.push_back({"trace_id", m.trace_id});
            }
            produce(i, std::move(out));
        }
        if (turn && !replay) {
            for (const DialogueEvent& e : turn->events) {
                Record out{options_.events_topic, e.conversation, to_json(e), {}};
                out.headers.push_back({"schema", "teller.events.v1"});
                produce(i, std::move(out));
            }
        }
        // Agent desk records: a replayed turn sends them again (they may be what was not
        // acknowledged); desks drop repeated ids.
        for (const HandoffEvent& h : replay ? replay_handoff : turn->handoff) {
            Record out{options_.handoff_topic, h.conversation, to_json(h), {}};
            out.headers.push_back({"schema", "teller.handoff.v1"});
            produce(i, std::move(out));
        }
        outcomes[i] = replay ? Outcome::replayed : Outcome::answered;
        if (replay) {
            ++stats.replayed;
        } else {
            ++stats.answered;
        }
        engine_log().debug(replay ? "redelivered message answered from the session" : "turn done",
                           {{"conversation", in.conversation},
                            {"partition", record.partition},
                            {"offset", record.offset},
                            {"replies", replies.size()},
                            {"latency_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - record_start)
                                               .count()}});
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
        bool& stop = blocked[records[i].partition];
        if (!stop && (outcomes[i] == Outcome::failed || !acks->acked(i))) {
            stop = true;
        }
        (stop ? to_retry : to_commit).push_back(records[i]);
    }

    // Read the records not committed again on the next poll, so a failure (Redis down, no
    // acknowledgement) delays them instead of leaving them until a restart. Those that were
    // answered are then replayed from the session's `recent` list, not run again.
    auto committed = detail::settle_batch(consumer_, to_commit, to_retry, engine_log(), "records");
    if (!committed) {
        return committed.error();
    }
    stats.committed = *committed;
    engine_log().debug("batch done",
                       {{"records", stats.records},
                        {"committed", stats.committed},
                        {"latency_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - batch_start)
                                           .count()}});
    if (auto ec = detail::batch_verdict(all_acked, stats.records, stats.committed, batch_error,
                                        engine_log())) {
        return ec;
    }
    return stats;
}

void Engine::run(std::stop_token stop) {
    engine_log().info("engine started", {{"batch_size", options_.batch_size},
                                         {"threshold", options_.dialogue.confidence_threshold}});
    detail::poll_until_stopped(stop, engine_log(), "batch", [this] {
        auto result = poll_once(std::chrono::milliseconds(100));
        return result ? boost::system::error_code{} : result.error();
    });
    engine_log().info("engine stopped");
}

}  // namespace teller::core
