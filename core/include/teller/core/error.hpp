// Error codes and the exception base shared by every Teller subsystem.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace teller::core {

/// Expected failures inside Teller. Each is a value (an error_code), never an exception.
enum class Errc {
    ok = 0,
    malformed_json = 1,        ///< the payload is not valid JSON
    invalid_utf8 = 2,          ///< a text field is not valid UTF-8
    unsupported_version = 3,   ///< the event's `v` is not one this build understands
    missing_field = 4,         ///< a required field is absent or has the wrong type
    payload_too_large = 5,     ///< the payload exceeds the configured size limit
    broker_unavailable = 10,   ///< Kafka could not be reached or refused the request
    delivery_failed = 11,      ///< the broker did not acknowledge a produced record
    timeout = 12,              ///< the operation did not finish in time
    service_unavailable = 13,  ///< an HTTP service (bank backend, provider API) failed or refused
    store_unavailable = 20,    ///< the session store (Redis) could not be reached
    store_protocol = 21,       ///< the session store answered something unexpected
    model_missing = 30,        ///< the model file does not exist
    model_corrupt = 31,        ///< the model file cannot be read as a Teller model
    model_mismatch = 32,       ///< the model was trained on other data or another format
    skill_load_failed = 40,    ///< a skill plugin could not be loaded
    skill_failed = 41,         ///< a skill action threw, timed out or returned garbage
    unknown_skill = 42,        ///< no skill with that name is loaded
};

/// The category for Errc ("teller").
const boost::system::error_category& teller_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), teller_category()};
}

template <class T>
using Result = boost::system::result<T>;

/// The one exception base: configuration, start-up and broken invariants only.
/// `retryable()` says whether trying the same thing again later can help.
class Error : public std::runtime_error {
public:
    Error(std::string message, bool retryable = false)
        : std::runtime_error(std::move(message)), retryable_(retryable) {}
    bool retryable() const noexcept { return retryable_; }

private:
    bool retryable_;
};

}  // namespace teller::core

namespace boost::system {
template <>
struct is_error_code_enum<teller::core::Errc> : std::true_type {};
}  // namespace boost::system
