// The Redis SessionStore: one hiredis connection behind a mutex, reconnected after errors.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "redis_scripts.hpp"
#include "redis_url.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"

namespace teller::core {
namespace {

constexpr std::string_view kSessionPrefix = "teller:session:";
constexpr std::string_view kSeenPrefix = "teller:seen:";
constexpr std::string_view kValuePrefix = "teller:value:";

struct ContextFree {
    void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyFree {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

/// One Redis command; arguments are binary-safe.
using Command = std::vector<std::string_view>;

/// A failure in Teller's terms.
struct Fault {
    Errc code = Errc::store_unavailable;
    std::string message;
    bool timed_out = false;
};

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes) {
    for (std::string_view prefix : prefixes) {
        if (text.starts_with(prefix)) {
            return true;
        }
    }
    return false;
}

// The one place where hiredis's error space becomes Teller's. `context` failed when `reply` is
// null (its err/errstr say why; `saved_errno` is errno right after the failing call); otherwise
// `reply` is an error reply or a reply of a type the caller did not expect.
Fault translate(const redisContext* context, const redisReply* reply, int saved_errno) {
    if (reply == nullptr) {
        if (context == nullptr) {
            return {Errc::store_unavailable, "cannot allocate a hiredis context", false};
        }
        std::string detail = context->errstr;
        switch (context->err) {
            case REDIS_ERR_IO: {
                bool timed_out = saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                                 saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS;
                return {Errc::store_unavailable,
                        (timed_out ? "timed out: " : "I/O error: ") + detail, timed_out};
            }
            case REDIS_ERR_EOF:
                return {Errc::store_unavailable, "connection closed by the server: " + detail,
                        false};
            case REDIS_ERR_PROTOCOL:
                return {Errc::store_protocol, "protocol error: " + detail, false};
            case REDIS_ERR_OOM:
                return {Errc::store_unavailable, "out of memory in hiredis: " + detail, false};
            default:
                return {Errc::store_unavailable, detail, false};
        }
    }
    if (reply->type != REDIS_REPLY_ERROR) {
        return {Errc::store_protocol,
                "unexpected reply of hiredis type " + std::to_string(reply->type), false};
    }
    std::string text(reply->str, reply->len);
    if (starts_with_any(text, {"NOAUTH", "WRONGPASS", "ERR invalid password", "ERR AUTH",
                               "ERR Client sent AUTH", "NOPERM"})) {
        return {Errc::store_unavailable, "authentication failed: " + text, false};
    }
    if (starts_with_any(text, {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN",
                               "READONLY", "OOM"})) {
        return {Errc::store_unavailable, "Redis cannot serve now: " + text, false};
    }
    return {Errc::store_protocol, "Redis error: " + text, false};
}

// Blocks SIGPIPE in this thread while hiredis writes to a socket whose peer may be gone (it
// uses write(), which would otherwise kill the process), and discards the SIGPIPE it caused.
class SigpipeBlock {
public:
    SigpipeBlock() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    }

    ~SigpipeBlock() {
        if (!was_pending_) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                timespec zero{};
                sigtimedwait(&pipe_, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }

    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
    sigset_t pipe_;
    sigset_t previous_;
    bool was_pending_ = false;
};

// Lower-case hex SHA-1, as EVALSHA names scripts.
std::string sha1_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
        throw Error("SHA-1 of the compare-and-set script failed");
    }
    constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0xf];
    }
    return hex;
}

timeval to_timeval(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    return tv;
}

class RedisSessionStore final : public SessionStore {
public:
    RedisSessionStore(detail::RedisUrl url, std::chrono::milliseconds timeout)
        : url_(std::move(url)),
          timeout_(timeout),
          cas_sha_(sha1_hex(detail::kCompareAndSetScript)),
          log_("store") {
        std::random_device random;
        std::uint64_t prefix = (static_cast<std::uint64_t>(random()) << 32) ^ random();
        token_prefix_ = std::to_string(prefix) + ":";
    }

    Result<std::optional<StoredSession>> load(std::string_view conversation) override {
        std::lock_guard lock(mutex_);
        std::string key = session_key(conversation);
        Command command{"HMGET", key, "version", "data"};
        Exchange exchange = run_retrying({&command, 1});
        if (exchange.fault) {
            return fail(*exchange.fault);
        }
        std::optional<StoredSession> session;
        if (auto fault = parse_session(exchange.replies[0].get(), session)) {
            return fail(*fault);
        }
        mark_healthy();
        return session;
    }

