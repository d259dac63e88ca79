// The agent desk's WebSocket frames: parsing agents' frames, building the desk's frames.
#include "agent_desk_protocol.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "webchat_protocol.hpp"

namespace teller::channels::detail {
namespace json = boost::json;

namespace {

// A name or id shown to people and used as a key: 1 to `limit` bytes, no control characters.
bool is_plain_text(std::string_view text, std::size_t limit) noexcept {
    if (text.empty() || text.size() > limit) {
        return false;
    }
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return false;
        }
    }
    return text.find_first_not_of(' ') != std::string_view::npos;
}

json::object summary(const DeskConversation& c, bool closed = false) {
    json::object o;
    o["conversation"] = c.conversation;
    o["channel"] = c.channel;
    o["customer"] = c.customer;
    o["verified"] = c.verified;
    o["locale"] = c.locale;
    o["reason"] = c.reason;
    o["state"] = closed ? std::string_view("closed") : to_string(c.state);
    o["agent"] = c.agent;
    o["queued_at_ms"] = c.queued_at_ms;
    o["last_activity_ms"] = c.last_activity_ms;
    return o;
}

json::object line_json(const core::TranscriptLine& line) {
    json::object o;
    o["from"] = line.from;
    o["text"] = line.text;
    o["at_ms"] = line.at_ms;
    return o;
}

json::array lines_json(const std::vector<core::TranscriptLine>& lines) {
    json::array out;
    out.reserve(lines.size());
    for (const core::TranscriptLine& line : lines) {
        out.push_back(line_json(line));
    }
    return out;
}

}  // namespace

std::string_view to_string(DeskError code) noexcept {
    switch (code) {
        case DeskError::invalid_json:
            return "invalid_json";
        case DeskError::invalid_utf8:
            return "invalid_utf8";
        case DeskError::too_large:
            return "too_large";
        case DeskError::bad_request:
            return "bad_request";
        case DeskError::unauthorized:
            return "unauthorized";
        case DeskError::not_found:
            return "not_found";
        case DeskError::conflict:
            return "conflict";
        case DeskError::unavailable:
            return "unavailable";
    }
    return "bad_request";
}

DeskFrame parse_desk_frame(std::string_view payload) {
    // Parse; Boost.JSON refuses bad escapes (lone surrogates) and nesting past 32 levels.
    boost::system::error_code ec;
    json::value root = json::parse(payload, ec);
    if (ec) {
        return DeskFailure{DeskError::invalid_json, "the frame is not valid JSON", {}};
    }
    const json::object* o = root.if_object();
    if (o == nullptr) {
        return DeskFailure{DeskError::invalid_json, "the frame must be a JSON object", {}};
    }
    std::string type;
    bool present = false;
    if (!read_optional_string(*o, "type", type, present) || !present) {
        return DeskFailure{DeskError::bad_request, "\"type\" must be a string", {}};
    }

    // hello: the shared token and the agent's display name.
    if (type == "hello") {
        DeskHello hello;
        bool agent_present = false;
        if (!read_optional_string(*o, "token", hello.token, present) || !present ||
            !read_optional_string(*o, "agent", hello.agent, agent_present)) {
            return DeskFailure{DeskError::bad_request, "hello needs a string \"token\"", {}};
        }
        if (!agent_present || !is_plain_text(hello.agent, kMaxAgentNameBytes)) {
            return DeskFailure{DeskError::bad_request,
                               "\"agent\" must be a name of 1 to 64 bytes without control "
                               "characters",
                               {}};
        }
        return hello;
    }

    // Every other frame names a conversation; commands may carry the client's id.
    std::string conversation;
    std::string id;
    bool id_present = false;
    if (!read_optional_string(*o, "id", id, id_present) ||
        (id_present && !is_valid_client_message_id(id))) {
        return DeskFailure{
            DeskError::bad_request, "\"id\" must be 1 to 64 characters from [A-Za-z0-9._:-]", {}};
    }
    const bool known = type == "view" || type == "join" || type == "message" || type == "close";
    if (!known) {
        return DeskFailure{DeskError::bad_request, "unknown frame type", id};
    }
    if (!read_optional_string(*o, "conversation", conversation, present) || !present ||
        !is_plain_text(conversation, kMaxDeskConversationBytes)) {
        return DeskFailure{DeskError::bad_request, "\"conversation\" must be a conversation id",
                           id};
    }
    if (type == "view") {
        return DeskView{std::move(conversation)};
    }

    DeskCommand command;
    command.conversation = std::move(conversation);
    command.id = std::move(id);
    if (type == "join") {
        command.type = core::AgentCommandType::join;
    } else if (type == "close") {
        command.type = core::AgentCommandType::close;
    } else {
        command.type = core::AgentCommandType::message;
        if (!read_optional_string(*o, "text", command.text, present) || !present ||
            command.text.find_first_not_of(" \t\r\n") == std::string::npos) {
            return DeskFailure{DeskError::bad_request, "\"text\" must be a non-empty string",
                               command.id};
        }
        if (command.text.size() > kMaxAgentTextBytes) {
            return DeskFailure{DeskError::too_large, "\"text\" is longer than 4096 bytes",
                               command.id};
        }
    }
    return command;
}

