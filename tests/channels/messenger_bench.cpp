// Measures the Telegram and WhatsApp adapters alone (no network): webhook parsing with the
// signature or token check, and delivery of long and optioned replies to a fake provider.
#include "teller/channels/telegram.hpp"
#include "teller/channels/whatsapp.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "messenger_fakes.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"

using namespace teller;
namespace json = boost::json;

namespace {

// Runs `work` `n` times and prints microseconds per run.
template <class F>
void measure(const char* what, int n, F work) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        work(i);
    }
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-58s %9.2f us/op  (%d ops)\n", what, us / n, n);
}

std::string sign(const std::string& body, const std::string& secret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
    std::string header = "sha256=";
    char hex[3];
    for (unsigned int i = 0; i < length; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", digest[i]);
        header += hex;
    }
    return header;
}

}  // namespace

// Usage: messenger_bench [iterations]
int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
    core::set_log_level(core::LogLevel::off);
    auto store = core::make_memory_session_store();
    auto telegram = channels::make_telegram_adapter(
        {{"bot_token", "123456:ABC-def"}, {"secret_token", "bench"}}, {store.get()});
    auto whatsapp = channels::make_whatsapp_adapter({{"app_secret", "bench-secret"},
                                                     {"verify_token", "v"},
                                                     {"access_token", "token"},
                                                     {"phone_number_id", "1234"}},
                                                    {store.get()});

    // Telegram: one text Update, as the webhook receives it.
    channels::WebhookRequest update;
    update.method = "POST";
    update.headers.emplace_back("x-telegram-bot-api-secret-token", "bench");
    update.body =
        R"({"update_id":1,"message":{"message_id":7,"from":{"id":5,"language_code":"zh-hans"},)"
        R"("chat":{"id":5,"type":"private"},"date":1764866580,"text":"我的信用卡丢了，请帮我冻结"}})";
    measure("telegram handle(): text update", n, [&](int) {
        if (telegram->handle(update).messages.size() != 1) {
            std::abort();
        }
    });

    // WhatsApp: a signed batch of 10 text messages.
    json::array messages;
    for (int i = 0; i < 10; ++i) {
        messages.push_back(json::object{{"from", "4915112345678"},
                                        {"id", "wamid." + std::to_string(i)},
                                        {"type", "text"},
                                        {"text", {{"body", "What is my balance?"}}}});
    }
    channels::WebhookRequest batch;
    batch.method = "POST";
    batch.body = json::serialize(json::object{
        {"object", "whatsapp_business_account"},
        {"entry",
         json::array{{{"id", "1"},
                      {"changes", json::array{{{"field", "messages"},
                                               {"value",
                                                {{"metadata", {{"phone_number_id", "1234"}}},
                                                 {"messages", messages}}}}}}}}}});
    batch.headers.emplace_back("x-hub-signature-256", sign(batch.body, "bench-secret"));
    measure("whatsapp handle(): signed batch of 10 messages", n, [&](int) {
        if (whatsapp->handle(batch).messages.size() != 10) {
            std::abort();
        }
    });

    // Delivery: a 20,000-character Chinese reply (split) and a reply with three buttons.
    channels::testing::ScriptedProviderClient telegram_client(R"({"ok":true})");
    channels::testing::ScriptedProviderClient whatsapp_client(R"({"messages":[{"id":"w"}]})");
    core::OutboundMessage long_reply;
    long_reply.recipient = "12345";
    for (int i = 0; i < 4000; ++i) {
        long_reply.text += "您好，欢迎。";
    }
    const int deliveries = std::max(1, n / 20);
    measure("telegram deliver(): 24,000 CJK characters (6 messages)", deliveries, [&](int) {
        telegram_client.calls.clear();
        if (!telegram->deliver(long_reply, telegram_client).delivered) {
            std::abort();
        }
    });
    core::OutboundMessage buttons;
    buttons.recipient = "4915112345678";
    buttons.text = "Block the card ending 4242?";
    buttons.quick_replies = {{"Yes", "yes"}, {"No", "no"}, {"Call me", "call"}};
    measure("whatsapp deliver(): three reply buttons", n, [&](int) {
        whatsapp_client.calls.clear();
        if (!whatsapp->deliver(buttons, whatsapp_client).delivered) {
            std::abort();
        }
    });
    return 0;
}
