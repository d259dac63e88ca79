// Fuzz target: the strict XML reader and the WeChat webhook on signed requests.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "teller/channels/wechat.hpp"
#include "teller/core/events.hpp"
#include "teller/core/session_store.hpp"

using namespace teller;
using namespace teller::channels;

namespace {

// Every element is within the limits and its text is UTF-8.
std::size_t check_tree(const XmlElement& element, std::size_t depth) {
    fuzz::check(depth <= 8, "element deeper than the limit");
    fuzz::check(core::is_valid_utf8(element.text), "element text is not UTF-8");
    fuzz::check(element.children.empty() || element.text.empty(), "text beside children");
    std::size_t count = 1;
    for (const XmlElement& child : element.children) {
        count += check_tree(child, depth + 1);
    }
    return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    XmlResult xml = parse_xml(input);
    fuzz::check(xml.root.has_value() != !xml.error.empty(), "both or neither root and error");
    if (xml.root) {
        fuzz::check(check_tree(*xml.root, 1) <= 256, "more elements than the limit");
    }

    // The webhook: in plain-text mode only the query is signed, so any body gets through to
    // the parser.
    constexpr std::string_view kToken = "fuzzToken";
    auto store = core::make_memory_session_store();
    auto adapter = make_wechat_adapter(
        {{"token", std::string(kToken)},
         {"app_id", "wx0000000000000000"},
         {"app_secret", "s"},
         {"max_request_age_s", "0"}},  // the corpus's fixed timestamp stays valid
        ChannelContext{store.get()});
    WebhookRequest request;
    request.method = "POST";
    request.target =
        "/webhooks/wechat?signature=" + wechat_signature(kToken, "1733300000", "nonce") +
        "&timestamp=1733300000&nonce=nonce";
    request.public_url = "https://bot.bank.example" + request.target;
    request.body = std::string(input);
    for (int attempt = 0; attempt < 2; ++attempt) {
        WebhookOutcome outcome = adapter->handle(request);
        fuzz::check(outcome.response.status == 200 || outcome.messages.empty(),
                    "a refused webhook published messages");
        if (!xml.root) {
            fuzz::check(outcome.response.status == 400, "malformed XML was not a 400");
        }
        for (const auto& message : outcome.messages) {
            fuzz::check(core::is_valid_utf8(message.text), "published text is not UTF-8");
            fuzz::check(message.conversation == "wechat:" + message.sender,
                        "conversation is not wechat:<sender>");
            fuzz::check(!message.id.empty(), "published message without an id");
        }
    }
    return 0;
}
