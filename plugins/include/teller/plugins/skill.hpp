// Helpers for skills written in C++: C strings across the ABI and handlers that never throw.
#pragma once

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "teller/plugins/skill_api.h"

namespace teller::plugins {

/// Copies `text` into a malloc'd C string; release it with free_c_string. NULL when out of
/// memory. Thread-safe.
inline char* copy_c_string(std::string_view text) noexcept {
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (out != nullptr) {
        std::memcpy(out, text.data(), text.size());
        out[text.size()] = '\0';
    }
    return out;
}

/// Releases a string from copy_c_string; the function a skill puts in its `free_string`.
inline void free_c_string(char* text) noexcept {
    std::free(text);
}

/// Parses `request_json`, runs `handler(const boost::json::object&) -> boost::json::value`
/// and returns its serialised result. Anything that goes wrong (unparsable request, an
/// exception in `handler`) becomes NULL, which the host reports as a failed action, so no
/// exception ever crosses the C ABI. Thread-safe when `handler` is.
template <class Handler>
char* guarded_handle(const char* request_json, Handler&& handler) noexcept {
    try {
        if (request_json == nullptr) {
            return nullptr;
        }
        boost::system::error_code ec;
        boost::json::value request = boost::json::parse(request_json, ec);
        if (ec || !request.is_object()) {
            return nullptr;
        }
        boost::json::value response = handler(request.as_object());
        return copy_c_string(boost::json::serialize(response));
    } catch (...) {
        return nullptr;
    }
}

/// Calls the host's backend: parsed JSON result, or null when the call failed. Thread-safe.
inline boost::json::value call_backend(const teller_host_v1* host, const char* operation,
                                       const boost::json::object& args) {
    if (host == nullptr || host->backend_call == nullptr) {
        return nullptr;
    }
    std::string text = boost::json::serialize(args);
    char* raw = host->backend_call(host->host, operation, text.c_str());
    if (raw == nullptr) {
        return nullptr;
    }
    boost::system::error_code ec;
    boost::json::value result = boost::json::parse(raw, ec);
    host->free_string(raw);
    return ec ? boost::json::value(nullptr) : result;
}

}  // namespace teller::plugins
