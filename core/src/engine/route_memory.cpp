// Where each customer was last reached: written after every saved turn, read by notifications.
#include "engine/route_memory.hpp"

#include <boost/json.hpp>

#include "teller/core/log.hpp"

namespace teller::core::detail {
namespace json = boost::json;
namespace {

const Logger& route_log() {
    static const Logger log("engine");
    return log;
}

// The string member `name` of `o`, or "" when absent or not a string.
std::string string_member(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string customer_key(const InboundMessage& in) {
    if (const json::value* id = in.metadata.if_contains("customer_id");
        id && id->is_string() && !id->get_string().empty()) {
        return std::string(id->get_string());
    }
    return in.conversation;
}

std::string route_key(std::string_view customer) {
    std::string key = "route:";
    key.append(customer);
    return key;
}

std::string to_json(const CustomerRoute& route) {
    json::object o{{"v", kSchemaVersion},        {"conversation", route.conversation},
                   {"channel", route.channel},   {"recipient", route.recipient},
                   {"reply_to", route.reply_to}, {"locale", route.locale},
                   {"at_ms", route.at_ms}};
    return json::serialize(o);
}

std::optional<CustomerRoute> parse_route(std::string_view text) {
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        return std::nullopt;
    }
    const json::object& o = parsed.get_object();
    const json::value* v = o.if_contains("v");
    if (!v || !v->is_int64() || v->get_int64() != kSchemaVersion) {
        return std::nullopt;
    }
    CustomerRoute route;
    route.conversation = string_member(o, "conversation");
    route.channel = string_member(o, "channel");
    route.recipient = string_member(o, "recipient");
    route.reply_to = string_member(o, "reply_to");
    route.locale = string_member(o, "locale");
    if (const json::value* at = o.if_contains("at_ms"); at && at->is_int64()) {
        route.at_ms = at->get_int64();
    }
    if (route.conversation.empty() || route.channel.empty()) {
        return std::nullopt;
    }
    return route;
}

void remember_route(SessionStore& store, const InboundMessage& in,
                    const std::vector<OutboundMessage>& replies, std::int64_t now_ms) {
    CustomerRoute route{in.conversation,
                        in.channel,
                        in.sender,
                        in.reply_to,
                        replies.empty() ? in.locale : replies.front().locale,
                        now_ms};
    // TODO(teller): the route is written on every turn, one unpipelined store round trip per
    // turn even when nothing changed; a batched or change-only write would save it.
    auto stored = store.put_value(route_key(customer_key(in)), to_json(route), kRouteTtl);
    if (!stored) {
        route_log().warn("customer route not recorded; notifications may miss this channel",
                         {{"conversation", in.conversation},
                          {"channel", in.channel},
                          {"error", stored.error().message()}});
    }
}

Result<std::optional<CustomerRoute>> find_route(SessionStore& store, std::string_view customer) {
    auto value = store.get_value(route_key(customer));
    if (!value) {
        return value.error();
    }
    if (!*value) {
        return std::optional<CustomerRoute>();
    }
    auto route = parse_route(**value);
    if (!route) {
        route_log().warn("unreadable customer route ignored", {{"customer", customer}});
    }
    return route;
}

}  // namespace teller::core::detail
