// Fuzz target: SMS webhook bodies (form decoding, Twilio signature, keywords, opt-outs, options)
// and the GSM-7 / UCS-2 segment functions.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/channels/sms.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

using namespace teller;
using namespace teller::channels;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    // Segments: the parts give back the text, one per segment, and a fitted text fits.
    SmsMeasure measure = measure_sms(input);
    auto parts = split_sms(input);
    std::string joined;
    for (const auto& part : parts) {
        joined += part;
    }
    fuzz::check(joined == input, "split_sms parts do not concatenate to the text");
    fuzz::check(parts.size() == measure.segments, "split_sms and measure_sms disagree");
    std::string fitted = fit_sms(input.substr(0, 2000), "\n\nReply 1 for More", 2);
    fuzz::check(measure_sms(fitted).segments <= 2, "fit_sms result exceeds its segments");
    if (core::is_valid_utf8(input)) {
        fuzz::check(core::is_valid_utf8(fitted), "fit_sms cut inside a character");
    }
    (void)classify_sms_keyword(input);

    // The webhook, signed over whatever the body decodes to, so that everything after the
    // signature check runs too. A fresh store per input keeps runs reproducible.
    constexpr std::string_view kToken = "fuzz-token";
    constexpr std::string_view kUrl = "https://bot.bank.example/webhooks/sms";
    auto store = core::make_memory_session_store();
    auto adapter = make_sms_adapter({{"account_sid", "AC00000000000000000000000000000000"},
                                     {"auth_token", std::string(kToken)},
                                     {"from_number", "+15550001111"}},
                                    ChannelContext{store.get()});
    WebhookRequest request;
    request.method = "POST";
    request.target = "/webhooks/sms";
    request.public_url = std::string(kUrl);
    request.body = std::string(input);
    request.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    auto fields = parse_form(input);
    request.headers.emplace_back("x-twilio-signature",
                                 fields ? twilio_signature(kToken, kUrl, *fields) : "x");

    // Twice: the second is the provider's retry.
    for (int attempt = 0; attempt < 2; ++attempt) {
        WebhookOutcome outcome = adapter->handle(request);
        fuzz::check(outcome.response.status == 200 || outcome.messages.empty(),
                    "a refused webhook published messages");
        for (const auto& message : outcome.messages) {
            fuzz::check(core::is_valid_utf8(message.text), "published text is not UTF-8");
            fuzz::check(message.conversation == "sms:" + message.sender,
                        "conversation is not sms:<sender>");
            fuzz::check(!message.id.empty(), "published message without an id");
        }
        if (!fields && input.size() <= 64 * 1024) {
            fuzz::check(outcome.response.status == 400, "an unreadable form was not a 400");
        }
    }
    return 0;
}