    Result<std::vector<std::optional<StoredSession>>> load_many(
        std::span<const std::string> conversations) override {
        std::vector<std::optional<StoredSession>> sessions(conversations.size());
        if (conversations.empty()) {
            return sessions;
        }
        std::lock_guard lock(mutex_);

        // One HMGET per conversation, sent as one pipeline.
        std::vector<std::string> keys;
        keys.reserve(conversations.size());
        std::vector<Command> commands;
        commands.reserve(conversations.size());
        for (const std::string& conversation : conversations) {
            keys.push_back(session_key(conversation));
            commands.push_back({"HMGET", keys.back(), "version", "data"});
        }
        Exchange exchange = run_retrying(commands);
        if (exchange.fault) {
            return fail(*exchange.fault);
        }
        for (std::size_t i = 0; i < sessions.size(); ++i) {
            if (auto fault = parse_session(exchange.replies[i].get(), sessions[i])) {
                return fail(*fault);
            }
        }
        mark_healthy();
        return sessions;
    }

    Result<bool> compare_and_set(std::string_view conversation, std::int64_t expected_version,
                                 std::string_view data, std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        std::string key = session_key(conversation);
        std::string expected = std::to_string(expected_version);
        std::string ttl_text = std::to_string(ttl.count());
        std::string token = next_token();

        // EVALSHA first; EVAL when the server does not know the script (NOSCRIPT: nothing ran).
        // The token makes a resend after a lost reply safe, so both may be retried once.
        Command command{"EVALSHA", cas_sha_, "1", key, expected, data, ttl_text, token};
        Exchange exchange = run_retrying({&command, 1});
        if (!exchange.fault && is_noscript(exchange.replies[0].get())) {
            command[0] = "EVAL";
            command[1] = detail::kCompareAndSetScript;
            exchange = run_retrying({&command, 1});
        }
        if (exchange.fault) {
            return bool_error(fail(*exchange.fault));
        }
        const redisReply* reply = exchange.replies[0].get();
        if (reply->type != REDIS_REPLY_INTEGER || (reply->integer != 0 && reply->integer != 1)) {
            return bool_error(fail(translate(context_.get(), reply, 0)));
        }
        mark_healthy();
        return reply->integer == 1;
    }

    Result<std::vector<bool>> compare_and_set_many(std::span<const SessionWrite> writes,
                                                   std::chrono::seconds ttl) override {
        std::vector<bool> stored(writes.size());
        if (writes.empty()) {
            return stored;
        }
        std::lock_guard lock(mutex_);

        // One EVALSHA per write, as one pipeline; the arguments live in `texts` (a deque: the
        // commands hold views into it).
        std::deque<std::string> texts;
        texts.push_back(std::to_string(ttl.count()));
        const std::string& ttl_text = texts.front();
        std::vector<Command> commands;
        commands.reserve(writes.size());
        std::unordered_set<std::string_view> conversations;
        for (const SessionWrite& write : writes) {
            conversations.insert(write.conversation);
            const std::string& key = texts.emplace_back(session_key(write.conversation));
            const std::string& expected =
                texts.emplace_back(std::to_string(write.expected_version));
            const std::string& token = texts.emplace_back(next_token());
            commands.push_back(
                {"EVALSHA", cas_sha_, "1", key, expected, write.data, ttl_text, token});
        }

        // A resend is safe only when no conversation appears twice: a landed later write would
        // hide the token of an earlier one and turn its resend into a false conflict.
        bool distinct = conversations.size() == writes.size();
        Exchange exchange = distinct ? run_retrying(commands) : exchange_once(commands);
        if (exchange.fault) {
            return Result<std::vector<bool>>(fail(*exchange.fault));
        }

        // Writes the server did not know the script for did not run: send them again as EVAL.
        std::vector<std::size_t> unknown;
        for (std::size_t i = 0; i < commands.size(); ++i) {
            if (is_noscript(exchange.replies[i].get())) {
                unknown.push_back(i);
            }
        }
        if (!unknown.empty()) {
            std::vector<Command> evals;
            for (std::size_t i : unknown) {
                evals.push_back(commands[i]);
                evals.back()[0] = "EVAL";
                evals.back()[1] = detail::kCompareAndSetScript;
            }
            Exchange again = distinct ? run_retrying(evals) : exchange_once(evals);
            if (again.fault) {
                return Result<std::vector<bool>>(fail(*again.fault));
            }
            for (std::size_t j = 0; j < unknown.size(); ++j) {
                exchange.replies[unknown[j]] = std::move(again.replies[j]);
            }
        }

        for (std::size_t i = 0; i < commands.size(); ++i) {
            const redisReply* reply = exchange.replies[i].get();
            if (reply->type != REDIS_REPLY_INTEGER ||
                (reply->integer != 0 && reply->integer != 1)) {
                return Result<std::vector<bool>>(fail(translate(context_.get(), reply, 0)));
            }
            stored[i] = reply->integer == 1;
        }
        mark_healthy();
        return stored;
    }

