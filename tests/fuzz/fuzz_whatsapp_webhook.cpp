// libFuzzer entry point: arbitrary bytes as a WhatsApp webhook, either a verify handshake
// (first byte even: the rest is the query string) or a notification signed here with the app
// secret (first byte odd: the rest is the body), then every message it yields delivered back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "teller/channels/whatsapp.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"

namespace {

using namespace teller;

constexpr const char* kSecret = "fuzz-app-secret";

std::string signature_of(const std::string& body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), kSecret, 15, reinterpret_cast<const unsigned char*>(body.data()),
         body.size(), digest, &length);
    std::string header = "sha256=";
    char hex[3];
    for (unsigned int i = 0; i < length; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", digest[i]);
        header += hex;
    }
    return header;
}

// Answers every call as the Graph API does on success, after checking what the adapter sent.
class AcceptingClient : public channels::ProviderClient {
public:
    core::Result<channels::ProviderResponse> send(const channels::ProviderCall& call) override {
        if (call.target != "/v21.0/1234/messages" || !core::is_valid_utf8(call.body)) {
            std::abort();
        }
        return channels::ProviderResponse{200, {}, R"({"messages":[{"id":"wamid.F"}]})"};
    }
};

struct Harness {
    Harness() {
        core::set_log_level(core::LogLevel::off);
        store = core::make_memory_session_store();
        adapter = channels::make_whatsapp_adapter({{"app_secret", kSecret},
                                                   {"verify_token", "fuzz"},
                                                   {"access_token", "token"},
                                                   {"phone_number_id", "1234"}},
                                                  {store.get()});
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
    if (size == 0) {
        return 0;
    }

    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    channels::WebhookRequest request;
    request.target = std::string(channels::kWhatsAppPath);
    if (data[0] % 2 == 0) {
        request.method = "GET";
        request.target += "?" + rest;
    } else {
        request.method = "POST";
        request.headers.emplace_back("x-hub-signature-256", signature_of(rest));
        request.body = rest;
    }
    const channels::WebhookOutcome outcome = harness.adapter->handle(request);

    // What the gateway relies on: messages only with a 200, each complete and valid UTF-8.
    if (outcome.response.status != 200 && !outcome.messages.empty()) {
        std::abort();
    }
    AcceptingClient client;
    for (const core::InboundMessage& in : outcome.messages) {
        if (in.id.empty() || in.channel != "whatsapp" ||
            !in.conversation.starts_with("whatsapp:") || in.sender.empty() ||
            !core::is_valid_utf8(in.text)) {
            std::abort();
        }
        core::OutboundMessage reply;
        reply.conversation = in.conversation;
        reply.channel = in.channel;
        reply.recipient = "4915112345678";  // one recipient keeps the store from growing
        reply.text = in.text;
        // As many options as the text has bytes, up to 12: buttons, lists and numbered text.
        for (std::size_t i = 0; i < std::min<std::size_t>(in.text.size(), 12); ++i) {
            reply.quick_replies.push_back({std::to_string(i) + utf8_prefix(in.text, 3 * i),
                                           std::to_string(i) + utf8_prefix(in.text, 150)});
        }
        const channels::DeliveryReport report = harness.adapter->deliver(reply, client);
        if (!report.delivered && !in.text.empty()) {
            std::abort();
        }
    }
    return 0;
}
