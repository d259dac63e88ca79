// The gateway: listener, HTTP routes, webhooks, metrics, connection bookkeeping and replies.
#include "teller/channels/gateway.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "agent_desk_page.hpp"
#include "agent_desk_session.hpp"
#include "gateway_state.hpp"
#include "teller/channels/webchat_token.hpp"
#include "teller/core/error.hpp"
#include "webchat_page.hpp"
#include "webchat_protocol.hpp"
#include "webhook_job.hpp"
#include "ws_session.hpp"

namespace teller::channels {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace detail {
namespace {

// Largest request header block; past it the request is answered 431.
constexpr std::uint32_t kHeaderLimit = 16 * 1024;

// After an error response the gateway reads (and drops) what the client still sends, for at
// most this long and this much, so the client sees the response instead of a reset.
constexpr std::chrono::seconds kLingerTime{1};
constexpr std::size_t kLingerBytes = 1024 * 1024;

// How long stop() waits for connections to close before stopping the io threads.
constexpr std::chrono::seconds kStopGrace{2};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// True for a Host header value safe to repeat in a response header.
bool is_plain_host(std::string_view host) {
    if (host.empty() || host.size() > 255) {
        return false;
    }
    return std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
               c == ':' || c == '[' || c == ']';
    });
}

// The WebSocket origin policy documented on GatewayOptions::allowed_origins.
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin,
                    std::string_view host) {
    if (origin.empty()) {
        return true;
    }
    if (allowed.empty()) {
        const std::size_t scheme_end = origin.find("://");
        if (scheme_end == std::string_view::npos || host.empty()) {
            return false;
        }
        std::string_view authority = origin.substr(scheme_end + 3);
        return lower(authority) == lower(host);
    }
    const std::string wanted = lower(origin);
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& entry) {
        return entry == "*" || lower(entry) == wanted;
    });
}

std::string endpoint_text(const tcp::socket& socket) {
    boost::system::error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) {
        return "?";
    }
    return remote.address().to_string() + ":" + std::to_string(remote.port());
}

// The path of a request target, without the query.
std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

// The raw value of query parameter `name` in `target` ("" when absent). Tokens are base64url
// and '.', which need no percent-encoding, so values are not decoded.
std::string_view query_param(std::string_view target, std::string_view name) {
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) {
        return {};
    }
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return {};
}

