// The agent desk: its state rebuilt from teller.handoff, and agents' commands to teller.agent.
#include "teller/channels/agent_desk.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "teller/core/error.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "webchat_protocol.hpp"

namespace teller::channels {
namespace {

const core::Logger& logger() {
    static const core::Logger log("desk");
    return log;
}

}  // namespace

std::string_view to_string(DeskState state) noexcept {
    return state == DeskState::assigned ? "assigned" : "queued";
}

std::string_view to_string(DeskChange change) noexcept {
    switch (change) {
        case DeskChange::opened:
            return "opened";
        case DeskChange::updated:
            return "updated";
        case DeskChange::closed:
            return "closed";
        case DeskChange::duplicate:
            return "duplicate";
        case DeskChange::ignored:
            return "ignored";
    }
    return "ignored";
}

// ---- AgentDeskState -----------------------------------------------------------------------------

AgentDeskState::AgentDeskState(AgentDeskOptions options) : options_(options) {
    if (options_.max_conversations == 0 || options_.max_transcript_lines == 0 ||
        options_.remembered_event_ids == 0 || options_.max_batch == 0) {
        throw core::Error(
            "agent desk: conversation, transcript, id and batch limits must be "
            "positive");
    }
}

DeskChange AgentDeskState::apply(const core::HandoffEvent& event) {
    std::lock_guard lock(mutex_);
    DeskConversation after;
    const DeskChange change = apply_locked(event, after);
    if (change == DeskChange::duplicate || change == DeskChange::ignored) {
        return change;
    }
    for (auto& [id, listener] : listeners_) {
        try {
            listener(event, change, after);
        } catch (const std::exception& e) {
            logger().warn("desk listener failed", {{"listener", id}, {"error", e.what()}});
        }
    }
    return change;
}

DeskChange AgentDeskState::apply_locked(const core::HandoffEvent& event, DeskConversation& out) {
    // Redeliveries (a rebalance, a producer retry) change nothing.
    if (!event.id.empty()) {
        if (seen_ids_.contains(event.id)) {
            ++stats_.duplicates;
            return DeskChange::duplicate;
        }
        remember_id(event.id);
    }
    ++stats_.events;

    auto it = open_.find(event.conversation);
    if (event.type == core::HandoffEventType::closed) {
        if (it == open_.end()) {
            return DeskChange::ignored;
        }
        out = std::move(it->second);
        out.last_activity_ms = std::max(out.last_activity_ms, event.at_ms);
        open_.erase(it);
        return DeskChange::closed;
    }

    // A conversation the desk does not hold yet; past the cap the least recently active goes.
    DeskChange change = DeskChange::updated;
    if (it == open_.end()) {
        if (open_.size() >= options_.max_conversations) {
            auto oldest = std::min_element(open_.begin(), open_.end(), [](auto& a, auto& b) {
                return a.second.last_activity_ms < b.second.last_activity_ms;
            });
            logger().warn("desk full: least recently active conversation forgotten",
                          {{"conversation", oldest->first}, {"limit", options_.max_conversations}});
            open_.erase(oldest);
            ++stats_.evicted;
        }
        it = open_.emplace(event.conversation, DeskConversation{}).first;
        it->second.conversation = event.conversation;
        it->second.queued_at_ms = event.at_ms;
        change = DeskChange::opened;
    }
    DeskConversation& c = it->second;

    // What every event may tell about the customer; later events keep what earlier ones said.
    if (!event.channel.empty()) {
        c.channel = event.channel;
    }
    if (!event.customer.empty()) {
        c.customer = event.customer;
    }
    c.verified = c.verified || event.verified;
    if (!event.locale.empty()) {
        c.locale = event.locale;
    }
    c.last_activity_ms = std::max(c.last_activity_ms, event.at_ms);

    switch (event.type) {
        case core::HandoffEventType::queued:
            // (Re)queued: back to waiting, with the engine's view of the conversation so far.
            c.state = DeskState::queued;
            c.agent.clear();
            c.reason = event.reason;
            c.queued_at_ms = event.at_ms;
            c.transcript.clear();
            for (const core::TranscriptLine& line : event.transcript) {
                add_line(c, line.from, line.text, line.at_ms);
            }
            break;
        case core::HandoffEventType::customer_message:
            add_line(c, "customer", event.text, event.at_ms);
            break;
        case core::HandoffEventType::assigned:
            c.state = DeskState::assigned;
            c.agent = event.agent;
            break;
        case core::HandoffEventType::agent_message:
            if (c.agent.empty()) {
                c.state = DeskState::assigned;
                c.agent = event.agent;
            }
            add_line(c, "agent", event.text, event.at_ms);
            break;
        case core::HandoffEventType::closed:
            break;  // handled above
    }
    out = c;
    return change;
}

void AgentDeskState::add_line(DeskConversation& conversation, std::string from, std::string text,
                              std::int64_t at_ms) {
    conversation.transcript.push_back({std::move(from), std::move(text), at_ms});
    if (conversation.transcript.size() > options_.max_transcript_lines) {
        const auto excess = conversation.transcript.size() - options_.max_transcript_lines;
        conversation.transcript.erase(
            conversation.transcript.begin(),
            conversation.transcript.begin() + static_cast<std::ptrdiff_t>(excess));
    }
}

void AgentDeskState::remember_id(const std::string& id) {
    seen_ids_.insert(id);
    seen_order_.push_back(id);
    if (seen_order_.size() > options_.remembered_event_ids) {
        seen_ids_.erase(seen_order_.front());
        seen_order_.pop_front();
    }
}

void AgentDeskState::count_malformed() {
    std::lock_guard lock(mutex_);
    ++stats_.malformed;
}

std::uint64_t AgentDeskState::subscribe(Listener listener,
                                        std::vector<DeskConversation>* snapshot) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = next_listener_++;
    listeners_.emplace(id, std::move(listener));
    if (snapshot != nullptr) {
        snapshot->clear();
        snapshot->reserve(open_.size());
        for (const auto& [name, conversation] : open_) {
            DeskConversation summary = conversation;
            summary.transcript.clear();
            snapshot->push_back(std::move(summary));
        }
        std::sort(snapshot->begin(), snapshot->end(), [](const auto& a, const auto& b) {
            return a.last_activity_ms < b.last_activity_ms;
        });
    }
    return id;
}

