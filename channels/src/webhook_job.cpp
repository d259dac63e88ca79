// One webhook request on its way from the adapter to Kafka and back to the provider.
#include "webhook_job.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/post.hpp>

#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"
#include "webchat_protocol.hpp"

namespace teller::channels::detail {
namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

// Seconds a provider is asked to wait after Kafka or the store failed.
constexpr unsigned kFailureRetryAfterS = 2;

unsigned whole_seconds(std::chrono::milliseconds wait) {
    const auto seconds = (wait.count() + 999) / 1000;
    return static_cast<unsigned>(std::max<std::int64_t>(1, seconds));
}

core::Record make_outbound_record(const core::OutboundMessage& message) {
    core::Record record;
    record.topic = std::string(core::kOutboundTopic);
    record.key = message.conversation;
    record.value = core::to_json(message);
    record.headers.push_back({"schema", "teller.outbound.v1"});
    record.headers.push_back({"trace_id", message.trace_id});
    record.timestamp_ms = message.created_at_ms;
    return record;
}

}  // namespace

WebhookAnswer unavailable_answer(std::string body, unsigned retry_after_s) {
    return {{503, std::string(kTextPlain), std::move(body)}, retry_after_s};
}

WebhookJob::WebhookJob(GatewayState& state, const ChannelRoute& route, WebhookRequest request,
                       Respond respond)
    : state_(state),
      route_(route),
      request_(std::move(request)),
      respond_(std::move(respond)),
      trace_id_(random_hex(16)) {}

