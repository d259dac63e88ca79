// Poison records on teller.inbound (bad JSON, an unknown schema version, an oversized record,
// invalid UTF-8) read by the real engine with Redis sessions: each lands on teller.dlq with its
// reason, code, source and original bytes, and the good records around them are answered in
// order.
#include <chrono>
#include <iostream>
#include <map>
#include <optional>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "fault_support.hpp"
#include "redis_server.hpp"
#include "teller/core/error.hpp"

namespace teller::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

// Standard base64 (RFC 4648 section 4) back to bytes; nullopt on a character outside it.
std::optional<std::string> decode_base64(std::string_view text) {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') {
            break;
        }
        auto at = kAlphabet.find(c);
        if (at == std::string::npos) {
            return std::nullopt;
        }
        buffer = (buffer << 6) | static_cast<std::uint32_t>(at);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
        }
    }
    return out;
}

std::string good_message(const std::string& conversation, const std::string& id,
                         const std::string& text) {
    core::InboundMessage m;
    m.id = id;
    m.channel = "webchat";
    m.conversation = conversation;
    m.sender = conversation;
    m.text = text;
    m.locale = "en";
    m.received_at_ms = 1'764'867'780'000;
    return core::to_json(m);
}

TEST(PoisonRecordsTest, EachPoisonRecordReachesTheDlqAndTheGoodOnesAreAnsweredInOrder) {
    RedisServer redis;
    ASSERT_TRUE(redis.available()) << redis.why();
    FaultCluster cluster(4);
    BotFiles bot;
    ASSERT_TRUE(bot.ready()) << bot.training_log();

    // One key, so one partition, read in this order.
    const std::string conversation = "webchat:poison0123456789abcdef";
    std::string oversized =
        good_message(conversation, "big", std::string(core::kMaxEventBytes, 'a'));
    std::string bad_utf8 = good_message(conversation, "utf8", "caf\xC3(\xFF");
    std::string bad_utf8_raw = bad_utf8;
    // to_json escapes nothing it need not; put the raw bad bytes back if it replaced them.
    if (bad_utf8.find("\xFF") == std::string::npos) {
        bad_utf8_raw = R"({"v":1,"id":"utf8","channel":"webchat","conversation":")" + conversation +
                       R"(","sender":"x","text":"caf)" + "\xC3(\xFF" +
                       R"(","received_at":"2026-12-04T17:03:00.000Z"})";
    }
    struct Poison {
        std::string name;
        std::string bytes;
        core::Errc code;
    };
    const std::vector<Poison> poisons = {
        {"bad json", R"({"v":1,"id":"broken","text":"unterminated)", core::Errc::malformed_json},
        {"schema v99",
         R"({"v":99,"id":"future","channel":"webchat","conversation":")" + conversation +
             R"(","sender":"x","text":"hi","received_at":"2026-12-04T17:03:00.000Z"})",
         core::Errc::unsupported_version},
        {"oversized", oversized, core::Errc::payload_too_large},
        {"invalid utf-8", bad_utf8_raw, core::Errc::invalid_utf8},
    };
    std::vector<std::string> good_ids;
    std::vector<core::Record> records;
    for (std::size_t i = 0; i <= poisons.size(); ++i) {
        std::string id = conversation + "/good-" + std::to_string(i + 1);
        good_ids.push_back(id);
        records.push_back({std::string(core::kInboundTopic),
                           conversation,
                           good_message(conversation, id, InboundFeeder::text_for(i)),
                           {}});
        if (i < poisons.size()) {
            records.push_back(
                {std::string(core::kInboundTopic), conversation, poisons[i].bytes, {}});
        }
    }

    auto engine = start_engine(bot, cluster.brokers(), redis.url());
    ReplyTally tally(cluster.config("faults-tally"));
    {
        core::KafkaProducer producer(cluster.config("faults-poison"));
        for (const core::Record& r : records) {
            ASSERT_FALSE(producer.produce(r));
        }
        ASSERT_FALSE(producer.flush(10s));
    }

    // The good ones: answered, once, in the order sent.
    std::set<std::string> ids(good_ids.begin(), good_ids.end());
    EXPECT_TRUE(tally.wait_for(ids, 2s, 60s)) << engine->log();
    auto f = tally.figures(ids);
    EXPECT_EQ(tally.answer_order(conversation), good_ids);
    EXPECT_EQ(f.lost, 0);
    EXPECT_EQ(f.duplicated, 0);

    // The poison ones: on the DLQ with reason, code, source and the original bytes.
    auto inbound = read_topic(cluster.config("faults-reader"), std::string(core::kInboundTopic));
    auto dlq = read_topic(cluster.config("faults-reader"), std::string(core::kDlqTopic));
    ASSERT_EQ(dlq.size(), poisons.size()) << engine->log();
    int matched = 0;
    for (const Poison& poison : poisons) {
        SCOPED_TRACE(poison.name);
        const core::Record* source = nullptr;
        for (const core::Record& r : inbound) {
            if (r.value == poison.bytes) {
                source = &r;
            }
        }
        ASSERT_NE(source, nullptr);
        const json::object* dead = nullptr;
        json::value parsed;
        for (const core::Record& r : dlq) {
            parsed = json::parse(r.value);
            const json::object& o = parsed.as_object();
            if (o.at("source").at("offset").to_number<std::int64_t>() == source->offset &&
                o.at("source").at("partition").to_number<std::int32_t>() == source->partition) {
                dead = &o;
                EXPECT_FALSE(r.header("reason").empty());
                EXPECT_EQ(r.key, conversation);
                break;
            }
        }
        ASSERT_NE(dead, nullptr) << "no DLQ record for offset " << source->offset;
        EXPECT_EQ(dead->at("source").at("topic").as_string(), core::kInboundTopic);
        EXPECT_EQ(dead->at("error_code").to_number<int>(), static_cast<int>(poison.code));
        EXPECT_EQ(dead->at("error").as_string(), core::make_error_code(poison.code).message());
        EXPECT_FALSE(dead->at("reason").as_string().empty());
        auto original = decode_base64(dead->at("value_base64").as_string());
        ASSERT_TRUE(original);
        EXPECT_EQ(*original, poison.bytes);
        ++matched;
    }
    std::cout << "poison records: sent " << records.size() << " (" << poisons.size()
              << " poison), good answered " << f.answered << "/" << good_ids.size()
              << ", duplicated " << f.duplicated << ", lost " << f.lost << ", dead-lettered "
              << dlq.size() << " with source and original bytes " << matched << std::endl;
    EXPECT_EQ(engine->stop(), 0) << engine->log();
}

}  // namespace
}  // namespace teller::testing
