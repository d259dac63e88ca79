// Runs the real `teller` binary as a child process for end-to-end tests and benchmarks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace teller::testing {

/// A `teller <args>` child. Its stdout and stderr are collected (log()); start() waits until it
/// prints the gateway's address. The destructor stops it (SIGTERM, then SIGKILL).
class TellerProcess {
public:
    /// `binary`: path of the teller executable; `env`: extra environment variables.
    TellerProcess(std::string binary, std::vector<std::string> args,
                  std::map<std::string, std::string> env = {});
    ~TellerProcess();
    TellerProcess(const TellerProcess&) = delete;
    TellerProcess& operator=(const TellerProcess&) = delete;

    /// Starts the process and waits up to `timeout` for it to say it "is running" (the gateway's
    /// "listening on http://host:port" sets port()).
    /// False if it exited or timed out first (see log()).
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(60));

    /// Runs the process to completion (for commands like `train`); returns its exit status.
    int run_to_completion(std::chrono::milliseconds timeout = std::chrono::minutes(5));

    /// Sends SIGTERM and waits up to `timeout`; SIGKILL after. Returns the exit status
    /// (128 + signal when killed by one).
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));

    /// Kills the process with SIGKILL at once.
    void kill();

    pid_t pid() const { return pid_; }
    int port() const { return port_; }
    /// The mock cluster's bootstrap address, when the process printed one.
    const std::string& kafka_bootstrap() const { return kafka_bootstrap_; }
    /// Everything the process printed so far.
    std::string log() const;
    /// Peak resident set size of the process in KiB (VmHWM), 0 when unknown.
    long peak_rss_kib() const;

private:
    void drain(int fd);
    int wait_exit(std::chrono::milliseconds timeout);

    std::string binary_;
    std::vector<std::string> args_;
    std::map<std::string, std::string> env_;
    pid_t pid_ = -1;
    int port_ = 0;
    std::string kafka_bootstrap_;
    mutable std::mutex mutex_;
    std::string output_;
    std::thread reader_;
    int exit_status_ = -1;
};

/// Path of the built teller binary (TELLER_BINARY_DIR/teller).
std::string teller_binary();

}  // namespace teller::testing