std::int64_t unix_seconds() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response make_response(http::status status, unsigned version, bool keep_alive,
                       std::string_view content_type, std::string body) {
    Response response{status, version};
    response.set(http::field::server, "teller");
    response.set(http::field::content_type, content_type);
    response.set(http::field::cache_control, "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.keep_alive(keep_alive);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

Response make_text(http::status status, const Request& request, std::string body) {
    return make_response(status, request.version(), request.keep_alive(),
                         "text/plain; charset=utf-8", std::move(body));
}

// The page, with a policy that allows its own inline style and script and nothing foreign.
// The built-in page; `token`, when not empty, is written into its teller-token meta element
// (outside the script, so the script's CSP hash still holds).
Response make_page(const Request& request, const std::string& token = {}) {
    const WebchatPage& page = webchat_page();
    std::string html = page.html;
    if (!token.empty()) {
        constexpr std::string_view kEmpty = R"(<meta name="teller-token" content="">)";
        if (auto at = html.find(kEmpty); at != std::string::npos) {
            html.replace(at, kEmpty.size(),
                         R"(<meta name="teller-token" content=")" + token + R"(">)");
        }
    }
    Response response = make_response(http::status::ok, request.version(), request.keep_alive(),
                                      "text/html; charset=utf-8", std::move(html));
    std::string connect = "'self'";
    const std::string_view host = request[http::field::host];
    if (is_plain_host(host)) {
        connect += " ws://" + std::string(host) + " wss://" + std::string(host);
    }
    response.set("Content-Security-Policy",
                 "default-src 'none'; style-src " + page.style_hash + "; script-src " +
                     page.script_hash + "; connect-src " + connect +
                     "; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'self'");
    response.set("Referrer-Policy", "no-referrer");
    return response;
}

// What /agent and /agent/ws answer while no agent token is configured.
constexpr std::string_view kDeskDisabled =
    "agent desk disabled: set agent_token / TELLER_AGENT_TOKEN\n";

// The agent desk page, with a policy that allows its own inline style and script only.
Response make_agent_page(const Request& request) {
    const AgentDeskPage& page = agent_desk_page();
    Response response = make_response(http::status::ok, request.version(), request.keep_alive(),
                                      "text/html; charset=utf-8", page.html);
    std::string connect = "'self'";
    const std::string_view host = request[http::field::host];
    if (is_plain_host(host)) {
        connect += " ws://" + std::string(host) + " wss://" + std::string(host);
    }
    response.set("Content-Security-Policy",
                 "default-src 'none'; style-src " + page.style_hash + "; script-src " +
                     page.script_hash + "; connect-src " + connect +
                     "; img-src data:; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'");
    response.set("Referrer-Policy", "no-referrer");
    return response;
}

// The /metrics body: gauges read now, then every counter family (Prometheus text 0.0.4).
std::string render_metrics(const GatewayState& state) {
    struct Family {
        std::string_view name;
        std::string_view help;
    };
    static constexpr std::array<Family, 5> kCounters = {{
        {kConnectionsOpened, "HTTP connections accepted."},
        {kMessagesAccepted, "Customer messages acknowledged by Kafka, by channel."},
        {kMessagesRejected,
         "Customer messages not accepted, by channel and reason (rate_limited, overloaded, "
         "unavailable, duplicate, too_large); a webhook refused as overloaded before its adapter "
         "ran counts once."},
        {kWebhookRequests, "Webhook requests answered, by channel and HTTP status."},
        {kTokensRefused,
         "WebSocket upgrades refused for a missing or invalid web chat token, and messages refused "
         "because the token expired while the socket was open."},
    }};

    std::ostringstream out;
    out << "# HELP teller_gateway_connections Open HTTP and WebSocket connections.\n"
        << "# TYPE teller_gateway_connections gauge\n"
        << "teller_gateway_connections " << state.connection_count() << "\n"
        << "# HELP teller_gateway_producer_in_flight Records the producer holds unacknowledged.\n"
        << "# TYPE teller_gateway_producer_in_flight gauge\n"
        << "teller_gateway_producer_in_flight " << state.producer.in_flight() << "\n";
    const auto counters = state.metrics.snapshot();
    for (const Family& family : kCounters) {
        out << "# HELP " << family.name << " " << family.help << "\n"
            << "# TYPE " << family.name << " counter\n";
        const auto found = counters.find(family.name);
        if (found == counters.end()) {
            if (family.name == kConnectionsOpened) {
                out << family.name << " 0\n";
            }
            continue;
        }
        for (const auto& [labels, value] : found->second) {
            out << family.name;
            if (!labels.empty()) {
                out << "{" << labels << "}";
            }
            out << " " << value << "\n";
        }
    }
    return out.str();
}

/// One HTTP connection: reads requests, answers the routes, hands upgrades to WsSession.
class HttpSession final : public Connection, public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(GatewayState& state, tcp::socket&& socket)
        : state_(state),
          remote_(endpoint_text(socket)),
          stream_(std::move(socket)),
          executor_(stream_.get_executor()),
          webhook_timer_(executor_) {}

    ~HttpSession() override { state_.remove_connection(this); }

    void run() {
        state_.add_connection(this, weak_from_this());
        state_.metrics.add(kConnectionsOpened, {});
        state_.log.debug("connection opened", {{"remote", remote_}});
        asio::dispatch(executor_,
                       beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
    }

    void shutdown() override {
        asio::post(executor_, [self = shared_from_this()] {
            // A webhook still waiting is dropped: its answer would have no socket to go to.
            self->job_.reset();
            self->webhook_timer_.cancel();
            if (self->upgraded_) {
                return;
            }
            boost::system::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            self->stream_.socket().close(ignored);
        });
    }

private:
    void do_read() {
        parser_.emplace();
        parser_->body_limit(state_.options.max_http_body_bytes);
        parser_->header_limit(kHeaderLimit);
        stream_.expires_after(state_.options.http_idle_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t /*bytes*/) {
        try {
            handle_read(ec);
        } catch (const std::exception& e) {
            state_.log.warn("http request handling failed",
                            {{"remote", remote_}, {"error", e.what()}});
        }
    }

    void handle_read(beast::error_code ec) {
        // Errors: the client left, went idle, or sent something unacceptable.
        if (ec == http::error::end_of_stream) {
            boost::system::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            return;
        }
        if (ec == http::error::body_limit) {
            // The header was read: an oversized webhook counts for its channel like any refusal.
            if (const ChannelRoute* channel =
                    state_.find_channel(path_of(parser_->get().target()))) {
                webhook_channel_ = std::string(channel->adapter->channel());
                state_.metrics.add(kMessagesRejected, reason_labels(webhook_channel_, "too_large"));
                count_webhook(static_cast<unsigned>(http::status::payload_too_large));
            }
            reject(http::status::payload_too_large, "request body too large\n");
            return;
        }
        if (ec == http::error::header_limit) {
            reject(http::status::request_header_fields_too_large, "request header too large\n");
            return;
        }
        if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec == asio::error::eof || ec == asio::error::connection_reset) {
            state_.log.debug("connection ended", {{"remote", remote_}, {"reason", ec.message()}});
            return;
        }
        if (ec) {
            if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
                reject(http::status::bad_request, "malformed request\n");
                return;
            }
            state_.log.debug("connection failed", {{"remote", remote_}, {"error", ec.message()}});
            return;
        }

        Request request = parser_->release();
        if (websocket::is_upgrade(request)) {
            upgrade(std::move(request));
            return;
        }
        if (const ChannelRoute* channel = state_.find_channel(path_of(request.target()))) {
            start_webhook(*channel, std::move(request));
            return;
        }
        send(route(request), false);
    }

    // Hands a provider's request to its adapter on a webhook thread; on_webhook_answer() sends
    // the outcome, or the timer gives up first.
    void start_webhook(const ChannelRoute& channel, Request request) {
        webhook_channel_ = std::string(channel.adapter->channel());
        if (request.method() != http::verb::get && request.method() != http::verb::post) {
            Response response =
                make_text(http::status::method_not_allowed, request, "method not allowed\n");
            response.set(http::field::allow, "GET, POST");
            count_webhook(response.result_int());
            send(std::move(response), false);
            return;
        }

        // Nothing is accepted that cannot be buffered: the provider keeps it and retries.
        if (!state_.running.load() || state_.overloaded()) {
            state_.log.warn("webhook refused: producer buffer full",
                            {{"channel", webhook_channel_},
                             {"in_flight", state_.producer.in_flight()},
                             {"limit", state_.options.max_in_flight}});
            state_.metrics.add(kMessagesRejected, reason_labels(webhook_channel_, "overloaded"));
            version_ = request.version();
            keep_alive_ = request.keep_alive();
            on_answer_ready(unavailable_answer("the gateway is busy; retry later\n", 1));
            return;
        }

        // The adapter's view of the request: lower-case names, the public URL it was sent to.
        WebhookRequest webhook;
        webhook.method = std::string(request.method_string());
        webhook.target = std::string(request.target());
        webhook.public_url = channel.public_base_url + webhook.target;
        for (const auto& field : request) {
            webhook.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
        }
        webhook.body = std::move(request.body());
        version_ = request.version();
        keep_alive_ = request.keep_alive();

        auto job = std::make_shared<WebhookJob>(
            state_, channel, std::move(webhook), [self = shared_from_this()](WebhookAnswer answer) {
                asio::post(self->executor_, [self, answer = std::move(answer)]() mutable {
                    self->on_webhook_answer(std::move(answer));
                });
            });
        job_ = job;
        webhook_timer_.expires_after(state_.options.webhook_timeout);
        webhook_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec && self->job_) {
                self->job_->time_out();
            }
        });
        asio::post(*state_.webhook_pool, [job = std::move(job)] { job->run(); });
    }

    void on_webhook_answer(WebhookAnswer answer) {
        if (!job_) {
            return;
        }
        job_.reset();
        webhook_timer_.cancel();
        on_answer_ready(std::move(answer));
    }

    void on_answer_ready(WebhookAnswer answer) {
        unsigned status = answer.response.status;
        if (status < 100 || status > 599) {
            state_.log.error("channel adapter answered an invalid HTTP status; sent 500",
                             {{"channel", webhook_channel_}, {"status", status}});
            status = 500;
            answer.response = {500, "text/plain; charset=utf-8", "internal error\n"};
        }
        Response response{http::int_to_status(status), version_};
        response.result(status);
        response.set(http::field::server, "teller");
        response.set(http::field::content_type, answer.response.content_type);
        response.set(http::field::cache_control, "no-store");
        response.set("X-Content-Type-Options", "nosniff");
        if (answer.retry_after_s > 0) {
            response.set(http::field::retry_after, std::to_string(answer.retry_after_s));
        }
        response.keep_alive(keep_alive_);
        response.body() = std::move(answer.response.body);
        response.prepare_payload();
        count_webhook(status);
        send(std::move(response), false);
    }

    void count_webhook(unsigned status) {
        state_.metrics.add(kWebhookRequests, channel_label(webhook_channel_) + ",status=\"" +
                                                 std::to_string(status) + "\"");
    }

    Response route(const Request& request) {
        std::string_view path = request.target();
        path = path.substr(0, path.find('?'));

        // Known paths take GET only; anything else is unknown.
        const bool desk_path = path == Gateway::kAgentPagePath || path == Gateway::kAgentSocketPath;
        const bool known = path == "/" || path == "/healthz" || path == "/readyz" ||
                           path == "/metrics" || path == Gateway::kWebSocketPath || desk_path;
        if (!known) {
            return make_text(http::status::not_found, request, "not found\n");
        }
        if (desk_path && state_.options.agent_token.empty()) {
            return make_text(http::status::not_found, request, std::string(kDeskDisabled));
        }
        if (request.method() != http::verb::get) {
            Response response =
                make_text(http::status::method_not_allowed, request, "method not allowed\n");
            response.set(http::field::allow, "GET");
            return response;
        }

        if (path == "/") {
            const GatewayOptions& o = state_.options;
            if (o.webchat_token_secret.empty() || o.demo_customer_id.empty()) {
                return make_page(request);
            }
            constexpr std::int64_t kDemoTokenSeconds = 12 * 3600;
            std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
            return make_page(request,
                             sign_webchat_token(o.webchat_token_secret,
                                                {o.demo_customer_id, now + kDemoTokenSeconds}));
        }
        if (path == "/healthz") {
            return make_text(http::status::ok, request, "ok");
        }
        if (path == Gateway::kAgentPagePath) {
            return make_agent_page(request);
        }
        if (path == "/metrics") {
            return make_response(http::status::ok, request.version(), request.keep_alive(),
                                 "text/plain; version=0.0.4; charset=utf-8",
                                 render_metrics(state_));
        }
        if (path == "/readyz") {
            const bool ready = state_.ready();
            return make_text(ready ? http::status::ok : http::status::service_unavailable, request,
                             ready ? "ready" : "not ready");
        }
        Response response = make_text(http::status::upgrade_required, request,
                                      "this endpoint speaks WebSocket only\n");
        response.set(http::field::upgrade, "websocket");
        response.set(http::field::connection, "Upgrade");
        return response;
    }

    void upgrade(Request request) {
        std::string_view path = request.target();
        path = path.substr(0, path.find('?'));
        const bool desk = path == Gateway::kAgentSocketPath;
        if (path != Gateway::kWebSocketPath && !desk) {
            send(make_text(http::status::not_found, request, "not found\n"), false);
            return;
        }
        if (desk && (state_.options.agent_token.empty() || state_.agent_desk == nullptr)) {
            send(make_text(http::status::not_found, request, std::string(kDeskDisabled)), false);
            return;
        }

        // RFC 6455 section 10.2: browsers send Origin; refuse pages the operator did not allow.
        const std::string_view origin = request[http::field::origin];
        if (!origin_allowed(state_.options.allowed_origins, origin, request[http::field::host])) {
            state_.log.warn("websocket origin refused",
                            {{"remote", remote_}, {"origin", std::string(origin)}});
            send(make_text(http::status::forbidden, request, "origin not allowed\n"), false);
            return;
        }

        // The agent desk: its token comes in the first frame, not in the request.
        if (desk) {
            upgraded_ = true;
            stream_.expires_never();
            auto session = std::make_shared<AgentDeskSession>(state_, *state_.agent_desk,
                                                              std::move(stream_), remote_);
            session->run(std::move(request));
            return;
        }

        // A signed token, when the operator set a secret; the customer it names is verified.
        std::string customer_id;
        std::int64_t token_expires_at_s = 0;
        if (!state_.options.webchat_token_secret.empty()) {
            const std::string_view token = query_param(request.target(), "token");
            auto claims =
                token.empty()
                    ? core::Result<WebchatClaims>(make_error_code(WebchatTokenErrc::malformed))
                    : verify_webchat_token(state_.options.webchat_token_secret, token,
                                           unix_seconds());
            if (!claims) {
                const std::string reason = token.empty() ? "missing" : token_reason(claims);
                state_.metrics.add(kTokensRefused, "reason=\"" + reason + "\"");
                state_.log.info("websocket refused: web chat token",
                                {{"remote", remote_}, {"reason", reason}});
                send(make_text(http::status::unauthorized, request,
                               "a valid web chat token is required\n"),
                     false);
                return;
            }
            customer_id = std::move(claims->customer_id);
            token_expires_at_s = claims->expires_at_s;
        }

        // Beast's websocket timeouts take over from the HTTP idle timer.
        upgraded_ = true;
        stream_.expires_never();
        auto session = std::make_shared<WsSession>(state_, std::move(stream_), remote_,
                                                   std::move(customer_id), token_expires_at_s);
        session->run(std::move(request));
    }

    // Answers with an error and closes, after letting the client finish sending.
    void reject(http::status status, std::string body) {
        state_.log.debug("http request refused",
                         {{"remote", remote_}, {"status", static_cast<int>(status)}});
        Response response =
            make_response(status, 11, false, "text/plain; charset=utf-8", std::move(body));
        send(std::move(response), true);
    }

    void send(Response response, bool linger) {
        // A fresh deadline: a webhook answer may come well after the read's deadline was set.
        stream_.expires_after(state_.options.http_idle_timeout);
        auto held = std::make_shared<Response>(std::move(response));
        http::async_write(
            stream_, *held,
            [self = shared_from_this(), held, linger](beast::error_code ec, std::size_t) {
                self->on_write(ec, held->need_eof(), linger);
            });
    }

    void on_write(beast::error_code ec, bool close, bool linger) {
        if (ec) {
            state_.log.debug("http write failed", {{"remote", remote_}, {"error", ec.message()}});
            return;
        }
        boost::system::error_code ignored;
        if (linger) {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            lingered_ = 0;
            stream_.expires_after(kLingerTime);
            do_drain();
            return;
        }
        if (close) {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            return;
        }
        do_read();
    }

    void do_drain() {
        stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](
                                                          beast::error_code ec, std::size_t bytes) {
            self->lingered_ += bytes;
            if (!ec && self->lingered_ < kLingerBytes) {
                self->do_drain();
            }
        });
    }

    static std::string token_reason(const core::Result<WebchatClaims>& claims) {
        switch (static_cast<WebchatTokenErrc>(claims.error().value())) {
            case WebchatTokenErrc::malformed:
                return "malformed";
            case WebchatTokenErrc::bad_signature:
                return "bad_signature";
            case WebchatTokenErrc::expired:
                return "expired";
        }
        return "malformed";
    }

    GatewayState& state_;
    std::string remote_;
    beast::tcp_stream stream_;
    asio::any_io_executor executor_;
    asio::steady_timer webhook_timer_;
    std::shared_ptr<WebhookJob> job_;  // the webhook request being answered, if any
    std::string webhook_channel_;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::array<char, 4096> drain_{};
    std::size_t lingered_ = 0;
    bool upgraded_ = false;
};

}  // namespace

