// End-to-end throughput benchmark: many web chat clients through the whole pipeline of a real
// `teller run` (WebSocket -> Kafka mock cluster -> engine with Redis -> Kafka -> WebSocket).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "redis_server.hpp"
#include "teller_process.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using teller::testing::ChatClient;

struct Options {
    int clients = 32;
    int messages = 50;
    bool redis = true;
    std::string model;
};

void usage() {
    std::cout << "Usage: e2e_bench [--clients N] [--messages N] [--memory-store] [--model FILE]\n\n"
                 "Starts redis-server and `teller run` on loopback, opens N WebSocket clients,\n"
                 "each sending M messages one after another (the next once the reply arrived),\n"
                 "and prints messages/s, reply latency p50/p99 and teller's peak RSS.\n"
                 "  --clients N      concurrent web chat clients (default 32)\n"
                 "  --messages N     messages per client (default 50)\n"
                 "  --memory-store   keep sessions in memory instead of Redis\n"
                 "  --model FILE     use this model instead of training one\n";
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else if (a == "--clients" && i + 1 < argc) {
            o.clients = std::stoi(argv[++i]);
        } else if (a == "--messages" && i + 1 < argc) {
            o.messages = std::stoi(argv[++i]);
        } else if (a == "--memory-store") {
            o.redis = false;
        } else if (a == "--model" && i + 1 < argc) {
            o.model = argv[++i];
        } else {
            std::cerr << "e2e_bench: unknown argument " << a << " (see --help)\n";
            return 2;
        }
    }

    // Redis, a model, then the bot.
    std::unique_ptr<teller::testing::RedisServer> redis;
    if (o.redis) {
        redis = std::make_unique<teller::testing::RedisServer>();
        if (!redis->available()) {
            std::cerr << "e2e_bench: " << redis->why() << "\n";
            return 1;
        }
    }
    fs::path dir = fs::temp_directory_path() / ("teller-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string backend = std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
    if (o.model.empty()) {
        o.model = (dir / "intent.model").string();
        std::cerr << "e2e_bench: training a model from the skills' examples...\n";
        teller::testing::TellerProcess train(
            teller::testing::teller_binary(),
            {"train", "--output", o.model, "--backend-data", backend});
        if (train.run_to_completion(10min) != 0) {
            std::cerr << train.log();
            return 1;
        }
    }
    std::vector<std::string> args = {
        "run", "--port", "0", "--model", o.model, "--backend-data", backend, "--log-level", "warn"};
    if (redis) {
        args.insert(args.end(), {"--redis-url", redis->url()});
    }
    teller::testing::TellerProcess teller(teller::testing::teller_binary(), args);
    if (!teller.start(90s)) {
        std::cerr << teller.log();
        return 1;
    }
    std::cerr << "e2e_bench: teller on port " << teller.port() << "; " << o.clients << " clients x "
              << o.messages << " messages\n";

    // Warm up: the first reply waits for the consumer groups to form (about 3 s); not measured.
    {
        ChatClient warmup(teller.port());
        warmup.hello();
        warmup.say("hello");
        if (!warmup.next_of_type("reply", 60s)) {
            std::cerr << "e2e_bench: no reply to the warm-up message\n" << teller.log();
            return 1;
        }
    }

    // Closed loop: each client sends its next message once the previous one was answered.
    const std::vector<std::string> utterances = {
        "what is my balance", "I lost my card", "我要查余额", "hello",
        "activate my card",   "thanks",         "我的卡丢了", "cancel"};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::atomic<int> failures{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < o.clients; ++c) {
        threads.emplace_back([&, c] {
            try {
                ChatClient client(teller.port());
                if (client.hello().empty()) {
                    failures += o.messages;
                    return;
                }
                std::vector<double> mine;
                for (int m = 0; m < o.messages; ++m) {
                    auto sent = std::chrono::steady_clock::now();
                    client.say(utterances[(c + m) % utterances.size()]);
                    if (!client.next_of_type("reply", 30s)) {
                        ++failures;
                        return;
                    }
                    mine.push_back(std::chrono::duration<double, std::milli>(
                                       std::chrono::steady_clock::now() - sent)
                                       .count());
                }
                std::lock_guard lock(mutex);
                latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
            } catch (const std::exception& e) {
                std::cerr << "client " << c << ": " << e.what() << "\n";
                failures += 1;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    long rss_kib = teller.peak_rss_kib();
    teller.stop();
    fs::remove_all(dir);

    std::printf("e2e_bench: clients=%d messages_per_client=%d store=%s\n", o.clients, o.messages,
                o.redis ? "redis" : "memory");
    std::printf("  answered      %zu (failures %d)\n", latencies_ms.size(), failures.load());
    std::printf("  throughput    %.1f messages/s\n", latencies_ms.size() / seconds);
    std::printf("  latency p50   %.2f ms\n", percentile(latencies_ms, 0.50));
    std::printf("  latency p99   %.2f ms\n", percentile(latencies_ms, 0.99));
    std::printf("  teller peak RSS %.1f MiB\n", rss_kib / 1024.0);
    return failures.load() == 0 ? 0 : 1;
}
