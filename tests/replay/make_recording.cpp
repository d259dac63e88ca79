// Regenerates tests/replay/conversations.jsonl: scripted English and Chinese web chat
// conversations against `teller run`, recorded from its mock cluster with `teller record`.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "chat_client.hpp"
#include "teller_process.hpp"

namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using teller::testing::ChatClient;
using teller::testing::TellerProcess;

// Says `text` (as message `id`) and returns the first reply to it; replies still arriving for
// earlier messages are skipped. (A read that times out closes ChatClient's connection, so the
// replies that follow the first are not waited for.)
std::vector<json::object> say(ChatClient& client, const std::string& text, const std::string& id) {
    client.say(text, id);
    std::cerr << "  > " << text << "\n";
    std::vector<json::object> replies;
    while (auto reply = client.next_of_type("reply", 20s)) {
        const json::value* to = reply->if_contains("in_reply_to");
        std::cerr << "  < " << json::serialize(reply->at("text")) << "\n";
        if (to != nullptr && to->is_string() && to->as_string() == id) {
            replies.push_back(*reply);
            break;
        }
    }
    return replies;
}

// The payload of the first quick reply, or `fallback` when there is none.
std::string first_choice(const std::vector<json::object>& replies, const std::string& fallback) {
    for (const json::object& r : replies) {
        if (const json::value* q = r.if_contains("quick_replies");
            q != nullptr && q->is_array() && !q->as_array().empty()) {
            return std::string(q->as_array().front().at("payload").as_string());
        }
    }
    return fallback;
}

// One conversation: a fresh connection, then each line in turn. A line "<choice>" answers
// with the first quick reply offered last.
void converse(int port, const std::vector<std::string>& lines) {
    ChatClient client(port);
    std::string conversation = client.hello();
    std::cerr << "conversation " << conversation << "\n";
    std::vector<json::object> last;
    int n = 0;
    for (const std::string& line : lines) {
        // Built in two steps: GCC 12 warns falsely (-Wrestrict) about "m" + std::to_string(n).
        std::string id = "m";
        id += std::to_string(++n);
        last = say(client, line == "<choice>" ? first_choice(last, "1") : line, id);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: replay_make_recording OUTPUT.jsonl MODEL\n"
                     "  MODEL: written by `teller train --skill <build>/skills/"
                     "teller_skill_cards.so --output MODEL`\n";
        return 2;
    }
    const std::string output = argv[1];
    const std::string model = argv[2];
    const std::string bin = TELLER_BINARY_DIR;
    const std::string skill = bin + "/skills/teller_skill_cards.so";
    const std::string backend = std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";

    TellerProcess teller(
        teller::testing::teller_binary(),
        {"run", "--port", "0", "--model", model, "--skill", skill, "--backend-data", backend,
         "--flows-dir", TELLER_SOURCE_DIR "/tests/replay/no-flows"});
    if (!teller.start(90s) || teller.kafka_bootstrap().empty()) {
        std::cerr << "teller run did not start:\n" << teller.log();
        return 1;
    }
    const int port = teller.port();

    // English: lost card (choose, confirm), activation, balance, small talk, a handoff.
    converse(port,
             {"hello", "I lost my card, can you block it?", "<choice>", "yes", "thanks", "bye"});
    converse(port, {"my card was stolen yesterday", "<choice>", "no", "what is my card balance?"});
    converse(port, {"I want to activate my new card", "<choice>", "yes"});
    converse(port, {"can I talk to a human please"});
    converse(port, {"what's the weather like on mars"});
    // Chinese: lost card flow and balance.
    converse(port, {"你好", "我的信用卡丢了", "<choice>", "是的", "谢谢"});
    converse(port, {"我要查余额", "<choice>", "再见"});

    // Let the last events reach the topics, then copy all three.
    std::this_thread::sleep_for(1s);
    TellerProcess record(teller::testing::teller_binary(),
                         {"record", "--kafka-brokers", teller.kafka_bootstrap(), "--topic",
                          "teller.inbound", "--topic", "teller.outbound", "--topic",
                          "teller.events", "--until-end", "--output", output});
    int status = record.run_to_completion(60s);
    std::cerr << record.log();
    teller.stop();
    return status == 0 ? 0 : 1;
}
