// RedisServer: fork/exec of redis-server on a free loopback port, waited for until it answers.
#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace teller::testing {
namespace {

// True once something accepts TCP connections on 127.0.0.1:port.
bool accepts_connections(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

bool redis_installed() {
    return ::access("/usr/bin/redis-server", X_OK) == 0 ||
           ::access("/usr/local/bin/redis-server", X_OK) == 0;
}

}  // namespace

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

RedisServer::RedisServer() : RedisServer(std::vector<std::string>{}) {}

RedisServer::RedisServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
    if (!redis_installed()) {
        why_ = "redis-server is not installed (apt-get install redis-server; .ci/run does this)";
        return;
    }
    port_ = free_loopback_port();
    start();
}

RedisServer::~RedisServer() {
    kill();
}

void RedisServer::start() {
    // The argument vector is built before fork: the child only calls exec.
    std::string port = std::to_string(port_);
    std::vector<std::string> args{
        "redis-server", "--port", port,         "--bind",  "127.0.0.1",   "--save", "",
        "--appendonly", "no",     "--loglevel", "warning", "--daemonize", "no"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (std::string& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid == 0) {
        ::execvp("redis-server", argv.data());
        std::_Exit(127);
    }
    if (pid < 0) {
        why_ = "fork failed: " + std::string(std::strerror(errno));
        return;
    }
    pid_ = pid;
    why_.clear();

    // Wait up to 10 s for it to listen.
    for (int i = 0; i < 1000; ++i) {
        if (accepts_connections(port_)) {
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            why_ = "redis-server exited at start-up (status " + std::to_string(status) + ")";
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    why_ = "redis-server did not listen on port " + std::to_string(port_) + " within 10 s";
    kill();
}

void RedisServer::kill() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
}

void RedisServer::pause() {
    if (pid_ > 0) {
        ::kill(pid_, SIGSTOP);
    }
}

void RedisServer::resume() {
    if (pid_ > 0) {
        ::kill(pid_, SIGCONT);
    }
}

void RedisServer::restart() {
    kill();
    start();
}

}  // namespace teller::testing
