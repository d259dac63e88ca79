// Consumes replies from teller.outbound and hands those meant for this gateway to its sockets.
#include "teller/channels/outbound_dispatcher.hpp"

#include <exception>

#include "teller/core/error.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"

namespace teller::channels {
namespace {

const core::Logger& logger() {
    static const core::Logger log("gateway");
    return log;
}

}  // namespace

OutboundDispatcher::OutboundDispatcher(core::Consumer& consumer, Gateway& gateway,
                                       OutboundDispatcherOptions options)
    : consumer_(consumer), gateway_(gateway), options_(options) {}

OutboundDispatcher::~OutboundDispatcher() {
    stop();
}

void OutboundDispatcher::start() {
    if (thread_.joinable()) {
        throw core::Error("outbound dispatcher: already running");
    }
    running_ = true;
    thread_ = std::thread([this] { run(); });
    logger().info("outbound dispatcher started", {{"instance", gateway_.instance_id()}});
}

void OutboundDispatcher::stop() {
    running_ = false;
    if (thread_.joinable()) {
        thread_.join();
        logger().info("outbound dispatcher stopped", {{"instance", gateway_.instance_id()}});
    }
}

OutboundDispatcherStats OutboundDispatcher::stats() const {
    OutboundDispatcherStats s;
    s.records = records_.load(std::memory_order_relaxed);
    s.delivered = delivered_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.skipped = skipped_.load(std::memory_order_relaxed);
    s.malformed = malformed_.load(std::memory_order_relaxed);
    s.commits = commits_.load(std::memory_order_relaxed);
    s.commit_errors = commit_errors_.load(std::memory_order_relaxed);
    return s;
}

void OutboundDispatcher::run() {
    while (running_.load()) {
        try {
            std::vector<core::Record> records =
                consumer_.poll(options_.max_batch, options_.poll_timeout);
            if (records.empty()) {
                continue;
            }
            records_ += records.size();
            handle_batch(records);

            // Delivery to a socket is fire-and-forget, so the batch is done once handed over.
            if (const auto ec = consumer_.commit(records); ec) {
                ++commit_errors_;
                logger().warn("outbound commit failed",
                              {{"records", records.size()}, {"error", ec.message()}});
            } else {
                ++commits_;
            }
        } catch (const std::exception& e) {
            logger().warn("outbound poll failed", {{"error", e.what()}});
            std::this_thread::sleep_for(options_.error_backoff);
        }
    }
}

void OutboundDispatcher::handle_batch(const std::vector<core::Record>& records) {
    const std::string& me = gateway_.instance_id();
    for (const core::Record& record : records) {
        auto parsed = core::parse_outbound(record.value);
        if (!parsed) {
            ++malformed_;
            logger().warn("outbound record skipped: not an OutboundMessage",
                          {{"topic", record.topic},
                           {"partition", record.partition},
                           {"offset", record.offset},
                           {"error", parsed.error().message()}});
            continue;
        }
        const core::OutboundMessage& message = *parsed;

        // Only web chat replies that belong here.
        // TODO(teller): other channels' replies (SMS, Telegram, ...) are skipped until their
        // adapters deliver through provider APIs from this loop.
        const bool webchat = message.channel == "webchat" || message.channel.empty();
        const bool ours = message.reply_to == me ||
                          (message.reply_to.empty() && gateway_.is_connected(message.conversation));
        if (!webchat || !ours) {
            ++skipped_;
            continue;
        }
        if (gateway_.deliver(message)) {
            ++delivered_;
        } else {
            ++dropped_;
        }
    }
}

}  // namespace teller::channels
