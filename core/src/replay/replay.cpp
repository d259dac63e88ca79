// Replay: recorded inbound messages through an in-process engine, compared turn by turn.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/replay.hpp"
#include "teller/core/session_store.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

const Logger& replay_log() {
    static const Logger log("replay");
    return log;
}

// One conversation's turn: the inbound message and the output that answers it.
struct TurnKey {
    std::string conversation;
    std::string inbound_id;
    friend auto operator<=>(const TurnKey&, const TurnKey&) = default;
};

struct TurnOutputs {
    std::vector<json::object> replies;
    std::vector<json::object> events;
};

void strip(json::value& v, const std::set<std::string, std::less<>>& ignore) {
    if (v.is_object()) {
        json::object& o = v.as_object();
        for (auto it = o.begin(); it != o.end();) {
            if (ignore.contains(it->key())) {
                it = o.erase(it);
            } else {
                strip(it->value(), ignore);
                ++it;
            }
        }
    } else if (v.is_array()) {
        for (json::value& item : v.as_array()) {
            strip(item, ignore);
        }
    }
}

// Output records grouped by the turn they answer; only turns in `wanted` are kept.
std::map<TurnKey, TurnOutputs> group_outputs(const std::vector<Record>& records,
                                             const std::set<TurnKey>& wanted,
                                             const std::set<std::string, std::less<>>& ignore) {
    std::map<TurnKey, TurnOutputs> out;
    for (const Record& r : records) {
        boost::system::error_code ec;
        json::value v = json::parse(r.value, ec);
        if (ec || !v.is_object()) {
            continue;
        }
        const json::object& o = v.as_object();
        const json::value* conversation = o.if_contains("conversation");
        const json::value* in_reply_to = o.if_contains("in_reply_to");
        if (conversation == nullptr || !conversation->is_string() || in_reply_to == nullptr ||
            !in_reply_to->is_string()) {
            // TODO(teller): output that answers no inbound message (session_expired, proactive
            // replies) is not compared, so a change in it goes unnoticed.
            continue;
        }
        TurnKey key{std::string(conversation->as_string()), std::string(in_reply_to->as_string())};
        if (!wanted.contains(key)) {
            continue;
        }
        // Dialogue events carry a type and data; replies do not.
        const bool event = o.contains("type") && o.contains("data");
        strip(v, ignore);
        auto& group = out[key];
        (event ? group.events : group.replies).push_back(std::move(v.as_object()));
    }
    return out;
}

bool numbers_equal(const json::value& a, const json::value& b) {
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    return std::fabs(x - y) <= 1e-4 * std::max({1.0, std::fabs(x), std::fabs(y)});
}

std::string shown(const json::value* v) {
    return v == nullptr ? std::string("(none)") : json::serialize(*v);
}

// Appends one FieldChange per leaf that differs; `path` names where in the record.
void diff_values(const std::string& where, const std::string& path, const json::value* a,
                 const json::value* b, std::vector<FieldChange>& changes) {
    auto here = [&] { return path.empty() ? where : where + " " + path; };
    if (a != nullptr && b != nullptr && a->is_object() && b->is_object()) {
        std::set<std::string> keys;
        for (const auto& kv : a->as_object()) {
            keys.insert(std::string(kv.key()));
        }
        for (const auto& kv : b->as_object()) {
            keys.insert(std::string(kv.key()));
        }
        for (const std::string& k : keys) {
            diff_values(where, path.empty() ? k : path + "." + k, a->as_object().if_contains(k),
                        b->as_object().if_contains(k), changes);
        }
        return;
    }
    if (a != nullptr && b != nullptr && a->is_array() && b->is_array() &&
        a->as_array().size() == b->as_array().size()) {
        for (std::size_t i = 0; i < a->as_array().size(); ++i) {
            diff_values(where, path + "[" + std::to_string(i) + "]", &a->as_array()[i],
                        &b->as_array()[i], changes);
        }
        return;
    }
    if (a != nullptr && b != nullptr && a->is_number() && b->is_number()) {
        if (!numbers_equal(*a, *b)) {
            changes.push_back({here(), shown(a), shown(b)});
        }
        return;
    }
    if (a == nullptr || b == nullptr || *a != *b) {
        changes.push_back({here(), shown(a), shown(b)});
    }
}

