// Test doubles for the Telegram and WhatsApp adapter tests: a recording, scripted
// ProviderClient and JSON helpers.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "teller/channels/channel_adapter.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels::testing {

/// Records every call and answers from a script, in order; with the script empty it answers
/// 200 with `default_body` (the provider's usual success).
class ScriptedProviderClient : public ProviderClient {
public:
    explicit ScriptedProviderClient(std::string default_body)
        : default_body(std::move(default_body)) {}

    core::Result<ProviderResponse> send(const ProviderCall& call) override {
        std::lock_guard lock(mutex_);
        calls.push_back(call);
        if (script.empty()) {
            return ProviderResponse{200, {{"content-type", "application/json"}}, default_body};
        }
        core::Result<ProviderResponse> next = std::move(script.front());
        script.pop_front();
        return next;
    }

    /// Queues an answer with `status` and `body`.
    void answer(unsigned status, std::string body) {
        script.emplace_back(
            ProviderResponse{status, {{"content-type", "application/json"}}, std::move(body)});
    }

    /// Queues a final error (retries exhausted).
    void fail(core::Errc error) { script.emplace_back(core::make_error_code(error)); }

    /// The body of call `i` parsed as JSON (null when it is not JSON).
    boost::json::value body(std::size_t i) const {
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(calls.at(i).body, ec);
        return ec ? boost::json::value() : v;
    }

    std::string default_body;
    std::vector<ProviderCall> calls;
    std::deque<core::Result<ProviderResponse>> script;

private:
    std::mutex mutex_;
};

/// A session store that is down: every call answers store_unavailable.
class DownSessionStore : public core::SessionStore {
public:
    core::Result<std::optional<core::StoredSession>> load(std::string_view) override {
        return down<std::optional<core::StoredSession>>();
    }
    core::Result<bool> compare_and_set(std::string_view, std::int64_t, std::string_view,
                                       std::chrono::seconds) override {
        return down<bool>();
    }
    core::Result<bool> mark_seen(std::string_view, std::chrono::seconds) override {
        return down<bool>();
    }
    core::Result<void> forget_seen(std::string_view) override { return down<void>(); }
    core::Result<void> put_value(std::string_view, std::string_view,
                                 std::chrono::seconds) override {
        return down<void>();
    }
    core::Result<std::optional<std::string>> get_value(std::string_view) override {
        return down<std::optional<std::string>>();
    }
    core::Result<void> erase_value(std::string_view) override { return down<void>(); }
    std::string describe() const override { return "down"; }
    std::string last_error() const override { return "down: connection refused"; }

private:
    template <class T>
    static core::Result<T> down() {
        return core::Result<T>(boost::system::in_place_error,
                               core::make_error_code(core::Errc::store_unavailable));
    }
};

/// Parses `text` as JSON (null when it is not).
inline boost::json::value parse_json(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    return ec ? boost::json::value() : v;
}

}  // namespace teller::channels::testing
