// The one shape of a teller.dlq record, for every component that gives up on a record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "teller/core/bus.hpp"

namespace teller::core {

/// Why a record is dead-lettered.
struct DeadLetterReason {
    std::string reason;         ///< for people: "invalid inbound message: malformed JSON"
    std::string error;          ///< the error's name or message
    int error_code = 0;         ///< its numeric code (0 when there is none)
    std::string header;         ///< the record's `reason` header; `reason` when empty
    boost::json::object extra;  ///< fields of the component's own (channel, provider_status...)
};

/// A record for `dlq_topic`, keyed like `source` (or by `key` when given), whose JSON value holds
/// the reason, the error, `source` {topic, partition, offset, key}, the original bytes in
/// `value_base64`, `at` (RFC 3339 of `at_ms`) and the extra fields. Thread-safe.
Record dead_letter(std::string_view dlq_topic, const Record& source, DeadLetterReason why,
                   std::int64_t at_ms, std::string_view key = {});

}  // namespace teller::core
