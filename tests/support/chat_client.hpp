// A blocking WebSocket client speaking the web chat protocol, for end-to-end tests and benches.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

namespace teller::testing {

/// One web chat connection to a gateway on 127.0.0.1. Not thread-safe.
class ChatClient {
public:
    /// Connects and completes the WebSocket handshake; throws on failure. With `sign_in` it
    /// first loads the gateway's page, as a browser would, and connects with the token the page
    /// carries (the demo sign-in of `teller run`); a page without one connects anonymously.
    explicit ChatClient(int port, std::string host = "127.0.0.1", bool sign_in = true);
    ~ChatClient();
    ChatClient(const ChatClient&) = delete;
    ChatClient& operator=(const ChatClient&) = delete;

    /// Sends hello and returns the conversation id from the welcome frame ("" on timeout).
    std::string hello(const std::string& conversation = "", const std::string& locale = "");

    /// Sends a message frame with `text` (and `id` when not empty).
    void say(const std::string& text, const std::string& id = "");

    /// Sends raw bytes as one text (or binary) frame.
    void send_raw(const std::string& payload, bool binary = false);

    /// The next frame as a JSON object, or nullopt when none arrives within `timeout` or the
    /// frame is not a JSON object.
    std::optional<boost::json::object> next(std::chrono::milliseconds timeout);

    /// The next frame whose "type" is `type`, skipping others; nullopt on timeout.
    std::optional<boost::json::object> next_of_type(const std::string& type,
                                                    std::chrono::milliseconds timeout);

    /// Whether the connection is still open.
    bool is_open() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::testing
