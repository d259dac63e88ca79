// ProviderDelivery: teller.outbound to provider APIs, in conversation order, failures to the DLQ.
#include "teller/channels/provider_delivery.hpp"

#include <condition_variable>
#include <mutex>

#include <boost/json.hpp>

#include "teller/core/dead_letter.hpp"
#include "teller/core/error.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace json = boost::json;
namespace {

const core::Logger& delivery_log() {
    static const core::Logger log("delivery");
    return log;
}

// Counts the broker's acknowledgements of one batch's error events and DLQ records.
class Acks : public std::enable_shared_from_this<Acks> {
public:
    core::DeliveryHandler expect() {
        std::lock_guard lock(mutex_);
        ++outstanding_;
        return [self = shared_from_this()](const boost::system::error_code& ec) {
            std::lock_guard lock(self->mutex_);
            --self->outstanding_;
            if (ec) {
                self->error_ = ec;
            }
            self->done_.notify_all();
        };
    }

    void not_queued(const boost::system::error_code& ec) {
        std::lock_guard lock(mutex_);
        error_ = ec;
    }

    // Waits until every record is acknowledged or `timeout` passes; the first error, if any.
    boost::system::error_code wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!done_.wait_for(lock, timeout, [this] { return outstanding_ == 0; })) {
            return make_error_code(core::Errc::timeout);
        }
        return error_;
    }

private:
    std::mutex mutex_;
    std::condition_variable done_;
    std::size_t outstanding_ = 0;
    boost::system::error_code error_;
};

}  // namespace

std::string delivery_key(const core::OutboundMessage& message, const core::Record& record) {
    std::string key = "delivered:";
    key.append(message.channel).append(":").append(message.conversation).append(":");
    if (message.in_reply_to.empty()) {
        key.append("@").append(std::to_string(record.partition)).append(".");
        key.append(std::to_string(record.offset));
    } else {
        key.append(message.in_reply_to);
    }
    key.append(":").append(std::to_string(message.sequence));
    return key;
}

ProviderDelivery::ProviderDelivery(core::Consumer& consumer, core::Producer& producer,
                                   core::SessionStore* store, ProviderDeliveryOptions options)
    : consumer_(consumer), producer_(producer), store_(store), options_(std::move(options)) {
    if (options_.workers == 0) {
        options_.workers = 1;
    }
    if (options_.max_batch == 0) {
        options_.max_batch = 1;
    }
}

ProviderDelivery::~ProviderDelivery() {
    stop();
}

void ProviderDelivery::add_channel(ChannelAdapter& adapter, ProviderClient& client) {
    std::string name(adapter.channel());
    if (running_) {
        throw core::Error("provider delivery: channel " + name + " added after start");
    }
    if (name == "webchat" || name.empty()) {
        throw core::Error("provider delivery: \"" + name + "\" is not a provider channel");
    }
    if (!routes_.emplace(name, Route{&adapter, &client}).second) {
        throw core::Error("provider delivery: channel " + name + " registered twice");
    }
}

std::vector<std::string> ProviderDelivery::channels() const {
    std::vector<std::string> names;
    for (const auto& [name, route] : routes_) {
        names.push_back(name);
    }
    return names;
}

void ProviderDelivery::start() {
    if (running_.exchange(true)) {
        throw core::Error("provider delivery already running");
    }
    thread_ = std::thread([this] { run(); });
    std::string names;
    for (const auto& [name, route] : routes_) {
        names += (names.empty() ? "" : ",") + name;
    }
    delivery_log().info("provider delivery started",
                        {{"channels", names}, {"workers", options_.workers}});
}

void ProviderDelivery::stop() {
    running_ = false;
    if (thread_.joinable()) {
        thread_.join();
    }
}

ProviderDeliveryStats ProviderDelivery::stats() const {
    ProviderDeliveryStats s;
    s.records = records_.load(std::memory_order_relaxed);
    s.delivered = delivered_.load(std::memory_order_relaxed);
    s.duplicates = duplicates_.load(std::memory_order_relaxed);
    s.suppressed = suppressed_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.skipped = skipped_.load(std::memory_order_relaxed);
    s.commits = commits_.load(std::memory_order_relaxed);
    s.retried_batches = retried_batches_.load(std::memory_order_relaxed);
    return s;
}

