// The WeChat Official Account adapter: signed XML webhooks in (plain-text mode), customer
// service messages out with a cached access token.
#include <algorithm>
#include <chrono>
#include <mutex>

#include <openssl/evp.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "sms_text.hpp"
#include "teller/channels/sms.hpp"
#include "teller/channels/wechat.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace json = boost::json;

namespace {

constexpr std::string_view kChannel = "wechat";
constexpr std::string_view kConversationPrefix = "wechat:";
constexpr std::string_view kTokenPrefix = "wechat:access_token:";
constexpr std::chrono::seconds kOptionsTtl{24 * 3600};

// errcodes meaning "this access token is no longer good": invalid, expired, not the latest.
constexpr std::int64_t kInvalidToken = 40001;
constexpr std::int64_t kInvalidTokenFormat = 40014;
constexpr std::int64_t kExpiredToken = 42001;

const core::Logger& logger() {
    static const core::Logger log("wechat");
    return log;
}

struct Config {
    std::string token;
    std::string app_id;
    std::string app_secret;
    std::string path = "/webhooks/wechat";
    std::string welcome_text =
        "您好，欢迎关注！请直接发送文字消息咨询。Welcome! Send us a text message with your "
        "question.";
    std::string unsupported_text =
        "抱歉，目前仅支持文字消息，请用文字描述您的问题。Sorry, only text messages are "
        "supported for now.";
    std::chrono::seconds refresh_margin{300};
    /// How far a signed request's timestamp may be from now; 0 accepts any age.
    std::chrono::seconds max_request_age{300};
};

[[noreturn]] void bad_setting(std::string_view key, std::string_view why) {
    throw core::Error("channels.wechat." + std::string(key) + ": " + std::string(why));
}

std::string optional_setting(const ChannelSettings& settings, std::string_view key) {
    auto it = settings.find(std::string(key));
    return it == settings.end() ? std::string{} : it->second;
}

std::string required_setting(const ChannelSettings& settings, std::string_view key) {
    std::string value = optional_setting(settings, key);
    if (value.empty()) {
        bad_setting(key, "missing (required)");
    }
    return value;
}

bool is_id_text(std::string_view text, std::size_t max) noexcept {
    return !text.empty() && text.size() <= max && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

Config read_config(const ChannelSettings& settings) {
    Config config;
    if (!optional_setting(settings, "encoding_aes_key").empty()) {
        bad_setting("encoding_aes_key",
                    "encrypted (safe) mode is not supported: set the official account's message "
                    "encryption to plain-text mode and remove this setting");
    }
    config.token = required_setting(settings, "token");
    if (!is_id_text(config.token, 64)) {
        bad_setting("token", "must be 1 to 64 letters, digits, '_' or '-'");
    }
    config.app_id = required_setting(settings, "app_id");
    if (!is_id_text(config.app_id, 64)) {
        bad_setting("app_id", "must be letters and digits (e.g. wx0123...)");
    }
    config.app_secret = required_setting(settings, "app_secret");
    if (std::string path = optional_setting(settings, "path"); !path.empty()) {
        if (path.front() != '/') {
            bad_setting("path", "must start with '/'");
        }
        config.path = path;
    }
    for (auto [key, text] : {std::pair{"welcome_text", &config.welcome_text},
                             std::pair{"unsupported_text", &config.unsupported_text}}) {
        if (std::string value = optional_setting(settings, key); !value.empty()) {
            if (!core::is_valid_utf8(value)) {
                bad_setting(key, "is not valid UTF-8");
            }
            *text = value;
        }
    }
    auto seconds_setting = [&settings](std::string_view key, std::chrono::seconds& out) {
        std::string text = optional_setting(settings, key);
        if (text.empty()) {
            return;
        }
        long long value = 0;
        for (char c : text) {
            if (c < '0' || c > '9' || value > 86400) {
                bad_setting(key, "must be a whole number of seconds, at most 86400");
            }
            value = value * 10 + (c - '0');
        }
        out = std::chrono::seconds(value);
    };
    seconds_setting("token_refresh_margin_s", config.refresh_margin);
    seconds_setting("max_request_age_s", config.max_request_age);
    return config;
}

WebhookOutcome answer(unsigned status, std::string_view body) {
    WebhookOutcome outcome;
    outcome.response.status = status;
    outcome.response.body = std::string(body);
    return outcome;
}

// WeChat takes "success" (or an empty body) as "received, do not retry".
WebhookOutcome acknowledge() {
    return answer(200, "success");
}

std::string sha1_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha1(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 15]);
    }
    return out;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An access token, or why none could be had.
