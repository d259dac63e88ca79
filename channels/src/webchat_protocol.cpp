// The web chat's JSON frames: parsing client frames, building server frames, ids.
#include "webchat_protocol.hpp"

#include <chrono>

#include <openssl/rand.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "teller/core/error.hpp"

namespace teller::channels::detail {
namespace json = boost::json;

namespace {

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Reads an optional string member: absent or null leaves `out` empty; another type fails.

}  // namespace

std::string_view to_string(FrameError code) noexcept {
    switch (code) {
        case FrameError::invalid_json:
            return "invalid_json";
        case FrameError::invalid_utf8:
            return "invalid_utf8";
        case FrameError::too_large:
            return "too_large";
        case FrameError::bad_request:
            return "bad_request";
        case FrameError::unavailable:
            return "unavailable";
        case FrameError::rate_limited:
            return "rate_limited";
        case FrameError::token_expired:
            return "token_expired";
    }
    return "bad_request";
}

bool read_optional_string(const json::object& o, std::string_view key, std::string& out,
                          bool& present) {
    present = false;
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return true;
    }
    if (!v->is_string()) {
        return false;
    }
    out = std::string(v->get_string());
    present = true;
    return true;
}

ClientFrame parse_client_frame(std::string_view payload) {
    // Parse; Boost.JSON refuses bad escapes (lone surrogates) and nesting past 32 levels.
    boost::system::error_code ec;
    json::value root = json::parse(payload, ec);
    if (ec) {
        return FrameFailure{FrameError::invalid_json, "the frame is not valid JSON", {}};
    }
    const json::object* o = root.if_object();
    if (o == nullptr) {
        return FrameFailure{FrameError::invalid_json, "the frame must be a JSON object", {}};
    }

    std::string type;
    bool present = false;
    if (!read_optional_string(*o, "type", type, present) || !present) {
        return FrameFailure{FrameError::bad_request, "\"type\" must be a string", {}};
    }

    // hello: optional conversation and locale.
    if (type == "hello") {
        HelloFrame hello;
        bool locale_present = false;
        if (!read_optional_string(*o, "conversation", hello.conversation,
                                  hello.conversation_given) ||
            !read_optional_string(*o, "locale", hello.locale, locale_present)) {
            return FrameFailure{
                FrameError::bad_request, "\"conversation\" and \"locale\" must be strings", {}};
        }
        if (hello.conversation_given && hello.conversation.empty()) {
            hello.conversation_given = false;
        }
        return hello;
    }

    // message: text required, id optional.
    if (type == "message") {
        MessageFrame message;
        bool id_present = false;
        if (!read_optional_string(*o, "id", message.id, id_present)) {
            return FrameFailure{FrameError::bad_request, "\"id\" must be a string", {}};
        }
        if (id_present && !is_valid_client_message_id(message.id)) {
            return FrameFailure{FrameError::bad_request,
                                "\"id\" must be 1 to 64 characters from [A-Za-z0-9._:-]",
                                {}};
        }
        bool text_present = false;
        if (!read_optional_string(*o, "text", message.text, text_present) || !text_present ||
            message.text.find_first_not_of(" \t\r\n") == std::string::npos) {
            return FrameFailure{FrameError::bad_request, "\"text\" must be a non-empty string",
                                message.id};
        }
        return message;
    }

    return FrameFailure{FrameError::bad_request, "unknown frame type", {}};
}

bool is_valid_conversation_id(std::string_view id) noexcept {
    if (!id.starts_with(kConversationPrefix)) {
        return false;
    }
    std::string_view rest = id.substr(kConversationPrefix.size());
    if (rest.size() < 16 || rest.size() > 64) {
        return false;
    }
    for (char c : rest) {
        if (!is_alnum(c) && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

bool is_valid_client_message_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) {
        return false;
    }
    for (char c : id) {
        if (!is_alnum(c) && c != '.' && c != '_' && c != ':' && c != '-') {
            return false;
        }
    }
    return true;
}

bool is_valid_locale(std::string_view locale) noexcept {
    if (locale.size() < 2 || locale.size() > 35) {
        return false;
    }
    if (!((locale[0] >= 'a' && locale[0] <= 'z') || (locale[0] >= 'A' && locale[0] <= 'Z'))) {
        return false;
    }
    for (char c : locale) {
        if (!is_alnum(c) && c != '-') {
            return false;
        }
    }
    return true;
}

std::string random_hex(std::size_t bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
        // The OS CSPRNG failing is a broken invariant: ids would become guessable.
        throw core::Error("gateway: the system random generator failed", true);
    }
    std::string out;
    out.reserve(bytes * 2);
    for (unsigned char c : raw) {
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0x0f]);
    }
    return out;
}

std::string new_conversation_id() {
    return std::string(kConversationPrefix) + random_hex(16);
}

std::string make_welcome(std::string_view conversation) {
    json::object o;
    o["type"] = "welcome";
    o["conversation"] = conversation;
    return json::serialize(o);
}

std::string make_ack(std::string_view id) {
    json::object o;
    o["type"] = "ack";
    o["id"] = id;
    return json::serialize(o);
}

std::string make_error(FrameError code, std::string_view message, std::string_view id) {
    json::object o;
    o["type"] = "error";
    o["code"] = to_string(code);
    o["message"] = message;
    if (!id.empty()) {
        o["id"] = id;
    }
    return json::serialize(o);
}

std::string make_reply(const core::OutboundMessage& message) {
    json::object o;
    o["type"] = "reply";
    o["text"] = message.text;
    json::array choices;
    for (const core::Choice& c : message.quick_replies) {
        json::object choice;
        choice["title"] = c.title;
        choice["payload"] = c.payload;
        choices.push_back(std::move(choice));
    }
    o["quick_replies"] = std::move(choices);
    o["in_reply_to"] = client_message_id(message.conversation, message.in_reply_to);
    o["sequence"] = message.sequence;
    if (!message.locale.empty()) {
        o["locale"] = message.locale;
    }
    return json::serialize(o);
}

std::string inbound_message_id(std::string_view conversation, std::string_view client_id) {
    std::string id;
    id.reserve(conversation.size() + 1 + client_id.size());
    id.append(conversation);
    id.push_back('/');
    id.append(client_id);
    return id;
}

std::string_view client_message_id(std::string_view conversation, std::string_view id) noexcept {
    if (id.size() > conversation.size() + 1 && id.starts_with(conversation) &&
        id[conversation.size()] == '/') {
        return id.substr(conversation.size() + 1);
    }
    return id;
}

core::Record make_inbound_record(const core::InboundMessage& message) {
    core::Record record;
    record.topic = std::string(core::kInboundTopic);
    record.key = message.conversation;
    record.value = core::to_json(message);
    record.headers.push_back({"schema", "teller.inbound.v1"});
    record.headers.push_back({"trace_id", message.trace_id});
    record.timestamp_ms = message.received_at_ms;
    return record;
}

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace teller::channels::detail