void WebhookJob::run() {
    const std::string channel_name = channel();

    // The adapter's verdict; one that breaks its no-throw promise gets 500 and publishes nothing.
    WebhookOutcome outcome;
    try {
        outcome = route_.adapter->handle(request_);
    } catch (const std::exception& e) {
        state_.log.error("channel adapter threw; answered 500",
                         {{"channel", channel_name}, {"error", e.what()}});
        finish({{500, std::string(kTextPlain), "internal error\n"}, 0});
        return;
    } catch (...) {
        state_.log.error("channel adapter threw; answered 500", {{"channel", channel_name}});
        finish({{500, std::string(kTextPlain), "internal error\n"}, 0});
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            return;  // timed out while the adapter ran
        }
        messages_ = outcome.messages.size();
    }

    // Complete the messages the way web chat messages are completed, text masked.
    const std::int64_t now = now_ms();
    for (core::InboundMessage& m : outcome.messages) {
        if (m.channel.empty()) {
            m.channel = channel_name;
        }
        if (m.id.empty()) {
            // TODO(teller): an adapter that gives no provider id defeats the dedupe; such a
            // message gets a fresh id, so the provider's retry of it is published again.
            m.id = "gw-" + random_hex(8);
            state_.log.warn("channel message without id; it cannot be deduped",
                            {{"channel", channel_name}});
        }
        if (m.conversation.empty()) {
            m.conversation = m.channel + ":" + m.sender;
        }
        m.text = core::mask_personal_data(m.text);
        m.received_at_ms = now;
        m.reply_to = state_.options.instance_id;
        m.trace_id = random_hex(16);
    }

    // Rate limit before anything is marked seen, so that the provider's retry is processed.
    for (const core::InboundMessage& m : outcome.messages) {
        const Admission admission = state_.limiter.admit(m.conversation);
        if (!admission.allowed) {
            state_.metrics.add(kMessagesRejected, reason_labels(m.channel, "rate_limited"),
                               outcome.messages.size());
            state_.log.warn("webhook rate limited", {{"channel", channel_name},
                                                     {"conversation", m.conversation},
                                                     {"trace_id", m.trace_id}});
            finish({{429, std::string(kTextPlain),
                     "too many messages for this conversation; retry later\n"},
                    whole_seconds(admission.retry_after)});
            return;
        }
    }

    // Encode everything first, so that an oversized record fails the request before any mark.
    std::vector<core::Record> inbound;
    inbound.reserve(outcome.messages.size());
    for (const core::InboundMessage& m : outcome.messages) {
        inbound.push_back(make_inbound_record(m));
    }
    std::vector<core::Record> outbound;
    outbound.reserve(outcome.direct_replies.size());
    for (core::OutboundMessage& reply : outcome.direct_replies) {
        if (reply.channel.empty()) {
            reply.channel = channel_name;
        }
        if (reply.created_at_ms == 0) {
            reply.created_at_ms = now;
        }
        if (reply.trace_id.empty()) {
            reply.trace_id = trace_id_;
        }
        outbound.push_back(make_outbound_record(reply));
    }
    for (const auto* records : {&inbound, &outbound}) {
        for (const core::Record& r : *records) {
            if (r.value.size() > core::kMaxEventBytes) {
                state_.metrics.add(kMessagesRejected, reason_labels(channel_name, "too_large"));
                state_.log.warn("webhook message too large once encoded",
                                {{"channel", channel_name}, {"bytes", r.value.size()}});
                finish({{413, std::string(kTextPlain), "message too large\n"}, 0});
                return;
            }
        }
    }

    // Dedupe: a (channel, id) already accepted is the provider's retry and is not published.
    std::vector<core::Record> records;
    std::size_t fresh = 0;
    auto mark = [&](std::string key) -> std::optional<bool> {
        auto seen = state_.context.store->mark_seen(key, state_.options.webhook_dedupe_ttl);
        if (!seen) {
            state_.log.warn("webhook dedupe mark failed",
                            {{"channel", channel_name},
                             {"error", seen.error().message()},
                             {"cause", state_.context.store->last_error()}});
            return std::nullopt;
        }
        if (!*seen) {
            return false;
        }
        std::unique_lock lock(mutex_);
        if (finished_) {
            // Timed out meanwhile: whoever finished took the marks before this one.
            lock.unlock();
            (void)state_.context.store->forget_seen(key);
            return std::nullopt;
        }
        marked_.push_back(std::move(key));
        return true;
    };
    for (std::size_t i = 0; i < outcome.messages.size(); ++i) {
        const core::InboundMessage& m = outcome.messages[i];
        const std::optional<bool> is_new = mark(m.channel + ":" + m.id);
        if (!is_new) {
            fail("the dedupe store is unavailable");
            return;
        }
        if (!*is_new) {
            state_.metrics.add(kMessagesRejected, reason_labels(m.channel, "duplicate"));
            state_.log.debug("duplicate webhook message not published",
                             {{"channel", m.channel}, {"conversation", m.conversation}});
            continue;
        }
        records.push_back(std::move(inbound[i]));
        ++fresh;
    }
    for (std::size_t i = 0; i < outcome.direct_replies.size(); ++i) {
        const core::OutboundMessage& reply = outcome.direct_replies[i];
        if (!reply.in_reply_to.empty()) {
            const std::optional<bool> is_new = mark(reply.channel + ":" + reply.in_reply_to +
                                                    "#direct" + std::to_string(reply.sequence));
            if (!is_new) {
                fail("the dedupe store is unavailable");
                return;
            }
            if (!*is_new) {
                continue;
            }
        }
        records.push_back(std::move(outbound[i]));
    }

    // Nothing new: answer now.
    if (records.empty()) {
        finish({std::move(outcome.response), 0});
        return;
    }

    // Publish; the answer waits for every delivery report (on_delivery).
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            return;
        }
        pending_ = records.size();
        accepted_ = fresh;
        success_ = std::move(outcome.response);
    }
    for (const core::Record& record : records) {
        auto on_delivery = [lifeline = state_.lifeline,
                            weak = weak_from_this()](const boost::system::error_code& ec) {
            std::lock_guard lock(lifeline->mutex);
            if (!lifeline->open) {
                return;
            }
            if (auto self = weak.lock()) {
                self->on_delivery(ec);
            }
        };
        if (state_.log.enabled(core::LogLevel::trace) && record.topic == core::kInboundTopic) {
            state_.log.trace("webhook message",
                             {{"channel", channel_name}, {"value", record.value}});
        }
        const boost::system::error_code queued = state_.producer.produce(record, on_delivery);
        if (queued) {
            state_.log.warn(
                "webhook record not queued",
                {{"channel", channel_name}, {"topic", record.topic}, {"error", queued.message()}});
            fail("the message could not be queued for Kafka");
            return;
        }
    }
    state_.log.debug("webhook records queued",
                     {{"channel", channel_name}, {"records", records.size()}, {"new", fresh}});
}