struct TokenOutcome {
    std::string token;
    std::string error;
    unsigned status = 0;
};

// The access token: fetched once, kept in the process and in the store (so every gateway
// instance uses the same one: each fetch invalidates the previous token after a few minutes)
// until `margin` before it expires. Thread-safe: one fetch at a time per process.
class AccessTokens {
public:
    AccessTokens(const Config& config, core::SessionStore& store)
        : config_(config), store_(store), key_(std::string(kTokenPrefix) + config.app_id) {}

    TokenOutcome get(ProviderClient& client) {
        std::lock_guard lock(mutex_);
        if (!token_.empty() && now_ms() < expires_at_ms_) {
            return {token_, {}, 0};
        }
        if (load_shared()) {
            return {token_, {}, 0};
        }
        return fetch(client);
    }

    // A fresh token after the provider refused `rejected` (unless another thread already
    // replaced it).
    TokenOutcome renew(ProviderClient& client, const std::string& rejected) {
        std::lock_guard lock(mutex_);
        if (!token_.empty() && token_ != rejected && now_ms() < expires_at_ms_) {
            return {token_, {}, 0};
        }
        token_.clear();
        if (auto shared = store_.get_value(key_);
            shared && shared->has_value() && shared->value().ends_with(":" + rejected)) {
            (void)store_.erase_value(key_);
        } else if (load_shared() && token_ != rejected) {
            return {token_, {}, 0};
        }
        return fetch(client);
    }

private:
    // The token another instance stored: "<expires at, ms since the epoch>:<token>".
    bool load_shared() {
        auto shared = store_.get_value(key_);
        if (!shared || !shared->has_value()) {
            return false;
        }
        const std::string& value = **shared;
        std::size_t colon = value.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
            return false;
        }
        std::int64_t expires = 0;
        for (char c : std::string_view(value).substr(0, colon)) {
            if (c < '0' || c > '9' || expires > (INT64_MAX - 9) / 10) {
                return false;
            }
            expires = expires * 10 + (c - '0');
        }
        if (now_ms() >= expires) {
            return false;
        }
        token_ = value.substr(colon + 1);
        expires_at_ms_ = expires;
        return true;
    }

    TokenOutcome fetch(ProviderClient& client) {
        TokenOutcome outcome;
        ProviderCall call;
        call.method = "GET";
        call.target =
            "/cgi-bin/token?grant_type=client_credential&appid=" + form_encode(config_.app_id) +
            "&secret=" + form_encode(config_.app_secret);
        call.content_type.clear();
        auto response = client.send(call);
        if (!response) {
            outcome.error = "wechat: access token unavailable: " + response.error().message();
            return outcome;
        }
        outcome.status = response->status;
        if (response->status < 200 || response->status >= 300) {
            outcome.error =
                "wechat: access token request answered " + std::to_string(response->status);
            return outcome;
        }

        // {"access_token":"...","expires_in":7200} or {"errcode":40013,"errmsg":"..."}.
        boost::system::error_code ec;
        json::value parsed = json::parse(response->body, ec);
        const json::object* o = ec ? nullptr : parsed.if_object();
        const json::value* token = o == nullptr ? nullptr : o->if_contains("access_token");
        const json::value* expires_in = o == nullptr ? nullptr : o->if_contains("expires_in");
        if (token == nullptr || !token->is_string() || token->get_string().empty()) {
            outcome.error = "wechat: access token refused: " + describe_error(o);
            return outcome;
        }
        outcome.token = std::string(token->get_string());
        std::int64_t lifetime_s = expires_in != nullptr && expires_in->is_int64()
                                      ? expires_in->as_int64() - config_.refresh_margin.count()
                                      : 0;

        // Keep it only while it has more than the margin to live.
        if (lifetime_s > 0) {
            token_ = outcome.token;
            expires_at_ms_ = now_ms() + lifetime_s * 1000;
            auto shared = store_.put_value(key_, std::to_string(expires_at_ms_) + ":" + token_,
                                           std::chrono::seconds(lifetime_s));
            if (!shared) {
                logger().warn("cannot share the access token through the store",
                              {{"error", shared.error().message()}});
            }
        } else {
            token_.clear();
        }
        logger().info("wechat access token fetched", {{"lifetime_s", lifetime_s}});
        return outcome;
    }

