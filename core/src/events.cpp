// JSON encoding and validation of the canonical events.
#include "teller/core/events.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <boost/json.hpp>

#include "record_json.hpp"

namespace teller::core {
namespace json = boost::json;

namespace detail {

Result<json::object> parse_record_object(std::string_view text) {
    if (text.size() > kMaxEventBytes) {
        return Errc::payload_too_large;
    }
    if (!is_valid_utf8(text)) {
        return Errc::invalid_utf8;
    }

    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return Errc::malformed_json;
    }

    json::object& object = value.as_object();
    const json::value* v = object.if_contains("v");
    if (v == nullptr || !v->is_int64()) {
        return Errc::missing_field;
    }
    if (v->as_int64() != kSchemaVersion) {
        return Errc::unsupported_version;
    }
    return std::move(object);
}

bool read_string(const json::object& object, std::string_view key, std::string& out,
                 bool required) {
    const json::value* v = object.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return !required;
    }
    if (!v->is_string()) {
        return false;
    }
    out = std::string(v->as_string());
    return !required || !out.empty();
}

}  // namespace detail

namespace {

using detail::read_string;

constexpr std::string_view kEventTypeNames[] = {
    "user_uttered",    "slot_set",        "skill_invoked", "bot_uttered", "handoff_requested",
    "session_started", "session_expired", "error",         "skill_event",
};

// Reads an RFC 3339 timestamp field; absent means 0.
bool read_timestamp(const json::object& object, std::string_view key, std::int64_t& out) {
    std::string text;
    if (!read_string(object, key, text, false)) {
        return false;
    }
    if (text.empty()) {
        return true;
    }
    out = parse_timestamp(text);
    return out >= 0;
}

}  // namespace

std::string_view to_string(DialogueEventType type) noexcept {
    return kEventTypeNames[static_cast<int>(type)];
}

std::string to_json(const InboundMessage& m) {
    json::object o;
    o["v"] = kSchemaVersion;
    o["id"] = m.id;
    o["channel"] = m.channel;
    o["conversation"] = m.conversation;
    o["sender"] = m.sender;
    o["text"] = m.text;
    if (!m.attachments.empty()) {
        o["attachments"] = m.attachments;
    }
    if (!m.locale.empty()) {
        o["locale"] = m.locale;
    }
    o["received_at"] = format_timestamp(m.received_at_ms);
    if (!m.reply_to.empty()) {
        o["reply_to"] = m.reply_to;
    }
    if (!m.metadata.empty()) {
        o["metadata"] = m.metadata;
    }
    if (!m.trace_id.empty()) {
        o["trace_id"] = m.trace_id;
    }
    return json::serialize(o);
}

std::string to_json(const OutboundMessage& m) {
    json::object o;
    o["v"] = kSchemaVersion;
    o["conversation"] = m.conversation;
    o["channel"] = m.channel;
    o["recipient"] = m.recipient;
    o["text"] = m.text;
    if (!m.locale.empty()) {
        o["locale"] = m.locale;
    }
    if (!m.quick_replies.empty()) {
        json::array choices;
        for (const Choice& c : m.quick_replies) {
            choices.push_back(json::object{{"title", c.title}, {"payload", c.payload}});
        }
        o["quick_replies"] = std::move(choices);
    }
    o["in_reply_to"] = m.in_reply_to;
    if (!m.reply_to.empty()) {
        o["reply_to"] = m.reply_to;
    }
    o["created_at"] = format_timestamp(m.created_at_ms);
    o["sequence"] = m.sequence;
    if (!m.trace_id.empty()) {
        o["trace_id"] = m.trace_id;
    }
    return json::serialize(o);
}

std::string to_json(const DialogueEvent& e) {
    json::object o;
    o["v"] = kSchemaVersion;
    o["type"] = to_string(e.type);
    o["conversation"] = e.conversation;
    if (!e.in_reply_to.empty()) {
        o["in_reply_to"] = e.in_reply_to;
    }
    o["at"] = format_timestamp(e.at_ms);
    if (!e.trace_id.empty()) {
        o["trace_id"] = e.trace_id;
    }
    o["data"] = e.data;
    return json::serialize(o);
}

