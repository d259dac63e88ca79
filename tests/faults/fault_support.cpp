// Shared pieces of the fault tests (see fault_support.hpp).
#include "fault_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "teller/core/handoff.hpp"
#include "teller/core/replay.hpp"
#include "teller/core/session_store.hpp"

namespace teller::testing {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string cards_skill() {
    return std::string(TELLER_BINARY_DIR) + "/skills/teller_skill_cards.so";
}

std::string backend_data() {
    return std::string(TELLER_SOURCE_DIR) + "/deploy/demo-bank.json";
}

// `config` for a TopicReader: a group no one else uses (it assigns partitions, never commits).
core::KafkaConfig reader_config(core::KafkaConfig config) {
    static std::atomic<int> counter{0};
    config.properties["group.id"] =
        config.client_id + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    return config;
}

}  // namespace

FaultCluster::FaultCluster(int partitions) : mock_(1), brokers_(mock_.bootstrap_servers()) {
    for (std::string_view topic :
         {core::kInboundTopic, core::kOutboundTopic, core::kEventsTopic, core::kDlqTopic,
          core::kCrmTopic, core::kHandoffTopic, core::kAgentTopic}) {
        mock_.create_topic(std::string(topic), partitions);
    }
}

core::KafkaConfig FaultCluster::config(const std::string& client_id) const {
    core::KafkaConfig config;
    config.brokers = brokers_;
    config.client_id = client_id;
    return config;
}

