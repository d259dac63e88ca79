// Shared pieces of the fault tests: a Kafka mock cluster with Teller's topics, an inbound
// feeder, a tally of the replies on teller.outbound, and engine processes to kill.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "teller/core/bus.hpp"
#include "teller/core/events.hpp"
#include "teller/core/kafka.hpp"
#include "teller_process.hpp"

namespace teller::core {
class TopicReader;
}  // namespace teller::core

namespace teller::testing {

/// A mock cluster (in this process, reached over loopback by the teller processes) with
/// teller.inbound, outbound, events and dlq, each with `partitions` partitions.
class FaultCluster {
public:
    explicit FaultCluster(int partitions = 4);

    core::MockCluster& mock() { return mock_; }
    const std::string& brokers() const { return brokers_; }
    core::KafkaConfig config(const std::string& client_id) const;

private:
    core::MockCluster mock_;
    std::string brokers_;
};

/// A small model on the cards skill: the model file named by the environment variable
/// TELLER_FAULTS_MODEL, else the one the fault tests of this build trained last (kept in the
/// build folder while newer than the teller binary and the skill), else trained now with
/// `teller train` into a temp folder the destructor removes. Plus the arguments every engine
/// needs.
class BotFiles {
public:
    BotFiles();
    ~BotFiles();
    BotFiles(const BotFiles&) = delete;
    BotFiles& operator=(const BotFiles&) = delete;

    /// True when training worked; training_log() says why not.
    bool ready() const { return ready_; }
    const std::string& training_log() const { return training_log_; }
    const std::string& dir() const { return dir_; }
    /// --model, --skill and --backend-data.
    std::vector<std::string> bot_args() const;

private:
    std::string dir_;
    std::string model_;
    bool ready_ = false;
    std::string training_log_;
};

/// `teller engine` against `brokers` and `redis_url`, started and waited for.
std::unique_ptr<TellerProcess> start_engine(const BotFiles& bot, const std::string& brokers,
                                            const std::string& redis_url,
                                            std::vector<std::string> extra_args = {});

/// Produces InboundMessages to teller.inbound from a background thread: `messages` messages
/// round-robin over `conversations` conversations (ids "<prefix>-c<k>", message ids
/// "<prefix>-c<k>-m<j>"), about `per_second` a second. Remembers which the broker acknowledged.
class InboundFeeder {
public:
    InboundFeeder(const core::KafkaConfig& config, std::string prefix, int conversations,
                  int messages, int per_second);
    ~InboundFeeder();

    /// Starts producing.
    void start();
    /// Produced so far (queued; acknowledged or not).
    int produced() const { return produced_.load(); }
    /// Waits until every message is produced and acknowledged (or `timeout`); true when all are.
    bool finish(std::chrono::milliseconds timeout);

    /// The ids acknowledged by the broker, and the number of messages per conversation.
    std::set<std::string> acknowledged_ids() const;
    std::map<std::string, int> messages_per_conversation() const;
    /// Deliveries that failed (the producer gave up on them).
    int failed() const { return failed_.load(); }

    /// The text sent as message `j` (a small rotation of cards questions).
    static std::string text_for(int j);

private:
    void run();

    std::unique_ptr<core::KafkaProducer> producer_;
    std::string prefix_;
    int conversations_;
    int messages_;
    int per_second_;
    std::thread thread_;
    std::atomic<int> produced_{0};
    std::atomic<int> failed_{0};
    mutable std::mutex mutex_;
    std::set<std::string> acked_;
    std::map<std::string, int> per_conversation_;
};

/// Counts the replies on teller.outbound (a reader of its own, from the earliest offset) per
/// (in_reply_to, sequence), from a background thread.
class ReplyTally {
public:
    explicit ReplyTally(const core::KafkaConfig& config);
    ~ReplyTally();

    /// Waits until every id in `ids` has a reply and nothing new arrived for `quiet`, or until
    /// `timeout`; true when every id was answered.
    bool wait_for(const std::set<std::string>& ids, std::chrono::milliseconds quiet,
                  std::chrono::milliseconds timeout);

    /// Figures over `ids`.
    struct Figures {
        int sent = 0;         ///< ids asked about
        int answered = 0;     ///< ids with at least one reply
        int lost = 0;         ///< ids with none
        int redelivered = 0;  ///< reply records beyond the first per (in_reply_to, sequence),
                              ///< byte-identical to it apart from created_at and reply_to
        int duplicated = 0;   ///< (in_reply_to, sequence) keys seen with different texts, i.e.
                              ///< a turn that ran twice; plus redelivered when `strict`
        int records = 0;      ///< reply records read in all
    };
    Figures figures(const std::set<std::string>& ids) const;

    /// The ids of `conversation` answered, in the order of their first reply.
    std::vector<std::string> answer_order(const std::string& conversation) const;

private:
    void run();

    std::unique_ptr<core::TopicReader> reader_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    // (in_reply_to, sequence) -> texts of every reply record with that key, in order read.
    std::map<std::pair<std::string, std::uint32_t>, std::vector<std::string>> replies_;
    std::map<std::string, std::vector<std::string>> order_;
    std::chrono::steady_clock::time_point last_record_;
    int records_ = 0;
};

/// Every record of `topic` currently in the cluster (a reader from the earliest offset that stops
/// once nothing arrives for a second).
std::vector<core::Record> read_topic(const core::KafkaConfig& config, const std::string& topic);

/// The "turns" counter of each conversation's session in Redis (-1 where there is none).
std::map<std::string, long> session_turns(const std::string& redis_url,
                                          const std::vector<std::string>& conversations);

/// Prints "<name>: sent N, answered N, duplicated N, lost N (...)" to stdout.
void print_figures(const std::string& name, const ReplyTally::Figures& f,
                   const std::string& extra = {});

}  // namespace teller::testing
