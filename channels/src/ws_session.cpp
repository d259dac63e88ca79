// One web chat WebSocket connection: reads client frames, publishes messages, writes replies.
#include "ws_session.hpp"

#include <openssl/sha.h>

#include <exception>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "teller/core/events.hpp"
#include "teller/core/log.hpp"

namespace teller::channels::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

// Largest chunk read at once while skipping the rest of an oversized message.
constexpr std::size_t kDiscardChunk = 64 * 1024;

}  // namespace

WsSession::WsSession(GatewayState& state, beast::tcp_stream&& stream, std::string remote,
                     std::string customer_id, std::int64_t token_expires_at_s)
    : state_(state),
      ws_(std::move(stream)),
      remote_(std::move(remote)),
      customer_id_(std::move(customer_id)),
      token_expires_at_s_(token_expires_at_s) {
    executor_ = ws_.get_executor();
}

WsSession::~WsSession() {
    if (!conversation_.empty()) {
        state_.detach(conversation_, this);
    }
    state_.remove_connection(this);
}

void WsSession::run(http::request<http::string_body> request) {
    state_.add_connection(this, weak_from_this());

    // Timeouts: Beast's own (handshake, idle with keep-alive pings), not the tcp_stream's.
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = state_.options.ws_handshake_timeout;
    timeout.idle_timeout = state_.options.ws_idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "teller"); }));

    // Beast fails messages past this with 1009; below it, on_read discards oversized messages.
    ws_.read_message_max(state_.options.max_ws_discard_bytes);

    ws_.async_accept(request, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::shutdown() {
    asio::post(executor_, [self = shared_from_this()] {
        try {
            self->closing_ = true;
            self->close_code_ = websocket::close_code::going_away;
            if (!self->accepted_) {
                beast::get_lowest_layer(self->ws_).close();
                return;
            }
            if (!self->writing_) {
                self->start_close(websocket::close_code::going_away);
            }
        } catch (const std::exception& e) {
            self->state_.log.warn("websocket shutdown failed", {{"error", e.what()}});
        }
    });
}

void WsSession::post_frame(std::shared_ptr<const std::string> frame) {
    asio::post(executor_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
        try {
            self->send_shared(std::move(frame));
        } catch (const std::exception& e) {
            self->state_.log.warn("websocket send failed", {{"error", e.what()}});
        }
    });
}

void WsSession::on_accept(error_code ec) {
    if (ec) {
        state_.log.debug("websocket handshake failed",
                         {{"remote", remote_}, {"error", ec.message()}});
        return;
    }
    accepted_ = true;
    state_.log.debug("websocket opened", {{"remote", remote_}});

    // stop() may have asked to close while the handshake ran.
    if (closing_) {
        start_close(close_code_);
    }
    do_read();
}

void WsSession::do_read() {
    // One byte past the limit tells an oversized message apart from one exactly at it.
    std::size_t limit = kDiscardChunk;
    if (!discarding_) {
        limit = state_.options.max_ws_message_bytes - buffer_.size() + 1;
    }
    ws_.async_read_some(buffer_, limit,
                        beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(error_code ec, std::size_t /*bytes*/) {
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
            state_.log.warn("websocket message too large",
                            {{"remote", remote_},
                             {"conversation", conversation_},
                             {"limit", state_.options.max_ws_message_bytes}});
            send(make_error(FrameError::too_large,
                            "the message exceeds " +
                                std::to_string(state_.options.max_ws_message_bytes) + " bytes"));
        } else {
            const auto data = buffer_.cdata();
            handle_payload(std::string_view(static_cast<const char*>(data.data()), data.size()),
                           ws_.got_binary());
        }
        buffer_.clear();
    } catch (const std::exception& e) {
        // Nothing a client sends may end the connection through an exception.
        state_.log.warn("websocket frame handling failed",
                        {{"conversation", conversation_}, {"error", e.what()}});
        buffer_.clear();
        discarding_ = false;
        try {
            send(make_error(FrameError::bad_request, "the frame could not be handled"));
        } catch (const std::exception&) {
            // Out of memory while reporting; the next read may still succeed.
        }
    }
    // Keep reading even while closing: the peer's close frame ends the session.
    do_read();
}

