// HttpProviderClient: one Beast connection per attempt, retries with jittered backoff, a token
// bucket per provider.
#include "teller/channels/http_provider_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <iomanip>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "teller/core/log.hpp"

namespace teller::channels {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using core::Errc;

const core::Logger& provider_log() {
    static const core::Logger log("provider");
    return log;
}

// The parts of a base URL a request needs.
struct BaseUrl {
    bool tls = false;
    std::string host;         ///< without IPv6 brackets (for resolving, SNI and verification)
    std::string port;         ///< always set ("80", "443" when the URL has none)
    std::string host_header;  ///< as the URL wrote it, with a non-default port
    std::string prefix;       ///< path prefix without a trailing slash ("" or "/v1")
};

BaseUrl parse_base_url(const std::string& url) {
    auto fail = [&](const std::string& why) -> BaseUrl {
        throw core::Error("base_url \"" + url + "\" is not usable: " + why);
    };
    BaseUrl parsed;
    std::string_view rest(url);
    if (rest.starts_with("https://")) {
        parsed.tls = true;
        rest.remove_prefix(8);
    } else if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else {
        return fail("it must start with http:// or https://");
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return fail("no query or fragment allowed");
    }
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos) {
        return fail("credentials belong in the channel's settings, not the URL");
    }

    // host, [v6 host], then an optional :port.
    std::string_view port;
    if (authority.starts_with("[")) {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return fail("unclosed IPv6 bracket");
        }
        parsed.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(":")) {
                return fail("unexpected text after the IPv6 address");
            }
            port = after.substr(1);
        }
    } else {
        std::size_t colon = authority.rfind(':');
        parsed.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
    }
    if (parsed.host.empty()) {
        return fail("no host");
    }
    const std::string default_port = parsed.tls ? "443" : "80";
    if (!port.empty()) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
            return fail("bad port");
        }
    }
    parsed.port = port.empty() ? default_port : std::string(port);
    parsed.host_header =
        std::string(authority.substr(0, authority.size() - port.size() - (port.empty() ? 0 : 1)));
    if (parsed.port != default_port) {
        parsed.host_header += ":" + parsed.port;
    }
    while (path.ends_with("/")) {
        path.remove_suffix(1);
    }
    parsed.prefix = std::string(path);
    return parsed;
}

// Calls per second for every thread of one client; waits are reserved, then slept unlocked.
class TokenBucket {
public:
    explicit TokenBucket(double rate)
        : rate_(rate), capacity_(std::max(1.0, rate)), tokens_(capacity_), last_(Clock::now()) {}

    // How long the caller must wait before its call (zero when a token is there).
    std::chrono::nanoseconds reserve() {
        if (rate_ <= 0) {
            return {};
        }
        std::lock_guard lock(mutex_);
        auto now = Clock::now();
        tokens_ = std::min(capacity_,
                           tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
        last_ = now;
        tokens_ -= 1;
        if (tokens_ >= 0) {
            return {};
        }
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(-tokens_ / rate_));
    }

private:
    std::mutex mutex_;
    double rate_;
    double capacity_;
    double tokens_;
    Clock::time_point last_;
};

std::chrono::milliseconds full_jitter(std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                      int attempt) {
    thread_local std::mt19937_64 random{std::random_device{}()};
    double ceiling = static_cast<double>(base.count()) * std::ldexp(1.0, std::min(attempt - 1, 30));
    ceiling = std::min(ceiling, static_cast<double>(cap.count()));
    std::uniform_real_distribution<double> pick(0.0, std::max(0.0, ceiling));
    return std::chrono::milliseconds(static_cast<std::int64_t>(pick(random)));
}

