// KafkaProducer: idempotent librdkafka producer with a thread that serves delivery reports.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kafka_detail.hpp"
#include "teller/core/kafka.hpp"

namespace teller::core {
namespace {

// How long the poll thread blocks per round, and so how fast it notices shutdown.
constexpr int kPollIntervalMs = 50;
// After purging, how long the destructor waits for the purged records' handlers.
constexpr std::chrono::milliseconds kPurgeWait{1000};

// Logs a delivery handler that threw; nothing may escape into librdkafka.
void report_handler_failure(const char* what) noexcept {
    try {
        detail::kafka_logger().error("delivery handler threw", {{"what", what}});
    } catch (...) {
        // The log line is lost; the record still counts as settled.
    }
}

}  // namespace

struct KafkaProducer::Impl {
    detail::KafkaHandlePtr rk;
    std::atomic<std::size_t> in_flight{0};
    std::atomic<bool> closing{false};
    std::atomic<bool> stop_polling{false};
    std::mutex mutex;
    std::condition_variable drained;
    std::thread poller;
    std::chrono::milliseconds close_timeout;

    // Runs `handler` for one report, then counts the record as settled.
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);

    // Counts one record as settled and wakes flush() when none are left.
    void settle() noexcept;

    // Waits until in_flight is zero or `timeout` passes; true when drained.
    bool wait_drained(std::chrono::milliseconds timeout);
};

void KafkaProducer::Impl::on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                                      void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    std::unique_ptr<DeliveryHandler> handler(static_cast<DeliveryHandler*>(message->_private));
    const boost::system::error_code ec = detail::to_error_code(message->err);

    try {
        if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            detail::kafka_logger().warn(
                "delivery failed",
                {{"topic", message->rkt != nullptr ? rd_kafka_topic_name(message->rkt) : ""},
                 {"partition", message->partition},
                 {"error", rd_kafka_err2name(message->err)}});
        }
        if (handler && *handler) {
            (*handler)(ec);
        }
    } catch (const std::exception& e) {
        report_handler_failure(e.what());
    } catch (...) {
        report_handler_failure("not a std::exception");
    }

    // Settle after the handler so that a drained producer means every handler has run.
    self->settle();
}

void KafkaProducer::Impl::settle() noexcept {
    if (in_flight.fetch_sub(1) == 1) {
        try {
            std::lock_guard lock(mutex);
            drained.notify_all();
        } catch (...) {
            // A failed lock only delays a waiter until its own timeout.
        }
    }
}

bool KafkaProducer::Impl::wait_drained(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return drained.wait_for(lock, timeout, [this] { return in_flight.load() == 0; });
}

KafkaProducer::KafkaProducer(const KafkaConfig& config) : impl_(std::make_unique<Impl>()) {
    impl_->close_timeout = config.close_timeout;

    detail::KafkaConfPtr conf = detail::make_conf(
        config, {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"}});
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &Impl::on_delivery);
    rd_kafka_conf_set_opaque(conf.get(), impl_.get());
    impl_->rk = detail::make_handle(RD_KAFKA_PRODUCER, std::move(conf));

    // Delivery reports, errors and statistics are all served from this one thread.
    impl_->poller = std::thread([impl = impl_.get()] {
        while (!impl->stop_polling.load()) {
            rd_kafka_poll(impl->rk.get(), kPollIntervalMs);
        }
    });
    detail::kafka_logger().info("producer started", {{"client", rd_kafka_name(impl_->rk.get())},
                                                     {"brokers", config.brokers}});
}

KafkaProducer::~KafkaProducer() {
    impl_->closing.store(true);
    const char* client = rd_kafka_name(impl_->rk.get());

    // Give the broker a bounded time to acknowledge what is queued, then give up on the rest.
    if (!impl_->wait_drained(impl_->close_timeout)) {
        detail::kafka_logger().warn("closing with records not delivered",
                                    {{"client", client},
                                     {"undelivered", impl_->in_flight.load()},
                                     {"waited_ms", impl_->close_timeout.count()}});
        rd_kafka_purge(impl_->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        if (!impl_->wait_drained(kPurgeWait)) {
            // TODO(teller): handlers of records librdkafka never reports back are leaked and
            // never run; only a broken librdkafka should get here.
            detail::kafka_logger().error("records left without a delivery report",
                                         {{"client", client}, {"count", impl_->in_flight.load()}});
        }
    }

    impl_->stop_polling.store(true);
    impl_->poller.join();
    detail::kafka_logger().info("producer closed", {{"client", client}});
}

boost::system::error_code KafkaProducer::produce(const Record& record,
                                                 DeliveryHandler on_delivery) {
    if (impl_->closing.load()) {
        return make_error_code(Errc::broker_unavailable);
    }

    // Headers belong to librdkafka once the record is queued, to us until then.
    rd_kafka_headers_t* headers = nullptr;
    if (!record.headers.empty()) {
        headers = rd_kafka_headers_new(record.headers.size());
        for (const Header& h : record.headers) {
            rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                                h.value.data(), static_cast<ssize_t>(h.value.size()));
        }
    }
    auto handler = on_delivery ? std::make_unique<DeliveryHandler>(std::move(on_delivery))
                               : std::unique_ptr<DeliveryHandler>();

    // Every field is optional in rd_kafka_produceva; an empty key is sent as a null key.
    std::vector<rd_kafka_vu_t> fields;
    fields.reserve(8);
    auto add = [&fields](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
        fields.emplace_back();
        fields.back().vtype = type;
        return fields.back();
    };
    add(RD_KAFKA_VTYPE_TOPIC).u.cstr = record.topic.c_str();
    add(RD_KAFKA_VTYPE_PARTITION).u.i32 =
        record.partition >= 0 ? record.partition : RD_KAFKA_PARTITION_UA;
    add(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
    if (!record.key.empty()) {
        rd_kafka_vu_t& key = add(RD_KAFKA_VTYPE_KEY);
        key.u.mem.ptr = const_cast<char*>(record.key.data());
        key.u.mem.size = record.key.size();
    }
    rd_kafka_vu_t& value = add(RD_KAFKA_VTYPE_VALUE);
    value.u.mem.ptr = const_cast<char*>(record.value.data());
    value.u.mem.size = record.value.size();
    if (headers != nullptr) {
        add(RD_KAFKA_VTYPE_HEADERS).u.headers = headers;
    }
    add(RD_KAFKA_VTYPE_TIMESTAMP).u.i64 = record.timestamp_ms;
    add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = handler.get();

    // Count before queueing: the report may arrive before produceva returns.
    impl_->in_flight.fetch_add(1);
    rd_kafka_error_t* error = rd_kafka_produceva(impl_->rk.get(), fields.data(), fields.size());
    if (error == nullptr) {
        handler.release();
        return {};
    }

    const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    if (headers != nullptr) {
        rd_kafka_headers_destroy(headers);
    }
    impl_->settle();
    detail::kafka_logger().debug("record not queued",
                                 {{"topic", record.topic}, {"error", rd_kafka_err2name(code)}});
    return detail::to_error_code(code);
}

boost::system::error_code KafkaProducer::flush(std::chrono::milliseconds timeout) {
    if (std::this_thread::get_id() == impl_->poller.get_id()) {
        return make_error_code(Errc::timeout);
    }
    if (!impl_->wait_drained(timeout)) {
        return make_error_code(Errc::timeout);
    }
    return {};
}

std::size_t KafkaProducer::in_flight() const {
    return impl_->in_flight.load();
}

}  // namespace teller::core
