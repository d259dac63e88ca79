// The SMS adapter: Twilio-style signed webhooks in, the Messages API out, opt-outs in the store.
#include <algorithm>
#include <tuple>

#include <openssl/evp.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "sms_text.hpp"
#include "teller/channels/sms.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace json = boost::json;

namespace {

constexpr std::string_view kChannel = "sms";
constexpr std::string_view kOptOutPrefix = "sms:optout:";
constexpr std::string_view kKeywordReplyPrefix = "sms:keyword-reply:";
constexpr std::chrono::seconds kOptionsTtl{24 * 3600};
constexpr std::chrono::seconds kKeywordTtl{24 * 3600};
constexpr std::chrono::seconds kNoExpiry{0};
constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr std::size_t kMaxMedia = 10;

// Twilio's error code for a message to a number that replied STOP at the carrier.
constexpr std::int64_t kTwilioUnsubscribed = 21610;

constexpr std::string_view kEmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

const core::Logger& logger() {
    static const core::Logger log("sms");
    return log;
}

// The confirmations, each in English (GSM-7 only, one segment) and Chinese.
struct Texts {
    std::string stop_en =
        "You are unsubscribed and will get no more messages from this number. Reply START to "
        "subscribe again.";
    std::string stop_zh = "您已退订，将不再收到本号码的消息。回复“订阅”可重新订阅。";
    std::string start_en = "You are subscribed again. Reply STOP to unsubscribe, HELP for help.";
    std::string start_zh = "您已重新订阅。回复“退订”可退订，回复“帮助”获取帮助。";
    std::string help_en =
        "Banking assistant: send your question as a text message. Reply STOP to unsubscribe. "
        "Msg & data rates may apply.";
    std::string help_zh = "银行智能客服：请直接发送您的问题。回复“退订”可退订。";
};

struct Config {
    std::string account_sid;
    std::string auth_token;
    std::string from_number;
    std::string messaging_service_sid;
    std::string path = "/webhooks/sms";
    std::size_t max_segments = 10;
    bool keyword_replies = true;
    Texts texts;
};

[[noreturn]] void bad_setting(std::string_view key, std::string_view why) {
    throw core::Error("channels.sms." + std::string(key) + ": " + std::string(why));
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

bool is_alnum_text(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    });
}

Config read_config(const ChannelSettings& settings) {
    Config config;
    config.account_sid = required_setting(settings, "account_sid");
    if (!is_alnum_text(config.account_sid)) {
        bad_setting("account_sid", "must be letters and digits only (e.g. AC0123...)");
    }
    config.auth_token = required_setting(settings, "auth_token");
    config.from_number = optional_setting(settings, "from_number");
    config.messaging_service_sid = optional_setting(settings, "messaging_service_sid");
    if (config.from_number.empty() && config.messaging_service_sid.empty()) {
        bad_setting("from_number", "missing: set from_number or messaging_service_sid");
    }
    if (std::string path = optional_setting(settings, "path"); !path.empty()) {
        if (path.front() != '/') {
            bad_setting("path", "must start with '/'");
        }
        config.path = path;
    }
    if (std::string max = optional_setting(settings, "max_segments"); !max.empty()) {
        std::size_t value = 0;
        for (char c : max) {
            if (c < '0' || c > '9' || value > 1000) {
                bad_setting("max_segments", "must be a whole number from 1 to 50");
            }
            value = value * 10 + static_cast<std::size_t>(c - '0');
        }
        if (value < 1 || value > 50) {
            bad_setting("max_segments", "must be a whole number from 1 to 50");
        }
        config.max_segments = value;
    }
    if (std::string replies = optional_setting(settings, "keyword_replies"); !replies.empty()) {
        if (replies != "true" && replies != "false") {
            bad_setting("keyword_replies", "must be true or false");
        }
        config.keyword_replies = replies == "true";
    }

    // A configured text replaces both languages.
    for (auto [key, en, zh] :
         {std::tuple{"help_text", &config.texts.help_en, &config.texts.help_zh},
          std::tuple{"stop_text", &config.texts.stop_en, &config.texts.stop_zh},
          std::tuple{"start_text", &config.texts.start_en, &config.texts.start_zh}}) {
        if (std::string text = optional_setting(settings, key); !text.empty()) {
            if (!core::is_valid_utf8(text)) {
                bad_setting(key, "is not valid UTF-8");
            }
            *en = text;
            *zh = text;
        }
    }
    return config;
}