void WebhookJob::on_delivery(const boost::system::error_code& ec) {
    std::unique_lock lock(mutex_);
    if (finished_) {
        return;
    }
    if (ec) {
        lock.unlock();
        state_.log.warn("webhook record not acknowledged by Kafka",
                        {{"channel", channel()}, {"error", ec.message()}});
        // Forgetting the marks waits on the store: not on librdkafka's thread.
        boost::asio::post(*state_.webhook_pool, [self = shared_from_this()] {
            self->fail("Kafka did not acknowledge the message");
        });
        return;
    }
    if (--pending_ > 0) {
        return;
    }
    finished_ = true;
    WebhookAnswer answer{std::move(success_), 0};
    const std::size_t accepted = accepted_;
    lock.unlock();

    if (accepted > 0) {
        state_.metrics.add(kMessagesAccepted, channel_label(channel()), accepted);
    }
    answer_once(std::move(answer));
}

void WebhookJob::time_out() {
    std::vector<std::string> marks;
    std::size_t messages = 0;
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            return;
        }
        finished_ = true;
        marks.swap(marked_);
        messages = messages_;
    }
    state_.metrics.add(kMessagesRejected, reason_labels(channel(), "unavailable"), messages);
    state_.log.warn(
        "webhook timed out; answered 503",
        {{"channel", channel()}, {"timeout_ms", state_.options.webhook_timeout.count()}});
    WebhookAnswer answer = unavailable_answer("the message could not be accepted in time; retry\n",
                                              kFailureRetryAfterS);
    if (marks.empty()) {
        answer_once(std::move(answer));
        return;
    }
    // The marks go before the answer, or the provider's quick retry would be taken as a duplicate.
    boost::asio::post(*state_.webhook_pool, [self = shared_from_this(), marks = std::move(marks),
                                             answer = std::move(answer)]() mutable {
        for (const std::string& key : marks) {
            (void)self->state_.context.store->forget_seen(key);
        }
        self->answer_once(std::move(answer));
    });
}

void WebhookJob::answer_once(WebhookAnswer answer) {
    // Released once used: the callback may hold the HTTP session, which holds this job.
    Respond respond = std::move(respond_);
    respond_ = nullptr;
    respond(std::move(answer));
}

bool WebhookJob::finish(WebhookAnswer answer) {
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            return false;
        }
        finished_ = true;
    }
    answer_once(std::move(answer));
    return true;
}

void WebhookJob::fail(std::string_view reason) {
    std::vector<std::string> marks;
    std::size_t messages = 0;
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            return;
        }
        finished_ = true;
        marks.swap(marked_);
        messages = messages_;
    }
    for (const std::string& key : marks) {
        if (auto forgot = state_.context.store->forget_seen(key); !forgot) {
            // TODO(teller): a mark that cannot be forgotten makes the provider's retry look like
            // a duplicate for webhook_dedupe_ttl: that message is lost unless the store recovers.
            state_.log.error("seen mark not forgotten; the provider's retry will be dropped",
                             {{"channel", channel()}, {"error", forgot.error().message()}});
        }
    }
    state_.metrics.add(kMessagesRejected, reason_labels(channel(), "unavailable"), messages);
    state_.log.warn("webhook answered 503", {{"channel", channel()}, {"reason", reason}});
    answer_once(unavailable_answer(std::string(reason) + "; retry later\n", kFailureRetryAfterS));
}

}  // namespace teller::channels::detail