    Result<bool> mark_seen(std::string_view key, std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        std::string seen_key = std::string(kSeenPrefix) + std::string(key);
        std::string ttl_text = std::to_string(ttl.count());

        // The value is a token unique to this attempt. After a lost reply the SET may have
        // landed, so it is resent with a GET, and the key counts as ours when it holds our
        // token: the message is not dropped as a duplicate of itself. A later call for the same
        // key reuses the token of an attempt that failed that way, for the same reason.
        auto uncertain = uncertain_marks_.find(seen_key);
        bool was_uncertain = uncertain != uncertain_marks_.end();
        std::string token = was_uncertain ? uncertain->second : next_token();
        Command set{"SET", seen_key, token, "NX"};
        if (ttl.count() > 0) {
            set.insert(set.end(), {"EX", ttl_text});
        }
        std::vector<Command> commands{set};
        if (was_uncertain) {
            commands.push_back({"GET", seen_key});
        }
        Exchange exchange = exchange_once(commands);
        bool maybe_applied = exchange.maybe_applied;
        if (exchange.fault && exchange.retry_may_help) {
            log_.debug("redis mark_seen resent after a lost reply",
                       {{"error", exchange.fault->message}});
            commands = {set, Command{"GET", seen_key}};
            exchange = exchange_once(commands);
            maybe_applied = maybe_applied || exchange.maybe_applied;
        }
        if (exchange.fault) {
            if (maybe_applied) {
                remember_uncertain(seen_key, token);
            }
            return bool_error(fail(*exchange.fault));
        }
        uncertain_marks_.erase(seen_key);

        const redisReply* reply = exchange.replies[0].get();
        if (reply->type == REDIS_REPLY_STATUS) {
            mark_healthy();
            return true;
        }
        if (reply->type != REDIS_REPLY_NIL) {
            return bool_error(fail(translate(context_.get(), reply, 0)));
        }
        mark_healthy();
        if (commands.size() == 2) {
            const redisReply* got = exchange.replies[1].get();
            return got->type == REDIS_REPLY_STRING && std::string_view(got->str, got->len) == token;
        }
        return false;
    }

    Result<void> forget_seen(std::string_view key) override {
        std::lock_guard lock(mutex_);
        std::string seen_key = std::string(kSeenPrefix) + std::string(key);
        uncertain_marks_.erase(seen_key);
        Command command{"DEL", seen_key};
        Exchange exchange = run_retrying({&command, 1});
        if (exchange.fault) {
            return fail(*exchange.fault);
        }
        const redisReply* reply = exchange.replies[0].get();
        if (reply->type != REDIS_REPLY_INTEGER) {
            return fail(translate(context_.get(), reply, 0));
        }
        mark_healthy();
        return {};
    }

    Result<void> put_value(std::string_view key, std::string_view value,
                           std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        // Command holds views: the strings it points at must outlive the exchange.
        std::string stored_key = value_key(key);
        std::string ttl_text = std::to_string(ttl.count());
        Command command{"SET", stored_key, value};
        if (ttl.count() > 0) {
            command.insert(command.end(), {"EX", ttl_text});
        }
        Exchange exchange = run_retrying({&command, 1});
        if (exchange.fault) {
            return fail(*exchange.fault);
        }
        const redisReply* reply = exchange.replies[0].get();
        if (reply->type != REDIS_REPLY_STATUS) {
            return fail(translate(context_.get(), reply, 0));
        }
        mark_healthy();
        return {};
    }

    Result<std::optional<std::string>> get_value(std::string_view key) override {
        std::lock_guard lock(mutex_);
        std::string stored_key = value_key(key);
        Command command{"GET", stored_key};
        Exchange exchange = run_retrying({&command, 1});
        if (exchange.fault) {
            return Result<std::optional<std::string>>(boost::system::in_place_error,
                                                      fail(*exchange.fault));
        }
        const redisReply* reply = exchange.replies[0].get();
        if (reply->type == REDIS_REPLY_NIL) {
            mark_healthy();
            return std::optional<std::string>{};
        }
        if (reply->type != REDIS_REPLY_STRING) {
            return Result<std::optional<std::string>>(boost::system::in_place_error,
                                                      fail(translate(context_.get(), reply, 0)));
        }
        mark_healthy();
        return std::optional<std::string>{std::string(reply->str, reply->len)};
    }