// What one attempt produced: a response, or the network error that ended it.
struct AttemptResult {
    boost::system::error_code ec;
    bool retryable = true;  ///< for errors: whether another attempt can help
    std::string stage;      ///< where an error happened ("connect", "tls", "read", ...)
    ProviderResponse response;
    bool finished = false;
};

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
        value.remove_prefix(1);
    }
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }

    // delta-seconds
    if (std::all_of(value.begin(), value.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        std::int64_t seconds = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc()) {
            // Too many digits to count: as long as anyone may ask (the caller caps it).
            return std::chrono::milliseconds(std::chrono::hours(24 * 365));
        }
        return std::chrono::milliseconds(std::min<std::int64_t>(seconds, 365LL * 24 * 3600) * 1000);
    }

    // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
    std::tm tm{};
    std::istringstream in{std::string(value)};
    in.imbue(std::locale::classic());
    in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
    std::string zone;
    in >> zone;
    if (in.fail() || zone != "GMT") {
        return std::nullopt;
    }
    std::time_t at = timegm(&tm);
    if (at == static_cast<std::time_t>(-1)) {
        return std::nullopt;
    }
    auto when = std::chrono::system_clock::from_time_t(at);
    if (when <= now) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

struct HttpProviderClient::Impl {
    HttpProviderOptions options;
    BaseUrl url;
    std::unique_ptr<ssl::context> tls;
    TokenBucket bucket;

    explicit Impl(HttpProviderOptions o)
        : options(std::move(o)),
          url(parse_base_url(options.base_url)),
          bucket(options.rate_per_second) {}

    http::request<http::string_body> make_request(const ProviderCall& call) const;
    AttemptResult attempt(const http::request<http::string_body>& request) const;
};

http::request<http::string_body> HttpProviderClient::Impl::make_request(
    const ProviderCall& call) const {
    http::request<http::string_body> request;
    request.version(11);
    request.method_string(call.method);
    std::string target = url.prefix + call.target;
    if (target.empty() || target.front() != '/') {
        target.insert(target.begin(), '/');
    }
    request.target(target);
    request.set(http::field::host, url.host_header);
    request.set(http::field::user_agent, options.user_agent);
    request.set(http::field::connection, "close");
    for (const auto& [name, value] : call.headers) {
        request.set(name, value);
    }
    if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
        request.set(http::field::content_type, call.content_type);
        request.body() = call.body;
    }
    request.prepare_payload();
    return request;
}

namespace {

// Writes the request and reads the response on a connected stream.
template <class Stream>
asio::awaitable<void> exchange(Stream& stream, const http::request<http::string_body>& request,
                               std::size_t max_body, AttemptResult& out) {
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
        out.ec = ec;
        out.stage = "read";
        if (ec == http::error::body_limit) {
            out.ec = make_error_code(Errc::payload_too_large);
            out.retryable = false;
        }
        co_return;
    }
    auto& response = parser.get();
    out.response.status = response.result_int();
    for (const auto& field : response) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.response.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    out.response.body = std::move(response.body());
    out.finished = true;
}

asio::awaitable<void> run_attempt(const BaseUrl& url, const HttpProviderOptions& options,
                                  ssl::context* tls,
                                  const http::request<http::string_body>& request,
                                  Clock::time_point deadline, AttemptResult& out) {
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
    auto connect_deadline = std::min(deadline, Clock::now() + options.connect_timeout);

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
        co_await exchange(stream, request, options.max_response_bytes, out);
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return;
    }

    beast::ssl_stream<beast::tcp_stream> stream(executor, *tls);
    boost::system::error_code parse_ec;
    asio::ip::make_address(url.host, parse_ec);
    if (parse_ec && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
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
    co_await exchange(stream, request, options.max_response_bytes, out);
}

}  // namespace

// TODO(teller): every attempt opens a new connection (and for https a new TLS handshake); a
// provider taking many replies per second pays a round trip or two per call that a small
// keep-alive pool would save.
AttemptResult HttpProviderClient::Impl::attempt(
    const http::request<http::string_body>& request) const {
    AttemptResult out;
    asio::io_context io(1);
    auto deadline = Clock::now() + options.total_timeout;
    asio::co_spawn(io, run_attempt(url, options, tls.get(), request, deadline, out),
                   [&out](std::exception_ptr e) {
                       if (e && !out.finished && !out.ec) {
                           out.ec = make_error_code(Errc::service_unavailable);
                           out.stage = "internal";
                       }
                   });
    // The streams time out on their own; this bounds name resolution, which has no timer.
    io.run_until(deadline + std::chrono::milliseconds(50));
    if (!out.finished && !out.ec) {
        out.ec = beast::error::timeout;
        out.stage = "resolve";
    }
    return out;
}