// ---- GatewayState ----------------------------------------------------------------------------

void Metrics::add(std::string_view family, std::string labels, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    auto it = counters_.find(family);
    if (it == counters_.end()) {
        it = counters_.emplace(std::string(family), std::map<std::string, std::uint64_t>{}).first;
    }
    it->second[std::move(labels)] += n;
}

std::map<std::string, std::map<std::string, std::uint64_t>, std::less<>> Metrics::snapshot() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

std::string Metrics::label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string channel_label(std::string_view channel) {
    return "channel=\"" + Metrics::label_value(channel) + "\"";
}

std::string reason_labels(std::string_view channel, std::string_view reason) {
    return channel_label(channel) + ",reason=\"" + Metrics::label_value(reason) + "\"";
}

GatewayState::GatewayState(GatewayOptions opts, core::Producer& prod)
    : options(std::move(opts)),
      producer(prod),
      limiter(options.conversation_rate, options.conversation_burst,
              options.rate_limit_conversations),
      ioc(static_cast<int>(options.io_threads)) {}

bool GatewayState::overloaded() const {
    return producer.in_flight() >= options.max_in_flight;
}

const ChannelRoute* GatewayState::find_channel(std::string_view path) const {
    for (const ChannelRoute& route : channels) {
        if (route.adapter->path() == path) {
            return &route;
        }
    }
    return nullptr;
}