public:
    static std::string describe_error(const json::object* o) {
        if (o == nullptr) {
            return "unreadable answer";
        }
        std::string out;
        if (const json::value* code = o->if_contains("errcode"); code != nullptr) {
            out = "errcode " + json::serialize(*code);
        }
        if (const json::value* msg = o->if_contains("errmsg"); msg != nullptr && msg->is_string()) {
            out += (out.empty() ? "" : ": ") +
                   std::string(msg->get_string().subview(
                       0, std::min<std::size_t>(msg->get_string().size(), 300)));
        }
        return out.empty() ? "no errcode in the answer" : out;
    }

private:
    const Config& config_;
    core::SessionStore& store_;
    std::string key_;
    std::mutex mutex_;
    std::string token_;
    std::int64_t expires_at_ms_ = 0;
};

std::string text_of(const XmlElement& root, std::string_view name) {
    const XmlElement* e = root.child(name);
    return e == nullptr ? std::string{} : e->text;
}

class WechatAdapter final : public ChannelAdapter {
public:
    WechatAdapter(Config config, ChannelContext context)
        : config_(std::move(config)),
          store_(*context.store),
          tokens_(config_, store_),
          options_("wechat:options:", kOptionsTtl, logger()) {}

    std::string_view channel() const noexcept override { return kChannel; }
    std::string_view path() const noexcept override { return config_.path; }

    WebhookOutcome handle(const WebhookRequest& request) override {
        try {
            return handle_checked(request);
        } catch (const std::exception& e) {
            logger().error("wechat webhook failed", {{"error", e.what()}});
            return answer(500, "internal error");
        }
    }

    DeliveryReport deliver(const core::OutboundMessage& message, ProviderClient& client) override {
        try {
            return deliver_checked(message, client);
        } catch (const std::exception& e) {
            DeliveryReport report;
            report.reason = std::string("wechat delivery failed: ") + e.what();
            return report;
        }
    }

private:
    // True when `timestamp` (seconds since the epoch) is within max_request_age of now.
    bool fresh(std::string_view timestamp) const {
        if (timestamp.empty() || timestamp.size() > 12) {
            return false;
        }
        std::int64_t value = 0;
        for (char c : timestamp) {
            if (c < '0' || c > '9') {
                return false;
            }
            value = value * 10 + (c - '0');
        }
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        const std::int64_t age = now > value ? now - value : value - now;
        return age <= config_.max_request_age.count();
    }

    WebhookOutcome handle_checked(const WebhookRequest& request) {
        // Authenticate: signature = sha1(sort(token, timestamp, nonce)) in the query.
        std::size_t question = request.target.find('?');
        std::optional<FormFields> query = parse_form(
            question == std::string::npos ? std::string_view{}
                                          : std::string_view(request.target).substr(question + 1));
        if (!query) {
            return answer(400, "malformed query string");
        }
        auto signature = form_value(*query, "signature");
        auto timestamp = form_value(*query, "timestamp");
        auto nonce = form_value(*query, "nonce");
        if (!signature || !timestamp || !nonce || signature->empty()) {
            return answer(401, "missing signature, timestamp or nonce");
        }
        std::string expected = wechat_signature(config_.token, *timestamp, *nonce);
        std::string received = detail::ascii_upper(*signature);
        if (!detail::constant_time_equals(received, detail::ascii_upper(expected))) {
            logger().warn("wechat webhook signature mismatch");
            return answer(403, "invalid signature");
        }
        // Only the query is signed, so a captured request could be sent again later: refuse
        // timestamps outside the window (message ids are deduplicated as well).
        if (config_.max_request_age.count() > 0 && !fresh(*timestamp)) {
            logger().warn(
                "wechat webhook timestamp outside the allowed window",
                {{"max_age_s", static_cast<std::int64_t>(config_.max_request_age.count())}});
            return answer(403, "stale or future timestamp");
        }

        // The handshake: echo echostr.
        if (request.method == "GET") {
            auto echostr = form_value(*query, "echostr");
            if (!echostr || echostr->empty() || !core::is_valid_utf8(*echostr)) {
                return answer(400, "missing echostr");
            }
            return answer(200, *echostr);
        }
        if (request.method != "POST") {
            return answer(405, "the WeChat webhook takes GET and POST only");
        }

        // TODO(teller): encrypted ("safe") and compatible mode are not supported: such
        // accounts get 400 for every message until they switch to plain-text mode.
        if (form_value(*query, "encrypt_type").value_or("raw") != "raw") {
            return answer(400, "encrypted mode not supported");
        }
        XmlResult xml = parse_xml(request.body);
        if (!xml.root) {
            return answer(400, "malformed XML: " + xml.error);
        }
        const XmlElement& root = *xml.root;
        if (root.name != "xml") {
            return answer(400, "malformed XML: the root element must be <xml>");
        }
        if (root.child("Encrypt") != nullptr) {
            return answer(400, "encrypted mode not supported");
        }
        return handle_message(root);
    }