void diff_lists(const char* kind, const std::vector<json::object>& expected,
                const std::vector<json::object>& actual, std::vector<FieldChange>& changes) {
    for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
        std::string where = std::string(kind) + " " + std::to_string(i + 1);
        json::value a = i < expected.size() ? json::value(expected[i]) : json::value();
        json::value b = i < actual.size() ? json::value(actual[i]) : json::value();
        const json::object& named = i < expected.size() ? expected[i] : actual[i];
        if (const json::value* type = named.if_contains("type");
            type != nullptr && type->is_string()) {
            where += " (" + std::string(type->as_string()) + ")";
        }
        diff_values(where, "", i < expected.size() ? &a : nullptr, i < actual.size() ? &b : nullptr,
                    changes);
    }
}

std::vector<std::string> reply_texts(const std::vector<json::object>& replies) {
    std::vector<std::string> texts;
    for (const json::object& r : replies) {
        const json::value* text = r.if_contains("text");
        texts.push_back(text != nullptr && text->is_string() ? std::string(text->as_string())
                                                             : json::serialize(r));
    }
    return texts;
}

std::string quoted(const std::string& text) {
    return json::serialize(json::value(text));
}

std::string shorten(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) {
        return text;
    }
    // Cut on a UTF-8 character boundary.
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    return text.substr(0, cut) + "...";
}

}  // namespace

MemoryConsumer::MemoryConsumer(std::vector<Record> records) : records_(std::move(records)) {}

std::vector<Record> MemoryConsumer::poll(std::size_t max_records, std::chrono::milliseconds) {
    std::vector<Record> out;
    // One record per poll: the clock reading belongs to that record's turn.
    if (max_records > 0 && position_ < records_.size()) {
        current_timestamp_ms_ = records_[position_].timestamp_ms;
        out.push_back(records_[position_++]);
    }
    return out;
}

boost::system::error_code MemoryConsumer::commit(const std::vector<Record>&) {
    return {};
}

boost::system::error_code MemoryConsumer::rewind(const std::vector<Record>& records) {
    // Back to the earliest of `records` among those already handed out.
    for (std::size_t i = 0; i < position_; ++i) {
        for (const Record& r : records) {
            if (records_[i].topic == r.topic && records_[i].partition == r.partition &&
                records_[i].offset == r.offset) {
                position_ = i;
                return {};
            }
        }
    }
    return {};
}

boost::system::error_code MemoryProducer::produce(const Record& record,
                                                  DeliveryHandler on_delivery) {
    {
        std::lock_guard lock(mutex_);
        records_.push_back(record);
    }
    if (on_delivery) {
        on_delivery({});
    }
    return {};
}

boost::system::error_code MemoryProducer::flush(std::chrono::milliseconds) {
    return {};
}

std::size_t MemoryProducer::in_flight() const {
    return 0;
}

std::vector<Record> MemoryProducer::take() {
    std::vector<Record> out;
    {
        std::lock_guard lock(mutex_);
        out.swap(records_);
    }
    std::map<std::string, std::int64_t> next_offset;
    for (Record& r : out) {
        r.partition = 0;
        r.offset = next_offset[r.topic]++;
    }
    return out;
}

std::vector<std::string> default_ignored_fields() {
    // `confidence` moves with every retraining (a new skill, one more example); a change that
    // matters shows as another intent or another reply.
    return {"created_at", "at", "trace_id", "reply_to", "confidence"};
}

ReplayReport compare_turns(const std::vector<Record>& inbound, const std::vector<Record>& expected,
                           const std::vector<Record>& actual,
                           const std::vector<std::string>& ignore) {
    // The turns, numbered per conversation in replay order.
    struct Turn {
        TurnKey key;
        std::size_t number = 0;
        std::string text;
    };
    std::vector<Turn> turns;
    std::map<std::string, std::size_t> per_conversation;
    std::set<TurnKey> wanted;
    std::vector<std::string> order;
    for (const Record& r : inbound) {
        auto message = parse_inbound(r.value);
        if (!message) {
            continue;
        }
        if (!per_conversation.contains(message->conversation)) {
            order.push_back(message->conversation);
        }
        std::size_t number = ++per_conversation[message->conversation];
        TurnKey key{message->conversation, message->id};
        if (!wanted.insert(key).second) {
            // A redelivered message is one turn; its output is gathered with the first.
            --per_conversation[message->conversation];
            continue;
        }
        turns.push_back({key, number, message->text});
    }

    const std::set<std::string, std::less<>> ignored(ignore.begin(), ignore.end());
    auto expected_by_turn = group_outputs(expected, wanted, ignored);
    auto actual_by_turn = group_outputs(actual, wanted, ignored);

    ReplayReport report;
    report.conversations = order.size();
    report.turns = turns.size();
    std::map<std::string, ConversationDiff> diffs;
    for (const Turn& t : turns) {
        const TurnOutputs& e = expected_by_turn[t.key];
        const TurnOutputs& a = actual_by_turn[t.key];
        std::vector<FieldChange> changes;
        diff_lists("reply", e.replies, a.replies, changes);
        diff_lists("event", e.events, a.events, changes);
        if (changes.empty()) {
            continue;
        }
        ++report.changed_turns;
        TurnDiff d;
        d.turn = t.number;
        d.inbound_id = t.key.inbound_id;
        d.user_text = t.text;
        d.expected_replies = reply_texts(e.replies);
        d.actual_replies = reply_texts(a.replies);
        d.changes = std::move(changes);
        diffs[t.key.conversation].changed.push_back(std::move(d));
    }
    for (const std::string& conversation : order) {
        auto it = diffs.find(conversation);
        if (it != diffs.end()) {
            it->second.conversation = conversation;
            it->second.turns = per_conversation[conversation];
            report.diffs.push_back(std::move(it->second));
        }
    }
    return report;
}

