// One agent desk WebSocket connection: sign-in, the desk's live state, agents' commands.
#include "agent_desk_session.hpp"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "teller/core/events.hpp"

namespace teller::channels::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

// Largest chunk read at once while skipping the rest of an oversized message.
constexpr std::size_t kDiscardChunk = 64 * 1024;

// Frames queued for one desk socket: a desk sees every conversation's events, so it may fall
// further behind than a customer's socket before it counts as not reading.
constexpr std::size_t kMinDeskQueuedFrames = 1024;

}  // namespace

AgentDeskSession::AgentDeskSession(GatewayState& state, AgentDesk& desk, beast::tcp_stream&& stream,
                                   std::string remote)
    : state_(state),
      desk_(desk),
      ws_(std::move(stream)),
      executor_(ws_.get_executor()),
      hello_timer_(executor_),
      remote_(std::move(remote)) {}

AgentDeskSession::~AgentDeskSession() {
    if (listener_ != 0) {
        desk_.state().unsubscribe(listener_);
    }
    state_.remove_connection(this);
}

void AgentDeskSession::run(http::request<http::string_body> request) {
    state_.add_connection(this, weak_from_this());

    // Beast's own timeouts (handshake, idle with keep-alive pings), as for the web chat.
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = state_.options.ws_handshake_timeout;
    timeout.idle_timeout = state_.options.ws_idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "teller"); }));
    ws_.read_message_max(state_.options.max_ws_discard_bytes);

    ws_.async_accept(request,
                     beast::bind_front_handler(&AgentDeskSession::on_accept, shared_from_this()));
}

void AgentDeskSession::shutdown() {
    asio::post(executor_, [self = shared_from_this()] {
        try {
            self->closing_ = true;
            self->close_code_ = websocket::close_code::going_away;
            self->hello_timer_.cancel();
            if (!self->accepted_) {
                beast::get_lowest_layer(self->ws_).close();
                return;
            }
            if (!self->writing_) {
                self->start_close(websocket::close_code::going_away);
            }
        } catch (const std::exception& e) {
            self->state_.log.warn("desk socket shutdown failed", {{"error", e.what()}});
        }
    });
}

void AgentDeskSession::post_frame(std::shared_ptr<const std::string> frame) {
    asio::post(executor_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
        try {
            self->send_shared(std::move(frame));
        } catch (const std::exception& e) {
            self->state_.log.warn("desk socket send failed", {{"error", e.what()}});
        }
    });
}

void AgentDeskSession::on_accept(error_code ec) {
    if (ec) {
        state_.log.debug("desk socket handshake failed",
                         {{"remote", remote_}, {"error", ec.message()}});
        return;
    }
    accepted_ = true;
    state_.log.debug("desk socket opened", {{"remote", remote_}});
    if (closing_) {
        start_close(close_code_);
    }

    // The token comes in the first frame; a socket that never signs in is closed.
    hello_timer_.expires_after(kDeskHelloTimeout);
    hello_timer_.async_wait(
        beast::bind_front_handler(&AgentDeskSession::on_hello_timeout, shared_from_this()));
    do_read();
}

void AgentDeskSession::on_hello_timeout(error_code ec) {
    if (ec || !agent_.empty() || closing_) {
        return;
    }
    state_.log.info("desk socket closed: no hello in time", {{"remote", remote_}});
    refuse(DeskError::unauthorized, "send hello with the agent token first");
}

void AgentDeskSession::do_read() {
    std::size_t limit = kDiscardChunk;
    if (!discarding_) {
        limit = state_.options.max_ws_message_bytes - buffer_.size() + 1;
    }
    ws_.async_read_some(buffer_, limit,
                        beast::bind_front_handler(&AgentDeskSession::on_read, shared_from_this()));
}

void AgentDeskSession::on_read(error_code ec, std::size_t /*bytes*/) {
    if (ec) {
        on_read_failed(ec);
        return;
    }
    try {
        // An oversized message is skipped chunk by chunk; memory stays bounded by the limit.
        if (!discarding_ && buffer_.size() > state_.options.max_ws_message_bytes) {
            discarding_ = true;
        }
        if (discarding_) {
            buffer_.clear();
        }
        if (!ws_.is_message_done()) {
            do_read();
            return;
        }
        if (discarding_) {
            discarding_ = false;
            send(make_desk_error(DeskError::too_large,
                                 "the frame exceeds " +
                                     std::to_string(state_.options.max_ws_message_bytes) +
                                     " bytes"));
        } else {
            const auto data = buffer_.cdata();
            handle_payload(std::string_view(static_cast<const char*>(data.data()), data.size()),
                           ws_.got_binary());
        }
        buffer_.clear();
    } catch (const std::exception& e) {
        // Nothing an agent sends may end the connection through an exception.
        state_.log.warn("desk frame handling failed", {{"agent", agent_}, {"error", e.what()}});
        buffer_.clear();
        discarding_ = false;
        try {
            send(make_desk_error(DeskError::bad_request, "the frame could not be handled"));
        } catch (const std::exception&) {
            // Out of memory while reporting; the next read may still succeed.
        }
    }
    do_read();
}