    WebhookOutcome handle_message(const XmlElement& root) {
        std::string from = text_of(root, "FromUserName");
        std::string msg_type = text_of(root, "MsgType");
        for (std::string_view field : {"ToUserName", "FromUserName", "CreateTime", "MsgType"}) {
            if (root.child(field) == nullptr) {
                return answer(400, "missing " + std::string(field));
            }
        }
        if (!is_id_text(from, 64)) {
            return answer(400, "invalid FromUserName");
        }
        std::string msg_id = text_of(root, "MsgId");
        if (!msg_id.empty() && !is_id_text(msg_id, 64)) {
            return answer(400, "invalid MsgId");
        }

        core::InboundMessage message;
        message.id = msg_id;
        message.channel = std::string(kChannel);
        message.sender = from;
        message.conversation = std::string(kConversationPrefix) + from;
        message.metadata["to_user_name"] = text_of(root, "ToUserName");
        message.metadata["create_time"] = text_of(root, "CreateTime");
        message.metadata["msg_type"] = msg_type;

        // Text, and voice that WeChat's speech recognition turned into text, go to the engine.
        std::string text;
        if (msg_type == "text") {
            text = text_of(root, "Content");
        } else if (msg_type == "voice") {
            text = text_of(root, "Recognition");
        }
        if (!text.empty() || msg_type == "text") {
            if (msg_id.empty()) {
                return answer(400, "missing MsgId");
            }
            if (text.empty()) {
                return acknowledge();
            }
            message.text = std::move(text);
            message.locale = detail::has_han(message.text) ? "zh-CN" : "";
            options_.apply(store_, message);
            WebhookOutcome outcome = acknowledge();
            outcome.messages.push_back(std::move(message));
            return outcome;
        }

        // Events: a welcome on subscribe; the others (unsubscribe, menu clicks, scans,
        // location reports) carry no customer text.
        if (msg_type == "event") {
            if (text_of(root, "Event") != "subscribe") {
                return acknowledge();
            }
            return direct_reply(message, "subscribe:" + from + ":" + text_of(root, "CreateTime"),
                                config_.welcome_text);
        }

        // Images, voice without recognition, video, locations, links: only text is read.
        if (msg_id.empty()) {
            return acknowledge();
        }
        return direct_reply(message, msg_id, config_.unsupported_text);
    }

    // Answers with `text`. `reply_key` goes in `in_reply_to`: the gateway publishes a direct
    // reply once per (channel, in_reply_to, sequence), so WeChat's retries are answered once.
    WebhookOutcome direct_reply(const core::InboundMessage& message, const std::string& reply_key,
                                const std::string& text) {
        WebhookOutcome outcome = acknowledge();
        core::OutboundMessage reply;
        reply.conversation = message.conversation;
        reply.channel = std::string(kChannel);
        reply.recipient = message.sender;
        reply.text = text;
        reply.locale = "zh-CN";
        reply.in_reply_to = reply_key;
        outcome.direct_replies.push_back(std::move(reply));
        return outcome;
    }