void GatewayState::add_connection(Connection* connection, std::weak_ptr<Connection> weak) {
    std::lock_guard lock(connections_mutex_);
    connections_[connection] = std::move(weak);
}

void GatewayState::remove_connection(Connection* connection) {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(connection);
    if (connections_.empty()) {
        connections_cv_.notify_all();
    }
}

std::size_t GatewayState::connection_count() const {
    std::lock_guard lock(connections_mutex_);
    return connections_.size();
}

std::vector<std::shared_ptr<Connection>> GatewayState::live_connections() const {
    std::vector<std::shared_ptr<Connection>> live;
    std::lock_guard lock(connections_mutex_);
    for (const auto& [raw, weak] : connections_) {
        if (auto connection = weak.lock()) {
            live.push_back(std::move(connection));
        }
    }
    return live;
}

bool GatewayState::wait_for_no_connections(std::chrono::milliseconds timeout) {
    std::unique_lock lock(connections_mutex_);
    return connections_cv_.wait_for(lock, timeout, [this] { return connections_.empty(); });
}

void GatewayState::attach(const std::string& conversation,
                          const std::shared_ptr<WsSession>& session) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(conversations_mutex_);
    ConversationEntry& entry = conversations_[conversation];
    entry.sockets.emplace_back(session.get(), session);
    if (now - last_sweep_ > kSweepInterval) {
        sweep_locked(now);
    }
}

