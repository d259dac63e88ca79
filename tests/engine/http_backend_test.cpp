// The HTTP bank backend against a scripted fake bank on loopback, alone and under a real skill.
#include "teller/core/http_backend.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "teller/core/error.hpp"
#include "teller/core/skill_host.hpp"

namespace teller::core {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

/// One request as the fake bank received it.
struct Recorded {
    std::string method;
    std::string target;
    std::string content_type;
    std::string authorization;
    std::string api_key;
    std::string idempotency_key;
    bool has_idempotency_key = false;
    std::string body;
    std::string server_name;  ///< the TLS SNI name ("" over plain http)
};

/// What the fake bank answers.
struct Reply {
    unsigned status = 200;
    std::string body = "{}";
    std::chrono::milliseconds delay{0};
};

/// A bank on 127.0.0.1 (port 0) answering each connection's one request from `script`, in a
/// thread per connection, over TLS when `tls` is given; records every request.
class FakeBank {
public:
    explicit FakeBank(std::function<Reply(const Recorded&, int index)> script,
                      asio::ssl::context* tls = nullptr)
        : script_(std::move(script)),
          tls_(tls),
          acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = acceptor_.local_endpoint().port();
        accept_thread_ = std::thread([this] { accept_loop(); });
    }

    ~FakeBank() {
        // Wake the blocking accept with a connection of our own, then wait for every thread.
        stopping_ = true;
        boost::system::error_code ec;
        tcp::socket wake(io_);
        wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
        accept_thread_.join();
        std::lock_guard lock(mutex_);
        for (std::thread& t : connections_) {
            t.join();
        }
    }

    std::string url(const std::string& prefix = "") const {
        return "http://127.0.0.1:" + std::to_string(port_) + prefix;
    }

    std::vector<Recorded> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