    DeliveryReport deliver_checked(const core::OutboundMessage& message, ProviderClient& client) {
        DeliveryReport report;
        std::string openid = message.recipient;
        if (openid.empty() && message.conversation.starts_with(kConversationPrefix)) {
            openid = message.conversation.substr(kConversationPrefix.size());
        }
        if (!is_id_text(openid, 64)) {
            report.reason = "wechat: no valid recipient";
            return report;
        }

        // The text, then the options as a numbered menu.
        bool chinese = message.locale.starts_with("zh") || detail::has_han(message.text);
        std::string menu = detail::numbered_menu(message.quick_replies, chinese);
        std::string content = message.text;
        if (!menu.empty()) {
            content += message.text.empty() ? menu.substr(2) : menu;
        }
        if (content.empty()) {
            report.reason = "wechat: empty message";
            return report;
        }
        // TODO(teller): WeChat caps a customer service text (about 2048 bytes); a longer reply
        // is refused by the provider (a failed report) instead of being split.
        remember_options(message);

        // Send with the cached token; a token WeChat calls invalid or expired is renewed once.
        TokenOutcome token = tokens_.get(client);
        if (token.token.empty()) {
            report.provider_status = token.status;
            report.reason = token.error;
            return report;
        }
        auto response = send_text(client, token.token, openid, content);
        std::int64_t errcode = response ? errcode_of(*response) : 0;
        if (errcode == kInvalidToken || errcode == kInvalidTokenFormat ||
            errcode == kExpiredToken) {
            logger().warn("wechat access token refused; renewing it once", {{"errcode", errcode}});
            token = tokens_.renew(client, token.token);
            if (token.token.empty()) {
                report.provider_status = token.status;
                report.reason = token.error;
                return report;
            }
            response = send_text(client, token.token, openid, content);
        }
        if (!response) {
            report.reason = "wechat: provider unreachable: " + response.error().message();
            return report;
        }
        return judge(*response, message);
    }

    core::Result<ProviderResponse> send_text(ProviderClient& client, const std::string& token,
                                             const std::string& openid,
                                             const std::string& content) {
        ProviderCall call;
        call.method = "POST";
        call.target = "/cgi-bin/message/custom/send?access_token=" + form_encode(token);
        call.content_type = "application/json";
        call.body = json::serialize(json::object{
            {"touser", openid}, {"msgtype", "text"}, {"text", json::object{{"content", content}}}});
        return client.send(call);
    }

    // The errcode of a 2xx answer; 0 when it says none (or is not JSON).
    static std::int64_t errcode_of(const ProviderResponse& response) {
        boost::system::error_code ec;
        json::value parsed = json::parse(response.body, ec);
        const json::object* o = ec ? nullptr : parsed.if_object();
        const json::value* code = o == nullptr ? nullptr : o->if_contains("errcode");
        return code != nullptr && code->is_int64() ? code->as_int64() : 0;
    }

    DeliveryReport judge(const ProviderResponse& response, const core::OutboundMessage& message) {
        DeliveryReport report;
        report.provider_status = response.status;
        if (response.status < 200 || response.status >= 300) {
            report.reason = "wechat: provider answered " + std::to_string(response.status);
            return report;
        }

        // WeChat answers 200 {"errcode":0,"errmsg":"ok"}; any other errcode is a refusal.
        boost::system::error_code ec;
        json::value parsed = json::parse(response.body, ec);
        const json::object* o = ec ? nullptr : parsed.if_object();
        const json::value* code = o == nullptr ? nullptr : o->if_contains("errcode");
        if (code == nullptr || !code->is_int64()) {
            report.reason = "wechat: unreadable answer (no errcode)";
            return report;
        }
        if (code->as_int64() != 0) {
            report.reason = "wechat: " + AccessTokens::describe_error(o);
            return report;
        }
        report.delivered = true;
        logger().debug("wechat message sent", {{"conversation", message.conversation}});
        return report;
    }

    void remember_options(const core::OutboundMessage& message) {
        core::Result<void> stored;
        if (!message.quick_replies.empty()) {
            stored = options_.remember(store_, message.conversation, message.quick_replies);
        } else if (message.sequence == 0) {
            stored = options_.forget(store_, message.conversation);
        }
        if (!stored) {
            logger().warn(
                "cannot record the options offered; numbered replies will not map",
                {{"conversation", message.conversation}, {"error", stored.error().message()}});
        }
    }

    Config config_;
    core::SessionStore& store_;
    AccessTokens tokens_;
    detail::OfferedOptions options_;
};

}  // namespace

std::string wechat_signature(std::string_view token, std::string_view timestamp,
                             std::string_view nonce) {
    std::string_view parts[3] = {token, timestamp, nonce};
    std::sort(std::begin(parts), std::end(parts));
    std::string joined;
    for (std::string_view part : parts) {
        joined += part;
    }
    return sha1_hex(joined);
}

std::unique_ptr<ChannelAdapter> make_wechat_adapter(const ChannelSettings& settings,
                                                    ChannelContext context) {
    if (context.store == nullptr) {
        throw core::Error("channels.wechat: no session store to keep tokens and options in");
    }
    return std::make_unique<WechatAdapter>(read_config(settings), context);
}

}  // namespace teller::channels
