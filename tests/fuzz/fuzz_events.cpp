// Fuzz target: the canonical event parsers (InboundMessage, OutboundMessage, DialogueEvent).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/core/events.hpp"

using namespace teller;

// Whatever parses must serialise and parse back to the same fields.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    if (auto in = core::parse_inbound(input)) {
        auto again = core::parse_inbound(core::to_json(*in));
        fuzz::check(again.has_value(), "an InboundMessage that parsed does not round-trip");
        fuzz::check(again->id == in->id && again->conversation == in->conversation &&
                        again->text == in->text && again->channel == in->channel &&
                        again->received_at_ms == in->received_at_ms &&
                        again->metadata == in->metadata,
                    "InboundMessage fields changed in a round trip");
        fuzz::check(core::is_valid_utf8(in->text), "InboundMessage text is not valid UTF-8");
    }
    if (auto out = core::parse_outbound(input)) {
        auto again = core::parse_outbound(core::to_json(*out));
        fuzz::check(again.has_value(), "an OutboundMessage that parsed does not round-trip");
        fuzz::check(again->text == out->text && again->in_reply_to == out->in_reply_to &&
                        again->sequence == out->sequence &&
                        again->quick_replies.size() == out->quick_replies.size(),
                    "OutboundMessage fields changed in a round trip");
    }
    if (auto event = core::parse_dialogue_event(input)) {
        auto again = core::parse_dialogue_event(core::to_json(*event));
        fuzz::check(again.has_value(), "a DialogueEvent that parsed does not round-trip");
        fuzz::check(again->type == event->type && again->data == event->data &&
                        again->conversation == event->conversation,
                    "DialogueEvent fields changed in a round trip");
    }
    return 0;
}
