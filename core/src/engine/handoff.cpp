// JSON encoding and validation of the human agent desk protocol (teller.handoff, teller.agent).
#include "teller/core/handoff.hpp"

#include <boost/json.hpp>

#include "record_json.hpp"
#include "teller/core/events.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

constexpr std::string_view kHandoffEventTypeNames[] = {
    "queued", "customer_message", "assigned", "agent_message", "closed",
};
constexpr std::string_view kAgentCommandTypeNames[] = {"join", "message", "close"};

using detail::read_string;

// Reads an integer field (milliseconds); absent means 0.
bool read_millis(const json::object& object, std::string_view key, std::int64_t& out) {
    const json::value* v = object.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return true;
    }
    if (v->is_int64()) {
        out = v->as_int64();
        return true;
    }
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        out = static_cast<std::int64_t>(v->as_uint64());
        return true;
    }
    return false;
}

// Reads a bool field; absent means false.
bool read_bool(const json::object& object, std::string_view key, bool& out) {
    const json::value* v = object.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return true;
    }
    if (!v->is_bool()) {
        return false;
    }
    out = v->as_bool();
    return true;
}

// Maps `name` to its enum value through `names`; false for an unknown name.
template <typename Enum, std::size_t N>
bool read_type(const json::object& object, const std::string_view (&names)[N], Enum& out) {
    std::string name;
    if (!read_string(object, "type", name, true)) {
        return false;
    }
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == name) {
            out = static_cast<Enum>(i);
            return true;
        }
    }
    return false;
}

// Adds `value` under `key` unless it is empty, keeping records small.
void put_if(json::object& o, std::string_view key, const std::string& value) {
    if (!value.empty()) {
        o[key] = value;
    }
}

}  // namespace

std::string_view to_string(HandoffEventType type) noexcept {
    return kHandoffEventTypeNames[static_cast<int>(type)];
}

std::string_view to_string(AgentCommandType type) noexcept {
    return kAgentCommandTypeNames[static_cast<int>(type)];
}

std::string to_json(const HandoffEvent& e) {
    json::object o;
    o["v"] = kSchemaVersion;
    o["type"] = to_string(e.type);
    o["id"] = e.id;
    o["conversation"] = e.conversation;
    put_if(o, "channel", e.channel);
    put_if(o, "customer", e.customer);
    o["verified"] = e.verified;
    put_if(o, "locale", e.locale);
    put_if(o, "text", e.text);
    put_if(o, "agent", e.agent);
    put_if(o, "reason", e.reason);
    if (!e.transcript.empty()) {
        json::array lines;
        for (const TranscriptLine& line : e.transcript) {
            lines.push_back(
                json::object{{"from", line.from}, {"text", line.text}, {"at_ms", line.at_ms}});
        }
        o["transcript"] = std::move(lines);
    }
    o["at_ms"] = e.at_ms;
    return json::serialize(o);
}

std::string to_json(const AgentCommand& c) {
    json::object o;
    o["v"] = kSchemaVersion;
    o["type"] = to_string(c.type);
    o["id"] = c.id;
    o["conversation"] = c.conversation;
    o["agent"] = c.agent;
    put_if(o, "text", c.text);
    o["at_ms"] = c.at_ms;
    return json::serialize(o);
}

Result<HandoffEvent> parse_handoff_event(std::string_view text) {
    auto parsed = detail::parse_record_object(text);
    if (!parsed) {
        return parsed.error();
    }
    const json::object& o = *parsed;

    HandoffEvent e;
    bool ok = read_type(o, kHandoffEventTypeNames, e.type) && read_string(o, "id", e.id, true) &&
              read_string(o, "conversation", e.conversation, true) &&
              read_string(o, "channel", e.channel, false) &&
              read_string(o, "customer", e.customer, false) &&
              read_bool(o, "verified", e.verified) && read_string(o, "locale", e.locale, false) &&
              read_string(o, "text", e.text, false) && read_string(o, "agent", e.agent, false) &&
              read_string(o, "reason", e.reason, false) && read_millis(o, "at_ms", e.at_ms);
    if (!ok) {
        return Errc::missing_field;
    }
    if (const json::value* t = o.if_contains("transcript"); t != nullptr && !t->is_null()) {
        if (!t->is_array()) {
            return Errc::missing_field;
        }
        for (const json::value& l : t->as_array()) {
            TranscriptLine line;
            if (!l.is_object() || !read_string(l.as_object(), "from", line.from, true) ||
                !read_string(l.as_object(), "text", line.text, false) ||
                !read_millis(l.as_object(), "at_ms", line.at_ms)) {
                return Errc::missing_field;
            }
            e.transcript.push_back(std::move(line));
        }
    }
    return e;
}

Result<AgentCommand> parse_agent_command(std::string_view text) {
    auto parsed = detail::parse_record_object(text);
    if (!parsed) {
        return parsed.error();
    }
    const json::object& o = *parsed;

    AgentCommand c;
    bool ok = read_type(o, kAgentCommandTypeNames, c.type) && read_string(o, "id", c.id, true) &&
              read_string(o, "conversation", c.conversation, true) &&
              read_string(o, "agent", c.agent, true) && read_string(o, "text", c.text, false) &&
              read_millis(o, "at_ms", c.at_ms);
    if (!ok) {
        return Errc::missing_field;
    }
    if (c.type == AgentCommandType::message && c.text.empty()) {
        return Errc::missing_field;
    }
    return c;
}

}  // namespace teller::core
