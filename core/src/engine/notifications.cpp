// The notification relay: teller.crm records to teller.outbound through each customer's route.
#include "teller/core/notifications.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "engine/ack_tracker.hpp"
#include "engine/batch_loop.hpp"
#include "engine/route_memory.hpp"
#include "teller/core/dead_letter.hpp"
#include "teller/core/log.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

const Logger& relay_log() {
    static const Logger log("notifications");
    return log;
}

// One validated teller.crm record.
struct Notification {
    std::string id;
    std::string customer;  ///< the customer key (or an anonymous conversation id)
    std::map<std::string, std::string> texts;  ///< locale -> text; "" when not localised
    std::vector<Choice> quick_replies;
};

// Why a record is not a notification: the DLQ reason.
struct Invalid {
    Errc code;
    std::string reason;
};

// A non-empty, valid UTF-8 string member, or nullptr.
const json::string* text_member(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (!v || !v->is_string() || v->get_string().empty() || !is_valid_utf8(v->get_string())) {
        return nullptr;
    }
    return &v->get_string();
}

std::variant<Notification, Invalid> parse_notification(std::string_view payload) {
    if (payload.size() > kMaxEventBytes) {
        return Invalid{Errc::payload_too_large, "notification larger than the event limit"};
    }
    if (!is_valid_utf8(payload)) {
        return Invalid{Errc::invalid_utf8, "notification is not valid UTF-8"};
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(payload, ec);
    if (ec || !parsed.is_object()) {
        return Invalid{Errc::malformed_json, "notification is not a JSON object"};
    }
    const json::object& o = parsed.get_object();
    const json::value* v = o.if_contains("v");
    if (!v || !v->is_int64() || v->get_int64() != kSchemaVersion) {
        return Invalid{Errc::unsupported_version, "notification \"v\" must be 1"};
    }

    Notification n;
    const json::string* id = text_member(o, "id");
    if (!id) {
        return Invalid{Errc::missing_field, "notification needs a non-empty string \"id\""};
    }
    n.id = std::string(*id);
    const json::string* customer = text_member(o, "customer");
    const json::string* conversation = text_member(o, "conversation");
    if ((customer == nullptr) == (conversation == nullptr)) {
        return Invalid{Errc::missing_field,
                       "notification needs exactly one of \"customer\" and \"conversation\""};
    }
    n.customer = std::string(customer ? *customer : *conversation);

    // The text: one string, or an object of locale -> string.
    const json::value* text = o.if_contains("text");
    if (text && text->is_string() && !text->get_string().empty() &&
        is_valid_utf8(text->get_string())) {
        n.texts[""] = std::string(text->get_string());
    } else if (text && text->is_object()) {
        for (const auto& [locale, value] : text->get_object()) {
            if (locale.empty() || !value.is_string() || value.get_string().empty() ||
                !is_valid_utf8(value.get_string())) {
                return Invalid{Errc::missing_field,
                               "notification \"text\" locales must map to non-empty strings"};
            }
            n.texts[std::string(locale)] = std::string(value.get_string());
        }
    }
    if (n.texts.empty()) {
        return Invalid{Errc::missing_field,
                       "notification needs \"text\": a string or an object of locales"};
    }

    // Optional quick replies: strings (title = payload) or {title, payload} objects.
    if (const json::value* replies = o.if_contains("quick_replies")) {
        if (!replies->is_array()) {
            return Invalid{Errc::missing_field, "notification \"quick_replies\" must be an array"};
        }
        for (const json::value& r : replies->get_array()) {
            if (r.is_string() && !r.get_string().empty() && is_valid_utf8(r.get_string())) {
                n.quick_replies.push_back(
                    {std::string(r.get_string()), std::string(r.get_string())});
                continue;
            }
            const json::string* title =
                r.is_object() ? text_member(r.get_object(), "title") : nullptr;
            const json::string* reply =
                r.is_object() ? text_member(r.get_object(), "payload") : nullptr;
            if (!title || !reply) {
                return Invalid{Errc::missing_field,
                               "notification quick replies need a non-empty title and payload"};
            }
            n.quick_replies.push_back({std::string(*title), std::string(*reply)});
        }
    }
    return n;
}

// The language part of a BCP 47 tag ("zh" of "zh-CN").
std::string_view language_of(std::string_view tag) {
    return tag.substr(0, tag.find_first_of("-_"));
}

// The text for `locale`: exact tag, then same language, then English, then the first one.
std::pair<std::string, std::string> pick_text(const Notification& n, const std::string& locale) {
    if (auto it = n.texts.find(locale); it != n.texts.end()) {
        return *it;
    }
    for (const auto& entry : n.texts) {
        if (!entry.first.empty() && !locale.empty() &&
            language_of(entry.first) == language_of(locale)) {
            return entry;
        }
    }
    if (auto it = n.texts.find("en"); it != n.texts.end()) {
        return *it;
    }
    return *n.texts.begin();
}

enum class Outcome { delivered, duplicate, unroutable, dead, failed };

}  // namespace