void GatewayState::detach(const std::string& conversation, const WsSession* session) {
    std::lock_guard lock(conversations_mutex_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) {
        return;
    }
    auto& sockets = it->second.sockets;
    std::erase_if(sockets, [session](const auto& s) { return s.first == session; });
    it->second.seen_by.erase(session);
    if (sockets.empty()) {
        it->second.idle_since = std::chrono::steady_clock::now();
    }
}

// Forgets conversations that have had no socket for kIdleRetention. Uses expired() only:
// locking a weak_ptr here could run a session's destructor, which calls detach().
void GatewayState::sweep_locked(std::chrono::steady_clock::time_point now) {
    last_sweep_ = now;
    std::erase_if(conversations_, [now](const auto& item) {
        const ConversationEntry& entry = item.second;
        const bool idle = std::all_of(entry.sockets.begin(), entry.sockets.end(),
                                      [](const auto& s) { return s.second.expired(); });
        return idle && now - entry.idle_since > kIdleRetention;
    });
}

bool GatewayState::deliver(const core::OutboundMessage& message) {
    if (!running.load()) {
        log.warn("reply dropped: gateway not running", {{"conversation", message.conversation}});
        return false;
    }

    // Find the sockets and check the reply against those already shown, in one critical
    // section; the shared_ptrs are released after it (a destructor may call detach()).
    std::vector<std::shared_ptr<WsSession>> targets;
    bool duplicate = false;
    {
        std::lock_guard lock(conversations_mutex_);
        auto it = conversations_.find(message.conversation);
        if (it != conversations_.end()) {
            ConversationEntry& entry = it->second;
            const std::string key =
                message.in_reply_to.empty()
                    ? std::string()
                    : message.in_reply_to + "#" + std::to_string(message.sequence);
            bool any_socket = false;
            for (const auto& socket : entry.sockets) {
                auto session = socket.second.lock();
                if (!session) {
                    continue;
                }
                any_socket = true;
                // Each socket sees each reply once.
                if (!key.empty() && !entry.seen_by[socket.first].insert(key).second) {
                    continue;
                }
                targets.push_back(std::move(session));
            }
            duplicate = any_socket && targets.empty();
            if (!key.empty() && !targets.empty()) {
                entry.recent.push_back(key);
                if (entry.recent.size() > kRememberedReplies) {
                    for (auto& [socket, seen] : entry.seen_by) {
                        seen.erase(entry.recent.front());
                    }
                    entry.recent.pop_front();
                }
            }
        }
    }

    if (duplicate) {
        log.debug("duplicate reply skipped", {{"conversation", message.conversation},
                                              {"in_reply_to", message.in_reply_to},
                                              {"sequence", message.sequence}});
        return true;
    }
    if (targets.empty()) {
        // TODO(teller): no offline delivery for the web chat yet; this reply is lost.
        log.warn("reply dropped: no socket holds the conversation here",
                 {{"conversation", message.conversation},
                  {"in_reply_to", message.in_reply_to},
                  {"trace_id", message.trace_id}});
        return false;
    }

    auto frame = std::make_shared<const std::string>(make_reply(message));
    for (const auto& session : targets) {
        session->post_frame(frame);
    }
    log.debug("reply delivered", {{"conversation", message.conversation},
                                  {"sockets", targets.size()},
                                  {"trace_id", message.trace_id}});
    return true;
}

