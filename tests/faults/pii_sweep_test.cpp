// Personal data typed into web chat through the real `teller run` process, logging at TRACE:
// no card number, phone number, IBAN, token or security code appears unmasked on any topic or
// in the process's output.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chat_client.hpp"
#include "fault_support.hpp"
#include "teller/core/handoff.hpp"

namespace teller::testing {
namespace {
using namespace std::chrono_literals;

struct Seed {
    std::string message;                 ///< what the customer types
    std::vector<std::string> forbidden;  ///< forms of the secret that must appear nowhere
};

const std::vector<Seed>& seeds() {
    static const std::vector<Seed> kSeeds = {
        {"my card is 4111 1111 1111 1111 please block it",
         {"4111 1111 1111 1111", "4111111111111111"}},
        {"card 5500-0000-0000-0004 was stolen", {"5500-0000-0000-0004", "5500000000000004"}},
        {"the number 4012888888881881 is mine", {"4012888888881881"}},
        {"call me on +44 7911 123456", {"+44 7911 123456", "447911123456", "7911 123456"}},
        {"or +1 (415) 555-2671 after six", {"(415) 555-2671", "4155552671", "555-2671"}},
        {"我的手机是 138 1234 5678", {"138 1234 5678", "13812345678"}},
        {"手机13912345678", {"13912345678"}},
        {"send it to GB82 WEST 1234 5698 7654 32",
         {"GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "5698 7654"}},
        {"iban GB82WEST12345698765432 thanks", {"GB82WEST12345698765432"}},
        {"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX3ZhbHVl",
         {"eyJhbGciOiJIUzI1NiJ9", "c2lnbmF0dXJlX3ZhbHVl"}},
        {"my api_key=sk_live_51HxYzAbCdEfGhIjKlMnOpQr ok", {"sk_live_51HxYzAbCdEfGhIjKlMnOpQr"}},
        {"token: ghp_abcdefghijklmnopqrstuvwxyz0123456789", {"ghp_abcdefghijklmnopqrstuvwxyz012"}},
        {"the cvv 123 is on the back", {"cvv 123"}},
        {"CVC: 4567", {"CVC: 4567"}},
    };
    return kSeeds;
}

TEST(PiiSweepTest, SeededPersonalDataAppearsMaskedOnEveryTopicAndInTheTraceLog) {
    FaultCluster cluster(1);
    BotFiles bot;
    ASSERT_TRUE(bot.ready()) << bot.training_log();

    std::vector<std::string> args = {
        "run", "--kafka-brokers", cluster.brokers(), "--port", "0", "--log-level", "trace"};
    for (const std::string& a : bot.bot_args()) {
        args.push_back(a);
    }
    TellerProcess teller(teller_binary(), args);
    ASSERT_TRUE(teller.start(60s)) << teller.log();

    // Each seed in its own conversation, answered before the next.
    int answered = 0;
    for (std::size_t i = 0; i < seeds().size(); ++i) {
        ChatClient client(teller.port());
        ASSERT_FALSE(client.hello().empty());
        client.say(seeds()[i].message, "pii-" + std::to_string(i));
        auto reply = client.next_of_type("reply", 30s);
        EXPECT_TRUE(reply) << seeds()[i].message;
        answered += reply ? 1 : 0;
    }

    // Everything the system wrote: four topics and the process's own output.
    std::vector<std::pair<std::string, std::string>> places;
    for (std::string_view topic :
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic,
          core::kCrmTopic, core::kHandoffTopic, core::kAgentTopic}) {
        std::string all;
        auto records = read_topic(cluster.config("faults-pii"), std::string(topic));
        for (const core::Record& r : records) {
            all += r.key + "\n" + r.value + "\n";
            for (const core::Header& h : r.headers) {
                all += h.name + ": " + h.value + "\n";
            }
        }
        places.emplace_back(
            std::string(topic) + " (" + std::to_string(records.size()) + " records)", all);
    }
    EXPECT_EQ(teller.stop(), 0);
    places.emplace_back("process output", teller.log());
    ASSERT_NE(teller.log().find("trace"), std::string::npos) << "nothing was logged at TRACE";

    int leaks = 0;
    for (const auto& [place, text] : places) {
        for (const Seed& seed : seeds()) {
            for (const std::string& secret : seed.forbidden) {
                std::size_t at = text.find(secret);
                if (at != std::string::npos) {
                    ++leaks;
                    ADD_FAILURE() << "\"" << secret << "\" unmasked in " << place << ": ..."
                                  << text.substr(at > 80 ? at - 80 : 0, 200) << "...";
                }
            }
        }
    }
    std::cout << "pii sweep: " << seeds().size() << " messages with personal data, answered "
              << answered << ", places searched " << places.size() << ", unmasked values found "
              << leaks << std::endl;
}

}  // namespace
}  // namespace teller::testing