    Result<void> erase_value(std::string_view key) override {
        std::lock_guard lock(mutex_);
        std::string stored_key = value_key(key);
        Command command{"DEL", stored_key};
        Exchange exchange = run_retrying({&command, 1});
        if (exchange.fault) {
            return fail(*exchange.fault);
        }
        if (exchange.replies[0]->type != REDIS_REPLY_INTEGER) {
            return fail(translate(context_.get(), exchange.replies[0].get(), 0));
        }
        mark_healthy();
        return {};
    }

    std::string describe() const override { return "redis " + url_.endpoint(); }

    std::string last_error() const override {
        std::lock_guard lock(mutex_);
        return last_error_;
    }

private:
    /// The replies to a batch of commands, or why there are none.
    struct Exchange {
        std::vector<ReplyPtr> replies;
        std::optional<Fault> fault;
        bool retry_may_help = false;  ///< a connection that had worked broke: resending may work
        bool maybe_applied = false;   ///< the commands were sent; Redis may have run them
    };

    static std::string value_key(std::string_view key) {
        return std::string(kValuePrefix) + std::string(key);
    }

    std::string session_key(std::string_view conversation) const {
        return std::string(kSessionPrefix) + std::string(conversation);
    }

    // Keeps the token of a mark_seen whose outcome is unknown, for the next call on that key.
    void remember_uncertain(const std::string& seen_key, const std::string& token) {
        constexpr std::size_t kMaxUncertain = 10000;
        if (uncertain_marks_.size() >= kMaxUncertain) {
            log_.warn("redis mark_seen: too many marks of unknown outcome, forgetting them",
                      {{"count", uncertain_marks_.size()}});
            uncertain_marks_.clear();
        }
        uncertain_marks_.insert_or_assign(seen_key, token);
    }

    std::string next_token() { return token_prefix_ + std::to_string(++token_counter_); }

    // result<bool> cannot be built implicitly from an error_code (bool could be, too).
    static Result<bool> bool_error(boost::system::error_code error) {
        return Result<bool>(boost::system::in_place_error, error);
    }

    static bool is_noscript(const redisReply* reply) {
        return reply->type == REDIS_REPLY_ERROR &&
               std::string_view(reply->str, reply->len).starts_with("NOSCRIPT");
    }

