// The HTTP/JSON bank backend: POST {base}/v1/{operation}, retries for reads, TLS with checks.
#include "teller/core/http_backend.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <thread>
#include <utility>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "teller/core/log.hpp"

namespace teller::core {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

const Logger& backend_log() {
    static const Logger log("backend");
    return log;
}

struct BaseUrl {
    bool tls = false;
    std::string host;
    std::string port;
    std::string host_header;
    std::string prefix;  // "" or "/path" without a trailing slash
};

// Splits `http[s]://host[:port][/prefix]`; throws core::Error for anything else.
BaseUrl parse_base_url(std::string_view url) {
    BaseUrl out;
    std::string_view rest;
    if (url.starts_with("https://")) {
        out.tls = true;
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else {
        throw Error("backend: base URL must start with http:// or https://");
    }

    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (path.find_first_of("?#") != std::string_view::npos) {
        throw Error("backend: base URL must not have a query or fragment");
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    out.prefix = std::string(path);

    // The host is a name, an IPv4 address or a bracketed IPv6 address; the port is optional.
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            throw Error("backend: base URL has an unclosed IPv6 bracket");
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                throw Error("backend: base URL has text after the IPv6 address");
            }
            port = after.substr(1);
        }
    } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || authority.find('@') != std::string_view::npos) {
        throw Error("backend: base URL needs a host (and no user info)");
    }
    if (!port.empty() &&
        (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)) {
        throw Error("backend: base URL has an invalid port");
    }
    out.host = std::string(host);
    out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
    out.host_header = std::string(authority);
    return out;
}

// Operation names become a path segment, so only plain names are sent.
bool valid_operation(std::string_view operation) {
    return !operation.empty() && operation.size() <= 64 &&
           std::all_of(operation.begin(), operation.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
           });
}

// Serializes `v` with object members sorted by key, so equal arguments give equal text.
void write_canonical(const json::value& v, std::string& out) {
    if (const json::object* o = v.if_object()) {
        std::vector<const json::key_value_pair*> members;
        members.reserve(o->size());
        for (const json::key_value_pair& kv : *o) {
            members.push_back(&kv);
        }
        std::sort(members.begin(), members.end(),
                  [](auto* a, auto* b) { return a->key() < b->key(); });
        out += '{';
        for (std::size_t i = 0; i < members.size(); ++i) {
            out += i == 0 ? "" : ",";
            out += json::serialize(json::string(members[i]->key()));
            out += ':';
            write_canonical(members[i]->value(), out);
        }
        out += '}';
        return;
    }
    if (const json::array* a = v.if_array()) {
        out += '[';
        for (std::size_t i = 0; i < a->size(); ++i) {
            out += i == 0 ? "" : ",";
            write_canonical((*a)[i], out);
        }
        out += ']';
        return;
    }
    out += json::serialize(v);
}

// What one attempt produced: a complete response, or where and why it failed.
struct Attempt {
    bool finished = false;
    unsigned status = 0;
    std::string body;
    boost::system::error_code ec;
    const char* stage = "";
    bool retryable = true;
};

// Writes the request and reads the response on a connected stream.
template <class Stream>
asio::awaitable<void> exchange(Stream& stream, const http::request<http::string_body>& request,
                               std::size_t max_body, Attempt& out) {
    boost::system::error_code ec;
    co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.ec = ec;
        out.stage = "write";
        co_return;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.ec = ec == http::error::body_limit ? make_error_code(Errc::payload_too_large) : ec;
        out.stage = "read";
        out.retryable = ec != http::error::body_limit;
        co_return;
    }
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
    out.finished = true;
}