WebhookOutcome answer(unsigned status, std::string_view reason) {
    WebhookOutcome outcome;
    outcome.response.status = status;
    outcome.response.body = std::string(reason);
    return outcome;
}

WebhookOutcome acknowledge() {
    WebhookOutcome outcome;
    outcome.response.content_type = "text/xml; charset=utf-8";
    outcome.response.body = std::string(kEmptyTwiml);
    return outcome;
}

// The same URL with the scheme's default port added when absent, or removed when present:
// Twilio signs the URL as configured, which may or may not spell the port.
std::string port_variant(std::string_view url) {
    std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    std::string_view scheme = url.substr(0, scheme_end);
    std::string_view port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : "";
    if (port.empty()) {
        return {};
    }
    std::size_t host_start = scheme_end + 3;
    std::size_t host_end = url.find_first_of("/?#", host_start);
    if (host_end == std::string_view::npos) {
        host_end = url.size();
    }
    std::string_view authority = url.substr(host_start, host_end - host_start);
    std::string out(url.substr(0, host_start));
    if (authority.ends_with(port)) {
        out += authority.substr(0, authority.size() - port.size());
    } else if (authority.find(':') == std::string_view::npos ||
               authority.back() == ']') {  // no port yet (an IPv6 literal ends with ']')
        out += authority;
        out += port;
    } else {
        return {};
    }
    out += url.substr(host_end);
    return out;
}

bool is_valid_sid(std::string_view sid) noexcept {
    return !sid.empty() && sid.size() <= 64 && is_alnum_text(sid);
}

bool is_valid_sender(std::string_view from) noexcept {
    return !from.empty() && from.size() <= 64 && std::none_of(from.begin(), from.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20;
    });
}

class SmsAdapter final : public ChannelAdapter {
public:
    SmsAdapter(Config config, ChannelContext context)
        : config_(std::move(config)),
          store_(*context.store),
          options_("sms:options:", kOptionsTtl, logger()) {}

    std::string_view channel() const noexcept override { return kChannel; }
    std::string_view path() const noexcept override { return config_.path; }

    WebhookOutcome handle(const WebhookRequest& request) override {
        try {
            return handle_checked(request);
        } catch (const std::exception& e) {  // allocation failure or a broken invariant
            logger().error("sms webhook failed", {{"error", e.what()}});
            return answer(500, "internal error");
        }
    }

