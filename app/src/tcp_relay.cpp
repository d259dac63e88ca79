// TcpRelay: Asio accept loop and a pair of copy loops per connection.
#include "tcp_relay.hpp"

#include <array>
#include <thread>

#include <boost/asio.hpp>

#include "teller/core/error.hpp"
#include "teller/core/log.hpp"

namespace teller::app {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One relayed connection: client <-> target, each direction its own read/write loop.
class Link : public std::enable_shared_from_this<Link> {
public:
    Link(tcp::socket client, tcp::socket target)
        : client_(std::move(client)), target_(std::move(target)) {}

    void start() {
        pump(client_, target_, up_);
        pump(target_, client_, down_);
    }

private:
    void pump(tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buffer) {
        from.async_read_some(
            asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                      boost::system::error_code ec, std::size_t n) {
                if (ec) {
                    // The reader is done: pass the end on, so the other side sees it too.
                    boost::system::error_code ignored;
                    to.shutdown(tcp::socket::shutdown_send, ignored);
                    from.shutdown(tcp::socket::shutdown_receive, ignored);
                    return;
                }
                asio::async_write(
                    to, asio::buffer(buffer.data(), n),
                    [self, &from, &to, &buffer](boost::system::error_code wec, std::size_t) {
                        if (wec) {
                            boost::system::error_code ignored;
                            from.close(ignored);
                            to.close(ignored);
                            return;
                        }
                        self->pump(from, to, buffer);
                    });
            });
    }

    tcp::socket client_;
    tcp::socket target_;
    std::array<char, 16384> up_{};
    std::array<char, 16384> down_{};
};

}  // namespace

struct TcpRelay::Impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    tcp::endpoint target;
    std::uint16_t port = 0;
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket client) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                return;
            }
            if (!ec) {
                auto upstream = std::make_shared<tcp::socket>(io);
                auto downstream = std::make_shared<tcp::socket>(std::move(client));
                upstream->async_connect(target, [upstream,
                                                 downstream](boost::system::error_code cec) {
                    if (cec) {
                        core::Logger("kafka-dev")
                            .warn("relay cannot reach the mock broker", {{"error", cec.message()}});
                        boost::system::error_code ignored;
                        downstream->close(ignored);
                        return;
                    }
                    std::make_shared<Link>(std::move(*downstream), std::move(*upstream))->start();
                });
            }
            accept();
        });
    }
};

TcpRelay::TcpRelay(const std::string& listen_host, std::uint16_t listen_port,
                   const std::string& target_host, std::uint16_t target_port)
    : impl_(std::make_unique<Impl>()) {
    boost::system::error_code ec;
    auto listen_address = asio::ip::make_address(listen_host, ec);
    auto target_address = ec ? asio::ip::address() : asio::ip::make_address(target_host, ec);
    if (ec) {
        throw core::Error("relay: addresses must be IP literals (" + listen_host + ", " +
                          target_host + ")");
    }
    impl_->target = tcp::endpoint(target_address, target_port);
    tcp::endpoint listen(listen_address, listen_port);
    impl_->acceptor.open(listen.protocol(), ec);
    if (!ec) {
        impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        impl_->acceptor.bind(listen, ec);
    }
    if (!ec) {
        impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw core::Error("cannot listen on " + listen_host + ":" + std::to_string(listen_port) +
                          ": " + ec.message() + " (choose another port with --port)");
    }
    impl_->port = impl_->acceptor.local_endpoint().port();
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

TcpRelay::~TcpRelay() {
    asio::post(impl_->io, [this] {
        boost::system::error_code ignored;
        impl_->acceptor.close(ignored);
    });
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t TcpRelay::port() const noexcept {
    return impl_->port;
}

}  // namespace teller::app