    int connections() const { return connections_accepted_.load(); }

private:
    void accept_loop() {
        while (true) {
            boost::system::error_code ec;
            tcp::socket socket(io_);
            acceptor_.accept(socket, ec);
            if (stopping_ || ec) {
                return;
            }
            ++connections_accepted_;
            std::lock_guard lock(mutex_);
            connections_.emplace_back(
                [this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }

    void serve(tcp::socket socket) {
        if (tls_ == nullptr) {
            exchange(socket, "");
            boost::system::error_code ec;
            socket.shutdown(tcp::socket::shutdown_both, ec);
            return;
        }
        asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
        boost::system::error_code ec;
        stream.handshake(asio::ssl::stream_base::server, ec);
        if (ec) {
            return;
        }
        const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        exchange(stream, name != nullptr ? name : "");
        stream.shutdown(ec);
    }

    template <class Stream>
    void exchange(Stream& socket, std::string server_name) {
        boost::system::error_code ec;
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::read(socket, buffer, request, ec);
        if (ec) {
            return;
        }

        // Record the request, then answer from the script.
        Recorded r;
        r.method = std::string(request.method_string());
        r.target = std::string(request.target());
        r.content_type = std::string(request[http::field::content_type]);
        r.authorization = std::string(request[http::field::authorization]);
        r.api_key = std::string(request["X-Api-Key"]);
        r.has_idempotency_key = request.find("Idempotency-Key") != request.end();
        r.idempotency_key = std::string(request["Idempotency-Key"]);
        r.body = request.body();
        r.server_name = std::move(server_name);
        int index = 0;
        {
            std::lock_guard lock(mutex_);
            index = static_cast<int>(requests_.size());
            requests_.push_back(r);
        }
        Reply reply = script_(r, index);
        std::this_thread::sleep_for(reply.delay);

        http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
        response.set(http::field::content_type, "application/json");
        response.body() = reply.body;
        response.prepare_payload();
        http::write(socket, response, ec);
    }

    std::function<Reply(const Recorded&, int)> script_;
    asio::ssl::context* tls_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_accepted_{0};
    std::thread accept_thread_;
    mutable std::mutex mutex_;
    std::vector<std::thread> connections_;
    std::vector<Recorded> requests_;
};

HttpBackendOptions options_for(const std::string& url) {
    HttpBackendOptions o;
    o.base_url = url;
    o.backoff = std::chrono::milliseconds(5);
    return o;
}

FakeBank answering(unsigned status, std::string body = "{}") {
    return FakeBank([status, body](const Recorded&, int) { return Reply{status, body}; });
}

TEST(HttpBackendTest, RequestCarriesPrefixAuthJsonBodyAndIdempotencyKey) {
    FakeBank bank = answering(200, R"({"card":{"last4":"1234","status":"blocked"}})");
    HttpBackendOptions o = options_for(bank.url("/bank/api/"));
    o.bearer_token = "tok-123";
    o.api_key_header = "X-Api-Key";
    o.api_key = "key-456";
    auto backend = make_http_backend(o);

    json::object args{{"customer", "c1"}, {"last4", "1234"}};
    auto result = backend->call("cards.block", args);
    ASSERT_TRUE(result) << result.error().message();

    auto requests = bank.requests();
    ASSERT_EQ(requests.size(), 1u);
    const Recorded& r = requests[0];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/bank/api/v1/cards.block");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.authorization, "Bearer tok-123");
    EXPECT_EQ(r.api_key, "key-456");
    EXPECT_TRUE(r.has_idempotency_key);
    EXPECT_EQ(r.idempotency_key, backend_idempotency_key("cards.block", args));
    EXPECT_EQ(r.idempotency_key.size(), 32u);
    EXPECT_EQ(json::parse(r.body), json::value(args));
}

TEST(HttpBackendTest, ReadsCarryNoIdempotencyKeyAndNoAuthWhenNoneIsSet) {
    FakeBank bank = answering(200, R"({"cards":[]})");
    auto backend = make_http_backend(options_for(bank.url()));

    ASSERT_TRUE(backend->call("cards.list", {{"customer", "c1"}}));
    auto requests = bank.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].target, "/v1/cards.list");
    EXPECT_FALSE(requests[0].has_idempotency_key);
    EXPECT_TRUE(requests[0].authorization.empty());
}

TEST(HttpBackendTest, IdempotencyKeyIgnoresMemberOrderButNotValues) {
    json::object a{{"customer", "c1"}, {"amount", "10.00"}, {"to", {{"x", 1}, {"y", 2}}}};
    json::object b{{"to", {{"y", 2}, {"x", 1}}}, {"amount", "10.00"}, {"customer", "c1"}};
    json::object c{{"customer", "c1"}, {"amount", "10.01"}, {"to", {{"x", 1}, {"y", 2}}}};
    EXPECT_EQ(backend_idempotency_key("accounts.transfer", a),
              backend_idempotency_key("accounts.transfer", b));
    EXPECT_NE(backend_idempotency_key("accounts.transfer", a),
              backend_idempotency_key("accounts.transfer", c));
    EXPECT_NE(backend_idempotency_key("accounts.transfer", a),
              backend_idempotency_key("crm.callback", a));
}

TEST(HttpBackendTest, OkAnswerIsTheJsonValue) {
    FakeBank bank = answering(200, R"({"accounts":[{"id":"a1","balance":"12.50"}]})");
    auto backend = make_http_backend(options_for(bank.url()));

    auto result = backend->call("accounts.balance", {{"customer", "c1"}});
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->at("accounts").at(0).at("balance").as_string(), "12.50");
}

TEST(HttpBackendTest, BusinessErrorInOkAnswerIsAResultNotAFailure) {
    FakeBank bank = answering(200, R"({"error":"card_not_found"})");
    auto backend = make_http_backend(options_for(bank.url()));

    auto result = backend->call("cards.block", {{"customer", "c1"}, {"last4", "0000"}});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->at("error").as_string(), "card_not_found");
}

TEST(HttpBackendTest, NotFoundIsUnsupportedOperationWithoutRetry) {
    FakeBank bank = answering(404, R"({"message":"no such operation"})");
    auto backend = make_http_backend(options_for(bank.url()));

    auto result = backend->call("cards.list", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(boost::system::errc::operation_not_supported));
    EXPECT_EQ(bank.requests().size(), 1u);
}

TEST(HttpBackendTest, BadRequestIsMissingFieldWithoutRetry) {
    FakeBank bank = answering(400);
    auto backend = make_http_backend(options_for(bank.url()));

    auto result = backend->call("accounts.balance", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::missing_field));
    EXPECT_EQ(bank.requests().size(), 1u);
}

TEST(HttpBackendTest, ServerErrorOnAReadIsRetriedUntilItSucceeds) {
    FakeBank bank([](const Recorded&, int index) {
        return index == 0 ? Reply{500, "oops"} : Reply{200, R"({"cards":[]})"};
    });
    auto backend = make_http_backend(options_for(bank.url()));

    auto result = backend->call("cards.list", {{"customer", "c1"}});
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_TRUE(result->at("cards").is_array());
    EXPECT_EQ(bank.requests().size(), 2u);
}