Result<InboundMessage> parse_inbound(std::string_view text) {
    auto parsed = detail::parse_record_object(text);
    if (!parsed) {
        return parsed.error();
    }
    const json::object& o = *parsed;

    InboundMessage m;
    bool ok = read_string(o, "id", m.id, true) && read_string(o, "channel", m.channel, true) &&
              read_string(o, "conversation", m.conversation, true) &&
              read_string(o, "sender", m.sender, false) && read_string(o, "text", m.text, false) &&
              read_string(o, "locale", m.locale, false) &&
              read_string(o, "reply_to", m.reply_to, false) &&
              read_string(o, "trace_id", m.trace_id, false) &&
              read_timestamp(o, "received_at", m.received_at_ms);
    if (!ok || !o.contains("text")) {
        return Errc::missing_field;
    }
    if (const json::value* md = o.if_contains("metadata"); md != nullptr && !md->is_null()) {
        if (!md->is_object()) {
            return Errc::missing_field;
        }
        m.metadata = md->as_object();
    }
    if (const json::value* at = o.if_contains("attachments"); at != nullptr && !at->is_null()) {
        if (!at->is_array()) {
            return Errc::missing_field;
        }
        m.attachments = at->as_array();
    }
    return m;
}

Result<OutboundMessage> parse_outbound(std::string_view text) {
    auto parsed = detail::parse_record_object(text);
    if (!parsed) {
        return parsed.error();
    }
    const json::object& o = *parsed;

    OutboundMessage m;
    bool ok = read_string(o, "conversation", m.conversation, true) &&
              read_string(o, "channel", m.channel, true) &&
              read_string(o, "recipient", m.recipient, false) &&
              read_string(o, "text", m.text, false) && read_string(o, "locale", m.locale, false) &&
              read_string(o, "in_reply_to", m.in_reply_to, false) &&
              read_string(o, "reply_to", m.reply_to, false) &&
              read_string(o, "trace_id", m.trace_id, false) &&
              read_timestamp(o, "created_at", m.created_at_ms);
    if (!ok) {
        return Errc::missing_field;
    }
    if (const json::value* seq = o.if_contains("sequence"); seq != nullptr) {
        if (!seq->is_number()) {
            return Errc::missing_field;
        }
        m.sequence = seq->to_number<std::uint32_t>();
    }
    if (const json::value* qr = o.if_contains("quick_replies"); qr != nullptr && !qr->is_null()) {
        if (!qr->is_array()) {
            return Errc::missing_field;
        }
        for (const json::value& c : qr->as_array()) {
            Choice choice;
            if (!c.is_object() || !read_string(c.as_object(), "title", choice.title, true) ||
                !read_string(c.as_object(), "payload", choice.payload, false)) {
                return Errc::missing_field;
            }
            m.quick_replies.push_back(std::move(choice));
        }
    }
    return m;
}

Result<DialogueEvent> parse_dialogue_event(std::string_view text) {
    auto parsed = detail::parse_record_object(text);
    if (!parsed) {
        return parsed.error();
    }
    const json::object& o = *parsed;

    DialogueEvent e;
    std::string type;
    bool ok = read_string(o, "type", type, true) &&
              read_string(o, "conversation", e.conversation, true) &&
              read_string(o, "in_reply_to", e.in_reply_to, false) &&
              read_string(o, "trace_id", e.trace_id, false) && read_timestamp(o, "at", e.at_ms);
    if (!ok) {
        return Errc::missing_field;
    }
    bool known = false;
    for (std::size_t i = 0; i < std::size(kEventTypeNames); ++i) {
        if (kEventTypeNames[i] == type) {
            e.type = static_cast<DialogueEventType>(i);
            known = true;
        }
    }
    if (!known) {
        return Errc::missing_field;
    }
    if (const json::value* data = o.if_contains("data"); data != nullptr && data->is_object()) {
        e.data = data->as_object();
    }
    return e;
}

bool is_valid_utf8(std::string_view text) noexcept {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }

        // Lead byte: length of the sequence and the range its second byte must fall in.
        std::size_t len = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c == 0xE0) {
            len = 3;
            lo = 0xA0;
        } else if (c == 0xED) {
            len = 3;
            hi = 0x9F;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            len = 3;
        } else if (c == 0xF0) {
            len = 4;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            len = 4;
        } else if (c == 0xF4) {
            len = 4;
            hi = 0x8F;
        } else {
            return false;
        }
        if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) {
            return false;
        }
        for (std::size_t k = 2; k < len; ++k) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
                return false;
            }
        }
        i += len;
    }
    return true;
}

std::string format_timestamp(std::int64_t ms) {
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[64];  // room for any int year, which -Wformat-truncation checks
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buffer;
}

std::int64_t parse_timestamp(std::string_view text) noexcept {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
    char tail = 0;
    std::string copy(text);
    int fields = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &year, &month, &day,
                             &hour, &minute, &second, &millis, &tail);
    if (fields != 8 || tail != 'Z' || month < 1 || month > 12 || day < 1 || day > 31) {
        return -1;
    }
    using namespace std::chrono;
    auto date = year_month_day{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                               std::chrono::day{unsigned(day)}};
    if (!date.ok()) {
        return -1;
    }
    auto t =
        sys_days{date} + hours{hour} + minutes{minute} + seconds{second} + milliseconds{millis};
    return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace teller::core
