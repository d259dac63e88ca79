// One agent desk WebSocket connection: sign-in, the desk's live state, agents' commands (private).
// TODO(teller): the socket plumbing (bounded write queue, closing, skipping oversized frames)
// repeats WsSession's; a JSON-socket base both derive from would keep fixes in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "agent_desk_protocol.hpp"
#include "gateway_state.hpp"
#include "teller/channels/agent_desk.hpp"

namespace teller::channels::detail {

/// How long a new desk socket has to send a valid hello before it is closed (1008).
inline constexpr std::chrono::seconds kDeskHelloTimeout{5};

/// Lives as long as an operation of its own is pending or a posted frame waits on its strand.
/// All members are touched only on the strand of its socket.
class AgentDeskSession final : public Connection,
                               public std::enable_shared_from_this<AgentDeskSession> {
public:
    /// `desk` must outlive the session (the gateway's documented contract).
    AgentDeskSession(GatewayState& state, AgentDesk& desk, boost::beast::tcp_stream&& stream,
                     std::string remote);
    ~AgentDeskSession() override;

    /// Completes the upgrade `request` asked for, then serves frames until the peer leaves.
    void run(boost::beast::http::request<boost::beast::http::string_body> request);

    /// Sends a close frame (1001 going away) once queued frames are written. Thread-safe.
    void shutdown() override;

    /// Queues `frame` (a text frame) from any thread.
    void post_frame(std::shared_ptr<const std::string> frame);

private:
    using error_code = boost::beast::error_code;

    void on_accept(error_code ec);
    void on_hello_timeout(error_code ec);
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    void on_read_failed(error_code ec);
    void handle_payload(std::string_view payload, bool binary);
    void handle_hello(DeskHello& hello);
    void handle_view(const DeskView& view);
    void handle_command(DeskCommand& command);
    void on_command_done(const std::string& client_id, const std::string& command_id,
                         core::AgentCommandType type, const std::string& conversation,
                         error_code ec);

    void send(std::string frame);
    void send_shared(std::shared_ptr<const std::string> frame);
    void refuse(DeskError code, std::string_view message);
    void do_write();
    void on_write(error_code ec, std::size_t bytes);
    void start_close(boost::beast::websocket::close_code code);

    GatewayState& state_;
    AgentDesk& desk_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::asio::any_io_executor executor_;
    boost::asio::steady_timer hello_timer_;
    std::string remote_;
    std::string agent_;  // the signed-in agent's name; "" before hello
    std::uint64_t listener_ = 0;
    boost::beast::flat_buffer buffer_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    boost::beast::websocket::close_code close_code_ =
        boost::beast::websocket::close_code::going_away;
    bool accepted_ = false;
    bool discarding_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool close_started_ = false;
    bool read_done_ = false;
};

}  // namespace teller::channels::detail