bool agent_token_matches(std::string_view expected, std::string_view given) noexcept {
    if (expected.empty()) {
        return false;
    }
    unsigned char a[SHA256_DIGEST_LENGTH];
    unsigned char b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), b);
    return CRYPTO_memcmp(a, b, SHA256_DIGEST_LENGTH) == 0;
}

std::string make_desk_snapshot(std::string_view agent,
                               const std::vector<DeskConversation>& conversations) {
    json::object o;
    o["type"] = "snapshot";
    o["agent"] = agent;
    json::array list;
    list.reserve(conversations.size());
    for (const DeskConversation& c : conversations) {
        list.push_back(summary(c));
    }
    o["conversations"] = std::move(list);
    return json::serialize(o);
}

std::string make_desk_update(const core::HandoffEvent& event, DeskChange change,
                             const DeskConversation& conversation) {
    json::object o;
    o["type"] = "update";
    o["event"] = core::to_string(event.type);
    o["change"] = to_string(change);
    o["conversation"] = summary(conversation, change == DeskChange::closed);

    // The lines the event adds: a queued event brings the transcript so far (it replaces what
    // the client holds), a message brings itself.
    json::array lines;
    if (event.type == core::HandoffEventType::queued) {
        lines = lines_json(conversation.transcript);
    } else if (event.type == core::HandoffEventType::customer_message) {
        lines.push_back(line_json({"customer", event.text, event.at_ms}));
    } else if (event.type == core::HandoffEventType::agent_message) {
        lines.push_back(line_json({"agent", event.text, event.at_ms}));
    }
    o["lines"] = std::move(lines);
    if (event.type == core::HandoffEventType::closed) {
        o["reason"] = event.reason;
        if (!event.agent.empty()) {
            o["by"] = event.agent;
        }
    }
    return json::serialize(o);
}

std::string make_desk_transcript(const DeskConversation& conversation) {
    json::object o;
    o["type"] = "transcript";
    o["conversation"] = summary(conversation);
    o["lines"] = lines_json(conversation.transcript);
    return json::serialize(o);
}

std::string make_desk_ack(std::string_view id, std::string_view command_id,
                          core::AgentCommandType type, std::string_view conversation) {
    json::object o;
    o["type"] = "ack";
    if (!id.empty()) {
        o["id"] = id;
    }
    o["command"] = command_id;
    o["command_type"] = core::to_string(type);
    o["conversation"] = conversation;
    return json::serialize(o);
}

std::string make_desk_error(DeskError code, std::string_view message, std::string_view id) {
    json::object o;
    o["type"] = "error";
    o["code"] = to_string(code);
    o["message"] = message;
    if (!id.empty()) {
        o["id"] = id;
    }
    return json::serialize(o);
}

}  // namespace teller::channels::detail
