// One web chat WebSocket connection: reads client frames, publishes messages, writes replies.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "gateway_state.hpp"
#include "webchat_protocol.hpp"

namespace teller::channels::detail {

/// Lives as long as an operation of its own is pending (each holds a shared_ptr), or a posted
/// frame waits on its strand. All members are touched only on the strand of its socket.
class WsSession final : public Connection, public std::enable_shared_from_this<WsSession> {
public:
    /// `customer_id` is the verified customer of the socket's web chat token ("" = anonymous).
    WsSession(GatewayState& state, boost::beast::tcp_stream&& stream, std::string remote,
              std::string customer_id = {}, std::int64_t token_expires_at_s = 0);
    ~WsSession() override;

    /// Completes the upgrade `request` asked for, then serves frames until the peer leaves.
    void run(boost::beast::http::request<boost::beast::http::string_body> request);

    /// Sends a close frame (1001 going away) once queued frames are written. Thread-safe.
    void shutdown() override;

    /// Queues `frame` (a text frame) from any thread.
    void post_frame(std::shared_ptr<const std::string> frame);

private:
    using error_code = boost::beast::error_code;

    void on_accept(error_code ec);
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    void on_read_failed(error_code ec);
    void handle_payload(std::string_view payload, bool binary);
    void handle_hello(HelloFrame& hello);
    void handle_message(MessageFrame& message);
    void open_conversation(std::string conversation);
    void on_delivery(const std::string& client_id, const std::string& trace_id, error_code ec);

    void send(std::string frame);
    void send_shared(std::shared_ptr<const std::string> frame);
    void do_write();
    void on_write(error_code ec, std::size_t bytes);
    void start_close(boost::beast::websocket::close_code code);

    GatewayState& state_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::asio::any_io_executor executor_;
    std::string remote_;
    std::string customer_id_;
    std::int64_t token_expires_at_s_ = 0;  ///< the token's `exp` (Unix seconds); 0 = none

    // The mark of this socket's customer in conversation ids ("" for an anonymous socket).
    std::string customer_mark() const;
    // Whether this socket may resume `conversation` (a valid id).
    bool owns(std::string_view conversation) const;
    // A new conversation id, marked with this socket's customer when signed in.
    std::string fresh_conversation_id() const;
    boost::beast::flat_buffer buffer_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    std::string conversation_;
    std::string locale_;
    boost::beast::websocket::close_code close_code_ =
        boost::beast::websocket::close_code::going_away;
    bool accepted_ = false;
    bool discarding_ = false;  // the current message is past the limit and being skipped
    bool writing_ = false;
    bool closing_ = false;  // no more frames; close once the write in flight ends
    bool close_started_ = false;
    bool read_done_ = false;
};

}  // namespace teller::channels::detail
