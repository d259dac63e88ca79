// Measures web chat throughput through a real gateway: messages in (acked) and replies out.
#include "teller/channels/gateway.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "gateway_test_support.hpp"
#include "teller/core/events.hpp"

using namespace teller;
using namespace teller::testing;

// Usage: gateway_bench [clients] [messages per client] [io threads]
int main(int argc, char** argv) {
    const int clients = argc > 1 ? std::atoi(argv[1]) : 8;
    const int messages = argc > 2 ? std::atoi(argv[2]) : 2000;
    channels::GatewayOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 1;
    options.max_queued_frames = static_cast<std::size_t>(messages) * 2 + 16;
    // Each client sends back to back, far past a person's pace: the rate limit and the in-flight
    // bound would refuse most of it, and this probe measures the pipeline, not those limits.
    options.conversation_burst = static_cast<double>(messages) + 1;
    options.max_in_flight = static_cast<std::size_t>(clients) * messages + 1;
    FakeProducer producer;
    channels::Gateway gateway(options, producer);
    const std::uint16_t port = gateway.start();

    // Inbound: every client sends its messages back to back and waits for all acks.
    std::vector<std::string> conversations(clients);
    std::atomic<long> acks{0};
    std::atomic<long> replies{0};
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            WsClient client(port);
            conversations[c] = client.hello();
            for (int m = 0; m < messages; ++m) {
                client.message("I would like to check my card balance please", std::to_string(m));
            }
            for (int seen = 0; seen < 2 * messages; ++seen) {
                auto frame = client.read(std::chrono::seconds(20));
                if (!frame) {
                    break;
                }
                (frame->at("type") == "ack" ? acks : replies)++;
            }
        });
    }

    // Outbound: one reply per produced record, pushed through deliver() as the dispatcher would.
    std::size_t delivered = 0;
    const std::size_t total = static_cast<std::size_t>(clients) * messages;
    while (delivered < total) {
        producer.wait_for(delivered + 1, std::chrono::seconds(20));
        auto records = producer.records();
        if (records.size() == delivered) {
            break;
        }
        for (; delivered < records.size(); ++delivered) {
            core::OutboundMessage reply;
            reply.conversation = records[delivered].key;
            reply.channel = "webchat";
            reply.text = "Your balance is 1,234.56";
            reply.in_reply_to = std::to_string(delivered);
            gateway.deliver(reply);
        }
    }
    for (std::thread& t : threads) {
        t.join();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("clients=%d messages=%ld acks=%ld replies=%ld seconds=%.3f msgs_per_s=%.0f\n",
                clients, static_cast<long>(total), acks.load(), replies.load(), seconds,
                static_cast<double>(acks.load()) / seconds);
    gateway.stop();
    return acks.load() == static_cast<long>(total) && replies.load() == static_cast<long>(total)
               ? 0
               : 1;
}
