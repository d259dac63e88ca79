// Measures webhook throughput through a real gateway: provider requests in, each answered once
// its message was acknowledged by the (fake) producer and deduped in the in-memory store.
#include "teller/channels/gateway.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway_test_support.hpp"
#include "teller/channels/channel_adapter.hpp"
#include "teller/core/session_store.hpp"

using namespace teller;
using namespace teller::testing;

namespace {

// One message per request, its id taken from the body.
class EchoAdapter final : public channels::ChannelAdapter {
public:
    std::string_view channel() const noexcept override { return "bench"; }
    std::string_view path() const noexcept override { return "/webhooks/bench"; }

    channels::WebhookOutcome handle(const channels::WebhookRequest& request) override {
        channels::WebhookOutcome outcome;
        core::InboundMessage m;
        m.id = request.body;
        m.channel = "bench";
        m.conversation = "bench:" + request.body.substr(0, request.body.find('-'));
        m.sender = m.conversation;
        m.text = "I would like to check my card balance please";
        outcome.messages.push_back(std::move(m));
        return outcome;
    }

    channels::DeliveryReport deliver(const core::OutboundMessage&,
                                     channels::ProviderClient&) override {
        return {};
    }
};

}  // namespace

// Usage: gateway_webhook_bench [clients] [requests per client] [webhook threads]
int main(int argc, char** argv) {
    const int clients = argc > 1 ? std::atoi(argv[1]) : 8;
    const int requests = argc > 2 ? std::atoi(argv[2]) : 2000;
    channels::GatewayOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.webhook_threads = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 4;
    options.conversation_burst = static_cast<double>(requests) + 1;
    FakeProducer producer;
    auto store = core::make_memory_session_store();
    channels::Gateway gateway(options, producer);
    gateway.add_channel(std::make_shared<EchoAdapter>());
    gateway.set_channel_context({store.get()});
    const std::uint16_t port = gateway.start();

    // Every client sends its requests one after another on one keep-alive connection.
    std::atomic<long> ok{0};
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            asio::io_context ioc;
            tcp::socket socket(ioc);
            socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
            beast::flat_buffer buffer;
            for (int r = 0; r < requests; ++r) {
                http::request<http::string_body> request{http::verb::post, "/webhooks/bench", 11};
                request.set(http::field::host, "127.0.0.1");
                request.body() = std::to_string(c) + "-" + std::to_string(r);
                request.prepare_payload();
                http::write(socket, request);
                http::response<http::string_body> response;
                http::read(socket, buffer, response);
                if (response.result() == http::status::ok) {
                    ++ok;
                }
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long total = static_cast<long>(clients) * requests;
    std::printf("clients=%d requests=%ld ok=%ld published=%zu seconds=%.3f requests_per_s=%.0f\n",
                clients, total, ok.load(), producer.records().size(), seconds,
                static_cast<double>(ok.load()) / seconds);
    gateway.stop();
    return ok.load() == total ? 0 : 1;
}
