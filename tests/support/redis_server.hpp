// Starts a throwaway redis-server on a free 127.0.0.1 port for integration tests.
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>

namespace teller::testing {

/// A redis-server child process, with persistence off, stopped by the destructor. If
/// redis-server is not installed, `available()` is false and `why()` says so (tests then fail
/// with that message: .ci/run installs it).
class RedisServer {
public:
    RedisServer();
    /// As above, with extra redis-server arguments, e.g. {"--requirepass", "secret"}.
    explicit RedisServer(std::vector<std::string> extra_args);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    bool available() const { return pid_ > 0; }
    const std::string& why() const { return why_; }
    int port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

    /// Kills the server (SIGKILL) and starts it again on the same port, data lost.
    void restart();
    /// Stops it (SIGKILL) without restarting.
    void kill();
    /// Starts it again after kill().
    void start();
    /// Freezes it (SIGSTOP): connections are still accepted by the kernel, nothing answers.
    void pause();
    /// Lets a paused server run again (SIGCONT).
    void resume();

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string why_;
    std::vector<std::string> extra_args_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

}  // namespace teller::testing