asio::awaitable<void> run_attempt(const BaseUrl& url, ssl::context* tls,
                                  std::chrono::milliseconds connect_timeout, std::size_t max_body,
                                  const http::request<http::string_body>& request,
                                  Clock::time_point deadline, Attempt& out) {
    auto executor = co_await asio::this_coro::executor;
    boost::system::error_code ec;

    tcp::resolver resolver(executor);
    auto endpoints = co_await resolver.async_resolve(url.host, url.port,
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.ec = ec;
        out.stage = "resolve";
        co_return;
    }
    auto connect_deadline = std::min(deadline, Clock::now() + connect_timeout);

    // Plain http: connect, exchange, close.
    if (tls == nullptr) {
        beast::tcp_stream stream(executor);
        stream.expires_at(connect_deadline);
        co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            out.ec = ec;
            out.stage = "connect";
            co_return;
        }
        stream.expires_at(deadline);
        co_await exchange(stream, request, max_body, out);
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return;
    }

    // https: SNI for host names, peer and host name verification, then the exchange.
    beast::ssl_stream<beast::tcp_stream> stream(executor, *tls);
    boost::system::error_code not_address;
    asio::ip::make_address(url.host, not_address);
    if (not_address && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
        out.ec = boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                           asio::error::get_ssl_category());
        out.stage = "tls";
        out.retryable = false;
        co_return;
    }
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(url.host));
    beast::get_lowest_layer(stream).expires_at(connect_deadline);
    co_await beast::get_lowest_layer(stream).async_connect(
        endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.ec = ec;
        out.stage = "connect";
        co_return;
    }
    co_await stream.async_handshake(ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.ec = ec;
        out.stage = "tls";
        // A refused certificate stays refused; a reset during the handshake may not.
        out.retryable = ec.category() != asio::error::get_ssl_category();
        co_return;
    }
    beast::get_lowest_layer(stream).expires_at(deadline);
    co_await exchange(stream, request, max_body, out);
}

// The Result error for a response status other than 200.
boost::system::error_code status_error(unsigned status) {
    switch (status) {
        case 404:
        case 501:
            return make_error_code(boost::system::errc::operation_not_supported);
        case 400:
        case 422:
            return make_error_code(Errc::missing_field);
        case 413:
            return make_error_code(Errc::payload_too_large);
        default:
            return make_error_code(Errc::service_unavailable);
    }
}

// 5xx, 408 and 429 may heal; any other status will not.
bool retryable_status(unsigned status) {
    return status >= 500 || status == 408 || status == 429;
}

class HttpBackend final : public Backend {
public:
    explicit HttpBackend(HttpBackendOptions options)
        : options_(std::move(options)), url_(parse_base_url(options_.base_url)) {
        auto require = [](bool ok, const char* setting) {
            if (!ok) {
                throw Error(std::string("backend: ") + setting + " must be positive");
            }
        };
        require(options_.timeout.count() > 0, "timeout");
        require(options_.connect_timeout.count() > 0, "connect_timeout");
        require(options_.max_response_bytes > 0, "max_response_bytes");
        require(options_.max_attempts > 0, "max_attempts");
        if (options_.backoff.count() < 0) {
            throw Error("backend: backoff must not be negative");
        }

        if (url_.tls) {
            tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
            tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                              ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                              ssl::context::no_tlsv1_1);
            boost::system::error_code ec;
            if (options_.ca_file.empty()) {
                tls_->set_default_verify_paths(ec);
            } else {
                tls_->load_verify_file(options_.ca_file, ec);
            }
            if (ec) {
                throw Error("backend: cannot load certificate authorities: " + ec.message());
            }
            tls_->set_verify_mode(ssl::verify_peer);
        }
    }

    Result<json::value> call(std::string_view operation, const json::object& args) override {
        try {
            return call_unchecked(operation, args);
        } catch (const std::exception& e) {
            backend_log().warn(
                "backend call failed",
                {{"operation", operation}, {"stage", "internal"}, {"error", e.what()}});
            return make_error_code(Errc::service_unavailable);
        }
    }