TEST(HttpBackendTest, ServerErrorOnAReadFailsAfterMaxAttempts) {
    FakeBank bank = answering(503);
    HttpBackendOptions o = options_for(bank.url());
    o.max_attempts = 3;
    auto backend = make_http_backend(o);

    auto result = backend->call("accounts.balance", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::service_unavailable));
    EXPECT_EQ(bank.requests().size(), 3u);
}

TEST(HttpBackendTest, ServerErrorOnAStateChangeIsNeverRetried) {
    for (const char* operation :
         {"cards.block", "cards.activate", "accounts.transfer", "crm.callback", "otp.verify"}) {
        FakeBank bank = answering(500);
        auto backend = make_http_backend(options_for(bank.url()));

        auto result = backend->call(operation, {{"customer", "c1"}, {"last4", "1234"}});
        ASSERT_FALSE(result) << operation;
        EXPECT_EQ(result.error(), make_error_code(Errc::service_unavailable)) << operation;
        EXPECT_EQ(bank.requests().size(), 1u) << operation;
    }
}

TEST(HttpBackendTest, SlowBankTimesOutNoEarlierThanTheTimeout) {
    FakeBank bank([](const Recorded&, int) {
        return Reply{200, "{}", std::chrono::milliseconds(600)};
    });
    HttpBackendOptions o = options_for(bank.url());
    o.timeout = std::chrono::milliseconds(150);
    auto backend = make_http_backend(o);

    auto start = Clock::now();
    auto result = backend->call("cards.list", {{"customer", "c1"}});
    auto took = Clock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::timeout));
    EXPECT_GE(took, o.timeout);
}

TEST(HttpBackendTest, OversizedAnswerIsRefused) {
    FakeBank bank = answering(200, R"({"pad":")" + std::string(5000, 'x') + R"("})");
    HttpBackendOptions o = options_for(bank.url());
    o.max_response_bytes = 1000;
    auto backend = make_http_backend(o);

    auto result = backend->call("cards.list", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::payload_too_large));
    EXPECT_EQ(bank.requests().size(), 1u);
}

TEST(HttpBackendTest, AnswerThatIsNotAJsonObjectIsMalformed) {
    for (const char* body : {"<html>Bad gateway</html>", "[1,2,3]", ""}) {
        FakeBank bank = answering(200, body);
        auto backend = make_http_backend(options_for(bank.url()));

        auto result = backend->call("cards.list", {{"customer", "c1"}});
        ASSERT_FALSE(result) << body;
        EXPECT_EQ(result.error(), make_error_code(Errc::malformed_json)) << body;
    }
}

