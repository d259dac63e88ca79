// Replay: the recording format, record_topics on the mock cluster, the turn comparison, and
// `teller replay` of a recording of the product's own conversations.
#include "teller/core/replay.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "replay_helper.hpp"
#include "teller/core/events.hpp"
#include "teller/core/handoff.hpp"
#include "teller/core/kafka.hpp"
#include "teller_process.hpp"

namespace teller::testing {
namespace {

// The recorded bot is the cards skill alone: no YAML flows (a folder that does not exist), so
// flows added to the tree later do not change the model the recording is replayed with.
constexpr const char* kNoFlows = TELLER_SOURCE_DIR "/tests/replay/no-flows";
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kRecording = std::string(TELLER_SOURCE_DIR) + "/tests/replay/conversations.jsonl";

std::vector<core::Record> parse_lines(const std::string& text) {
    std::vector<core::Record> records;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto r = core::parse_recording_line(line);
        EXPECT_TRUE(r) << line;
        if (r) {
            records.push_back(std::move(*r));
        }
    }
    return records;
}

TEST(RecordingFormatTest, LineRoundTripsTextAndBinaryValues) {
    core::Record text{"teller.inbound", "webchat:1", "{\"text\":\"你好\"}", {{"trace_id", "t-1"}}};
    text.partition = 2;
    text.offset = 41;
    text.timestamp_ms = 1764867780125;
    core::Record binary{"raw",
                        std::string("\xff\x00k", 3),
                        std::string("\x00\x01\xfe\xff", 4),
                        {{"bin", std::string("\xc3\x28", 2)}}};

    for (const core::Record& r : {text, binary}) {
        std::string line = core::to_recording_line(r);
        EXPECT_EQ(line.find('\n'), std::string::npos);
        auto back = core::parse_recording_line(line);
        ASSERT_TRUE(back) << line;
        EXPECT_EQ(back->topic, r.topic);
        EXPECT_EQ(back->key, r.key);
        EXPECT_EQ(back->value, r.value);
        EXPECT_EQ(back->partition, r.partition);
        EXPECT_EQ(back->offset, r.offset);
        EXPECT_EQ(back->timestamp_ms, r.timestamp_ms);
        ASSERT_EQ(back->headers.size(), 1u);
        EXPECT_EQ(back->headers[0].name, r.headers[0].name);
        EXPECT_EQ(back->headers[0].value, r.headers[0].value);
    }
    // Text stays readable; bytes that are not UTF-8 go to *_base64.
    json::object t = json::parse(core::to_recording_line(text)).as_object();
    EXPECT_EQ(t.at("value").as_string(), text.value);
    json::object b = json::parse(core::to_recording_line(binary)).as_object();
    EXPECT_FALSE(b.contains("value"));
    EXPECT_EQ(b.at("value_base64").as_string(), "AAH+/w==");
}

TEST(RecordingFormatTest, MalformedLinesAreErrors) {
    EXPECT_EQ(core::parse_recording_line("{not json").error(), core::Errc::malformed_json);
    EXPECT_EQ(core::parse_recording_line("{\"topic\":\"t\"}").error(), core::Errc::missing_field);
    EXPECT_EQ(core::parse_recording_line("{\"topic\":\"t\",\"value_base64\":\"***\"}").error(),
              core::Errc::missing_field);
}

// A mock cluster with one topic of three partitions holding `count` records.
class RecordTest : public ::testing::Test {
protected:
    void SetUp() override {
        cluster_ = std::make_unique<core::MockCluster>(1);
        cluster_->create_topic("rec.test", 3);
        kafka_.brokers = cluster_->bootstrap_servers();
    }

    void produce(int count, std::int64_t first_timestamp_ms) {
        core::KafkaProducer producer(kafka_);
        for (int i = 0; i < count; ++i) {
            core::Record r{"rec.test",
                           "conversation-" + std::to_string(i % 5),
                           i % 7 == 0 ? std::string("\x00\xff", 2) : "value " + std::to_string(i),
                           {{"schema", "test.v1"}, {"n", std::to_string(i)}}};
            r.timestamp_ms = first_timestamp_ms + i * 1000;
            ASSERT_FALSE(producer.produce(r));
        }
        ASSERT_FALSE(producer.flush(10s));
    }

    core::RecordOptions options() const {
        core::RecordOptions o;
        o.kafka = kafka_;
        o.kafka.properties["group.id"] = "record-test-" + std::to_string(::getpid());
        o.topics = {"rec.test"};
        o.timeout = 20s;
        return o;
    }