NotificationRelay::NotificationRelay(Consumer& consumer, Producer& producer, SessionStore& store,
                                     NotificationOptions options)
    : consumer_(consumer), producer_(producer), store_(store), options_(std::move(options)) {}

NotificationRelay::~NotificationRelay() {
    stop();
}

std::int64_t NotificationRelay::now_ms() const {
    if (options_.clock) {
        return options_.clock();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Result<NotificationStats> NotificationRelay::poll_once(std::chrono::milliseconds timeout) {
    NotificationStats stats;
    std::vector<Record> records = consumer_.poll(options_.batch_size, timeout);
    stats.records = records.size();
    if (records.empty()) {
        return stats;
    }

    // The tracker outlives this call if some acknowledgement never arrives.
    auto acks = std::make_shared<detail::AckTracker>(records.size());
    std::vector<Outcome> outcomes(records.size(), Outcome::failed);
    std::vector<std::string> delivered_ids(records.size());
    std::set<std::string> in_this_batch;
    boost::system::error_code batch_error;
    const std::int64_t now = now_ms();

    auto produce = [&](std::size_t i, const Record& out) {
        if (auto ec = producer_.produce(out, acks->expect(i))) {
            // It was never queued, so its handler will not run: settle it here.
            acks->not_queued(i);
            batch_error = ec;
        }
    };

    for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& record = records[i];

        // A record that is not a notification goes to the DLQ.
        auto parsed = parse_notification(record.value);
        if (auto* invalid = std::get_if<Invalid>(&parsed)) {
            Record dead = dead_letter(options_.dlq_topic, record,
                                      {"invalid notification: " + invalid->reason,
                                       make_error_code(invalid->code).message(),
                                       static_cast<int>(invalid->code),
                                       invalid->reason,
                                       {}},
                                      now);
            relay_log().warn("notification sent to the DLQ", {{"topic", record.topic},
                                                              {"partition", record.partition},
                                                              {"offset", record.offset},
                                                              {"reason", invalid->reason}});
            produce(i, std::move(dead));
            outcomes[i] = Outcome::dead;
            ++stats.dead;
            continue;
        }
        const Notification& n = std::get<Notification>(parsed);
        const std::string seen_key = "crm:" + n.id;

        // Skip what was delivered before (a redelivery after a commit that did not happen).
        auto seen = store_.get_value(seen_key);
        if (!seen) {
            batch_error = seen.error();
            relay_log().warn("session store failed; notification left uncommitted",
                             {{"notification", n.id}, {"error", seen.error().message()}});
            outcomes[i] = Outcome::failed;
            continue;
        }
        if (*seen || !in_this_batch.insert(n.id).second) {
            relay_log().debug("notification already delivered, skipped", {{"notification", n.id}});
            outcomes[i] = Outcome::duplicate;
            ++stats.duplicates;
            continue;
        }

        auto route = detail::find_route(store_, n.customer);
        if (!route) {
            batch_error = route.error();
            relay_log().warn("session store failed; notification left uncommitted",
                             {{"notification", n.id}, {"error", route.error().message()}});
            outcomes[i] = Outcome::failed;
            continue;
        }
        std::string trace_id = record.header("trace_id");
        if (trace_id.empty()) {
            trace_id = seen_key;
        }

        // No channel known: say so on teller.events rather than dropping it.
        if (!*route) {
            DialogueEvent e{DialogueEventType::error,
                            n.customer,
                            seen_key,
                            now,
                            trace_id,
                            {{"reason", "no channel known for customer"},
                             {"source", "crm"},
                             {"notification", n.id},
                             {"customer", mask_personal_data(n.customer)}}};
            Record out{options_.events_topic, e.conversation, to_json(e), {}};
            out.headers.push_back({"schema", "teller.events.v1"});
            produce(i, out);
            relay_log().warn("no channel known for customer; notification not delivered",
                             {{"notification", n.id}, {"customer", n.customer}});
            outcomes[i] = Outcome::unroutable;
            ++stats.unroutable;
            continue;
        }

        // The reply through the customer's last channel, and its audit event.
        const detail::CustomerRoute& r = **route;
        auto [locale, text] = pick_text(n, r.locale);
        OutboundMessage m;
        m.conversation = r.conversation;
        m.channel = r.channel;
        m.recipient = r.recipient;
        m.text = text;
        m.locale = locale.empty() ? r.locale : locale;
        m.quick_replies = n.quick_replies;
        m.in_reply_to = seen_key;
        m.reply_to = r.reply_to;
        m.created_at_ms = now;
        m.trace_id = trace_id;
        m.sequence = 0;
        Record out{options_.outbound_topic, m.conversation, to_json(m), {}};
        out.headers.push_back({"schema", "teller.outbound.v1"});
        out.headers.push_back({"trace_id", trace_id});
        produce(i, out);
        DialogueEvent e{DialogueEventType::bot_uttered,
                        m.conversation,
                        seen_key,
                        now,
                        trace_id,
                        {{"text", mask_personal_data(text)},
                         {"sequence", 0},
                         {"source", "crm"},
                         {"notification", n.id}}};
        Record event{options_.events_topic, e.conversation, to_json(e), {}};
        event.headers.push_back({"schema", "teller.events.v1"});
        produce(i, event);
        relay_log().debug("notification delivered", {{"notification", n.id},
                                                     {"conversation", m.conversation},
                                                     {"channel", m.channel},
                                                     {"locale", m.locale}});
        outcomes[i] = Outcome::delivered;
        delivered_ids[i] = seen_key;
        ++stats.delivered;
    }

    // Wait for the broker, then commit per partition up to the first record not acknowledged.
    auto deadline = std::chrono::steady_clock::now() + options_.ack_timeout;
    if (!acks->idle()) {
        producer_.flush(options_.ack_timeout);
    }
    bool all_acked = acks->wait(deadline);
    std::map<std::int32_t, bool> blocked;
    std::vector<Record> to_commit;
    std::vector<Record> to_retry;
    for (std::size_t i = 0; i < records.size(); ++i) {
        bool& stop = blocked[records[i].partition];
        if (!stop && (outcomes[i] == Outcome::failed || !acks->acked(i))) {
            stop = true;
        }
        if (outcomes[i] == Outcome::delivered && acks->acked(i)) {
            // Remembered once acknowledged (even if an earlier record holds the offset back); a
            // failure here only risks a second delivery after a redelivery, so it blocks nothing.
            if (auto marked = store_.put_value(delivered_ids[i], "1", options_.seen_ttl); !marked) {
                relay_log().warn(
                    "delivered notification not remembered",
                    {{"notification", delivered_ids[i]}, {"error", marked.error().message()}});
            }
        }
        (stop ? to_retry : to_commit).push_back(records[i]);
    }

    // Read what was not committed again on the next poll; delivered ones are then skipped.
    auto committed =
        detail::settle_batch(consumer_, to_commit, to_retry, relay_log(), "notifications");
    if (!committed) {
        return committed.error();
    }
    stats.committed = *committed;
    if (auto ec = detail::batch_verdict(all_acked, stats.records, stats.committed, batch_error,
                                        relay_log())) {
        return ec;
    }
    return stats;
}

void NotificationRelay::run(std::stop_token stop) {
    relay_log().info("notification relay started", {{"batch_size", options_.batch_size}});
    detail::poll_until_stopped(stop, relay_log(), "notification batch", [this] {
        auto result = poll_once(std::chrono::milliseconds(100));
        return result ? boost::system::error_code{} : result.error();
    });
    relay_log().info("notification relay stopped");
}

void NotificationRelay::start() {
    if (thread_.joinable()) {
        throw Error("notification relay already started");
    }
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void NotificationRelay::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
}

}  // namespace teller::core