bool GatewayState::is_connected(std::string_view conversation) const {
    std::lock_guard lock(conversations_mutex_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) {
        return false;
    }
    return std::any_of(it->second.sockets.begin(), it->second.sockets.end(),
                       [](const auto& s) { return !s.second.expired(); });
}

bool GatewayState::ready() const {
    if (!running.load()) {
        return false;
    }
    if (!readiness) {
        return true;
    }
    try {
        return readiness();
    } catch (const std::exception& e) {
        log.warn("readiness hook threw", {{"error", e.what()}});
        return false;
    } catch (...) {
        return false;
    }
}

}  // namespace detail

// ---- Gateway -----------------------------------------------------------------------------------

struct Gateway::Impl {
    Impl(GatewayOptions options, core::Producer& producer) : state(std::move(options), producer) {}

    void do_accept() {
        acceptor->async_accept(asio::make_strand(state.ioc),
                               [this](const boost::system::error_code& ec, tcp::socket socket) {
                                   on_accept(ec, std::move(socket));
                               });
    }

    // TODO(teller): there is no cap on concurrent connections or sockets per conversation (messages
    // are bounded by max_in_flight and the per-conversation rate); a flood of idle connections
    // can exhaust descriptors.
    void on_accept(const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) {
            return;
        }
        if (ec) {
            // Out of descriptors and the like: pause instead of spinning, then go on.
            state.log.warn("accept failed", {{"error", ec.message()}});
            retry_timer->expires_after(std::chrono::milliseconds(100));
            retry_timer->async_wait([this](const boost::system::error_code& wait_ec) {
                if (!wait_ec && acceptor->is_open()) {
                    do_accept();
                }
            });
            return;
        }
        try {
            // Chat frames are small and interactive: do not let Nagle hold them back.
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<detail::HttpSession>(state, std::move(socket))->run();
        } catch (const std::exception& e) {
            state.log.warn("connection setup failed", {{"error", e.what()}});
        }
        do_accept();
    }

    void run_io() {
        // Handlers catch their own exceptions; this is the last line, never the plan.
        while (true) {
            try {
                state.ioc.run();
                return;
            } catch (const std::exception& e) {
                state.log.error("exception escaped an io handler", {{"error", e.what()}});
            } catch (...) {
                state.log.error("unknown exception escaped an io handler");
            }
        }
    }

    detail::GatewayState state;
    // Destroyed before `state`, whose io_context they belong to.
    std::optional<tcp::acceptor> acceptor;
    std::optional<asio::steady_timer> retry_timer;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::vector<std::thread> threads;
    std::uint16_t port = 0;
    bool started = false;
    bool stopped = false;
};

