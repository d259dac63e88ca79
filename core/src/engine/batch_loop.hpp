// How the engine and the relays end a consumed batch and keep polling (private).
#pragma once

#include <cstddef>
#include <functional>
#include <stop_token>
#include <string_view>
#include <vector>

#include "teller/core/bus.hpp"
#include "teller/core/error.hpp"
#include "teller/core/log.hpp"

namespace teller::core::detail {

/// Ends a batch: `to_retry` is rewound, so the next poll reads it again (a failed rewind is
/// logged and those records wait for a restart or a rebalance), then `to_commit` is committed.
/// Returns how many records were committed, or the commit's error. `what` names the records
/// in log lines ("records", "notifications", ...). Not thread-safe (the consumer is not).
Result<std::size_t> settle_batch(Consumer& consumer, const std::vector<Record>& to_commit,
                                 const std::vector<Record>& to_retry, const Logger& log,
                                 std::string_view what);

/// The outcome of a settled batch of `records`, `committed` of them committed: Errc::timeout
/// when some acknowledgement never came (logged), else `batch_error` (delivery_failed when
/// none was recorded) when records stayed uncommitted, else success.
boost::system::error_code batch_verdict(bool all_acked, std::size_t records, std::size_t committed,
                                        boost::system::error_code batch_error, const Logger& log);

/// Calls `poll_once` until `stop` is requested. After a failed batch (logged with `what`) it
/// waits 50 ms, doubling up to 2 s while failures continue, so a broker or store outage is not
/// hammered.
void poll_until_stopped(std::stop_token stop, const Logger& log, std::string_view what,
                        const std::function<boost::system::error_code()>& poll_once);

}  // namespace teller::core::detail
