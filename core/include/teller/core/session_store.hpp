// Where conversations keep their state between turns: Redis for real deployments, memory for a
// first run. Both implement SessionStore.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/error.hpp"

namespace teller::core {

/// A session as stored: opaque JSON plus the version the compare-and-set checks.
struct StoredSession {
    std::string data;
    std::int64_t version = 0;
};

/// One write of SessionStore::compare_and_set_many; the views must outlive the call.
struct SessionWrite {
    std::string_view conversation;
    std::int64_t expected_version = 0;
    std::string_view data;
};

/// Session storage with optimistic concurrency. Implementations are thread-safe.
/// Errors: store_unavailable (retry may help), store_protocol.
/// A `ttl` of zero or less means "no expiry" everywhere below.
class SessionStore {
public:
    virtual ~SessionStore() = default;

    /// The session of `conversation`, or nullopt when there is none (or it expired).
    virtual Result<std::optional<StoredSession>> load(std::string_view conversation) = 0;

    /// The sessions of several conversations, in the same order (nullopt where there is none).
    /// All or nothing: one error fails the batch. The default calls load() in a loop; the Redis
    /// store pipelines the reads into one round trip.
    virtual Result<std::vector<std::optional<StoredSession>>> load_many(
        std::span<const std::string> conversations);

    /// Stores `data` as version `expected_version + 1` only if the stored version is still
    /// `expected_version` (0: no session yet); refreshes the idle TTL. False on a conflict.
    /// An error means the write may or may not have happened: load again before retrying.
    virtual Result<bool> compare_and_set(std::string_view conversation,
                                         std::int64_t expected_version, std::string_view data,
                                         std::chrono::seconds ttl) = 0;

    /// compare_and_set for each write, applied in order (a conversation may appear more than
    /// once, at successive versions); one result per write. All or nothing: an error means any
    /// of the writes may or may not have happened. The default loops over compare_and_set();
    /// the Redis store pipelines the writes into one round trip.
    virtual Result<std::vector<bool>> compare_and_set_many(std::span<const SessionWrite> writes,
                                                           std::chrono::seconds ttl);

    // TODO(teller): seen marks are not batched (no mark_seen_many): the engine pays one Redis
    // round trip per record for its dedupe check, while session reads and writes are pipelined.

    /// Marks `key` as seen for `ttl` (SET NX EX). True the first time, false when already seen.
    virtual Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) = 0;

    /// Forgets a seen mark (used when a turn fails after mark_seen and must be retried).
    virtual Result<void> forget_seen(std::string_view key) = 0;

    /// Stores a small value under `key` (a namespace of its own, apart from sessions and seen
    /// marks), replacing any previous one. Used by channels for state every gateway instance
    /// must share: SMS opt-outs, the options last offered to an SMS customer.
    virtual Result<void> put_value(std::string_view key, std::string_view value,
                                   std::chrono::seconds ttl) = 0;

    /// The value stored under `key`, or nullopt when there is none (or it expired).
    virtual Result<std::optional<std::string>> get_value(std::string_view key) = 0;

    /// Removes the value under `key`; removing an absent key is not an error.
    virtual Result<void> erase_value(std::string_view key) = 0;

    /// One line for the start-up log: "redis 127.0.0.1:6379/0" or "in-memory". Never contains
    /// a password.
    virtual std::string describe() const = 0;

    /// Human-readable cause of the most recent failed call ("" if none yet), e.g. "redis
    /// 127.0.0.1:6379/0: AUTH failed: WRONGPASS ...". An error_code cannot say why Redis is
    /// unusable (down, wrong password, timeout); this can. Never contains a password.
    virtual std::string last_error() const { return {}; }
};

/// The embedded default: a process-local map with the same semantics, TTLs included (measured
/// on the steady clock). Never fails.
std::unique_ptr<SessionStore> make_memory_session_store();

/// Redis through hiredis. `url`: redis://[[user]:password@]host[:port][/db] (IPv6 hosts in
/// brackets; user and password may be percent-encoded; a user means Redis 6 ACL `AUTH user
/// password`). Keys: `teller:session:{conversation}` (a hash of `version`, `data`, `writer`)
/// and `teller:seen:{key}`. `timeout` bounds the connect and each command's round trip.
/// Connects lazily, sends AUTH and SELECT after every (re)connect, and reconnects on the call
/// after an error; a Redis that is down gives store_unavailable, never a crash or a hang.
/// Throws core::Error only for a malformed URL or a non-positive timeout.
std::unique_ptr<SessionStore> make_redis_session_store(
    const std::string& url, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

}  // namespace teller::core
