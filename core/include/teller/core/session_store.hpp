// Where conversations keep their state between turns: Redis for real deployments, memory for a
// first run. Both implement SessionStore.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "teller/core/error.hpp"

namespace teller::core {

/// A session as stored: opaque JSON plus the version the compare-and-set checks.
struct StoredSession {
    std::string data;
    std::int64_t version = 0;
};

/// Session storage with optimistic concurrency. Implementations are thread-safe.
/// Errors: store_unavailable (retry may help), store_protocol.
class SessionStore {
public:
    virtual ~SessionStore() = default;

    /// The session of `conversation`, or nullopt when there is none (or it expired).
    virtual Result<std::optional<StoredSession>> load(std::string_view conversation) = 0;

    /// Stores `data` as version `expected_version + 1` only if the stored version is still
    /// `expected_version` (0: no session yet); refreshes the idle TTL. False on a conflict.
    virtual Result<bool> compare_and_set(std::string_view conversation,
                                         std::int64_t expected_version, std::string_view data,
                                         std::chrono::seconds ttl) = 0;

    /// Marks `key` as seen for `ttl` (SET NX EX). True the first time, false when already seen.
    virtual Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) = 0;

    /// Forgets a seen mark (used when a turn fails after mark_seen and must be retried).
    virtual Result<void> forget_seen(std::string_view key) = 0;

    /// One line for the start-up log: "redis 127.0.0.1:6379" or "in-memory".
    virtual std::string describe() const = 0;
};

/// The embedded default: a process-local map with the same semantics, TTLs included.
std::unique_ptr<SessionStore> make_memory_session_store();

/// Redis through hiredis. `url`: redis://[:password@]host[:port][/db]. Keys:
/// `teller:session:{conversation}` and `teller:seen:{key}`. Connects lazily and reconnects
/// after errors; throws core::Error only for a malformed URL.
std::unique_ptr<SessionStore> make_redis_session_store(const std::string& url,
                                                       std::chrono::milliseconds timeout =
                                                           std::chrono::milliseconds(2000));

}  // namespace teller::core
