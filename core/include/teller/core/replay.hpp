// Regression testing from recorded traffic: Kafka topics to JSONL (record) and recorded inbound
// messages through an in-process engine, diffed against the recorded replies (replay).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/bus.hpp"
#include "teller/core/engine.hpp"
#include "teller/core/error.hpp"
#include "teller/core/kafka.hpp"
#include "teller/core/nlu.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::core {

// ---------------------------------------------------------------------------------------------
// Recording format
// ---------------------------------------------------------------------------------------------

/// One record as one line of a recording (JSON, no trailing newline): `topic`, `partition`,
/// `offset`, `key`, `headers` (array of {name, value}), `timestamp` (ms since the epoch) and
/// `value` when the value is valid UTF-8, else `value_base64`. A header value that is not UTF-8
/// is written as `value_base64` inside its header object. Thread-safe.
std::string to_recording_line(const Record& record);

/// Parses one line written by to_recording_line. Errors: malformed_json, missing_field (no
/// topic, no value or value_base64, a header without a name, bad base64). Thread-safe.
Result<Record> parse_recording_line(std::string_view line);

/// Reads a whole recording (blank lines skipped). Throws core::Error naming the file and line
/// when the file cannot be read or a line is not a record: a recording is an input given on
/// the command line, checked once at start.
std::vector<Record> read_recording(const std::string& path);

/// Writes `records` as a recording to `path` (replacing it). Throws core::Error when the file
/// cannot be written.
void write_recording(const std::string& path, const std::vector<Record>& records);

// ---------------------------------------------------------------------------------------------
// teller record
// ---------------------------------------------------------------------------------------------

/// Where TopicReader starts in each partition.
struct ReadStart {
    /// First offset to read (clamped to what the partition still holds); earliest when unset.
    std::optional<std::int64_t> offset;
    /// First record with a timestamp at or after this (ms since the epoch); wins over `offset`.
    std::optional<std::int64_t> timestamp_ms;
};

/// One partition as TopicReader sees it.
struct PartitionProgress {
    TopicPartition partition;
    std::int64_t start = 0;  ///< first offset to read
    std::int64_t end = 0;    ///< high watermark when the reader started
    std::int64_t next = 0;   ///< offset of the next record to read
    bool done() const noexcept { return next >= end; }
};

