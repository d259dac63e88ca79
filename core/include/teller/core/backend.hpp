// The bank backend as skills see it: named operations with JSON arguments and JSON results.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "teller/core/error.hpp"

namespace teller::core {

/// Account and card operations of the bank. Business outcomes ("no such card") are JSON
/// results with an `"error"` member; the Result's error is for failures to reach the bank.
/// Implementations are thread-safe: skills call them from worker threads.
class Backend {
public:
    virtual ~Backend() = default;

    /// Runs `operation` with `args`. Errors: `boost::system::errc::operation_not_supported`
    /// for an unknown operation, Errc::missing_field for arguments of the wrong shape,
    /// Errc::timeout / Errc::broker_unavailable from remote adapters.
    virtual Result<boost::json::value> call(std::string_view operation,
                                            const boost::json::object& args) = 0;
};

/// The demo bank for the embedded run, loaded from a JSON file such as `deploy/demo-bank.json`:
/// `{ "default_customer": "c1", "customers": [ { "id": "c1", "name": "...", "senders": [...],
///    "accounts": [ { "id", "name", "balance": "1234.50", "currency": "USD" } ],
///    "cards": [ { "id", "last4": "1234", "product": "...", "status": "active" } ] } ] }`.
/// Card status is "active", "inactive" or "blocked"; changes live in memory only.
/// Operations (args always carry `"customer"`, a customer id or a channel sender; unknown
/// customers are served the default customer):
///  - `cards.list` -> `{ "cards": [ {...} ] }`
///  - `cards.block` `{ "last4" }` -> `{ "card": {...} }` or `{ "error": "card_not_found" }`
///  - `cards.activate` `{ "last4" }` -> `{ "card": {...} }` or `{ "error": "card_not_found" |
///    "card_blocked" }`
///  - `accounts.balance` -> `{ "accounts": [ {...} ] }`
/// Throws core::Error when the file is missing or not valid demo data.
// TODO(teller): there is no HTTP/JSON adapter for a real core-banking API yet, so every
// deployment answers from the demo data file.
std::unique_ptr<Backend> make_demo_backend(const std::string& path);

/// The same demo bank built from JSON text; throws core::Error when it is not valid demo data.
std::unique_ptr<Backend> make_demo_backend_from_json(std::string_view json);

}  // namespace teller::core