    DeliveryReport deliver(const core::OutboundMessage& message, ProviderClient& client) override {
        try {
            return deliver_checked(message, client);
        } catch (const std::exception& e) {
            DeliveryReport report;
            report.reason = std::string("sms delivery failed: ") + e.what();
            return report;
        }
    }

private:
    WebhookOutcome handle_checked(const WebhookRequest& request) {
        // Authenticate: a signed form POST.
        if (request.method != "POST") {
            return answer(405, "the SMS webhook takes POST only");
        }
        std::string_view signature = request.header("x-twilio-signature");
        if (signature.empty()) {
            return answer(401, "missing X-Twilio-Signature");
        }
        if (request.body.size() > kMaxBodyBytes) {
            return answer(413, "body too large");
        }
        std::string content_type = ascii_lower(request.header("content-type"));
        if (!content_type.starts_with("application/x-www-form-urlencoded")) {
            return answer(415, "expected application/x-www-form-urlencoded");
        }
        std::optional<FormFields> fields = parse_form(request.body);
        if (!fields) {
            return answer(400, "malformed form body");
        }
        if (!signature_matches(signature, request.public_url, *fields)) {
            logger().warn("sms webhook signature mismatch", {{"url", request.public_url}});
            return answer(403, "invalid X-Twilio-Signature");
        }

        // Validate what the message needs.
        for (const auto& [name, value] : *fields) {
            if (!core::is_valid_utf8(name) || !core::is_valid_utf8(value)) {
                return answer(400, "form field " + (core::is_valid_utf8(name) ? name : "?") +
                                       " is not valid UTF-8");
            }
        }
        if (form_value(*fields, "MessageStatus")) {
            // A delivery status callback pointed at this URL: nothing for the engine.
            return acknowledge();
        }
        auto from = form_value(*fields, "From");
        auto sid = form_value(*fields, "MessageSid");
        if (!from || !is_valid_sender(*from)) {
            return answer(400, "missing or invalid From");
        }
        if (!sid || !is_valid_sid(*sid)) {
            return answer(400, "missing or invalid MessageSid");
        }
        std::string_view body = form_value(*fields, "Body").value_or("");

        core::InboundMessage message;
        message.id = std::string(*sid);
        message.channel = std::string(kChannel);
        message.sender = std::string(*from);
        message.conversation = std::string(kChannel) + ":" + message.sender;
        message.text = std::string(body);
        fill_metadata(*fields, message);

        // STOP and HELP are never published. START/YES/UNSTOP re-subscribe an opted-out
        // number; from a subscribed one they are ordinary answers ("YES" to a question).
        SmsKeyword keyword = classify_sms_keyword(body);
        if (keyword == SmsKeyword::opt_out) {
            return opt_out(message);
        }
        if (keyword == SmsKeyword::help) {
            return help(message);
        }

        // An opted-out number is acknowledged and not published. A store that cannot answer
        // lets the message through: deliver() checks again and refuses to send then.
        auto opted_out = store_.get_value(std::string(kOptOutPrefix) + message.sender);
        if (!opted_out) {
            if (keyword == SmsKeyword::opt_in) {
                return answer(503, "opt-in could not be stored");
            }
            logger().warn(
                "cannot read the opt-out list; publishing the message",
                {{"conversation", message.conversation}, {"error", opted_out.error().message()}});
        } else if (opted_out->has_value()) {
            if (keyword == SmsKeyword::opt_in) {
                return opt_in(message);
            }
            logger().debug("message from an opted-out number not published",
                           {{"conversation", message.conversation}});
            return acknowledge();
        }

        options_.apply(store_, message);
        WebhookOutcome outcome = acknowledge();
        outcome.messages.push_back(std::move(message));
        return outcome;
    }

    bool signature_matches(std::string_view signature, const std::string& url,
                           const FormFields& fields) const {
        if (detail::constant_time_equals(signature,
                                         twilio_signature(config_.auth_token, url, fields))) {
            return true;
        }
        std::string variant = port_variant(url);
        return !variant.empty() &&
               detail::constant_time_equals(signature,
                                            twilio_signature(config_.auth_token, variant, fields));
    }

    static void fill_metadata(const FormFields& fields, core::InboundMessage& message) {
        for (std::string_view key : {"To", "NumSegments", "FromCountry"}) {
            if (auto value = form_value(fields, key)) {
                message.metadata[key] = *value;
            }
        }

        // MMS media: MediaUrlN and MediaContentTypeN for N below NumMedia.
        std::size_t media = 0;
        if (auto count = form_value(fields, "NumMedia"); count && count->size() <= 2) {
            for (char c : *count) {
                media = c >= '0' && c <= '9' ? media * 10 + static_cast<std::size_t>(c - '0') : 0;
            }
        }
        for (std::size_t i = 0; i < std::min(media, kMaxMedia); ++i) {
            auto url = form_value(fields, "MediaUrl" + std::to_string(i));
            if (!url) {
                continue;
            }
            auto type = form_value(fields, "MediaContentType" + std::to_string(i));
            message.attachments.push_back(
                json::object{{"url", *url}, {"content_type", type.value_or("")}});
        }
    }

    // A confirmation owed without asking the engine, in the customer's language.
    core::OutboundMessage reply_to(const core::InboundMessage& message, const std::string& en,
                                   const std::string& zh) const {
        core::OutboundMessage reply;
        bool chinese = detail::has_han(message.text);
        reply.conversation = message.conversation;
        reply.channel = std::string(kChannel);
        reply.recipient = message.sender;
        reply.text = chinese ? zh : en;
        reply.locale = chinese ? "zh-CN" : "en";
        reply.in_reply_to = message.id;
        return reply;
    }

    // Lets deliver() send the reply to `message` even to an opted-out number.
    bool allow_reply(const core::InboundMessage& message) {
        auto put =
            store_.put_value(std::string(kKeywordReplyPrefix) + message.id, "1", kKeywordTtl);
        if (!put) {
            logger().warn("cannot record a keyword reply", {{"error", put.error().message()}});
        }
        return put.has_value();
    }