BotFiles::BotFiles() {
    static std::atomic<int> counter{0};
    dir_ = (fs::temp_directory_path() /
            ("teller-faults-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    fs::create_directories(dir_);
    model_ = dir_ + "/intent.model";
    // A model trained beforehand on the cards skill may be given instead (saves the training).
    if (const char* given = std::getenv("TELLER_FAULTS_MODEL"); given != nullptr && *given) {
        model_ = given;
        ready_ = fs::exists(model_);
        training_log_ = "TELLER_FAULTS_MODEL=" + model_ + (ready_ ? "" : " does not exist");
        return;
    }

    // One model per build, shared by the fault tests: reused while it is newer than the teller
    // binary and the cards skill (training takes from seconds to a minute on a busy machine).
    const fs::path cached = fs::path(TELLER_BINARY_DIR) / "tests/faults/faults-cards.model";
    std::error_code ec;
    auto newest_input =
        std::max(fs::last_write_time(teller_binary(), ec), fs::last_write_time(cards_skill(), ec));
    if (fs::exists(cached, ec) && fs::last_write_time(cached, ec) > newest_input) {
        model_ = cached.string();
        ready_ = true;
        return;
    }
    TellerProcess train(teller_binary(), {"train", "--output", model_, "--skill", cards_skill(),
                                          "--backend-data", backend_data()});
    ready_ = train.run_to_completion(5min) == 0;
    training_log_ = train.log();
    if (ready_) {
        // Copy, then rename: another test process may be reading the cached file.
        const fs::path part = cached.string() + "." + std::to_string(::getpid());
        fs::copy_file(model_, part, fs::copy_options::overwrite_existing, ec);
        if (!ec) {
            fs::rename(part, cached, ec);
        }
    }
}

BotFiles::~BotFiles() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::vector<std::string> BotFiles::bot_args() const {
    return {"--model", model_, "--skill", cards_skill(), "--backend-data", backend_data()};
}

std::unique_ptr<TellerProcess> start_engine(const BotFiles& bot, const std::string& brokers,
                                            const std::string& redis_url,
                                            std::vector<std::string> extra_args) {
    std::vector<std::string> args = {"engine", "--kafka-brokers", brokers};
    if (!redis_url.empty()) {
        args.insert(args.end(), {"--redis-url", redis_url});
    }
    for (const std::string& a : bot.bot_args()) {
        args.push_back(a);
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto engine = std::make_unique<TellerProcess>(teller_binary(), args);
    if (!engine->start(60s)) {
        ADD_FAILURE_AT(__FILE__, __LINE__);
    }
    return engine;
}

InboundFeeder::InboundFeeder(const core::KafkaConfig& config, std::string prefix, int conversations,
                             int messages, int per_second)
    : producer_(std::make_unique<core::KafkaProducer>(config)),
      prefix_(std::move(prefix)),
      conversations_(conversations),
      messages_(messages),
      per_second_(per_second) {}

InboundFeeder::~InboundFeeder() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

void InboundFeeder::start() {
    thread_ = std::thread([this] { run(); });
}

std::string InboundFeeder::text_for(int j) {
    static const std::vector<std::string> kTexts = {
        "hello", "what's my balance", "show my recent transactions", "thanks", "what can you do"};
    return kTexts[static_cast<std::size_t>(j) % kTexts.size()];
}

void InboundFeeder::run() {
    auto begin = std::chrono::steady_clock::now();
    for (int n = 0; n < messages_; ++n) {
        // Keep to the rate: message n is due at begin + n / per_second.
        auto due = begin + std::chrono::microseconds(1'000'000LL * n / per_second_);
        std::this_thread::sleep_until(due);

        int c = n % conversations_;
        int j = n / conversations_;
        core::InboundMessage m;
        m.conversation = prefix_ + "-c" + std::to_string(c);
        m.id = m.conversation + "-m" + std::to_string(j);
        m.channel = "webchat";
        m.sender = m.conversation;
        m.text = text_for(j);
        m.locale = "en";
        m.received_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        m.reply_to = "faults";
        m.trace_id = m.id;
        core::Record record{std::string(core::kInboundTopic),
                            m.conversation,
                            core::to_json(m),
                            {{"schema", "teller.inbound.v1"}}};
        {
            std::lock_guard lock(mutex_);
            ++per_conversation_[m.conversation];
        }
        // The producer retries by itself (message.timeout.ms); a refusal here means the local
        // queue is full, so wait and offer it again.
        for (;;) {
            auto ec = producer_->produce(record, [this, id = m.id](const auto& error) {
                if (error) {
                    ++failed_;
                    return;
                }
                std::lock_guard lock(mutex_);
                acked_.insert(id);
            });
            if (!ec) {
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        ++produced_;
    }
}

bool InboundFeeder::finish(std::chrono::milliseconds timeout) {
    if (thread_.joinable()) {
        thread_.join();
    }
    producer_->flush(timeout);
    std::lock_guard lock(mutex_);
    return static_cast<int>(acked_.size()) == messages_;
}

std::set<std::string> InboundFeeder::acknowledged_ids() const {
    std::lock_guard lock(mutex_);
    return acked_;
}

std::map<std::string, int> InboundFeeder::messages_per_conversation() const {
    std::lock_guard lock(mutex_);
    return per_conversation_;
}

ReplyTally::ReplyTally(const core::KafkaConfig& config)
    : reader_(std::make_unique<core::TopicReader>(
          reader_config(config), std::vector<std::string>{std::string(core::kOutboundTopic)},
          core::ReadStart{})),
      last_record_(std::chrono::steady_clock::now()) {
    thread_ = std::thread([this] { run(); });
}

ReplyTally::~ReplyTally() {
    stop_ = true;
    thread_.join();
}

void ReplyTally::run() {
    while (!stop_) {
        auto records = reader_->poll(500, 100ms);
        if (records.empty()) {
            continue;
        }
        std::lock_guard lock(mutex_);
        last_record_ = std::chrono::steady_clock::now();
        for (const core::Record& r : records) {
            ++records_;
            auto reply = core::parse_outbound(r.value);
            if (!reply) {
                continue;
            }
            auto& texts = replies_[{reply->in_reply_to, reply->sequence}];
            if (texts.empty() && reply->sequence <= 1) {
                order_[reply->conversation].push_back(reply->in_reply_to);
            }
            texts.push_back(reply->text);
        }
    }
}

bool ReplyTally::wait_for(const std::set<std::string>& ids, std::chrono::milliseconds quiet,
                          std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mutex_);
            std::set<std::string> answered;
            for (const auto& [key, texts] : replies_) {
                answered.insert(key.first);
            }
            bool all = std::includes(answered.begin(), answered.end(), ids.begin(), ids.end());
            if (all && std::chrono::steady_clock::now() - last_record_ >= quiet) {
                return true;
            }
        }
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

ReplyTally::Figures ReplyTally::figures(const std::set<std::string>& ids) const {
    std::lock_guard lock(mutex_);
    Figures f;
    f.sent = static_cast<int>(ids.size());
    f.records = records_;
    std::set<std::string> answered;
    for (const auto& [key, texts] : replies_) {
        if (!ids.contains(key.first)) {
            continue;
        }
        answered.insert(key.first);
        for (std::size_t i = 1; i < texts.size(); ++i) {
            (texts[i] == texts[0] ? f.redelivered : f.duplicated) += 1;
        }
    }
    f.answered = static_cast<int>(answered.size());
    f.lost = f.sent - f.answered;
    return f;
}

std::vector<std::string> ReplyTally::answer_order(const std::string& conversation) const {
    std::lock_guard lock(mutex_);
    auto it = order_.find(conversation);
    return it == order_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<core::Record> read_topic(const core::KafkaConfig& config, const std::string& topic) {
    core::TopicReader reader(reader_config(config), {topic}, core::ReadStart{});
    std::vector<core::Record> all;
    for (;;) {
        auto records = reader.poll(1000, 1s);
        if (records.empty()) {
            break;
        }
        all.insert(all.end(), records.begin(), records.end());
    }
    return all;
}

std::map<std::string, long> session_turns(const std::string& redis_url,
                                          const std::vector<std::string>& conversations) {
    auto store = core::make_redis_session_store(redis_url);
    std::map<std::string, long> turns;
    for (const std::string& c : conversations) {
        long n = -1;
        auto loaded = store->load(c);
        if (loaded && *loaded) {
            boost::system::error_code ec;
            json::value v = json::parse((*loaded)->data, ec);
            if (!ec && v.is_object()) {
                if (const json::value* t = v.as_object().if_contains("turns"); t && t->is_int64()) {
                    n = static_cast<long>(t->as_int64());
                }
            }
        }
        turns[c] = n;
    }
    return turns;
}

void print_figures(const std::string& name, const ReplyTally::Figures& f,
                   const std::string& extra) {
    std::cout << name << ": sent " << f.sent << ", answered " << f.answered << ", duplicated "
              << f.duplicated << ", lost " << f.lost << " (reply records " << f.records
              << ", identical redeliveries " << f.redelivered << ")"
              << (extra.empty() ? "" : "; " + extra) << std::endl;
}

}  // namespace teller::testing