void AgentDeskSession::on_read_failed(error_code ec) {
    read_done_ = true;
    closing_ = true;
    hello_timer_.cancel();
    if (ec == websocket::error::closed || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
        state_.log.debug("desk socket ended",
                         {{"remote", remote_}, {"agent", agent_}, {"reason", ec.message()}});
    } else {
        state_.log.warn("desk socket failed",
                        {{"remote", remote_}, {"agent", agent_}, {"error", ec.message()}});
    }
    while (queue_.size() > (writing_ ? 1U : 0U)) {
        queue_.pop_back();
    }
}

void AgentDeskSession::handle_payload(std::string_view payload, bool binary) {
    if (closing_) {
        return;
    }
    if (binary && !core::is_valid_utf8(payload)) {
        send(make_desk_error(DeskError::invalid_utf8, "the frame is not valid UTF-8"));
        return;
    }
    DeskFrame frame = parse_desk_frame(payload);

    // Before sign-in only a valid hello is accepted.
    if (agent_.empty()) {
        if (auto* hello = std::get_if<DeskHello>(&frame)) {
            handle_hello(*hello);
        } else if (auto* failure = std::get_if<DeskFailure>(&frame)) {
            send(make_desk_error(failure->code, failure->message, failure->id));
        } else {
            refuse(DeskError::unauthorized, "send hello with the agent token first");
        }
        return;
    }
    if (auto* failure = std::get_if<DeskFailure>(&frame)) {
        state_.log.debug("desk frame refused",
                         {{"agent", agent_}, {"code", to_string(failure->code)}});
        send(make_desk_error(failure->code, failure->message, failure->id));
        return;
    }
    if (std::holds_alternative<DeskHello>(frame)) {
        send(make_desk_error(DeskError::bad_request, "already signed in"));
        return;
    }
    if (auto* view = std::get_if<DeskView>(&frame)) {
        handle_view(*view);
        return;
    }
    handle_command(std::get<DeskCommand>(frame));
}

// TODO(teller): one token is shared by every agent and the name is self-declared, so the desk
// cannot tell agents apart or revoke one; and wrong tokens are not rate limited per address,
// so only the token's length (16+ characters) stands between a guesser and the desk.
void AgentDeskSession::handle_hello(DeskHello& hello) {
    if (!agent_token_matches(state_.options.agent_token, hello.token)) {
        state_.log.info("desk socket refused: wrong agent token", {{"remote", remote_}});
        refuse(DeskError::unauthorized, "the agent token is not valid");
        return;
    }
    hello_timer_.cancel();
    agent_ = std::move(hello.agent);

    // Listen and take the snapshot at once: every later change arrives as an update, in order.
    auto listener = [lifeline = state_.lifeline, weak = weak_from_this()](
                        const core::HandoffEvent& event, DeskChange change,
                        const DeskConversation& conversation) {
        auto frame =
            std::make_shared<const std::string>(make_desk_update(event, change, conversation));
        std::lock_guard lock(lifeline->mutex);
        if (!lifeline->open) {
            return;
        }
        // The reference moves into the posted handler: the session never dies in here (its
        // destructor takes the desk's lock, which the caller holds).
        if (auto self = weak.lock()) {
            auto executor = self->executor_;
            asio::post(executor, [self = std::move(self), frame = std::move(frame)]() mutable {
                try {
                    self->send_shared(std::move(frame));
                } catch (const std::exception& e) {
                    self->state_.log.warn("desk update failed", {{"error", e.what()}});
                }
            });
        }
    };
    std::vector<DeskConversation> snapshot;
    listener_ = desk_.state().subscribe(std::move(listener), &snapshot);
    state_.log.info("agent signed in", {{"agent", agent_}, {"remote", remote_}});
    send(make_desk_snapshot(agent_, snapshot));
}

void AgentDeskSession::handle_view(const DeskView& view) {
    auto conversation = desk_.state().find(view.conversation);
    if (!conversation) {
        send(make_desk_error(DeskError::not_found, "no open conversation " + view.conversation));
        return;
    }
    send(make_desk_transcript(*conversation));
}