    // The confirmations are returned on every retry of a keyword message: the gateway
    // publishes a direct reply once per (channel, in_reply_to, sequence), and a retry after a
    // failed publish must still carry it.

    WebhookOutcome opt_out(const core::InboundMessage& message) {
        // The opt-out is stored before anything is answered; a store failure asks Twilio to
        // retry rather than lose it.
        auto put =
            store_.put_value(std::string(kOptOutPrefix) + message.sender, message.id, kNoExpiry);
        if (!put || (config_.keyword_replies && !allow_reply(message))) {
            return answer(503, "opt-out could not be stored");
        }
        logger().info("sms number opted out", {{"conversation", message.conversation}});

        WebhookOutcome outcome = acknowledge();
        if (config_.keyword_replies) {
            outcome.direct_replies.push_back(
                reply_to(message, config_.texts.stop_en, config_.texts.stop_zh));
        }
        return outcome;
    }

    WebhookOutcome opt_in(const core::InboundMessage& message) {
        auto erased = store_.erase_value(std::string(kOptOutPrefix) + message.sender);
        if (!erased) {
            return answer(503, "opt-in could not be stored");
        }
        logger().info("sms number opted in", {{"conversation", message.conversation}});

        WebhookOutcome outcome = acknowledge();
        if (config_.keyword_replies) {
            outcome.direct_replies.push_back(
                reply_to(message, config_.texts.start_en, config_.texts.start_zh));
        }
        return outcome;
    }

    WebhookOutcome help(const core::InboundMessage& message) {
        // HELP is answered even to an opted-out number (carriers require it).
        WebhookOutcome outcome = acknowledge();
        if (config_.keyword_replies) {
            if (!allow_reply(message)) {
                return answer(503, "help request could not be recorded");
            }
            outcome.direct_replies.push_back(
                reply_to(message, config_.texts.help_en, config_.texts.help_zh));
        }
        return outcome;
    }

    DeliveryReport deliver_checked(const core::OutboundMessage& message, ProviderClient& client) {
        DeliveryReport report;
        std::string recipient = message.recipient;
        if (recipient.empty() && message.conversation.starts_with("sms:")) {
            recipient = message.conversation.substr(4);
        }
        if (!is_valid_sender(recipient)) {
            report.reason = "sms: no valid recipient";
            return report;
        }

        // Never write to an opted-out number, except the keyword confirmations.
        auto opted_out = store_.get_value(std::string(kOptOutPrefix) + recipient);
        if (!opted_out) {
            report.reason = "sms: cannot check the opt-out list: " + opted_out.error().message();
            return report;
        }
        if (opted_out->has_value() && !is_keyword_reply(message)) {
            report.suppressed = true;
            report.reason = "sms: the recipient opted out";
            logger().debug("sms reply suppressed: opted out",
                           {{"conversation", message.conversation}});
            return report;
        }

        // Text, then the options as a numbered menu, within the segment budget.
        bool chinese = message.locale.starts_with("zh") || detail::has_han(message.text);
        std::string menu = detail::numbered_menu(message.quick_replies, chinese);
        std::string body =
            fit_sms(message.text, menu_after(message.text, menu), config_.max_segments);
        SmsMeasure measure = measure_sms(body);
        if (body.empty()) {
            report.reason = "sms: empty message";
            return report;
        }
        std::string whole = message.text + menu;
        if (body.size() != whole.size()) {
            logger().warn("sms reply truncated to the segment limit",
                          {{"conversation", message.conversation},
                           {"segments", measure_sms(whole).segments},
                           {"max_segments", config_.max_segments}});
        }
        remember_options(message);

        // POST the message.
        ProviderCall call;
        call.method = "POST";
        call.target = "/2010-04-01/Accounts/" + config_.account_sid + "/Messages.json";
        call.content_type = "application/x-www-form-urlencoded";
        call.headers.emplace_back("authorization", basic_auth());
        call.body = "To=" + form_encode(recipient);
        call.body += config_.messaging_service_sid.empty()
                         ? "&From=" + form_encode(config_.from_number)
                         : "&MessagingServiceSid=" + form_encode(config_.messaging_service_sid);
        call.body += "&Body=" + form_encode(body);
        auto response = client.send(call);
        if (!response) {
            report.reason = "sms: provider unreachable: " + response.error().message();
            return report;
        }
        return judge(*response, message, recipient, measure);
    }