Gateway::Gateway(GatewayOptions options, core::Producer& producer) {
    if (options.io_threads == 0) {
        throw core::Error("gateway: io_threads must be at least 1");
    }
    if (options.max_ws_message_bytes == 0 || options.max_http_body_bytes == 0 ||
        options.max_queued_frames == 0) {
        throw core::Error("gateway: message, body and queue limits must be positive");
    }
    if (options.max_ws_discard_bytes < options.max_ws_message_bytes) {
        throw core::Error("gateway: max_ws_discard_bytes must be at least max_ws_message_bytes");
    }
    if (options.max_in_flight == 0 || options.webhook_threads == 0 ||
        options.webhook_timeout.count() <= 0 || options.webhook_dedupe_ttl.count() <= 0) {
        throw core::Error(
            "gateway: max_in_flight, webhook_threads, webhook_timeout and webhook_dedupe_ttl "
            "must be positive");
    }
    if (!options.agent_token.empty() &&
        (options.agent_token.size() < 16 ||
         options.agent_token.find_first_of(" \t\r\n") != std::string::npos)) {
        throw core::Error(
            "agent_token (TELLER_AGENT_TOKEN): must be at least 16 characters without spaces");
    }
    while (options.public_base_url.ends_with('/')) {
        options.public_base_url.pop_back();
    }
    if (options.instance_id.empty()) {
        options.instance_id = "gw-" + detail::random_hex(6);
    }
    impl_ = std::make_unique<Impl>(std::move(options), producer);
}

Gateway::~Gateway() {
    stop();
}

void Gateway::set_readiness(std::function<bool()> ready) {
    impl_->state.readiness = std::move(ready);
}

void Gateway::add_channel(std::shared_ptr<ChannelAdapter> adapter, std::string public_base_url) {
    detail::GatewayState& state = impl_->state;
    if (impl_->started) {
        throw core::Error("gateway: add_channel() after start()");
    }
    if (!adapter) {
        throw core::Error("gateway: add_channel() without an adapter");
    }
    const std::string path(adapter->path());
    const std::string channel(adapter->channel());
    if (!path.starts_with('/') || path.find_first_of("?#") != std::string::npos) {
        throw core::Error("gateway: channel " + channel + ": path \"" + path +
                          "\" must start with '/' and hold no query");
    }
    if (path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics" ||
        path == kWebSocketPath || path == kAgentPagePath || path == kAgentSocketPath ||
        state.find_channel(path) != nullptr) {
        throw core::Error("gateway: channel " + channel + ": path " + path +
                          " is already served by another route");
    }
    while (public_base_url.ends_with('/')) {
        public_base_url.pop_back();
    }
    state.channels.push_back({std::move(adapter), std::move(public_base_url)});
}

void Gateway::set_agent_desk(AgentDesk& desk) {
    if (impl_->started) {
        throw core::Error("gateway: set_agent_desk() after start()");
    }
    impl_->state.agent_desk = &desk;
}

void Gateway::set_channel_context(ChannelContext context) {
    if (impl_->started) {
        throw core::Error("gateway: set_channel_context() after start()");
    }
    if (context.store == nullptr) {
        throw core::Error("gateway: the channel context needs a session store");
    }
    impl_->state.context = context;
}

