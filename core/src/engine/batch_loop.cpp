// The end of a consumed batch and the polling loop shared by the engine and the relays.
#include "engine/batch_loop.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

namespace teller::core::detail {

Result<std::size_t> settle_batch(Consumer& consumer, const std::vector<Record>& to_commit,
                                 const std::vector<Record>& to_retry, const Logger& log,
                                 std::string_view what) {
    if (!to_retry.empty()) {
        if (auto ec = consumer.rewind(to_retry)) {
            log.warn("rewind failed; " + std::string(what) + " wait for a restart or rebalance",
                     {{"records", to_retry.size()}, {"error", ec.message()}});
        }
    }
    if (to_commit.empty()) {
        return std::size_t{0};
    }
    if (auto ec = consumer.commit(to_commit)) {
        log.warn("commit failed", {{"error", ec.message()}});
        return ec;
    }
    return to_commit.size();
}

boost::system::error_code batch_verdict(bool all_acked, std::size_t records, std::size_t committed,
                                        boost::system::error_code batch_error, const Logger& log) {
    if (!all_acked) {
        log.warn("acknowledgements missing; offsets held back",
                 {{"records", records}, {"committed", committed}});
        return make_error_code(Errc::timeout);
    }
    if (committed < records) {
        return batch_error ? batch_error : make_error_code(Errc::delivery_failed);
    }
    return {};
}

void poll_until_stopped(std::stop_token stop, const Logger& log, std::string_view what,
                        const std::function<boost::system::error_code()>& poll_once) {
    constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
    constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);
    auto backoff = kFirstBackoff;
    while (!stop.stop_requested()) {
        boost::system::error_code ec = poll_once();
        if (!ec) {
            backoff = kFirstBackoff;
            continue;
        }
        log.warn(std::string(what) + " not completed", {{"error", ec.message()}});
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
    }
}

}  // namespace teller::core::detail
