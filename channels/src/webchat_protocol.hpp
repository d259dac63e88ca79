// The web chat's JSON frames: parsing client frames, building server frames, ids (private).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>

#include "teller/core/bus.hpp"
#include "teller/core/events.hpp"

namespace teller::channels::detail {

/// Prefix of every web chat conversation id.
inline constexpr std::string_view kConversationPrefix = "webchat:";

/// Codes of the server's error frames.
enum class FrameError {
    invalid_json,
    invalid_utf8,
    too_large,
    bad_request,
    unavailable,
    rate_limited,
    token_expired  ///< the socket's web chat token expired; the socket closes after this
};

std::string_view to_string(FrameError code) noexcept;

/// `{"type":"hello",...}`. Empty strings mean "absent".
struct HelloFrame {
    std::string conversation;
    std::string locale;
    bool conversation_given = false;
};

/// `{"type":"message",...}`. `id` is empty when the client gave none.
struct MessageFrame {
    std::string text;
    std::string id;
};

/// A refused client frame: the code, a human-readable reason, and the client's message id when
/// it could be read (so the client knows which message failed).
struct FrameFailure {
    FrameError code;
    std::string message;
    std::string id;
};

using ClientFrame = std::variant<HelloFrame, MessageFrame, FrameFailure>;

/// Parses one client frame. Never throws; every problem becomes a FrameFailure.
/// `payload` must already be known to be valid UTF-8.
ClientFrame parse_client_frame(std::string_view payload);

/// Reads an optional string field of a client frame: absent or null leaves `present` false;
/// false when the field has another type.
bool read_optional_string(const boost::json::object& o, std::string_view key, std::string& out,
                          bool& present);

/// `webchat:` then 16 to 64 characters from [A-Za-z0-9_-].
bool is_valid_conversation_id(std::string_view id) noexcept;

/// 1 to 64 characters from [A-Za-z0-9._:-].
bool is_valid_client_message_id(std::string_view id) noexcept;

/// A BCP 47-looking tag: 2 to 35 characters from [A-Za-z0-9-], starting with a letter.
bool is_valid_locale(std::string_view locale) noexcept;

/// `bytes` random bytes from the OS CSPRNG, hex-encoded. Thread-safe.
std::string random_hex(std::size_t bytes);

/// A fresh `webchat:<32 hex>` id.
std::string new_conversation_id();

/// Server frames, as compact JSON.
std::string make_welcome(std::string_view conversation);
std::string make_ack(std::string_view id);
std::string make_error(FrameError code, std::string_view message, std::string_view id = {});

/// The reply frame for `message`; `in_reply_to` is the client's own id (the conversation scope
/// stripped, see inbound_message_id).
std::string make_reply(const core::OutboundMessage& message);

/// The InboundMessage id for a client id in a conversation: `<conversation>/<client id>`.
std::string inbound_message_id(std::string_view conversation, std::string_view client_id);

/// The client's id inside an InboundMessage id of `conversation`; `id` itself when it is not
/// scoped to that conversation.
std::string_view client_message_id(std::string_view conversation, std::string_view id) noexcept;

/// The record the gateway produces for `message`: topic teller.inbound, key = conversation,
/// headers `schema` and `trace_id`.
core::Record make_inbound_record(const core::InboundMessage& message);

/// Milliseconds since the Unix epoch, now.
std::int64_t now_ms();

}  // namespace teller::channels::detail