void WsSession::on_read_failed(error_code ec) {
    read_done_ = true;
    closing_ = true;

    // A close from the client, a timeout or stop() is ordinary; a protocol failure is not.
    if (ec == websocket::error::closed) {
        state_.log.debug("websocket closed", {{"remote", remote_},
                                              {"conversation", conversation_},
                                              {"code", static_cast<int>(ws_.reason().code)}});
    } else if (ec == websocket::error::bad_frame_payload) {
        // RFC 6455 section 8.1: invalid UTF-8 in a text frame fails the connection (1007).
        state_.log.warn("websocket failed: invalid UTF-8 in a text frame",
                        {{"remote", remote_}, {"conversation", conversation_}});
    } else if (ec == websocket::error::message_too_big) {
        state_.log.warn("websocket failed: message past the discard limit",
                        {{"remote", remote_},
                         {"conversation", conversation_},
                         {"limit", state_.options.max_ws_discard_bytes}});
    } else if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
               ec == asio::error::eof || ec == asio::error::connection_reset) {
        state_.log.debug(
            "websocket ended",
            {{"remote", remote_}, {"conversation", conversation_}, {"reason", ec.message()}});
    } else {
        state_.log.warn(
            "websocket read failed",
            {{"remote", remote_}, {"conversation", conversation_}, {"error", ec.message()}});
    }

    // Frames not yet written have nowhere to go; keep the one being written alive.
    while (queue_.size() > (writing_ ? 1U : 0U)) {
        queue_.pop_back();
    }
}

void WsSession::handle_payload(std::string_view payload, bool binary) {
    if (closing_) {
        return;
    }

    // Text frames were checked by Beast; binary frames are checked here.
    if (binary && !core::is_valid_utf8(payload)) {
        send(make_error(FrameError::invalid_utf8, "the frame is not valid UTF-8"));
        return;
    }

    ClientFrame frame = parse_client_frame(payload);
    if (auto* failure = std::get_if<FrameFailure>(&frame)) {
        state_.log.debug("websocket frame refused", {{"conversation", conversation_},
                                                     {"code", to_string(failure->code)},
                                                     {"reason", failure->message}});
        send(make_error(failure->code, failure->message, failure->id));
        return;
    }
    if (auto* hello = std::get_if<HelloFrame>(&frame)) {
        handle_hello(*hello);
        return;
    }
    handle_message(std::get<MessageFrame>(frame));
}

void WsSession::handle_hello(HelloFrame& hello) {
    if (!hello.locale.empty()) {
        if (is_valid_locale(hello.locale)) {
            locale_ = std::move(hello.locale);
        } else {
            state_.log.debug("hello locale ignored", {{"conversation", conversation_}});
        }
    }

    // A socket holds one conversation for its whole life.
    if (!conversation_.empty()) {
        if (!hello.conversation_given || hello.conversation == conversation_) {
            send(make_welcome(conversation_));
            return;
        }
        send(make_error(FrameError::bad_request,
                        "this connection already holds another conversation; open a new "
                        "connection to switch"));
        return;
    }

    // A signed-in customer's conversations carry a mark derived from the customer and the
    // token secret ("webchat:v<16 hex>-<32 hex>"): another customer, or an anonymous socket,
    // presenting such an id gets a new conversation instead of that customer's replies.
    // TODO(teller): an anonymous conversation id is still a bearer secret: whoever presents
    // it resumes that (anonymous, data-free) conversation.
    if (hello.conversation_given) {
        if (is_valid_conversation_id(hello.conversation) && owns(hello.conversation)) {
            open_conversation(std::move(hello.conversation));
            return;
        }
        send(make_error(FrameError::bad_request,
                        "the conversation id was refused; a new conversation was opened"));
    }
    open_conversation(fresh_conversation_id());
}

