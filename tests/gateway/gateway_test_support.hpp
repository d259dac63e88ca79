// Test doubles for the gateway: a recording producer, a scripted consumer, HTTP and WS clients.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "teller/core/bus.hpp"
#include "teller/core/error.hpp"

namespace teller::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

/// Records every produced record and reports delivery from its own thread, as librdkafka does.
class FakeProducer final : public core::Producer {
public:
    /// ack: delivered; refuse: produce() fails; fail_delivery: the report says failed; hold: the
    /// report waits (the record stays in flight) until release().
    enum class Mode { ack, refuse, fail_delivery, hold };

    FakeProducer() : worker_([this] { work(); }) {}

    ~FakeProducer() override {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        worker_.join();
    }

    void set_mode(Mode mode) {
        std::lock_guard lock(mutex_);
        mode_ = mode;
        held_ = mode == Mode::hold;
        cv_.notify_all();
    }

    /// Lets held reports go (as successes) and returns to Mode::ack.
    void release() { set_mode(Mode::ack); }

    boost::system::error_code produce(const core::Record& record,
                                      core::DeliveryHandler on_delivery) override {
        std::lock_guard lock(mutex_);
        if (mode_ == Mode::refuse) {
            return core::Errc::broker_unavailable;
        }
        records_.push_back(record);
        const boost::system::error_code result = mode_ == Mode::ack
                                                     ? boost::system::error_code{}
                                                     : make_error_code(core::Errc::delivery_failed);
        reports_.emplace_back(std::move(on_delivery), result);
        cv_.notify_all();
        return {};
    }

    boost::system::error_code flush(std::chrono::milliseconds) override { return {}; }

    std::size_t in_flight() const override {
        std::lock_guard lock(mutex_);
        return reports_.size();
    }

    std::vector<core::Record> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }

    /// Waits until at least `count` records were produced.
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return records_.size() >= count; });
    }

private:
    void work() {
        std::unique_lock lock(mutex_);
        while (true) {
            cv_.wait(lock, [this] { return done_ || (!reports_.empty() && !held_); });
            if (reports_.empty() && done_) {
                return;
            }
            auto [handler, result] = std::move(reports_.front());
            reports_.pop_front();
            lock.unlock();
            if (handler) {
                handler(result);
            }
            lock.lock();
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    Mode mode_ = Mode::ack;
    bool held_ = false;
    bool done_ = false;
    std::vector<core::Record> records_;
    std::deque<std::pair<core::DeliveryHandler, boost::system::error_code>> reports_;
    std::thread worker_;
};

/// Hands out scripted batches, then empty polls; remembers what was committed.
class FakeConsumer final : public core::Consumer {
public:
    void push(std::vector<core::Record> batch) {
        std::lock_guard lock(mutex_);
        batches_.push_back(std::move(batch));
    }

    std::vector<core::Record> poll(std::size_t, std::chrono::milliseconds timeout) override {
        {
            std::lock_guard lock(mutex_);
            if (!batches_.empty()) {
                auto batch = std::move(batches_.front());
                batches_.pop_front();
                return batch;
            }
        }
        std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(10)));
        return {};
    }

    boost::system::error_code commit(const std::vector<core::Record>& records) override {
        std::lock_guard lock(mutex_);
        committed_.insert(committed_.end(), records.begin(), records.end());
        cv_.notify_all();
        return {};
    }

    /// Waits until at least `count` records were committed and returns them.
    std::vector<core::Record> wait_committed(std::size_t count,
                                             std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return committed_.size() >= count; });
        return committed_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::vector<core::Record>> batches_;
    std::vector<core::Record> committed_;
};

/// Runs `ioc` until `done` or the timeout; true when done.
inline bool run_until(asio::io_context& ioc, const bool& done, std::chrono::milliseconds timeout) {
    ioc.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        ioc.run_one_for(deadline - std::chrono::steady_clock::now());
    }
    return done;
}

/// One HTTP/1.1 exchange with a time limit and extra request headers. Throws on a network
/// failure or timeout.
inline http::response<http::string_body> http_request(
    std::uint16_t port, http::verb method, std::string target, std::string body,
    const std::vector<std::pair<std::string, std::string>>& headers);

