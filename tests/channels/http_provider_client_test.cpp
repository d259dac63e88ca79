// Tests of HttpProviderClient against a scripted local provider: retries, Retry-After, limits, TLS.
#include "teller/channels/http_provider_client.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "fake_provider.hpp"
#include "teller/core/error.hpp"

namespace teller::channels {
namespace {

using namespace std::chrono_literals;
using testing::answer;
using testing::FakeProvider;
using testing::hang_up;

HttpProviderOptions fast_options(const std::string& base_url) {
    HttpProviderOptions o;
    o.provider = "fake";
    o.base_url = base_url;
    o.connect_timeout = 2s;
    o.total_timeout = 5s;
    o.max_attempts = 3;
    o.backoff_base = 10ms;
    o.backoff_cap = 50ms;
    return o;
}

ProviderCall json_call(std::string target = "/send") {
    ProviderCall call;
    call.target = std::move(target);
    call.body = R"({"text":"hello"})";
    return call;
}

TEST(HttpProviderClientTest, RetriesServerErrorsUntilTheProviderAccepts) {
    FakeProvider provider({answer(500), answer(502), answer(200, "sent")});
    HttpProviderClient client(fast_options(provider.url()));

    auto response = client.send(json_call());

    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 200U);
    EXPECT_EQ(response->body, "sent");
    auto requests = provider.requests();
    ASSERT_EQ(requests.size(), 3U);
    for (const auto& r : requests) {
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.target, "/send");
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_EQ(r.body, R"({"text":"hello"})");
    }
}

TEST(HttpProviderClientTest, WaitsAsLongAsRetryAfterSays) {
    FakeProvider provider({answer(429).header("Retry-After", "1"), answer(200)});
    HttpProviderClient client(fast_options(provider.url()));

    auto response = client.send(json_call());

    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 200U);
    auto requests = provider.requests();
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_GE(requests[1].at - requests[0].at, 900ms);
}

TEST(HttpProviderClientTest, ReturnsAClientErrorWithoutRetrying) {
    FakeProvider provider({answer(400, "bad chat id")});
    HttpProviderClient client(fast_options(provider.url()));

    auto response = client.send(json_call());

    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 400U);
    EXPECT_EQ(response->body, "bad chat id");
    EXPECT_EQ(provider.requests().size(), 1U);
}

TEST(HttpProviderClientTest, GivesUpWhenTheProviderKeepsFailing) {
    FakeProvider provider({answer(503), answer(503), answer(503), answer(200)});
    HttpProviderClient client(fast_options(provider.url()));

    auto response = client.send(json_call());

    ASSERT_FALSE(response);
    EXPECT_EQ(response.error(), core::Errc::service_unavailable);
    EXPECT_EQ(provider.requests().size(), 3U);
}

TEST(HttpProviderClientTest, FailsAfterMaxAttemptsWhenNoServerListens) {
    // A port that was just free: nothing accepts on it.
    std::uint16_t port = 0;
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    HttpProviderClient client(fast_options("http://127.0.0.1:" + std::to_string(port)));

    auto response = client.send(json_call());

    ASSERT_FALSE(response);
    EXPECT_EQ(response.error(), core::Errc::service_unavailable);
}

TEST(HttpProviderClientTest, RetriesAConnectionClosedWithoutAnAnswer) {
    FakeProvider provider({hang_up(), answer(200)});
    HttpProviderClient client(fast_options(provider.url()));

    auto response = client.send(json_call());

    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 200U);
    EXPECT_EQ(provider.requests().size(), 2U);
}

TEST(HttpProviderClientTest, RefusesAnOversizedResponseWithoutRetrying) {
    FakeProvider provider({answer(200, std::string(4096, 'x'))});
    HttpProviderOptions options = fast_options(provider.url());
    options.max_response_bytes = 1024;
    HttpProviderClient client(options);

    auto response = client.send(json_call());

    ASSERT_FALSE(response);
    EXPECT_EQ(response.error(), core::Errc::payload_too_large);
    EXPECT_EQ(provider.requests().size(), 1U);
}

TEST(HttpProviderClientTest, TimesOutASlowProviderOnEveryAttempt) {
    FakeProvider provider({answer(200).after(5s), answer(200).after(5s)});
    HttpProviderOptions options = fast_options(provider.url());
    options.total_timeout = 200ms;
    options.max_attempts = 2;
    HttpProviderClient client(options);

    auto response = client.send(json_call());

    ASSERT_FALSE(response);
    EXPECT_EQ(response.error(), core::Errc::timeout);
    EXPECT_EQ(provider.wait_requests(2, 5s).size(), 2U);
    provider.stop();
}

TEST(HttpProviderClientTest, PrefixesTargetsWithTheBaseUrlPath) {
    FakeProvider provider;
    HttpProviderClient client(fast_options(provider.url() + "/api/v2/"));

    ProviderCall call;
    call.method = "GET";
    call.target = "/messages?id=7";
    auto response = client.send(call);

    ASSERT_TRUE(response) << response.error().message();
    auto requests = provider.requests();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].target, "/api/v2/messages?id=7");
    EXPECT_EQ(requests[0].host, "127.0.0.1:" + std::to_string(provider.port()));
}