HttpProviderClient::HttpProviderClient(HttpProviderOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
    const HttpProviderOptions& o = impl_->options;
    auto require = [&](bool ok, const char* setting) {
        if (!ok) {
            throw core::Error(o.provider + ": " + setting + " must be positive");
        }
    };
    require(o.connect_timeout.count() > 0, "timeout_ms (connect timeout)");
    require(o.total_timeout.count() > 0, "timeout_ms");
    require(o.max_attempts > 0, "max_attempts");
    require(o.backoff_base.count() >= 0 && o.backoff_cap.count() >= 0, "backoff");
    require(o.max_response_bytes > 0, "max_response_bytes");
    require(o.rate_per_second >= 0, "rate_per_second");

    if (impl_->url.tls) {
        impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_client);
        impl_->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                ssl::context::no_tlsv1_1);
        boost::system::error_code ec;
        if (o.ca_file.empty()) {
            impl_->tls->set_default_verify_paths(ec);
        } else {
            impl_->tls->load_verify_file(o.ca_file, ec);
        }
        if (ec) {
            throw core::Error(o.provider + ": cannot load certificate authorities" +
                              (o.ca_file.empty() ? std::string() : " from " + o.ca_file) + ": " +
                              ec.message());
        }
        impl_->tls->set_verify_mode(ssl::verify_peer);
    }
}

HttpProviderClient::~HttpProviderClient() = default;

const HttpProviderOptions& HttpProviderClient::options() const noexcept {
    return impl_->options;
}

core::Result<ProviderResponse> HttpProviderClient::send(const ProviderCall& call) {
    const HttpProviderOptions& o = impl_->options;
    const auto request = impl_->make_request(call);

    for (int attempt = 1;; ++attempt) {
        if (auto wait = impl_->bucket.reserve(); wait.count() > 0) {
            std::this_thread::sleep_for(wait);
        }
        AttemptResult result = impl_->attempt(request);
        const bool last = attempt >= o.max_attempts;

        // A network failure: retry unless it cannot heal.
        std::chrono::milliseconds wait = full_jitter(o.backoff_base, o.backoff_cap, attempt);
        if (!result.finished) {
            const bool timed_out = result.ec == beast::error::timeout;
            const boost::system::error_code final_ec =
                timed_out ? make_error_code(Errc::timeout)
                : result.ec == make_error_code(Errc::payload_too_large)
                    ? result.ec
                    : make_error_code(Errc::service_unavailable);
            if (!result.retryable || last) {
                provider_log().warn("provider call failed", {{"provider", o.provider},
                                                             {"status", 0},
                                                             {"attempt", attempt},
                                                             {"stage", result.stage},
                                                             {"error", result.ec.message()}});
                return final_ec;
            }
            provider_log().warn("provider call failed, retrying", {{"provider", o.provider},
                                                                   {"status", 0},
                                                                   {"attempt", attempt},
                                                                   {"stage", result.stage},
                                                                   {"error", result.ec.message()},
                                                                   {"wait_ms", wait.count()}});
            std::this_thread::sleep_for(wait);
            continue;
        }

        // An answer: 429 and 5xx are worth another try, anything else is the provider's word.
        const unsigned status = result.response.status;
        if (status != 429 && (status < 500 || status > 599)) {
            return std::move(result.response);
        }
        if (last) {
            provider_log().warn(
                "provider kept refusing, giving up",
                {{"provider", o.provider}, {"status", status}, {"attempt", attempt}});
            return make_error_code(Errc::service_unavailable);
        }
        if (auto retry_after = find_header(result.response.headers, "retry-after");
            !retry_after.empty()) {
            if (auto asked = parse_retry_after(retry_after, std::chrono::system_clock::now())) {
                wait = std::max(wait, std::min(*asked, o.retry_after_cap));
            }
        }
        provider_log().warn("provider refused, retrying", {{"provider", o.provider},
                                                           {"status", status},
                                                           {"attempt", attempt},
                                                           {"wait_ms", wait.count()}});
        std::this_thread::sleep_for(wait);
    }
}

}  // namespace teller::channels