/// One HTTP/1.1 exchange with a time limit. Throws on a network failure or timeout.
inline http::response<http::string_body> http_request(std::uint16_t port, http::verb method,
                                                      std::string target, std::string body = {}) {
    return http_request(port, method, std::move(target), std::move(body), {});
}

inline http::response<http::string_body> http_request(
    std::uint16_t port, http::verb method, std::string target, std::string body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));

    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    request.keep_alive(false);
    for (const auto& [name, value] : headers) {
        request.set(name, value);
    }
    request.body() = std::move(body);
    request.prepare_payload();

    bool done = false;
    beast::error_code result;
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::async_write(socket, request, [&](beast::error_code ec, std::size_t) {
        if (ec) {
            result = ec;
            done = true;
            return;
        }
        http::async_read(socket, buffer, response, [&](beast::error_code read_ec, std::size_t) {
            result = read_ec;
            done = true;
        });
    });
    if (!run_until(ioc, done, 5s)) {
        throw std::runtime_error("http request timed out");
    }
    if (result) {
        throw beast::system_error(result);
    }
    return response;
}

/// A WebSocket client for the web chat endpoint, with timed reads.
class WsClient {
public:
    /// Connects to `target` and completes the handshake; throws on failure (e.g. 403, 401).
    explicit WsClient(std::uint16_t port, std::string origin = {}, std::string target = "/ws")
        : ws_(ioc_) {
        ws_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        if (!origin.empty()) {
            ws_.set_option(
                websocket::stream_base::decorator([origin](websocket::request_type& request) {
                    request.set(http::field::origin, origin);
                }));
        }
        ws_.handshake(response_, "127.0.0.1:" + std::to_string(port), target);
    }

    void send_text(std::string_view payload) {
        ws_.text(true);
        ws_.write(asio::buffer(payload.data(), payload.size()));
    }

    void send_binary(std::string_view payload) {
        ws_.binary(true);
        ws_.write(asio::buffer(payload.data(), payload.size()));
    }

    /// Writes one fragment of a text message (`last` ends the message).
    void send_fragment(std::string_view payload, bool last) {
        ws_.text(true);
        ws_.write_some(last, asio::buffer(payload.data(), payload.size()));
    }

    /// The next frame as raw text; nullopt on timeout or when the connection ended (then
    /// error() says why). After a timeout the client must not be used again.
    std::optional<std::string> read_raw(std::chrono::milliseconds timeout = 5s) {
        bool done = false;
        beast::flat_buffer buffer;
        ws_.async_read(buffer, [&](beast::error_code ec, std::size_t) {
            error_ = ec;
            done = true;
        });
        if (!run_until(ioc_, done, timeout)) {
            beast::error_code ignored;
            ws_.next_layer().cancel(ignored);
            run_until(ioc_, done, 1s);
            return std::nullopt;
        }
        if (error_) {
            return std::nullopt;
        }
        return beast::buffers_to_string(buffer.data());
    }

    /// The next frame parsed as a JSON object; nullopt like read_raw().
    std::optional<boost::json::object> read(std::chrono::milliseconds timeout = 5s) {
        auto raw = read_raw(timeout);
        if (!raw) {
            return std::nullopt;
        }
        return boost::json::parse(*raw).as_object();
    }

    /// Sends hello and returns the welcome's conversation id ("" if none came).
    std::string hello(std::string conversation = {}, std::string locale = {}) {
        boost::json::object o;
        o["type"] = "hello";
        if (!conversation.empty()) {
            o["conversation"] = conversation;
        }
        if (!locale.empty()) {
            o["locale"] = locale;
        }
        send_text(boost::json::serialize(o));
        auto welcome = read();
        if (!welcome || welcome->at("type") != "welcome") {
            return {};
        }
        return std::string(welcome->at("conversation").as_string());
    }

    void message(std::string_view text, std::string_view id = {}) {
        boost::json::object o;
        o["type"] = "message";
        o["text"] = text;
        if (!id.empty()) {
            o["id"] = id;
        }
        send_text(boost::json::serialize(o));
    }

    const beast::error_code& error() const { return error_; }
    websocket::close_reason close_reason() const { return ws_.reason(); }

private:
    asio::io_context ioc_;
    websocket::stream<tcp::socket> ws_;
    websocket::response_type response_;
    beast::error_code error_;
};

}  // namespace teller::testing
