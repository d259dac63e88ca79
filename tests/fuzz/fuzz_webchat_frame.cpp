// Fuzz target: the web chat client frames and the id helpers around them (private header).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_support.hpp"
#include "teller/core/events.hpp"
#include "webchat_protocol.hpp"

using namespace teller;
namespace wc = teller::channels::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    // The gateway checks UTF-8 before it parses a frame; the parser may rely on that. A hello's
    // conversation and locale are checked by the session afterwards, not by the parser.
    if (core::is_valid_utf8(input)) {
        wc::ClientFrame frame = wc::parse_client_frame(input);
        if (const auto* message = std::get_if<wc::MessageFrame>(&frame)) {
            fuzz::check(core::is_valid_utf8(message->text), "message text is not UTF-8");
            fuzz::check(message->id.empty() || wc::is_valid_client_message_id(message->id),
                        "message frame accepted an invalid id");
        } else if (const auto* failure = std::get_if<wc::FrameFailure>(&frame)) {
            auto error = wc::make_error(failure->code, failure->message, failure->id);
            fuzz::check(core::is_valid_utf8(error), "error frame is not UTF-8");
        }
    }

    // The id helpers on arbitrary text.
    (void)wc::is_valid_conversation_id(input);
    (void)wc::is_valid_locale(input);
    if (wc::is_valid_client_message_id(input)) {
        std::string scoped = wc::inbound_message_id("webchat:0123456789abcdef", input);
        fuzz::check(wc::client_message_id("webchat:0123456789abcdef", scoped) == input,
                    "client id does not survive scoping");
    }
    return 0;
}