TEST(HttpBackendTest, BankNotListeningIsUnavailable) {
    // A port that was just free: bind one, remember it, close it.
    unsigned short port = 0;
    {
        asio::io_context io;
        tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    auto backend = make_http_backend(options_for("http://127.0.0.1:" + std::to_string(port)));

    for (const char* operation : {"accounts.balance", "cards.block"}) {
        auto result = backend->call(operation, {{"customer", "c1"}});
        ASSERT_FALSE(result) << operation;
        EXPECT_EQ(result.error(), make_error_code(Errc::service_unavailable)) << operation;
    }
}

TEST(HttpBackendTest, ConcurrentCallsAreEachAnsweredWithTheirOwnResult) {
    FakeBank bank([](const Recorded& r, int) {
        json::value body = json::parse(r.body);
        return Reply{200, json::serialize(json::object{{"who", body.at("customer")}}),
                     std::chrono::milliseconds(20)};
    });
    auto backend = make_http_backend(options_for(bank.url()));

    constexpr int kThreads = 8;
    constexpr int kCallsEach = 5;
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCallsEach; ++i) {
                std::string who = "c" + std::to_string(t) + "-" + std::to_string(i);
                auto result = backend->call("accounts.balance", {{"customer", who}});
                if (result && result->at("who").as_string() == who) {
                    ++answered;
                }
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    EXPECT_EQ(answered.load(), kThreads * kCallsEach);
    EXPECT_EQ(bank.requests().size(), static_cast<std::size_t>(kThreads * kCallsEach));
}

TEST(HttpBackendTest, InvalidOperationNameIsNotSent) {
    FakeBank bank = answering(200);
    auto backend = make_http_backend(options_for(bank.url()));

    auto result = backend->call("../admin", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(boost::system::errc::operation_not_supported));
    EXPECT_TRUE(bank.requests().empty());
}

TEST(HttpBackendTest, InvalidOptionsThrowAtConstruction) {
    for (const char* url : {"ftp://bank", "bank.example:80", "http://", "http://h:99999999",
                            "http://user@h", "http://h/x?y=1"}) {
        EXPECT_THROW(make_http_backend(options_for(url)), Error) << url;
    }
    HttpBackendOptions o = options_for("http://127.0.0.1:1");
    o.timeout = std::chrono::milliseconds(0);
    EXPECT_THROW(make_http_backend(o), Error);
}

TEST(HttpBackendTest, CardsSkillAnswersBalanceFromTheBankOverHttp) {
    FakeBank bank([](const Recorded& r, int) {
        if (r.target != "/v1/accounts.balance") {
            return Reply{404, "{}"};
        }
        return Reply{200, R"({"accounts":[{"id":"a1","name":"Everyday","balance":"4321.09",)"
                          R"("currency":"USD"}]})"};
    });
    auto backend = make_http_backend(options_for(bank.url()));
    SkillHost host(*backend);
    auto loaded = host.load(TELLER_CARDS_SKILL);
    ASSERT_TRUE(loaded) << (host.load_errors().empty() ? "" : host.load_errors().back());

    json::object request{{"conversation", "conv-1"},
                         {"channel", "webchat"},
                         {"locale", "en"},
                         {"text", "what's my balance"},
                         {"intent", {{"name", "cards.balance"}, {"confidence", 0.95}}},
                         {"entities", json::array{}},
                         {"state", nullptr},
                         {"slots", json::object{}},
                         {"customer", {{"id", "cust-7"}, {"verified", true}}}};
    auto response = host.call("cards", request);
    ASSERT_TRUE(response) << response.error().message();
    // The balances are list items under a heading (rendered per locale by the dialogue).
    const json::value& item = response->at("replies").at(0).at("items").at(0);
    EXPECT_EQ(item.at("text").as_string(), "Everyday: 4321.09 USD");
    EXPECT_EQ(item.at("slots").at("balance").as_string(), "4321.09");

    auto requests = bank.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(json::parse(requests[0].body).at("customer").as_string(), "cust-7");
}

// A bank with a self-signed certificate for "localhost" only (made by the openssl command;
// skipped without it).
class HttpBackendTlsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("teller-backend-tls-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        cert_ = (dir_ / "cert.pem").string();
        std::string key = (dir_ / "key.pem").string();
        std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
            " -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
            key + " -out " + cert_ + " >/dev/null 2>&1";
        if (std::system(command.c_str()) != 0) {
            GTEST_SKIP() << "the openssl command could not make a test certificate";
        }
        server_.use_certificate_chain_file(cert_);
        server_.use_private_key_file(key, asio::ssl::context::pem);
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path dir_;
    std::string cert_;
    asio::ssl::context server_{asio::ssl::context::tls_server};
};

TEST_F(HttpBackendTlsTest, TrustedCertificateIsVerifiedAndTheHostNameSent) {
    FakeBank bank([](const Recorded&, int) { return Reply{200, R"({"cards":[]})"}; }, &server_);
    std::string port = bank.url().substr(bank.url().rfind(':') + 1);
    HttpBackendOptions o = options_for("https://localhost:" + port + "/api");
    o.ca_file = cert_;
    auto backend = make_http_backend(o);

    auto result = backend->call("cards.list", {{"customer", "c1"}});
    ASSERT_TRUE(result) << result.error().message();
    auto requests = bank.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].server_name, "localhost");
    EXPECT_EQ(requests[0].target, "/api/v1/cards.list");
}

TEST_F(HttpBackendTlsTest, UntrustedCertificateIsRefusedWithoutRetrying) {
    FakeBank bank([](const Recorded&, int) { return Reply{200, "{}"}; }, &server_);
    std::string port = bank.url().substr(bank.url().rfind(':') + 1);
    // The system store does not know this self-signed certificate.
    auto backend = make_http_backend(options_for("https://localhost:" + port));

    auto result = backend->call("cards.list", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(Errc::service_unavailable));
    EXPECT_TRUE(bank.requests().empty());
    EXPECT_EQ(bank.connections(), 1);
}

TEST_F(HttpBackendTlsTest, CertificateForAnotherNameIsRefused) {
    FakeBank bank([](const Recorded&, int) { return Reply{200, "{}"}; }, &server_);
    // Trusted, but issued to "localhost", not to the address 127.0.0.1.
    HttpBackendOptions o = options_for(bank.url().replace(0, 4, "https"));
    o.ca_file = cert_;
    auto backend = make_http_backend(o);

    auto result = backend->call("cards.list", {{"customer", "c1"}});
    ASSERT_FALSE(result);
    EXPECT_TRUE(bank.requests().empty());
}

}  // namespace
}  // namespace teller::core
