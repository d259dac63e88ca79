// The in-memory SessionStore: the embedded default, with the Redis store's semantics and TTLs.
#include <mutex>
#include <unordered_map>

#include "teller/core/session_store.hpp"

namespace teller::core {
namespace {

using Clock = std::chrono::steady_clock;

// When an entry written now with `ttl` expires; time_point::max() for "never".
Clock::time_point expiry_after(std::chrono::seconds ttl) {
    if (ttl <= std::chrono::seconds::zero()) {
        return Clock::time_point::max();
    }
    return Clock::now() + ttl;
}

// Hashing that lets the maps be searched with a string_view without building a string.
struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
        return std::hash<std::string_view>{}(text);
    }
};

template <class V>
using Map = std::unordered_map<std::string, V, TransparentHash, std::equal_to<>>;

class MemorySessionStore final : public SessionStore {
public:
    Result<std::optional<StoredSession>> load(std::string_view conversation) override {
        std::lock_guard lock(mutex_);
        auto it = live(sessions_, conversation);
        if (it == sessions_.end()) {
            return std::optional<StoredSession>();
        }
        return std::optional<StoredSession>(it->second.session);
    }

    Result<bool> compare_and_set(std::string_view conversation, std::int64_t expected_version,
                                 std::string_view data, std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        sweep_now_and_then();
        auto it = live(sessions_, conversation);
        std::int64_t current = it == sessions_.end() ? 0 : it->second.session.version;
        if (current != expected_version) {
            return false;
        }
        if (it == sessions_.end()) {
            it = sessions_.emplace(std::string(conversation), Session{}).first;
        }
        it->second.session.data.assign(data);
        it->second.session.version = expected_version + 1;
        it->second.expires_at = expiry_after(ttl);
        return true;
    }

    Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        sweep_now_and_then();
        if (live(seen_, key) != seen_.end()) {
            return false;
        }
        seen_.insert_or_assign(std::string(key), expiry_after(ttl));
        return true;
    }

    Result<void> forget_seen(std::string_view key) override {
        std::lock_guard lock(mutex_);
        auto it = seen_.find(key);
        if (it != seen_.end()) {
            seen_.erase(it);
        }
        return {};
    }

    Result<void> put_value(std::string_view key, std::string_view value,
                           std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        sweep_now_and_then();
        values_.insert_or_assign(std::string(key), Value{std::string(value), expiry_after(ttl)});
        return {};
    }

    Result<std::optional<std::string>> get_value(std::string_view key) override {
        std::lock_guard lock(mutex_);
        auto it = values_.find(key);
        if (it == values_.end() || it->second.expires_at <= Clock::now()) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>{it->second.value};
    }

    Result<void> erase_value(std::string_view key) override {
        std::lock_guard lock(mutex_);
        auto it = values_.find(key);
        if (it != values_.end()) {
            values_.erase(it);
        }
        return {};
    }

    std::string describe() const override { return "in-memory"; }

private:
    struct Session {
        StoredSession session;
        Clock::time_point expires_at;
    };

    struct Value {
        std::string value;
        Clock::time_point expires_at;
    };

    static Clock::time_point expires_at(const Session& s) { return s.expires_at; }
    static Clock::time_point expires_at(const Value& v) { return v.expires_at; }
    static Clock::time_point expires_at(Clock::time_point t) { return t; }

    // The unexpired entry for `key`, erasing it first if it has expired.
    template <class V>
    static typename Map<V>::iterator live(Map<V>& map, std::string_view key) {
        auto it = map.find(key);
        if (it != map.end() && expires_at(it->second) <= Clock::now()) {
            map.erase(it);
            return map.end();
        }
        return it;
    }

    // Drops every expired entry once per kSweepEvery writes, so that keys nobody reads again
    // (one-off seen marks, abandoned sessions) do not accumulate forever.
    void sweep_now_and_then() {
        constexpr int kSweepEvery = 4096;
        if (++writes_since_sweep_ < kSweepEvery) {
            return;
        }
        writes_since_sweep_ = 0;
        auto now = Clock::now();
        std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires_at <= now; });
        std::erase_if(seen_, [&](const auto& entry) { return entry.second <= now; });
        std::erase_if(values_, [&](const auto& entry) { return entry.second.expires_at <= now; });
    }

    std::mutex mutex_;
    Map<Session> sessions_;
    Map<Clock::time_point> seen_;
    Map<Value> values_;
    int writes_since_sweep_ = 0;
};

}  // namespace

std::unique_ptr<SessionStore> make_memory_session_store() {
    return std::make_unique<MemorySessionStore>();
}

}  // namespace teller::core
