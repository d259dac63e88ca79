// A loopback TCP relay: gives `teller kafka-dev` a fixed bootstrap port in front of the mock
// cluster's ephemeral one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace teller::app {

/// Accepts connections on `listen_host:listen_port` and relays each, both ways, to
/// `target_host:target_port` (one new connection to the target per accepted one; when either
/// side closes, the other is shut down). Runs one I/O thread of its own. Kafka clients reach
/// the mock cluster through it only for bootstrap: the metadata they get names the brokers'
/// own (loopback) addresses, which they then use directly.
/// Thread safety: construct and destroy from one thread; port() from any.
class TcpRelay {
public:
    /// Binds and starts relaying. Throws core::Error naming the address when it cannot bind
    /// (the port is taken).
    TcpRelay(const std::string& listen_host, std::uint16_t listen_port,
             const std::string& target_host, std::uint16_t target_port);
    /// Stops accepting, closes every relayed connection and joins the thread.
    ~TcpRelay();
    TcpRelay(const TcpRelay&) = delete;
    TcpRelay& operator=(const TcpRelay&) = delete;

    /// The port bound (the one asked for, or the kernel's choice for 0).
    std::uint16_t port() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace teller::app