    // Reads an HMGET version data reply into `session`; a Fault when the reply makes no sense.
    static std::optional<Fault> parse_session(const redisReply* reply,
                                              std::optional<StoredSession>& session) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            return translate(nullptr, reply, 0);
        }
        const redisReply* version = reply->element[0];
        const redisReply* data = reply->element[1];
        if (version->type == REDIS_REPLY_NIL && data->type == REDIS_REPLY_NIL) {
            session.reset();
            return std::nullopt;
        }
        if (version->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING) {
            return Fault{Errc::store_protocol, "session hash lacks its version or data", false};
        }
        StoredSession parsed;
        auto [end, ec] = std::from_chars(version->str, version->str + version->len, parsed.version);
        if (ec != std::errc() || end != version->str + version->len) {
            return Fault{Errc::store_protocol, "session version is not an integer", false};
        }
        parsed.data.assign(data->str, data->len);
        session = std::move(parsed);
        return std::nullopt;
    }

    // Opens the connection and authenticates and selects the database; a Fault if any fails.
    // TODO(teller): a host name is resolved by getaddrinfo inside hiredis, which the timeout
    // does not bound; a slow resolver can stall a call beyond it (IP addresses are immediate).
    std::optional<Fault> connect() {
        timeval tv = to_timeval(timeout_);
        errno = 0;
        ContextPtr context(redisConnectWithTimeout(url_.host.c_str(), url_.port, tv));
        if (!context || context->err) {
            Fault fault = translate(context.get(), nullptr, errno);
            fault.message = "connect failed: " + fault.message;
            return fault;
        }
        if (redisSetTimeout(context.get(), tv) != REDIS_OK) {
            return translate(context.get(), nullptr, errno);
        }
        context_ = std::move(context);

        // AUTH and SELECT, pipelined; their replies must be +OK.
        std::string db = std::to_string(url_.db);
        std::vector<Command> setup;
        if (!url_.password.empty()) {
            setup.push_back(url_.user.empty() ? Command{"AUTH", url_.password}
                                              : Command{"AUTH", url_.user, url_.password});
        }
        if (url_.db != 0) {
            setup.push_back({"SELECT", db});
        }
        if (setup.empty()) {
            return std::nullopt;
        }
        Exchange exchange = exchange_on_connection(setup, false);
        if (exchange.fault) {
            return exchange.fault;
        }
        for (std::size_t i = 0; i < setup.size(); ++i) {
            const redisReply* reply = exchange.replies[i].get();
            if (reply->type != REDIS_REPLY_STATUS) {
                Fault fault = translate(context_.get(), reply, 0);
                fault.message = std::string(setup[i][0]) + " failed: " + fault.message;
                context_.reset();
                return fault;
            }
        }
        return std::nullopt;
    }

    // Sends `commands` as one pipeline on the open connection and reads a reply for each. Any
    // connection error closes the connection: the next call reconnects.
    Exchange exchange_on_connection(std::span<const Command> commands, bool reused) {
        SigpipeBlock no_sigpipe;
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const Command& command : commands) {
            argv.clear();
            lengths.clear();
            for (std::string_view arg : command) {
                argv.push_back(arg.data());
                lengths.push_back(arg.size());
            }
            if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                                       lengths.data()) != REDIS_OK) {
                Fault fault = translate(context_.get(), nullptr, errno);
                context_.reset();
                return {{}, fault, false};
            }
        }
        Exchange exchange;
        exchange.replies.reserve(commands.size());
        for (std::size_t i = 0; i < commands.size(); ++i) {
            void* raw = nullptr;
            errno = 0;
            if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
                Fault fault = translate(context_.get(), nullptr, errno);
                context_.reset();
                bool retry = reused && !fault.timed_out && fault.code == Errc::store_unavailable;
                return {{}, fault, retry, true};
            }
            exchange.replies.emplace_back(static_cast<redisReply*>(raw));
        }
        return exchange;
    }

    // One attempt: connect if needed, then exchange.
    Exchange exchange_once(std::span<const Command> commands) {
        bool reused = context_ != nullptr;
        if (!context_) {
            if (auto fault = connect()) {
                context_.reset();
                return {{}, fault, false};
            }
        }
        return exchange_on_connection(commands, reused);
    }

    // One attempt, and a second one on a fresh connection when an established connection broke
    // (a Redis restart, an idle connection dropped). Only for commands safe to send twice.
    Exchange run_retrying(std::span<const Command> commands) {
        Exchange exchange = exchange_once(commands);
        if (exchange.fault && exchange.retry_may_help) {
            log_.debug("redis command resent on a new connection",
                       {{"error", exchange.fault->message}});
            exchange = exchange_once(commands);
        }
        return exchange;
    }

    // Records `fault` (log, last_error) and turns it into the caller's error.
    boost::system::error_code fail(const Fault& fault) {
        last_error_ = describe() + ": " + fault.message;
        if (healthy_) {
            log_.warn("redis session store failing",
                      {{"endpoint", url_.endpoint()}, {"error", fault.message}});
            healthy_ = false;
        } else {
            log_.debug("redis session store still failing", {{"error", fault.message}});
        }
        return make_error_code(fault.code);
    }

    void mark_healthy() {
        if (!healthy_) {
            log_.info("redis session store working again", {{"endpoint", url_.endpoint()}});
            healthy_ = true;
        }
    }

    // TODO(teller): one connection behind a mutex serialises every engine thread's Redis round
    // trips; under many worker threads a small connection pool would raise throughput.
    detail::RedisUrl url_;
    std::chrono::milliseconds timeout_;
    std::string cas_sha_;
    Logger log_;
    mutable std::mutex mutex_;
    ContextPtr context_;
    std::string last_error_;
    bool healthy_ = true;
    std::string token_prefix_;
    std::uint64_t token_counter_ = 0;
    std::unordered_map<std::string, std::string> uncertain_marks_;  ///< seen key -> token
};

}  // namespace

std::unique_ptr<SessionStore> make_redis_session_store(const std::string& url,
                                                       std::chrono::milliseconds timeout) {
    if (timeout <= std::chrono::milliseconds::zero()) {
        throw Error("Redis timeout must be positive, got " + std::to_string(timeout.count()) +
                    " ms");
    }
    return std::make_unique<RedisSessionStore>(detail::parse_redis_url(url), timeout);
}

}  // namespace teller::core