std::string WsSession::customer_mark() const {
    if (customer_id_.empty()) {
        return {};
    }
    const std::string& secret = state_.options.webchat_token_secret;
    std::string input = secret + "\n" + customer_id_;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string mark = "v";
    for (int i = 0; i < 8; ++i) {
        mark.push_back(kHex[digest[i] >> 4]);
        mark.push_back(kHex[digest[i] & 0xf]);
    }
    return mark;
}

bool WsSession::owns(std::string_view conversation) const {
    std::string_view rest = conversation.substr(std::string_view("webchat:").size());
    std::string mark = customer_mark();
    if (mark.empty()) {
        return !rest.starts_with("v");  // anonymous sockets never resume a customer's
    }
    return rest.starts_with(mark + "-");
}

std::string WsSession::fresh_conversation_id() const {
    std::string id = new_conversation_id();
    std::string mark = customer_mark();
    if (mark.empty()) {
        return id;
    }
    constexpr std::string_view kPrefix = "webchat:";
    return std::string(kPrefix) + mark + "-" + id.substr(kPrefix.size());
}

void WsSession::open_conversation(std::string conversation) {
    conversation_ = std::move(conversation);
    state_.attach(conversation_, shared_from_this());
    state_.log.debug("conversation attached", {{"conversation", conversation_}});
    send(make_welcome(conversation_));
}

void WsSession::handle_message(MessageFrame& message) {
    // A message before hello opens a conversation implicitly.
    if (conversation_.empty()) {
        open_conversation(fresh_conversation_id());
    }
    std::string client_id = message.id.empty() ? random_hex(8) : std::move(message.id);

    // The token holds for this socket only until it expires: a later message is refused and
    // the socket closed, so the page has to sign in again.
    if (token_expires_at_s_ > 0 && now_ms() / 1000 > token_expires_at_s_) {
        state_.metrics.add(kTokensRefused, "reason=\"expired\"");
        state_.log.info("web chat message refused: token expired",
                        {{"conversation", conversation_}});
        send(make_error(FrameError::token_expired,
                        "your sign-in has expired; sign in again to continue", client_id));
        closing_ = true;
        close_code_ = websocket::close_code::policy_error;
        return;
    }

    // Nothing is accepted that cannot be buffered; the client resends with the same id.
    if (state_.overloaded()) {
        state_.metrics.add(kMessagesRejected, reason_labels("webchat", "overloaded"));
        state_.log.warn(
            "web chat message refused: producer buffer full",
            {{"conversation", conversation_}, {"in_flight", state_.producer.in_flight()}});
        send(make_error(FrameError::unavailable, "the service is busy; resend the message",
                        client_id));
        return;
    }
    if (const Admission admission = state_.limiter.admit(conversation_); !admission.allowed) {
        state_.metrics.add(kMessagesRejected, reason_labels("webchat", "rate_limited"));
        state_.log.debug("web chat message rate limited", {{"conversation", conversation_}});
        send(make_error(FrameError::rate_limited,
                        "too many messages; resend this one in " +
                            std::to_string(admission.retry_after.count()) + " ms",
                        client_id));
        return;
    }

    // Normalise into the canonical event.
    core::InboundMessage inbound;
    inbound.id = inbound_message_id(conversation_, client_id);
    inbound.channel = "webchat";
    inbound.conversation = conversation_;
    inbound.sender = conversation_;
    // Card and phone numbers and secrets are masked before the text reaches any topic; the
    // last four digits of a card survive, which is all the skills use.
    inbound.text = core::mask_personal_data(message.text);
    inbound.locale = locale_;
    inbound.received_at_ms = now_ms();
    inbound.reply_to = state_.options.instance_id;
    inbound.trace_id = random_hex(16);
    if (!customer_id_.empty()) {
        inbound.metadata["customer_id"] = customer_id_;
        inbound.metadata["verified"] = true;
    }
    core::Record record = make_inbound_record(inbound);

    // JSON escaping can make the event larger than the frame; the bus refuses past its limit.
    if (record.value.size() > core::kMaxEventBytes) {
        state_.metrics.add(kMessagesRejected, reason_labels("webchat", "too_large"));
        send(make_error(FrameError::too_large, "the message is too large once encoded", client_id));
        return;
    }

    // Publish; the ack (or an `unavailable` error) follows Kafka's delivery report.
    if (state_.log.enabled(core::LogLevel::trace)) {
        state_.log.trace("message text", {{"conversation", conversation_}, {"text", inbound.text}});
    }
    auto on_delivery = [lifeline = state_.lifeline, weak = weak_from_this(), client_id,
                        trace_id = inbound.trace_id](const boost::system::error_code& result) {
        std::lock_guard lock(lifeline->mutex);
        if (!lifeline->open) {
            return;
        }
        if (auto self = weak.lock()) {
            asio::post(self->executor_, [self, client_id, trace_id, result] {
                self->on_delivery(client_id, trace_id, result);
            });
        }
    };
    const boost::system::error_code queued = state_.producer.produce(record, on_delivery);
    if (queued) {
        state_.metrics.add(kMessagesRejected, reason_labels("webchat", "unavailable"));
        state_.log.warn("inbound message not queued", {{"conversation", conversation_},
                                                       {"trace_id", inbound.trace_id},
                                                       {"error", queued.message()}});
        send(make_error(FrameError::unavailable, "the message could not be accepted; resend it",
                        client_id));
        return;
    }
    state_.log.debug("inbound message queued", {{"conversation", conversation_},
                                                {"trace_id", inbound.trace_id},
                                                {"bytes", record.value.size()}});
}