/// Reads every partition of some topics without joining a consumer group and without
/// committing (rd_kafka_assign with explicit start offsets), so it leaves no trace on the
/// cluster. Not thread-safe: one thread polls and destroys it.
class TopicReader {
public:
    /// Looks up the topics' partitions, their watermarks and (for `start.timestamp_ms`) the
    /// offsets for that time (OffsetsForTimes; when the cluster cannot answer, as librdkafka's
    /// mock cannot, reading starts at the earliest offset and earlier records are skipped
    /// here), then assigns them. Throws core::Error when the brokers cannot be reached within
    /// `timeout` or a topic does not exist.
    TopicReader(const KafkaConfig& config, const std::vector<std::string>& topics,
                const ReadStart& start,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~TopicReader();
    TopicReader(const TopicReader&) = delete;
    TopicReader& operator=(const TopicReader&) = delete;

    /// Up to `max_records`, waiting at most `timeout` for the first. Records before the
    /// requested start time are dropped. Consumer errors are logged, never returned.
    std::vector<Record> poll(std::size_t max_records, std::chrono::milliseconds timeout);

    /// Every assigned partition with how far it has been read.
    const std::vector<PartitionProgress>& partitions() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// When `record_topics` stops.
struct RecordOptions {
    KafkaConfig kafka;
    std::vector<std::string> topics;
    ReadStart start;
    /// Stop once every partition reached the high watermark it had at start; records produced
    /// later are not written.
    bool until_end = false;
    /// Stop after this many records.
    std::optional<std::size_t> max_records;
    /// Stop after this long (wall clock) even if more records may come.
    std::optional<std::chrono::milliseconds> timeout;
    /// Called about once a second and at the end, from the calling thread.
    std::function<void(std::size_t records, double seconds,
                       const std::vector<PartitionProgress>& partitions)>
        progress;
};

struct RecordStats {
    std::size_t records = 0;
    double seconds = 0;
};

/// Copies records to `out`, one recording line each. Without until_end, max_records or
/// timeout it runs until `stop()` returns true (checked between polls; may be empty).
/// Throws core::Error as TopicReader does, and when `out` cannot be written.
RecordStats record_topics(const RecordOptions& options, std::ostream& out,
                          const std::function<bool()>& stop = {});

// ---------------------------------------------------------------------------------------------
// teller replay
// ---------------------------------------------------------------------------------------------

/// A Consumer over a fixed list of records, handing them out in order, one per poll (so each
/// turn gets its own clock reading). commit() and rewind() work on positions in the list.
/// Not thread-safe, like every Consumer.
class MemoryConsumer final : public Consumer {
public:
    explicit MemoryConsumer(std::vector<Record> records);

    std::vector<Record> poll(std::size_t max_records, std::chrono::milliseconds timeout) override;
    boost::system::error_code commit(const std::vector<Record>& records) override;
    boost::system::error_code rewind(const std::vector<Record>& records) override;

    /// Records not handed out yet.
    std::size_t remaining() const noexcept { return records_.size() - position_; }
    std::size_t size() const noexcept { return records_.size(); }
    /// Timestamp of the record handed out last (0 before the first poll).
    std::int64_t current_timestamp_ms() const noexcept { return current_timestamp_ms_; }

private:
    std::vector<Record> records_;
    std::size_t position_ = 0;
    std::int64_t current_timestamp_ms_ = 0;
};

/// A Producer that keeps what it is given and acknowledges each record at once, on the
/// producing thread. Thread-safe.
class MemoryProducer final : public Producer {
public:
    boost::system::error_code produce(const Record& record,
                                      DeliveryHandler on_delivery = {}) override;
    boost::system::error_code flush(std::chrono::milliseconds timeout) override;
    std::size_t in_flight() const override;

    /// Everything produced so far, in order, with partition 0 and offsets counting from 0 per
    /// topic. Takes it out of the producer.
    std::vector<Record> take();

private:
    mutable std::mutex mutex_;
    std::vector<Record> records_;
};

/// Fields never compared by default, at any depth: they change on every run (times, trace
/// ids, the gateway instance) or with any retraining (`confidence`).
std::vector<std::string> default_ignored_fields();

/// One field that differs between an expected and an actual output record.
struct FieldChange {
    std::string where;     ///< "reply 1 text", "event 3 (user_uttered) data.intent", "reply 2"
    std::string expected;  ///< compact JSON, "(none)" when missing
    std::string actual;
};

/// One customer turn whose output changed.
struct TurnDiff {
    std::size_t turn = 0;  ///< 1-based position of the inbound message in its conversation
    std::string inbound_id;
    std::string user_text;
    std::vector<std::string> expected_replies;  ///< reply texts
    std::vector<std::string> actual_replies;
    std::vector<FieldChange> changes;
};

struct ConversationDiff {
    std::string conversation;
    std::size_t turns = 0;
    std::vector<TurnDiff> changed;
};

/// The outcome of a replay or a comparison.
struct ReplayReport {
    std::size_t conversations = 0;
    std::size_t turns = 0;
    std::size_t changed_turns = 0;
    std::vector<ConversationDiff> diffs;  ///< only conversations with changed turns
    std::vector<Record> actual;           ///< what the engine produced (outbound and events)
};

/// Compares, turn by turn, the outbound replies and dialogue events answering each inbound
/// message in `inbound` (a recording's `teller.inbound` records, in replay order) as found in
/// `expected` and in `actual` (matched by conversation and `in_reply_to`). Records of other
/// turns are ignored. Fields named in `ignore` are dropped at any depth before comparing;
/// numbers are equal when within 1e-4 of each other (relative above 1), so confidences that
/// differ only in the last bits across CPUs do not count. Thread-safe.
ReplayReport compare_turns(const std::vector<Record>& inbound, const std::vector<Record>& expected,
                           const std::vector<Record>& actual,
                           const std::vector<std::string>& ignore);

struct ReplayOptions {
    /// Topics as the recording names them.
    std::string inbound_topic{kInboundTopic};
    std::string outbound_topic{kOutboundTopic};
    std::string events_topic{kEventsTopic};
    /// Compared fields to leave out, besides default_ignored_fields().
    std::vector<std::string> ignore;
    /// Engine settings (threshold, TTL); the topics, batch size and clock are set by replay.
    EngineOptions engine;
    /// Called after each turn from the calling thread: (turns done, turns in all).
    std::function<void(std::size_t, std::size_t)> progress;
};

/// Runs the `inbound_topic` records of `recording`, ordered by timestamp (then partition and
/// offset), through a core::Engine with a MemoryConsumer, MemoryProducer, the in-memory
/// session store and a fixed clock (each turn's clock is its inbound record's timestamp), and
/// compares its output with the outbound and events records of `expected` (the recording
/// itself or a golden file). The engine draws no random numbers, so nothing needs seeding.
/// Throws core::Error if the engine fails to complete a batch (a broken invariant with
/// in-memory parts). Not thread-safe with respect to `classifier` and `skills` loading; both
/// must be fully loaded.
// TODO(teller): the skills' backend state (cards blocked, balances) is not part of a
// recording: replay answers from whatever backend `skills` was built on, so a recording taken
// from a long-running system whose data changed before or while recording shows those turns
// as changed.
ReplayReport replay_recording(const std::vector<Record>& recording,
                              const std::vector<Record>& expected,
                              const IntentClassifier& classifier, const SkillHost& skills,
                              const ReplayOptions& options = {});

/// The readable diff: per changed conversation its changed turns (turn number, user text,
/// expected and actual reply texts, changed fields), then the summary line
/// `conversations N, turns M, changed turns K`. Thread-safe.
std::string format_report(const ReplayReport& report);

}  // namespace teller::core
