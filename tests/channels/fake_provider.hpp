// A scripted provider API for tests: a Beast HTTP server on 127.0.0.1 (port 0) that answers each
// request with the next scripted response and records what it received.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace teller::testing {

/// What the fake answers to one request.
struct ScriptedResponse {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body = "{\"ok\":true}";
    /// Wait this long before answering (a slow provider).
    std::chrono::milliseconds delay{0};
    /// Close the connection without answering.
    bool hang_up = false;

    ScriptedResponse& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    ScriptedResponse& after(std::chrono::milliseconds wait) {
        delay = wait;
        return *this;
    }
};

/// An answer with `status` and `body`.
inline ScriptedResponse answer(unsigned status, std::string body = "{\"ok\":true}") {
    ScriptedResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

/// A connection closed without an answer.
inline ScriptedResponse hang_up() {
    ScriptedResponse r;
    r.hang_up = true;
    return r;
}

/// One request as the fake received it.
struct ReceivedRequest {
    std::string method;
    std::string target;
    std::string host;
    std::string content_type;
    std::string body;
    std::string server_name;  ///< the TLS SNI name the client sent ("" over plain HTTP)
    std::chrono::steady_clock::time_point at;
};

/// Answers requests in arrival order from the script; 200 `{"ok":true}` once it runs out.
/// With `tls` (a server context holding a certificate), speaks HTTPS. Thread-safe; one thread
/// per connection.
class FakeProvider {
public:
    explicit FakeProvider(std::vector<ScriptedResponse> script = {},
                          boost::asio::ssl::context* tls = nullptr)
        : script_(script.begin(), script.end()),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = acceptor_.local_endpoint().port();
        tls_ = tls;
        accept_thread_ = std::thread([this] { accept_loop(); });
    }

    ~FakeProvider() { stop(); }

    /// Stops accepting and waits for the connections in progress (delays are cut short).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopped_) {
                return;
            }
            stopped_ = true;
        }
        changed_.notify_all();
        // Wake the blocking accept with a connection of our own.
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket poke(io_);
        poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
        accept_thread_.join();
        std::vector<std::thread> workers;
        {
            std::lock_guard lock(mutex_);
            workers.swap(workers_);
        }
        for (std::thread& t : workers) {
            t.join();
        }
    }

    std::uint16_t port() const { return port_; }
    std::string url() const {
        return std::string(tls_ == nullptr ? "http" : "https") +
               "://127.0.0.1:" + std::to_string(port_);
    }

    /// Connections accepted so far (a refused TLS handshake counts, without a request).
    std::size_t connections() const {
        std::lock_guard lock(mutex_);
        return connections_;
    }

    void push(ScriptedResponse response) {
        std::lock_guard lock(mutex_);
        script_.push_back(std::move(response));
    }

    std::vector<ReceivedRequest> requests() const {
        std::lock_guard lock(mutex_);
        return received_;
    }

    /// Waits until `n` requests arrived (or `timeout`); returns those received.
    std::vector<ReceivedRequest> wait_requests(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
        return received_;
    }

private:
    void accept_loop() {
        for (;;) {
            boost::asio::ip::tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            std::lock_guard lock(mutex_);
            if (stopped_) {
                return;
            }
            if (ec) {
                continue;
            }
            ++connections_;
            workers_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }

    void serve(boost::asio::ip::tcp::socket socket) {
        if (tls_ == nullptr) {
            exchange(socket, "");
            return;
        }
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream(socket, *tls_);
        boost::system::error_code ec;
        stream.handshake(boost::asio::ssl::stream_base::server, ec);
        if (ec) {
            return;
        }
        const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        exchange(stream, name == nullptr ? "" : name);
        stream.shutdown(ec);
    }

    template <class Stream>
    void exchange(Stream& socket, std::string server_name) {
        namespace http = boost::beast::http;
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> request;
        boost::system::error_code ec;
        http::read(socket, buffer, request, ec);
        if (ec) {
            return;
        }
        ScriptedResponse answer;
        {
            std::unique_lock lock(mutex_);
            received_.push_back({std::string(request.method_string()),
                                 std::string(request.target()),
                                 std::string(request[http::field::host]),
                                 std::string(request[http::field::content_type]), request.body(),
                                 server_name, std::chrono::steady_clock::now()});
            if (!script_.empty()) {
                answer = script_.front();
                script_.pop_front();
            }
            changed_.notify_all();
            if (answer.delay.count() > 0) {
                changed_.wait_for(lock, answer.delay, [this] { return stopped_; });
            }
        }
        if (answer.hang_up) {
            return;  // the caller closes the connection
        }
        http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
        response.set(http::field::content_type, "application/json");
        for (const auto& [name, value] : answer.headers) {
            response.set(name, value);
        }
        response.body() = answer.body;
        response.prepare_payload();
        http::write(socket, response, ec);
    }

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<ScriptedResponse> script_;
    std::vector<ReceivedRequest> received_;
    bool stopped_ = false;
    std::size_t connections_ = 0;
    boost::asio::ssl::context* tls_ = nullptr;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread accept_thread_;
    std::vector<std::thread> workers_;
};

}  // namespace teller::testing