    static std::string menu_after(const std::string& text, const std::string& menu) {
        // Without text, the menu starts the message: no blank line before it.
        if (!text.empty()) {
            return menu;
        }
        std::string_view m = menu;
        while (m.starts_with('\n')) {
            m.remove_prefix(1);
        }
        return std::string(m);
    }

    bool is_keyword_reply(const core::OutboundMessage& message) {
        if (message.in_reply_to.empty()) {
            return false;
        }
        auto allowed = store_.get_value(std::string(kKeywordReplyPrefix) + message.in_reply_to);
        return allowed && allowed->has_value();
    }

    void remember_options(const core::OutboundMessage& message) {
        // A turn's first reply without options retires the ones offered before.
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

    DeliveryReport judge(const ProviderResponse& response, const core::OutboundMessage& message,
                         const std::string& recipient, const SmsMeasure& measure) {
        DeliveryReport report;
        report.provider_status = response.status;
        if (response.status >= 200 && response.status < 300) {
            report.delivered = true;
            logger().debug("sms sent", {{"conversation", message.conversation},
                                        {"encoding", to_string(measure.encoding)},
                                        {"segments", measure.segments}});
            return report;
        }

        // Twilio's error body: {"code": 21610, "message": "...", "status": 400, ...}.
        std::int64_t code = 0;
        std::string detail;
        boost::system::error_code ec;
        json::value parsed = json::parse(response.body, ec);
        if (const json::object* o = ec ? nullptr : parsed.if_object()) {
            if (const json::value* c = o->if_contains("code"); c != nullptr && c->is_int64()) {
                code = c->as_int64();
            }
            if (const json::value* m = o->if_contains("message"); m != nullptr && m->is_string()) {
                detail = std::string(m->get_string());
            }
        }
        if (code == kTwilioUnsubscribed) {
            // The carrier already has the STOP: remember it, and count this as suppressed.
            (void)store_.put_value(std::string(kOptOutPrefix) + recipient, "carrier", kNoExpiry);
            report.suppressed = true;
            report.reason = "sms: the recipient unsubscribed at the carrier (Twilio 21610)";
            return report;
        }
        report.reason = "sms: provider answered " + std::to_string(response.status);
        if (code != 0) {
            report.reason += " (code " + std::to_string(code) + ")";
        }
        if (!detail.empty()) {
            report.reason += ": " + detail.substr(0, 300);
        }
        return report;
    }

    std::string basic_auth() const {
        std::string credentials = config_.account_sid + ":" + config_.auth_token;
        std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
        int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                   reinterpret_cast<const unsigned char*>(credentials.data()),
                                   static_cast<int>(credentials.size()));
        encoded.resize(static_cast<std::size_t>(size));
        return "Basic " + encoded;
    }

    static std::string ascii_lower(std::string_view text) {
        std::string out(text);
        for (char& c : out) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        return out;
    }

    Config config_;
    core::SessionStore& store_;
    detail::OfferedOptions options_;
};

}  // namespace

SmsKeyword classify_sms_keyword(std::string_view text) {
    std::string word = detail::ascii_upper(detail::trim_text(text));
    if (word.size() > 16) {
        return SmsKeyword::none;
    }
    for (std::string_view k :
         {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "取消订阅"}) {
        if (word == k) {
            return SmsKeyword::opt_out;
        }
    }
    for (std::string_view k : {"START", "YES", "UNSTOP", "订阅"}) {
        if (word == k) {
            return SmsKeyword::opt_in;
        }
    }
    for (std::string_view k : {"HELP", "INFO", "帮助"}) {
        if (word == k) {
            return SmsKeyword::help;
        }
    }
    return SmsKeyword::none;
}

std::unique_ptr<ChannelAdapter> make_sms_adapter(const ChannelSettings& settings,
                                                 ChannelContext context) {
    if (context.store == nullptr) {
        throw core::Error("channels.sms: no session store to keep opt-outs in");
    }
    return std::make_unique<SmsAdapter>(read_config(settings), context);
}

}  // namespace teller::channels