std::int64_t ProviderDelivery::now_ms() const {
    if (options_.clock) {
        return options_.clock();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void ProviderDelivery::run() {
    while (running_) {
        try {
            auto handled = poll_once(options_.poll_timeout);
            if (!handled) {
                std::this_thread::sleep_for(options_.error_backoff);
            }
        } catch (const std::exception& e) {
            // Nothing a record holds may end the loop; a throwing consumer is retried.
            delivery_log().error("delivery batch failed", {{"error", e.what()}});
            std::this_thread::sleep_for(options_.error_backoff);
        }
    }
}

ProviderDelivery::Outcome ProviderDelivery::deliver_one(const core::Record& record,
                                                        const core::OutboundMessage& message,
                                                        const Route& route,
                                                        DeliveryReport& report) {
    const std::string key = delivery_key(message, record);

    // Already delivered by an earlier poll of this record (or by another instance)?
    if (store_ != nullptr) {
        auto seen = store_->get_value(key);
        if (!seen) {
            delivery_log().warn("delivery dedupe check failed; delivering anyway",
                                {{"conversation", message.conversation},
                                 {"channel", message.channel},
                                 {"error", seen.error().message()}});
        } else if (seen->has_value()) {
            delivery_log().debug("reply already delivered", {{"conversation", message.conversation},
                                                             {"channel", message.channel},
                                                             {"offset", record.offset}});
            return Outcome::duplicate;
        }
    }

    auto start = std::chrono::steady_clock::now();
    try {
        report = route.adapter->deliver(message, *route.client);
    } catch (const std::exception& e) {
        report = DeliveryReport{};
        report.reason = std::string("adapter threw: ") + e.what();
    }
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - start)
                       .count();
    if (report.suppressed) {
        delivery_log().info("reply suppressed by the channel",
                            {{"conversation", message.conversation},
                             {"channel", message.channel},
                             {"reason", report.reason}});
        return Outcome::suppressed;
    }
    if (!report.delivered) {
        if (report.reason.empty()) {
            report.reason = "the provider did not accept the reply";
        }
        return Outcome::failed;
    }

    // Remember it only now: a crash before this line means one more delivery, never none.
    if (store_ != nullptr) {
        auto stored = store_->put_value(key, "1", options_.dedupe_ttl);
        if (!stored) {
            delivery_log().warn("delivered reply not remembered; a redelivery would repeat it",
                                {{"conversation", message.conversation},
                                 {"channel", message.channel},
                                 {"error", stored.error().message()}});
        }
    }
    delivery_log().debug("reply delivered", {{"conversation", message.conversation},
                                             {"channel", message.channel},
                                             {"provider_status", report.provider_status},
                                             {"latency_ms", latency}});
    return Outcome::delivered;
}

core::Result<std::size_t> ProviderDelivery::poll_once(std::chrono::milliseconds timeout) {
    std::vector<core::Record> records = consumer_.poll(options_.max_batch, timeout);
    if (records.empty()) {
        return std::size_t{0};
    }
    records_ += records.size();

    // Parse, keep our channels, and give each conversation to one worker.
    std::vector<core::OutboundMessage> messages(records.size());
    std::vector<const Route*> routes(records.size(), nullptr);
    std::vector<std::vector<std::size_t>> lanes(options_.workers);
    for (std::size_t i = 0; i < records.size(); ++i) {
        auto parsed = core::parse_outbound(records[i].value);
        if (!parsed) {
            delivery_log().warn("unreadable outbound record skipped",
                                {{"topic", records[i].topic},
                                 {"partition", records[i].partition},
                                 {"offset", records[i].offset},
                                 {"error", parsed.error().message()}});
            ++skipped_;
            continue;
        }
        auto route = routes_.find(parsed->channel);
        if (route == routes_.end()) {
            if (parsed->channel != "webchat") {
                delivery_log().warn("reply for a channel not configured here skipped",
                                    {{"channel", parsed->channel},
                                     {"conversation", parsed->conversation},
                                     {"offset", records[i].offset}});
            }
            ++skipped_;
            continue;
        }
        messages[i] = std::move(*parsed);
        routes[i] = &route->second;
        lanes[std::hash<std::string>{}(messages[i].conversation) % lanes.size()].push_back(i);
    }

    // Deliver, each lane in order; lanes in parallel.
    // TODO(teller): the next batch waits for this batch's slowest lane, so one provider retrying
    // (backoff up to its cap, several attempts) delays every other conversation's replies, and
    // stop() waits for it too; per-lane queues that commit per partition would not.
    std::vector<Outcome> outcomes(records.size(), Outcome::skipped);
    std::vector<DeliveryReport> reports(records.size());
    auto run_lane = [&](const std::vector<std::size_t>& lane) {
        for (std::size_t i : lane) {
            outcomes[i] = deliver_one(records[i], messages[i], *routes[i], reports[i]);
        }
    };
    std::vector<std::thread> threads;
    const std::vector<std::size_t>* inline_lane = nullptr;
    for (const auto& lane : lanes) {
        if (lane.empty()) {
            continue;
        }
        if (inline_lane == nullptr) {
            inline_lane = &lane;
        } else {
            threads.emplace_back(run_lane, std::cref(lane));
        }
    }
    if (inline_lane != nullptr) {
        run_lane(*inline_lane);
    }
    for (std::thread& t : threads) {
        t.join();
    }

    // Failures become an error event and a DLQ record.
    auto acks = std::make_shared<Acks>();
    auto produce = [&](core::Record out) {
        if (auto ec = producer_.produce(out, acks->expect()); ec) {
            acks->not_queued(ec);
        }
    };
    bool produced = false;
    for (std::size_t i = 0; i < records.size(); ++i) {
        switch (outcomes[i]) {
            case Outcome::delivered:
                ++delivered_;
                continue;
            case Outcome::duplicate:
                ++duplicates_;
                continue;
            case Outcome::suppressed:
                ++suppressed_;
                continue;
            case Outcome::skipped:
                continue;
            case Outcome::failed:
                break;
        }
        ++failed_;
        produced = true;
        const core::Record& record = records[i];
        const core::OutboundMessage& m = messages[i];
        const DeliveryReport& report = reports[i];
        const std::string reason = core::mask_personal_data(report.reason);
        delivery_log().error("reply not delivered; sent to the DLQ",
                             {{"conversation", m.conversation},
                              {"channel", m.channel},
                              {"provider_status", report.provider_status},
                              {"reason", reason},
                              {"partition", record.partition},
                              {"offset", record.offset}});

        core::DialogueEvent event;
        event.type = core::DialogueEventType::error;
        event.conversation = m.conversation;
        event.in_reply_to = m.in_reply_to;
        event.at_ms = now_ms();
        event.trace_id = m.trace_id;
        event.data = {{"stage", "delivery"},
                      {"channel", m.channel},
                      {"reason", reason},
                      {"provider_status", report.provider_status}};
        core::Record event_record{options_.events_topic, m.conversation, core::to_json(event), {}};
        event_record.headers.push_back({"schema", "teller.events.v1"});
        if (!m.trace_id.empty()) {
            event_record.headers.push_back({"trace_id", m.trace_id});
        }
        produce(std::move(event_record));

        produce(core::dead_letter(options_.dlq_topic, record,
                                  {"delivery failed: " + reason,
                                   "delivery_failed",
                                   0,
                                   "delivery failed",
                                   {{"channel", m.channel},
                                    {"conversation", m.conversation},
                                    {"provider_status", report.provider_status}}},
                                  now_ms(), m.conversation));
    }

    // Commit once the failures are on record; otherwise read the batch again.
    if (produced) {
        if (auto ec = acks->wait(options_.ack_timeout); ec) {
            delivery_log().error("error events or DLQ records not acknowledged; batch rewound",
                                 {{"error", ec.message()}, {"records", records.size()}});
            ++retried_batches_;
            (void)consumer_.rewind(records);
            return ec;
        }
    }
    if (auto ec = consumer_.commit(records); ec) {
        delivery_log().warn("commit failed; the batch may be delivered again (deduplicated)",
                            {{"error", ec.message()}, {"records", records.size()}});
        return ec;
    }
    ++commits_;
    return records.size();
}

}  // namespace teller::channels
