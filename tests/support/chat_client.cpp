// ChatClient: Beast WebSocket client with per-read deadlines (async read driven by run_for).
#include "chat_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace teller::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

struct ChatClient::Impl {
    asio::io_context io;
    websocket::stream<beast::tcp_stream> ws{io};
    beast::flat_buffer buffer;
    bool open = false;
};

namespace {

// The token the gateway wrote into its page's teller-token meta element ("" when none): what a
// browser that loads the page signs in with.
std::string page_token(asio::io_context& io, const std::string& host, int port) {
    namespace http = beast::http;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.connect(resolver.resolve(host, std::to_string(port)));
    http::request<http::empty_body> request{http::verb::get, "/", 11};
    request.set(http::field::host, host + ":" + std::to_string(port));
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    const std::string marker = R"(<meta name="teller-token" content=")";
    const std::string& page = response.body();
    auto at = page.find(marker);
    if (at == std::string::npos) {
        return {};
    }
    at += marker.size();
    return page.substr(at, page.find('"', at) - at);
}

}  // namespace

ChatClient::ChatClient(int port, std::string host, bool sign_in) : impl_(std::make_unique<Impl>()) {
    std::string target = "/ws";
    if (sign_in) {
        if (std::string token = page_token(impl_->io, host, port); !token.empty()) {
            target += "?token=" + token;  // base64url and '.': nothing to escape
        }
    }
    asio::ip::tcp::resolver resolver(impl_->io);
    auto endpoints = resolver.resolve(host, std::to_string(port));
    beast::get_lowest_layer(impl_->ws).connect(endpoints);
    impl_->ws.read_message_max(8 * 1024 * 1024);
    impl_->ws.handshake(host + ":" + std::to_string(port), target);
    impl_->open = true;
}

ChatClient::~ChatClient() {
    if (impl_->open) {
        beast::error_code ec;
        beast::get_lowest_layer(impl_->ws).socket().close(ec);
    }
}

std::string ChatClient::hello(const std::string& conversation, const std::string& locale) {
    json::object frame{{"type", "hello"}};
    if (!conversation.empty()) {
        frame["conversation"] = conversation;
    }
    if (!locale.empty()) {
        frame["locale"] = locale;
    }
    send_raw(json::serialize(frame));
    auto welcome = next_of_type("welcome", std::chrono::seconds(10));
    if (!welcome || !welcome->contains("conversation")) {
        return {};
    }
    return std::string(welcome->at("conversation").as_string());
}

void ChatClient::say(const std::string& text, const std::string& id) {
    json::object frame{{"type", "message"}, {"text", text}};
    if (!id.empty()) {
        frame["id"] = id;
    }
    send_raw(json::serialize(frame));
}

void ChatClient::send_raw(const std::string& payload, bool binary) {
    impl_->ws.binary(binary);
    impl_->ws.write(asio::buffer(payload));
}

std::optional<json::object> ChatClient::next(std::chrono::milliseconds timeout) {
    if (!impl_->open) {
        return std::nullopt;
    }
    bool done = false;
    beast::error_code error;
    impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
        error = ec;
        done = true;
    });
    impl_->io.restart();
    impl_->io.run_for(timeout);
    if (!done) {
        // Abandon the connection: a cancelled WebSocket read leaves the stream unusable.
        beast::get_lowest_layer(impl_->ws).cancel();
        impl_->io.restart();
        impl_->io.run();
        impl_->open = false;
        return std::nullopt;
    }
    if (error) {
        impl_->open = false;
        return std::nullopt;
    }
    std::string text = beast::buffers_to_string(impl_->buffer.data());
    impl_->buffer.consume(impl_->buffer.size());
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return std::nullopt;
    }
    return value.as_object();
}

std::optional<json::object> ChatClient::next_of_type(const std::string& type,
                                                     std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        auto frame = next(left);
        if (!frame) {
            return std::nullopt;
        }
        if (const auto* t = frame->if_contains("type");
            t && t->is_string() && t->as_string() == type) {
            return frame;
        }
    }
}

bool ChatClient::is_open() const {
    return impl_->open;
}

}  // namespace teller::testing