void WsSession::on_delivery(const std::string& client_id, const std::string& trace_id,
                            error_code ec) {
    try {
        if (ec) {
            state_.metrics.add(kMessagesRejected, reason_labels("webchat", "unavailable"));
            state_.log.warn(
                "inbound message not acknowledged by Kafka",
                {{"conversation", conversation_}, {"trace_id", trace_id}, {"error", ec.message()}});
            send(make_error(FrameError::unavailable, "the message could not be accepted; resend it",
                            client_id));
            return;
        }
        state_.metrics.add(kMessagesAccepted, channel_label("webchat"));
        send(make_ack(client_id));
    } catch (const std::exception& e) {
        state_.log.warn("ack failed", {{"conversation", conversation_}, {"error", e.what()}});
    }
}

void WsSession::send(std::string frame) {
    send_shared(std::make_shared<const std::string>(std::move(frame)));
}

void WsSession::send_shared(std::shared_ptr<const std::string> frame) {
    if (closing_ || !accepted_) {
        return;
    }

    // A client that does not read is cut off rather than buffered without end.
    if (queue_.size() >= state_.options.max_queued_frames) {
        state_.log.warn("websocket client is not reading; closing",
                        {{"conversation", conversation_}, {"queued", queue_.size()}});
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

void WsSession::do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
}

void WsSession::on_write(error_code ec, std::size_t /*bytes*/) {
    writing_ = false;
    if (!queue_.empty()) {
        queue_.pop_front();
    }
    if (ec) {
        state_.log.debug("websocket write failed",
                         {{"conversation", conversation_}, {"error", ec.message()}});
        closing_ = true;
        queue_.clear();
        return;
    }
    try {
        if (closing_) {
            if (!read_done_) {
                start_close(close_code_);
            }
            return;
        }
        if (!queue_.empty()) {
            do_write();
        }
    } catch (const std::exception& e) {
        state_.log.warn("websocket write failed", {{"error", e.what()}});
    }
}

void WsSession::start_close(websocket::close_code code) {
    if (close_started_ || read_done_) {
        return;
    }
    close_started_ = true;
    ws_.async_close(websocket::close_reason(code), [self = shared_from_this()](error_code ec) {
        if (ec) {
            self->state_.log.debug("websocket close failed", {{"conversation", self->conversation_},
                                                              {"error", ec.message()}});
        }
    });
}

}  // namespace teller::channels::detail
