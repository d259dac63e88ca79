// TellerProcess: fork/exec with a pipe for output, a reader thread, and signal-based stopping.
#include "teller_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

namespace teller::testing {

std::string teller_binary() {
    return std::string(TELLER_BINARY_DIR) + "/teller";
}

TellerProcess::TellerProcess(std::string binary, std::vector<std::string> args,
                             std::map<std::string, std::string> env)
    : binary_(std::move(binary)), args_(std::move(args)), env_(std::move(env)) {}

TellerProcess::~TellerProcess() {
    if (pid_ > 0) {
        stop(std::chrono::seconds(10));
    }
    if (reader_.joinable()) {
        reader_.join();
    }
}

void TellerProcess::drain(int fd) {
    char buffer[4096];
    while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) {
            break;
        }
        std::lock_guard lock(mutex_);
        output_.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
}

bool TellerProcess::start(std::chrono::milliseconds timeout) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return false;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::dup2(pipe_fds[1], STDERR_FILENO);
        for (const auto& [name, value] : env_) {
            ::setenv(name.c_str(), value.c_str(), 1);
        }
        std::vector<char*> argv;
        argv.push_back(binary_.data());
        for (std::string& a : args_) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary_.c_str(), argv.data());
        std::_Exit(127);
    }
    ::close(pipe_fds[1]);
    pid_ = pid;
    reader_ = std::thread([this, fd = pipe_fds[0]] { drain(fd); });

    // Wait for "is running" (noting the gateway's address on the way), or for the process to
    // finish, for one-shot commands.
    static const std::regex listening(R"(listening on http://[^:\s]+:(\d+))");
    static const std::regex running(R"(is running\. Press Ctrl-C)");
    static const std::regex mock(R"(mock cluster at (\S+))");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::string text = log();
        std::smatch m;
        if (kafka_bootstrap_.empty() && std::regex_search(text, m, mock)) {
            kafka_bootstrap_ = m[1];
        }
        if (port_ == 0 && std::regex_search(text, m, listening)) {
            port_ = std::stoi(m[1]);
        }
        if (std::regex_search(text, running)) {
            return true;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            pid_ = -1;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

int TellerProcess::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            pid_ = -1;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (reader_.joinable()) {
        reader_.join();
    }
    return exit_status_;
}

int TellerProcess::run_to_completion(std::chrono::milliseconds timeout) {
    start(std::chrono::milliseconds(0));
    if (pid_ < 0) {
        if (reader_.joinable()) {
            reader_.join();
        }
        return exit_status_;
    }
    int status = wait_exit(timeout);
    if (status < 0) {
        kill();
    }
    return status;
}

int TellerProcess::stop(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) {
        return exit_status_;
    }
    ::kill(pid_, SIGTERM);
    int status = wait_exit(timeout);
    if (status < 0) {
        kill();
        status = exit_status_;
    }
    return status;
}

void TellerProcess::kill() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(10));
    }
}

std::string TellerProcess::log() const {
    std::lock_guard lock(mutex_);
    return output_;
}

long TellerProcess::peak_rss_kib() const {
    if (pid_ <= 0) {
        return 0;
    }
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmHWM:")) {
            return std::stol(line.substr(6));
        }
    }
    return 0;
}

}  // namespace teller::testing