TEST(HttpProviderClientTest, HeadersOfTheResponseAreLowerCased) {
    FakeProvider provider({answer(201).header("X-Request-Id", "abc")});
    HttpProviderClient client(fast_options(provider.url()));

    auto response = client.send(json_call());

    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 201U);
    EXPECT_EQ(find_header(response->headers, "x-request-id"), "abc");
}

TEST(HttpProviderClientTest, RateLimitSpacesCallsBeyondTheBurst) {
    FakeProvider provider;
    HttpProviderOptions options = fast_options(provider.url());
    options.rate_per_second = 4;  // a burst of 4, then one call every 250 ms
    HttpProviderClient client(options);

    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(client.send(json_call()));
    }

    auto requests = provider.requests();
    ASSERT_EQ(requests.size(), 6U);
    EXPECT_GE(requests[5].at - requests[0].at, 400ms);
}

TEST(HttpProviderClientTest, RefusesAnUnusableBaseUrl) {
    for (const char* url : {"", "ftp://example.test", "http://", "http://host:0",
                            "http://host:99999", "http://user:pw@host", "https://[::1"}) {
        EXPECT_THROW(HttpProviderClient(fast_options(url)), core::Error) << url;
    }
    HttpProviderOptions options = fast_options("http://127.0.0.1:1");
    options.max_attempts = 0;
    EXPECT_THROW(HttpProviderClient{options}, core::Error);
}

TEST(HttpProviderClientTest, ParsesRetryAfterAsSecondsOrAnHttpDate) {
    const auto now = std::chrono::system_clock::from_time_t(784111777);  // 1994-11-06 08:49:37
    EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
    EXPECT_EQ(parse_retry_after(" 0 ", now), 0ms);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10'000ms);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0ms);
    EXPECT_FALSE(parse_retry_after("soon", now));
    EXPECT_FALSE(parse_retry_after("", now));
    EXPECT_FALSE(parse_retry_after("-5", now));
}

// A provider with a self-signed certificate for "localhost" only (made by the openssl command;
// skipped without it).
class HttpsProviderTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("teller-tls-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        cert_ = (dir_ / "cert.pem").string();
        key_ = (dir_ / "key.pem").string();
        std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
            " -nodes -days 1 -subj /CN=localhost"
            " -addext subjectAltName=DNS:localhost -keyout " +
            key_ + " -out " + cert_ + " >/dev/null 2>&1";
        if (std::system(command.c_str()) != 0) {
            GTEST_SKIP() << "the openssl command could not make a test certificate";
        }
        server_.use_certificate_chain_file(cert_);
        server_.use_private_key_file(key_, boost::asio::ssl::context::pem);
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path dir_;
    std::string cert_;
    std::string key_;
    boost::asio::ssl::context server_{boost::asio::ssl::context::tls_server};
};

TEST_F(HttpsProviderTest, VerifiesTheCertificateAndSendsTheHostName) {
    FakeProvider provider({answer(200, "secure")}, &server_);
    HttpProviderOptions options =
        fast_options("https://localhost:" + std::to_string(provider.port()) + "/api");
    options.ca_file = cert_;
    HttpProviderClient client(options);

    auto response = client.send(json_call());

    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 200U);
    EXPECT_EQ(response->body, "secure");
    auto requests = provider.requests();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].server_name, "localhost");
    EXPECT_EQ(requests[0].target, "/api/send");
}

TEST_F(HttpsProviderTest, RefusesAnUntrustedCertificateWithoutRetrying) {
    FakeProvider provider({}, &server_);
    // The system store does not know this self-signed certificate.
    HttpProviderClient client(fast_options("https://localhost:" + std::to_string(provider.port())));

    auto response = client.send(json_call());

    ASSERT_FALSE(response);
    EXPECT_EQ(response.error(), core::Errc::service_unavailable);
    EXPECT_TRUE(provider.requests().empty());
    provider.stop();
    EXPECT_EQ(provider.connections(), 1U);
}

TEST_F(HttpsProviderTest, RefusesACertificateIssuedToAnotherName) {
    FakeProvider provider({}, &server_);
    // Trusted, but issued to "localhost", not to the address 127.0.0.1.
    HttpProviderOptions options =
        fast_options("https://127.0.0.1:" + std::to_string(provider.port()));
    options.ca_file = cert_;
    HttpProviderClient client(options);

    auto response = client.send(json_call());

    ASSERT_FALSE(response);
    EXPECT_EQ(response.error(), core::Errc::service_unavailable);
    EXPECT_TRUE(provider.requests().empty());
    provider.stop();
    EXPECT_EQ(provider.connections(), 1U);
}

}  // namespace
}  // namespace teller::channels