    std::unique_ptr<core::MockCluster> cluster_;
    core::KafkaConfig kafka_;
};

TEST_F(RecordTest, UntilEndCopiesEveryRecordOnceAndStops) {
    produce(30, 1764867780000);
    core::RecordOptions o = options();
    o.until_end = true;
    std::size_t progress_calls = 0;
    o.progress = [&](std::size_t, double, const std::vector<core::PartitionProgress>& parts) {
        ++progress_calls;
        EXPECT_EQ(parts.size(), 3u);
    };
    std::ostringstream out;
    auto started = std::chrono::steady_clock::now();
    core::RecordStats stats = core::record_topics(o, out);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "did not stop at the end";
    EXPECT_EQ(stats.records, 30u);
    EXPECT_GE(progress_calls, 1u);

    std::vector<core::Record> records = parse_lines(out.str());
    ASSERT_EQ(records.size(), 30u);
    std::set<std::pair<int, std::int64_t>> positions;
    std::set<std::string> numbers;
    for (const core::Record& r : records) {
        positions.insert({r.partition, r.offset});
        EXPECT_EQ(r.topic, "rec.test");
        ASSERT_EQ(r.headers.size(), 2u);
        EXPECT_EQ(r.header("schema"), "test.v1");
        int n = std::stoi(r.header("n"));
        numbers.insert(r.header("n"));
        EXPECT_EQ(r.timestamp_ms, 1764867780000 + n * 1000);
        EXPECT_EQ(r.key, "conversation-" + std::to_string(n % 5));
        EXPECT_EQ(r.value, n % 7 == 0 ? std::string("\x00\xff", 2) : "value " + std::to_string(n));
    }
    EXPECT_EQ(positions.size(), 30u);
    EXPECT_EQ(numbers.size(), 30u);
}

TEST_F(RecordTest, FromOffsetAndMaxLimitWhatIsCopied) {
    produce(30, 1764867780000);
    core::RecordOptions o = options();
    o.until_end = true;
    o.start.offset = 8;
    std::ostringstream all;
    core::record_topics(o, all);
    std::vector<core::Record> records = parse_lines(all.str());
    std::map<int, std::int64_t> per_partition_end;
    ASSERT_FALSE(records.empty());
    for (const core::Record& r : records) {
        EXPECT_GE(r.offset, 8) << "partition " << r.partition;
    }

    o.start.offset.reset();
    o.max_records = 7;
    std::ostringstream some;
    EXPECT_EQ(core::record_topics(o, some).records, 7u);
    EXPECT_EQ(parse_lines(some.str()).size(), 7u);
}

TEST_F(RecordTest, FromTimestampSkipsOlderRecords) {
    produce(20, 1764867780000);
    core::RecordOptions o = options();
    o.until_end = true;
    o.start.timestamp_ms = 1764867780000 + 12 * 1000;
    std::ostringstream out;
    core::record_topics(o, out);
    std::set<int> numbers;
    for (const core::Record& r : parse_lines(out.str())) {
        numbers.insert(std::stoi(r.header("n")));
    }
    EXPECT_EQ(numbers, (std::set<int>{12, 13, 14, 15, 16, 17, 18, 19}));
}

// Synthetic turns for the comparison.
core::Record inbound(const std::string& conversation, const std::string& id,
                     const std::string& text) {
    core::InboundMessage m;
    m.id = id;
    m.channel = "webchat";
    m.conversation = conversation;
    m.text = text;
    return core::Record{std::string(core::kInboundTopic), conversation, core::to_json(m), {}};
}

core::Record reply(const std::string& conversation, const std::string& in_reply_to,
                   const std::string& text, std::int64_t created_at, const std::string& trace) {
    core::OutboundMessage m;
    m.conversation = conversation;
    m.channel = "webchat";
    m.text = text;
    m.in_reply_to = in_reply_to;
    m.created_at_ms = created_at;
    m.trace_id = trace;
    return core::Record{std::string(core::kOutboundTopic), conversation, core::to_json(m), {}};
}

core::Record uttered(const std::string& conversation, const std::string& in_reply_to,
                     const std::string& intent, double confidence) {
    core::DialogueEvent e;
    e.type = core::DialogueEventType::user_uttered;
    e.conversation = conversation;
    e.in_reply_to = in_reply_to;
    e.at_ms = 1000;
    e.data = json::object{{"intent", intent}, {"confidence", confidence}};
    return core::Record{std::string(core::kEventsTopic), conversation, core::to_json(e), {}};
}

TEST(CompareTurnsTest, IgnoredFieldsAndTinyNumberDifferencesAreNotChanges) {
    std::vector<core::Record> in{inbound("a", "1", "hi"), inbound("a", "2", "block it"),
                                 inbound("b", "1", "你好")};
    std::vector<core::Record> expected{
        reply("a", "1", "Hello!", 5, "t1"), uttered("a", "1", "greet", 0.912345678),
        reply("a", "2", "Blocked.", 6, "t2"), reply("b", "1", "您好！", 7, "t3")};
    std::vector<core::Record> actual{
        reply("a", "1", "Hello!", 99, "other"), uttered("a", "1", "greet", 0.912345679),
        reply("a", "2", "Blocked.", 98, "x"), reply("b", "1", "您好！", 97, "y")};
    core::ReplayReport report =
        core::compare_turns(in, expected, actual, core::default_ignored_fields());
    EXPECT_EQ(report.conversations, 2u);
    EXPECT_EQ(report.turns, 3u);
    EXPECT_EQ(report.changed_turns, 0u) << core::format_report(report);
    EXPECT_NE(core::format_report(report).find("conversations 2, turns 3, changed turns 0"),
              std::string::npos);
}

TEST(CompareTurnsTest, ChangedReplyAndIntentNameTheTurnAndTheFields) {
    std::vector<core::Record> in{inbound("a", "1", "hi"), inbound("a", "2", "block it")};
    std::vector<core::Record> expected{reply("a", "1", "Hello!", 5, "t"),
                                       reply("a", "2", "Which card?", 6, "t"),
                                       uttered("a", "2", "cards.block", 0.9)};
    std::vector<core::Record> actual{
        reply("a", "1", "Hello!", 5, "t"), reply("a", "2", "Sorry?", 6, "t"),
        reply("a", "2", "Try again.", 6, "t"), uttered("a", "2", "out_of_scope", 0.4)};
    core::ReplayReport report =
        core::compare_turns(in, expected, actual, core::default_ignored_fields());
    ASSERT_EQ(report.changed_turns, 1u);
    ASSERT_EQ(report.diffs.size(), 1u);
    const core::TurnDiff& turn = report.diffs[0].changed.at(0);
    EXPECT_EQ(turn.turn, 2u);
    EXPECT_EQ(turn.user_text, "block it");
    EXPECT_EQ(turn.expected_replies, (std::vector<std::string>{"Which card?"}));
    EXPECT_EQ(turn.actual_replies, (std::vector<std::string>{"Sorry?", "Try again."}));
    std::set<std::string> where;
    for (const core::FieldChange& f : turn.changes) {
        where.insert(f.where);
    }
    // The confidence moved too, but it is ignored by default; the intent is not.
    EXPECT_EQ(where, (std::set<std::string>{"reply 1 text", "reply 2",
                                            "event 1 (user_uttered) data.intent"}));

    // The same difference is no change when the fields are ignored.
    auto ignored = core::default_ignored_fields();
    ignored.insert(ignored.end(), {"text", "data"});
    std::vector<core::Record> one_reply(actual.begin(), actual.begin() + 2);
    EXPECT_EQ(core::compare_turns(in, expected, one_reply, ignored).changed_turns, 1u)
        << "the missing event still counts";
    one_reply.push_back(actual[3]);
    EXPECT_EQ(core::compare_turns(in, expected, one_reply, ignored).changed_turns, 0u);
}

// The checked-in recording against this build, with a model trained as the recording's was.
class ReplayTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(fs::temp_directory_path() /
                            ("teller-replay-" + std::to_string(::getpid())));
        fs::create_directories(*dir_);
        options_ = new ReplayTestOptions();
        options_->model = (*dir_ / "intent.model").string();
        options_->skills = {std::string(TELLER_BINARY_DIR) + "/skills/teller_skill_cards.so"};
        options_->backend_data = std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
        options_->extra_args = {"--flows-dir", kNoFlows};

