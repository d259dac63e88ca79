// libFuzzer entry point: arbitrary bytes as a Telegram webhook Update (with the right secret
// token), then every message it yields delivered back as a reply, to exercise the parser,
// the text splitter and the inline keyboard.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "teller/channels/telegram.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"

namespace {

using namespace teller;

// Answers every call as Telegram does on success, after checking what the adapter sent.
class AcceptingClient : public channels::ProviderClient {
public:
    core::Result<channels::ProviderResponse> send(const channels::ProviderCall& call) override {
        if (call.target != "/bot1:fuzz/sendMessage" || !core::is_valid_utf8(call.body)) {
            std::abort();
        }
        return channels::ProviderResponse{200, {}, R"({"ok":true,"result":{}})"};
    }
};

struct Harness {
    Harness() {
        core::set_log_level(core::LogLevel::off);
        store = core::make_memory_session_store();
        adapter = channels::make_telegram_adapter(
            {{"bot_token", "1:fuzz"}, {"secret_token", "fuzz"}}, {store.get()});
    }
    std::unique_ptr<core::SessionStore> store;
    std::unique_ptr<channels::ChannelAdapter> adapter;
};

// The longest prefix of valid UTF-8 `text` of at most `bytes` bytes that ends on a character.
std::string utf8_prefix(const std::string& text, std::size_t bytes) {
    if (bytes >= text.size()) {
        return text;
    }
    while (bytes > 0 && (static_cast<unsigned char>(text[bytes]) & 0xC0) == 0x80) {
        --bytes;
    }
    return text.substr(0, bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Harness harness;

    channels::WebhookRequest request;
    request.method = "POST";
    request.target = std::string(channels::kTelegramPath);
    request.headers.emplace_back("x-telegram-bot-api-secret-token", "fuzz");
    request.body.assign(reinterpret_cast<const char*>(data), size);
    const channels::WebhookOutcome outcome = harness.adapter->handle(request);

    // What the gateway relies on: messages only with a 200, each complete and valid UTF-8.
    if (outcome.response.status != 200 && !outcome.messages.empty()) {
        std::abort();
    }
    AcceptingClient client;
    for (const core::InboundMessage& in : outcome.messages) {
        if (in.id.empty() || in.channel != "telegram" ||
            !in.conversation.starts_with("telegram:") || in.sender.empty() ||
            !core::is_valid_utf8(in.text)) {
            std::abort();
        }
        core::OutboundMessage reply;
        reply.conversation = in.conversation;
        reply.channel = in.channel;
        reply.recipient = "12345";  // one recipient keeps the store from growing
        reply.text = in.text;
        reply.quick_replies.push_back({utf8_prefix(in.text, 16), utf8_prefix(in.text, 64)});
        const channels::DeliveryReport report = harness.adapter->deliver(reply, client);
        if (!report.delivered && !in.text.empty()) {
            std::abort();
        }
    }
    return 0;
}
