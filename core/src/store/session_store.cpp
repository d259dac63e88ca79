// The SessionStore defaults shared by every implementation.
#include "teller/core/session_store.hpp"

namespace teller::core {

Result<std::vector<std::optional<StoredSession>>> SessionStore::load_many(
    std::span<const std::string> conversations) {
    std::vector<std::optional<StoredSession>> sessions;
    sessions.reserve(conversations.size());
    for (const std::string& conversation : conversations) {
        auto session = load(conversation);
        if (!session) {
            return session.error();
        }
        sessions.push_back(std::move(*session));
    }
    return sessions;
}

Result<std::vector<bool>> SessionStore::compare_and_set_many(std::span<const SessionWrite> writes,
                                                             std::chrono::seconds ttl) {
    std::vector<bool> stored;
    stored.reserve(writes.size());
    for (const SessionWrite& write : writes) {
        auto one = compare_and_set(write.conversation, write.expected_version, write.data, ttl);
        if (!one) {
            return one.error();
        }
        stored.push_back(*one);
    }
    return stored;
}

}  // namespace teller::core
