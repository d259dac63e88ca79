// One webhook request on its way from the adapter to Kafka and back to the provider (private).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway_state.hpp"
#include "teller/channels/channel_adapter.hpp"

namespace teller::channels::detail {

/// The answer a job ends with: the HTTP response plus, for 429 and 503, the Retry-After seconds.
struct WebhookAnswer {
    WebhookResponse response;
    unsigned retry_after_s = 0;  ///< 0: no Retry-After header
};

/// Runs ChannelAdapter::handle() for one request, rate-limits, dedupes (mark_seen), publishes
/// the messages and direct replies, and answers once Kafka acknowledged them all, or with the
/// failure (429, 500, 503) the gateway documents. `respond` is called exactly once, from any
/// thread (a webhook thread, librdkafka's delivery thread or the caller of time_out()), unless
/// the gateway stops first.
///
/// Lifetime: the HTTP session holds the job and `respond` holds the session until it is called
/// (or the session drops the job at stop()); delivery callbacks hold only a weak reference, so
/// a report arriving after the job is gone does nothing. Thread-safe.
class WebhookJob final : public std::enable_shared_from_this<WebhookJob> {
public:
    using Respond = std::function<void(WebhookAnswer)>;

    WebhookJob(GatewayState& state, const ChannelRoute& route, WebhookRequest request,
               Respond respond);

    /// Does the work; run it on a webhook thread (it blocks on the adapter and the store).
    void run();

    /// Gives up: answers 503 (after forgetting the marks already made) unless already answered.
    void time_out();

private:
    // Ends the job with `answer` unless it already ended; true when this call ended it.
    bool finish(WebhookAnswer answer);

    // Ends the job with 503 after forgetting every seen mark this job made (blocks on the store).
    void fail(std::string_view reason);

    void on_delivery(const boost::system::error_code& ec);

    // Calls `respond_` and releases it; only the caller that set `finished_` may call this.
    void answer_once(WebhookAnswer answer);

    std::string channel() const { return std::string(route_.adapter->channel()); }

    GatewayState& state_;
    const ChannelRoute& route_;
    WebhookRequest request_;
    Respond respond_;

    std::mutex mutex_;
    bool finished_ = false;
    std::vector<std::string> marked_;  // seen marks to forget if the job fails
    std::size_t pending_ = 0;          // records produced and not yet acknowledged
    std::size_t accepted_ = 0;         // new inbound messages among them
    std::size_t messages_ = 0;         // messages the adapter found in the request
    WebhookResponse success_;
    std::string trace_id_;
};

/// The 503 answer with Retry-After the gateway gives when it cannot take a request now.
WebhookAnswer unavailable_answer(std::string body, unsigned retry_after_s = 1);

}  // namespace teller::channels::detail