void AgentDeskState::unsubscribe(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    listeners_.erase(id);
}

std::vector<DeskConversation> AgentDeskState::conversations() const {
    std::vector<DeskConversation> out;
    {
        std::lock_guard lock(mutex_);
        out.reserve(open_.size());
        for (const auto& [name, conversation] : open_) {
            DeskConversation summary = conversation;
            summary.transcript.clear();
            out.push_back(std::move(summary));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.last_activity_ms < b.last_activity_ms; });
    return out;
}

std::optional<DeskConversation> AgentDeskState::find(std::string_view conversation) const {
    std::lock_guard lock(mutex_);
    auto it = open_.find(conversation);
    if (it == open_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::size_t AgentDeskState::size() const {
    std::lock_guard lock(mutex_);
    return open_.size();
}

AgentDeskStats AgentDeskState::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

// ---- AgentDesk
// ------------------------------------------------------------------------------------

AgentDesk::AgentDesk(core::Consumer& consumer, core::Producer& producer, AgentDeskOptions options)
    : consumer_(consumer), producer_(producer), state_(options) {}

AgentDesk::~AgentDesk() {
    stop();
}

void AgentDesk::start() {
    if (thread_.joinable()) {
        throw core::Error("agent desk: already running");
    }
    running_ = true;
    thread_ = std::thread([this] { run(); });
    logger().info("agent desk started", {{"topic", core::kHandoffTopic}});
}

void AgentDesk::stop() {
    running_ = false;
    if (thread_.joinable()) {
        thread_.join();
        logger().info("agent desk stopped", {{"open", state_.size()}});
    }
}

void AgentDesk::run() {
    const AgentDeskOptions& options = state_.options();
    while (running_.load()) {
        try {
            // Offsets are never committed: every start reads the topic from its beginning.
            apply_records(consumer_.poll(options.max_batch, options.poll_timeout));
        } catch (const std::exception& e) {
            logger().warn("handoff poll failed", {{"error", e.what()}});
            std::this_thread::sleep_for(options.error_backoff);
        }
    }
}

void AgentDesk::apply_records(const std::vector<core::Record>& records) {
    for (const core::Record& record : records) {
        auto event = core::parse_handoff_event(record.value);
        if (!event) {
            state_.count_malformed();
            logger().warn("handoff record skipped: not a HandoffEvent",
                          {{"topic", record.topic},
                           {"partition", record.partition},
                           {"offset", record.offset},
                           {"error", event.error().message()}});
            continue;
        }
        const DeskChange change = state_.apply(*event);
        logger().debug("handoff event", {{"conversation", event->conversation},
                                         {"type", core::to_string(event->type)},
                                         {"change", to_string(change)},
                                         {"offset", record.offset}});
    }
}

boost::system::error_code AgentDesk::send(core::AgentCommand& command, SendHandler on_done) {
    command.id = detail::random_hex(16);
    command.at_ms = detail::now_ms();

    core::Record record;
    record.topic = std::string(core::kAgentTopic);
    record.key = command.conversation;
    record.value = core::to_json(command);
    const std::string trace_id = detail::random_hex(16);
    record.headers = {{"schema", "teller.agent.v1"}, {"trace_id", trace_id}};
    if (record.value.size() > core::kMaxEventBytes) {
        return core::Errc::payload_too_large;
    }

    const boost::system::error_code queued = producer_.produce(record, std::move(on_done));
    logger().debug("agent command queued", {{"conversation", command.conversation},
                                            {"type", core::to_string(command.type)},
                                            {"command", command.id},
                                            {"trace_id", trace_id},
                                            {"error", queued ? queued.message() : "none"}});
    return queued;
}

}  // namespace teller::channels