private:
    Result<json::value> call_unchecked(std::string_view operation, const json::object& args) {
        if (!valid_operation(operation)) {
            backend_log().warn("backend call refused", {{"operation", "(invalid name)"}});
            return make_error_code(boost::system::errc::operation_not_supported);
        }
        const bool read =
            std::find(options_.read_operations.begin(), options_.read_operations.end(),
                      operation) != options_.read_operations.end();
        const auto request = make_request(operation, args, read);
        const auto start = Clock::now();
        const auto deadline = start + options_.timeout;
        const int max_attempts = read ? options_.max_attempts : 1;

        for (int attempt = 1;; ++attempt) {
            Attempt a = run(request, deadline);
            auto latency_ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();

            // A complete 200: the body must be a JSON object.
            if (a.finished && a.status == 200) {
                boost::system::error_code ec;
                json::value body = json::parse(a.body, ec);
                if (ec || !body.is_object()) {
                    backend_log().warn("backend answer is not a JSON object",
                                       {{"operation", operation},
                                        {"status", a.status},
                                        {"attempts", attempt},
                                        {"latency_ms", latency_ms}});
                    return Errc::malformed_json;
                }
                backend_log().debug("backend call", {{"operation", operation},
                                                     {"status", a.status},
                                                     {"attempts", attempt},
                                                     {"latency_ms", latency_ms}});
                return body;
            }

            // Anything else: retry a read while it may heal and time is left.
            const bool timed_out = !a.finished && a.ec == beast::error::timeout;
            const bool may_heal = a.finished ? retryable_status(a.status) : a.retryable;
            auto pause = options_.backoff * (1 << std::min(attempt - 1, 10));
            if (may_heal && !timed_out && attempt < max_attempts &&
                Clock::now() + pause < deadline) {
                backend_log().debug("backend call retried", {{"operation", operation},
                                                             {"status", a.status},
                                                             {"attempt", attempt},
                                                             {"stage", a.stage}});
                std::this_thread::sleep_for(pause);
                continue;
            }

            boost::system::error_code error = a.finished  ? status_error(a.status)
                                              : timed_out ? make_error_code(Errc::timeout)
                                              : a.ec == make_error_code(Errc::payload_too_large)
                                                  ? a.ec
                                                  : make_error_code(Errc::service_unavailable);
            backend_log().warn("backend call failed",
                               {{"operation", operation},
                                {"status", a.status},
                                {"attempts", attempt},
                                {"latency_ms", latency_ms},
                                {"stage", a.finished ? "status" : a.stage},
                                {"error", a.finished ? "http status" : a.ec.message()}});
            return error;
        }
    }

    http::request<http::string_body> make_request(std::string_view operation,
                                                  const json::object& args, bool read) const {
        http::request<http::string_body> request{http::verb::post,
                                                 url_.prefix + "/v1/" + std::string(operation), 11};
        request.set(http::field::host, url_.host_header);
        request.set(http::field::user_agent, "teller-backend/1");
        request.set(http::field::content_type, "application/json");
        request.set(http::field::accept, "application/json");
        request.set(http::field::connection, "close");
        if (!options_.bearer_token.empty()) {
            request.set(http::field::authorization, "Bearer " + options_.bearer_token);
        }
        if (!options_.api_key_header.empty() && !options_.api_key.empty()) {
            request.set(options_.api_key_header, options_.api_key);
        }
        if (!read) {
            request.set("Idempotency-Key", backend_idempotency_key(operation, args));
        }
        request.body() = json::serialize(args);
        request.prepare_payload();
        return request;
    }

    // TODO(teller): every attempt opens a new connection (a TLS handshake for https); a bank
    // that is far away pays one or two extra round trips per call that a keep-alive pool
    // would save.
    // TODO(teller): name resolution runs on Asio's resolver thread, which the io_context joins
    // when it is destroyed, so a DNS server that never answers can hold a call past its
    // timeout; configure the bank by IP address or a local resolver where that matters.
    Attempt run(const http::request<http::string_body>& request, Clock::time_point deadline) {
        Attempt out;
        asio::io_context io(1);
        asio::co_spawn(io,
                       run_attempt(url_, tls_.get(), options_.connect_timeout,
                                   options_.max_response_bytes, request, deadline, out),
                       [&out](std::exception_ptr e) {
                           if (e && !out.finished && !out.ec) {
                               out.ec = make_error_code(Errc::service_unavailable);
                               out.stage = "internal";
                           }
                       });
        // The streams time out on their own; this also bounds name resolution.
        io.run_until(deadline + std::chrono::milliseconds(50));
        if (!out.finished && !out.ec) {
            out.ec = beast::error::timeout;
            out.stage = "resolve";
        }
        return out;
    }

    HttpBackendOptions options_;
    BaseUrl url_;
    std::unique_ptr<ssl::context> tls_;
};

}  // namespace

std::string backend_idempotency_key(std::string_view operation, const json::object& args) {
    std::string text(operation);
    text += '\n';
    write_canonical(args, text);

    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
    std::string hex;
    char pair[3];
    for (unsigned int i = 0; i < std::min(size, 16u); ++i) {
        std::snprintf(pair, sizeof pair, "%02x", digest[i]);
        hex += pair;
    }
    return hex;
}

std::unique_ptr<Backend> make_http_backend(HttpBackendOptions options) {
    return std::make_unique<HttpBackend>(std::move(options));
}

}  // namespace teller::core