void AgentDeskSession::handle_command(DeskCommand& command) {
    // The desk's view decides what makes sense; the engine has the last word (first join wins).
    auto conversation = desk_.state().find(command.conversation);
    if (!conversation) {
        send(make_desk_error(DeskError::not_found, "no open conversation " + command.conversation,
                             command.id));
        return;
    }
    const bool mine = conversation->state == DeskState::assigned && conversation->agent == agent_;
    if (command.type == core::AgentCommandType::join) {
        if (conversation->state == DeskState::assigned && !mine) {
            send(make_desk_error(DeskError::conflict,
                                 "the conversation is taken by " + conversation->agent,
                                 command.id));
            return;
        }
    } else if (!mine) {
        send(make_desk_error(DeskError::conflict,
                             "take the conversation first (or wait until it is assigned to you)",
                             command.id));
        return;
    }

    core::AgentCommand record;
    record.type = command.type;
    record.conversation = command.conversation;
    record.agent = agent_;
    record.text = std::move(command.text);
    // The command's id is known only once send() filled it in; the handler shares the slot.
    auto id_slot = std::make_shared<std::string>();
    auto on_done = [lifeline = state_.lifeline, weak = weak_from_this(), client_id = command.id,
                    type = command.type, conversation = command.conversation,
                    command_id = id_slot](const boost::system::error_code& result) {
        std::lock_guard lock(lifeline->mutex);
        if (!lifeline->open) {
            return;
        }
        if (auto self = weak.lock()) {
            auto executor = self->executor_;
            asio::post(executor, [self = std::move(self), client_id, command_id, type, conversation,
                                  result] {
                self->on_command_done(client_id, *command_id, type, conversation, result);
            });
        }
    };
    const boost::system::error_code queued = desk_.send(record, std::move(on_done));
    *id_slot = record.id;
    if (queued) {
        state_.log.warn("agent command not queued", {{"agent", agent_},
                                                     {"conversation", record.conversation},
                                                     {"error", queued.message()}});
        send(make_desk_error(DeskError::unavailable,
                             "the command could not be sent (" + queued.message() + "); retry",
                             command.id));
        return;
    }
    state_.log.debug("agent command sent", {{"agent", agent_},
                                            {"conversation", record.conversation},
                                            {"type", core::to_string(record.type)},
                                            {"command", record.id}});
}

void AgentDeskSession::on_command_done(const std::string& client_id, const std::string& command_id,
                                       core::AgentCommandType type, const std::string& conversation,
                                       error_code ec) {
    try {
        if (ec) {
            state_.log.warn("agent command not acknowledged by Kafka",
                            {{"agent", agent_},
                             {"conversation", conversation},
                             {"command", command_id},
                             {"error", ec.message()}});
            send(make_desk_error(DeskError::unavailable,
                                 "the command was not accepted by Kafka; retry", client_id));
            return;
        }
        send(make_desk_ack(client_id, command_id, type, conversation));
    } catch (const std::exception& e) {
        state_.log.warn("desk ack failed", {{"agent", agent_}, {"error", e.what()}});
    }
}

void AgentDeskSession::refuse(DeskError code, std::string_view message) {
    send(make_desk_error(code, message));
    closing_ = true;
    close_code_ = websocket::close_code::policy_error;
    hello_timer_.cancel();
    if (!writing_) {
        start_close(close_code_);
    }
}

void AgentDeskSession::send(std::string frame) {
    send_shared(std::make_shared<const std::string>(std::move(frame)));
}

void AgentDeskSession::send_shared(std::shared_ptr<const std::string> frame) {
    if (closing_ || !accepted_) {
        return;
    }
    const std::size_t limit = std::max(kMinDeskQueuedFrames, state_.options.max_queued_frames);
    if (queue_.size() >= limit) {
        state_.log.warn("desk socket is not reading; closing",
                        {{"agent", agent_}, {"queued", queue_.size()}});
        closing_ = true;
        close_code_ = websocket::close_code::policy_error;
        while (queue_.size() > (writing_ ? 1U : 0U)) {
            queue_.pop_back();
        }
        if (!writing_) {
            start_close(close_code_);
        }
        return;
    }
    queue_.push_back(std::move(frame));
    if (!writing_) {
        do_write();
    }
}

void AgentDeskSession::do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    beast::bind_front_handler(&AgentDeskSession::on_write, shared_from_this()));
}

void AgentDeskSession::on_write(error_code ec, std::size_t /*bytes*/) {
    writing_ = false;
    if (!queue_.empty()) {
        queue_.pop_front();
    }
    if (ec) {
        state_.log.debug("desk socket write failed", {{"agent", agent_}, {"error", ec.message()}});
        closing_ = true;
        queue_.clear();
        return;
    }
    try {
        if (!queue_.empty()) {
            do_write();
            return;
        }
        if (closing_ && !read_done_) {
            start_close(close_code_);
        }
    } catch (const std::exception& e) {
        state_.log.warn("desk socket write failed", {{"error", e.what()}});
    }
}

void AgentDeskSession::start_close(websocket::close_code code) {
    if (close_started_ || read_done_) {
        return;
    }
    close_started_ = true;
    ws_.async_close(websocket::close_reason(code), [self = shared_from_this()](error_code ec) {
        if (ec) {
            self->state_.log.debug("desk socket close failed",
                                   {{"agent", self->agent_}, {"error", ec.message()}});
        }
    });
}

}  // namespace teller::channels::detail