ReplayReport replay_recording(const std::vector<Record>& recording,
                              const std::vector<Record>& expected,
                              const IntentClassifier& classifier, const SkillHost& skills,
                              const ReplayOptions& options) {
    // The inbound records in the order they were first produced.
    std::vector<Record> inbound;
    for (const Record& r : recording) {
        if (r.topic == options.inbound_topic) {
            inbound.push_back(r);
        }
    }
    std::stable_sort(inbound.begin(), inbound.end(), [](const Record& a, const Record& b) {
        return std::tie(a.timestamp_ms, a.partition, a.offset) <
               std::tie(b.timestamp_ms, b.partition, b.offset);
    });
    std::vector<Record> expected_output;
    for (const Record& r : expected) {
        if (r.topic == options.outbound_topic || r.topic == options.events_topic) {
            expected_output.push_back(r);
        }
    }

    // The real engine over in-memory parts, its clock at each record's timestamp.
    MemoryConsumer consumer(inbound);
    MemoryProducer producer;
    auto store = make_memory_session_store();
    EngineOptions engine_options = options.engine;
    engine_options.outbound_topic = options.outbound_topic;
    engine_options.events_topic = options.events_topic;
    engine_options.batch_size = 1;
    engine_options.clock = [&consumer] { return consumer.current_timestamp_ms(); };
    Engine engine(consumer, producer, *store, classifier, skills, engine_options);

    const std::size_t total = consumer.size();
    while (consumer.remaining() > 0) {
        auto result = engine.poll_once(std::chrono::milliseconds(0));
        if (!result) {
            throw Error("replay: the engine failed a turn with in-memory parts (" +
                        result.error().message() + ")");
        }
        if (options.progress) {
            options.progress(total - consumer.remaining(), total);
        }
    }
    std::vector<Record> actual = producer.take();
    replay_log().info("replayed", {{"turns", total}, {"output", actual.size()}});

    std::vector<std::string> ignore = default_ignored_fields();
    ignore.insert(ignore.end(), options.ignore.begin(), options.ignore.end());
    ReplayReport report = compare_turns(inbound, expected_output, actual, ignore);
    report.actual = std::move(actual);
    return report;
}

std::string format_report(const ReplayReport& report) {
    std::ostringstream out;
    auto texts = [](const std::vector<std::string>& replies) {
        if (replies.empty()) {
            return std::string("(no reply)");
        }
        std::string joined;
        for (const std::string& r : replies) {
            joined += (joined.empty() ? "" : " | ") + quoted(r);
        }
        return joined;
    };
    for (const ConversationDiff& c : report.diffs) {
        out << "conversation " << c.conversation << ": " << c.changed.size() << " of " << c.turns
            << " turns changed\n";
        for (const TurnDiff& t : c.changed) {
            out << "  turn " << t.turn << "  user: " << quoted(t.user_text) << "\n";
            out << "    expected: " << texts(t.expected_replies) << "\n";
            out << "    actual:   " << texts(t.actual_replies) << "\n";
            out << "    changed:\n";
            for (const FieldChange& f : t.changes) {
                out << "      " << f.where << ": " << shorten(f.expected, 160) << " -> "
                    << shorten(f.actual, 160) << "\n";
            }
        }
        out << "\n";
    }
    out << "conversations " << report.conversations << ", turns " << report.turns
        << ", changed turns " << report.changed_turns << "\n";
    return out.str();
}

}  // namespace teller::core
