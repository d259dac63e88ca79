// Where each customer was last reached, so proactive messages (CRM notifications) can follow.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/error.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

namespace teller::core::detail {

/// How long a customer's last route is remembered after their last turn.
inline constexpr std::chrono::seconds kRouteTtl = std::chrono::hours(24 * 30);

/// The channel a customer last wrote from, as stored under `route:<customer key>`.
struct CustomerRoute {
    std::string conversation;
    std::string channel;
    std::string recipient;
    std::string reply_to;  ///< gateway instance that held the customer's connection
    std::string locale;    ///< the locale the engine last answered in
    std::int64_t at_ms = 0;
};

/// The key a customer's route is stored under: the gateway-verified `metadata.customer_id`
/// (only the web chat sets it, from a signed token), else the conversation id.
std::string customer_key(const InboundMessage& in);

/// The session-store value key of `customer`'s route: "route:<customer>".
std::string route_key(std::string_view customer);

/// JSON (`"v": 1`) of a route, and back; nullopt when `json` is not such a route.
std::string to_json(const CustomerRoute& route);
std::optional<CustomerRoute> parse_route(std::string_view json);

/// Records, after a saved turn, where the customer of `in` was reached: its channel, sender,
/// gateway and the locale of `replies` (the inbound's hint when there are none), for
/// kRouteTtl. A store error is logged at WARN and otherwise ignored: the turn stands. Thread-safe
/// as the store is.
void remember_route(SessionStore& store, const InboundMessage& in,
                    const std::vector<OutboundMessage>& replies, std::int64_t now_ms);

/// The route stored for `customer`: nullopt when none is known (or it is unreadable).
/// Errors: the store's (store_unavailable, store_protocol).
Result<std::optional<CustomerRoute>> find_route(SessionStore& store, std::string_view customer);

}  // namespace teller::core::detail
