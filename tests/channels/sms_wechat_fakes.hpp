// Test doubles for the SMS and WeChat adapter tests: a scripted ProviderClient and form helpers.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "teller/channels/channel_adapter.hpp"

namespace teller::channels::testing {

/// Records every call and answers from a script, in order; with the script empty it answers
/// delivery_failed so that an unexpected call shows up as a failed delivery.
class FakeProviderClient : public ProviderClient {
public:
    core::Result<ProviderResponse> send(const ProviderCall& call) override {
        std::lock_guard lock(mutex_);
        calls.push_back(call);
        if (script.empty()) {
            return core::make_error_code(core::Errc::delivery_failed);
        }
        core::Result<ProviderResponse> next = std::move(script.front());
        script.pop_front();
        return next;
    }

    /// Queues an answer with `status` and `body`.
    void answer(unsigned status, std::string body) {
        ProviderResponse response;
        response.status = status;
        response.headers.emplace_back("content-type", "application/json");
        response.body = std::move(body);
        script.emplace_back(std::move(response));
    }

    /// Queues a final error (retries exhausted).
    void fail(core::Errc error) { script.emplace_back(core::make_error_code(error)); }

    std::vector<ProviderCall> calls;
    std::deque<core::Result<ProviderResponse>> script;

private:
    std::mutex mutex_;
};

}  // namespace teller::channels::testing