        // Training is seeded: the same skills give the model the recording was made with.
        TellerProcess train(teller_binary(), {"train", "--output", options_->model, "--skill",
                                              options_->skills.front(), "--backend-data",
                                              options_->backend_data, "--flows-dir", kNoFlows});
        ASSERT_EQ(train.run_to_completion(5min), 0) << train.log();
    }

    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(*dir_, ec);
        delete dir_;
        delete options_;
    }

    static fs::path* dir_;
    static ReplayTestOptions* options_;
};

fs::path* ReplayTest::dir_ = nullptr;
ReplayTestOptions* ReplayTest::options_ = nullptr;

TEST_F(ReplayTest, RecordingOfTheProductReplaysUnchanged) {
    expect_replay_matches(kRecording, *options_);

    ReplayOutcome outcome = run_replay(kRecording, *options_);
    EXPECT_EQ(outcome.exit_status, 0);
    std::vector<core::Record> records = core::read_recording(kRecording);
    std::set<std::string> conversations;
    std::size_t turns = 0;
    for (const core::Record& r : records) {
        if (r.topic == core::kInboundTopic) {
            conversations.insert(r.key);
            ++turns;
        }
    }
    EXPECT_NE(outcome.report.find("conversations " + std::to_string(conversations.size()) +
                                  ", turns " + std::to_string(turns) + ", changed turns 0"),
              std::string::npos)
        << outcome.report;
}