std::uint16_t Gateway::start() {
    Impl& impl = *impl_;
    if (impl.started) {
        throw core::Error("gateway: already started");
    }
    const GatewayOptions& options = impl.state.options;
    const std::string where = options.host + ":" + std::to_string(options.port);
    if (!impl.state.channels.empty() && impl.state.context.store == nullptr) {
        throw core::Error(
            "gateway: channels were added but no session store was set (set_channel_context); "
            "webhooks cannot be deduped without one");
    }
    if (!options.agent_token.empty() && impl.state.agent_desk == nullptr) {
        throw core::Error("gateway: an agent token is set but no agent desk (set_agent_desk)");
    }

    // Resolve, bind and listen; every failure names the address.
    boost::system::error_code ec;
    tcp::resolver resolver(impl.state.ioc);
    auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) {
        throw core::Error("gateway: cannot resolve " + where + ": " + ec.message());
    }
    const tcp::endpoint endpoint = *endpoints.begin();
    impl.acceptor.emplace(asio::make_strand(impl.state.ioc));
    impl.retry_timer.emplace(impl.acceptor->get_executor());
    if (impl.acceptor->open(endpoint.protocol(), ec);
        !ec && (impl.acceptor->set_option(asio::socket_base::reuse_address(true), ec), !ec) &&
        (impl.acceptor->bind(endpoint, ec), !ec)) {
        impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        impl.acceptor.reset();
        throw core::Error("gateway: cannot listen on " + where + ": " + ec.message(), true);
    }
    impl.port = impl.acceptor->local_endpoint().port();

    // Where providers reach each channel, now that the port is known.
    std::string base = options.public_base_url;
    if (base.empty()) {
        const bool ipv6 = options.host.find(':') != std::string::npos;
        base = "http://" + (ipv6 ? "[" + options.host + "]" : options.host) + ":" +
               std::to_string(impl.port);
    }
    for (detail::ChannelRoute& route : impl.state.channels) {
        if (route.public_base_url.empty()) {
            route.public_base_url = base;
        }
    }
    impl.state.webhook_pool.emplace(options.webhook_threads);

    // Run.
    impl.started = true;
    impl.state.running = true;
    {
        std::lock_guard lock(impl.state.lifeline->mutex);
        impl.state.lifeline->open = true;
    }
    impl.work.emplace(impl.state.ioc.get_executor());
    asio::dispatch(impl.acceptor->get_executor(), [&impl] { impl.do_accept(); });
    for (std::size_t i = 0; i < options.io_threads; ++i) {
        impl.threads.emplace_back([&impl] { impl.run_io(); });
    }
    impl.state.log.info(
        "gateway listening",
        {{"host", options.host},
         {"port", impl.port},
         {"instance", options.instance_id},
         {"io_threads", options.io_threads},
         {"channels", impl.state.channels.size()},
         {"webchat_auth", options.webchat_token_secret.empty() ? "anonymous" : "signed"},
         {"agent_desk", options.agent_token.empty() ? "off" : "on"}});
    return impl.port;
}

void Gateway::stop() {
    Impl& impl = *impl_;
    if (!impl.started || impl.stopped) {
        return;
    }
    impl.stopped = true;
    impl.state.running = false;
    {
        std::lock_guard lock(impl.state.lifeline->mutex);
        impl.state.lifeline->open = false;
    }

    // Stop accepting, ask every connection to close, give them a moment.
    asio::post(impl.acceptor->get_executor(), [&impl] {
        boost::system::error_code ignored;
        impl.acceptor->close(ignored);
        impl.retry_timer->cancel();
    });
    for (const auto& connection : impl.state.live_connections()) {
        connection->shutdown();
    }
    const bool drained = impl.state.wait_for_no_connections(detail::kStopGrace);

    // Webhook work still queued runs to its end (its answers go nowhere once sockets closed).
    impl.state.webhook_pool->join();

    // Then stop the loop; handlers still queued are destroyed with the io_context.
    impl.work.reset();
    impl.state.ioc.stop();
    for (std::thread& thread : impl.threads) {
        thread.join();
    }
    impl.threads.clear();
    impl.state.log.info("gateway stopped", {{"instance", impl.state.options.instance_id},
                                            {"drained", drained ? "yes" : "no"}});
}

bool Gateway::deliver(const core::OutboundMessage& message) {
    try {
        return impl_->state.deliver(message);
    } catch (const std::exception& e) {
        impl_->state.log.warn("reply delivery failed",
                              {{"conversation", message.conversation}, {"error", e.what()}});
        return false;
    }
}

bool Gateway::is_connected(std::string_view conversation) const {
    return impl_->state.is_connected(conversation);
}

std::size_t Gateway::connection_count() const {
    return impl_->state.connection_count();
}

std::string Gateway::metrics_text() const {
    return detail::render_metrics(impl_->state);
}

const std::string& Gateway::instance_id() const noexcept {
    return impl_->state.options.instance_id;
}

std::uint16_t Gateway::port() const noexcept {
    return impl_->port;
}

}  // namespace teller::channels