TEST_F(ReplayTest, ChangedRepliesAreReportedForExactlyThoseTurns) {
    // Change the expected text of two replies: one in the first conversation, one in the last.
    std::vector<core::Record> records = core::read_recording(kRecording);
    std::vector<std::size_t> outbound;
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (records[i].topic == core::kOutboundTopic) {
            outbound.push_back(i);
        }
    }
    ASSERT_GE(outbound.size(), 4u);
    std::map<std::string, std::string> changed;  // conversation -> inbound id
    for (std::size_t i : {outbound[1], outbound.back()}) {
        auto m = core::parse_outbound(records[i].value);
        ASSERT_TRUE(m);
        m->text += " (an older wording)";
        records[i].value = core::to_json(*m);
        changed[m->conversation] = m->in_reply_to;
    }
    ASSERT_EQ(changed.size(), 2u) << "pick replies of two conversations";
    const fs::path modified = *dir_ / "modified.jsonl";
    core::write_recording(modified.string(), records);

    // Which turn of its conversation each changed reply answers.
    std::map<std::string, std::size_t> expected_turns;
    std::map<std::string, std::size_t> counter;
    for (const core::Record& r : records) {
        if (r.topic != core::kInboundTopic) {
            continue;
        }
        auto in = core::parse_inbound(r.value);
        ASSERT_TRUE(in);
        ++counter[in->conversation];
        if (changed.contains(in->conversation) && changed[in->conversation] == in->id) {
            expected_turns[in->conversation] = counter[in->conversation];
        }
    }
    ASSERT_EQ(expected_turns.size(), 2u);

    ReplayOutcome outcome = run_replay(modified.string(), *options_);
    EXPECT_EQ(outcome.exit_status, 1) << outcome.output;
    EXPECT_NE(outcome.report.find(", changed turns 2\n"), std::string::npos) << outcome.report;
    for (const auto& [conversation, turn] : expected_turns) {
        EXPECT_NE(outcome.report.find("conversation " + conversation + ": 1 of "),
                  std::string::npos)
            << outcome.report;
        EXPECT_NE(outcome.report.find("  turn " + std::to_string(turn) + "  user: "),
                  std::string::npos)
            << outcome.report;
    }
    EXPECT_NE(outcome.report.find("(an older wording)"), std::string::npos) << outcome.report;

    // Ignoring the text field hides exactly this difference.
    ReplayTestOptions ignoring = *options_;
    ignoring.ignore = {"text"};
    EXPECT_EQ(run_replay(modified.string(), ignoring).exit_status, 0);
}

TEST_F(ReplayTest, GoldenFileWrittenByReplayIsMatchedByTheNextReplay) {
    const fs::path golden = *dir_ / "golden.jsonl";
    ReplayTestOptions write = *options_;
    write.extra_args.insert(write.extra_args.end(), {"--write-golden", golden.string()});
    ASSERT_EQ(run_replay(kRecording, write).exit_status, 0);
    std::vector<core::Record> output = core::read_recording(golden.string());
    ASSERT_FALSE(output.empty());
    for (const core::Record& r : output) {
        // The handoff request of the recording queues its conversation for a person.
        EXPECT_TRUE(r.topic == core::kOutboundTopic || r.topic == core::kEventsTopic ||
                    r.topic == core::kHandoffTopic)
            << r.topic;
    }

    ReplayTestOptions against = *options_;
    against.golden = golden.string();
    expect_replay_matches(kRecording, against);
}

}  // namespace
}  // namespace teller::testing
