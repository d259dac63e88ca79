// Telegram Bot API adapter: verifies and parses webhook Updates, delivers with sendMessage.
#include "teller/channels/telegram.hpp"

#include <charconv>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "messenger_text.hpp"
#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/session_store.hpp"

namespace teller::channels {
namespace {
namespace json = boost::json;

constexpr std::string_view kChannel = "telegram";
constexpr std::string_view kCallbackKeyPrefix = "telegram:callback:";
constexpr std::string_view kSecretHeader = "x-telegram-bot-api-secret-token";
constexpr std::size_t kMaxButtons = 100;
constexpr std::chrono::seconds kDefaultCallbackTtl{7 * 24 * 3600};

WebhookOutcome answer(unsigned status, std::string body) {
    WebhookOutcome outcome;
    outcome.response.status = status;
    outcome.response.body = std::move(body);
    return outcome;
}

// A Telegram id (a JSON integer) as decimal text; nullopt when `v` is absent or not an integer.
std::optional<std::string> id_text(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return std::to_string(v->get_int64());
    }
    if (v->is_uint64()) {
        return std::to_string(v->get_uint64());
    }
    return std::nullopt;
}

const json::object* object_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr ? v->if_object() : nullptr;
}

const json::string* string_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr ? v->if_string() : nullptr;
}

std::string locale_of(const json::object& holder) {
    const json::object* from = object_member(holder, "from");
    if (from == nullptr) {
        return {};
    }
    const json::string* code = string_member(*from, "language_code");
    return code != nullptr ? detail::normalise_locale(*code) : std::string{};
}

bool valid_bot_token(std::string_view token) {
    const std::size_t colon = token.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == token.size()) {
        return false;
    }
    for (std::size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        const bool digit = c >= '0' && c <= '9';
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (i < colon ? !digit : (i > colon && !digit && !letter && c != '-' && c != '_')) {
            return false;
        }
    }
    return true;
}

bool valid_secret_token(std::string_view secret) {
    if (secret.empty() || secret.size() > 256) {
        return false;
    }
    for (char c : secret) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                        (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// The chat id as Telegram wants it: a number when the recipient is one, else an @username.
json::value chat_id_value(const std::string& recipient) {
    std::int64_t id = 0;
    const char* end = recipient.data() + recipient.size();
    auto [ptr, ec] = std::from_chars(recipient.data(), end, id);
    if (ec == std::errc{} && ptr == end) {
        return json::value(id);
    }
    return json::value(recipient);
}

// Why a sendMessage answer is a failure, or "" when it is a success.
std::string judge_response(const ProviderResponse& response) {
    boost::system::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    const json::object* o = ec ? nullptr : parsed.if_object();
    const bool ok_field =
        o != nullptr && o->contains("ok") && o->at("ok").is_bool() && o->at("ok").get_bool();
    if (response.status >= 200 && response.status < 300 && ok_field) {
        return {};
    }

    std::string reason = "telegram answered " + std::to_string(response.status);
    const json::string* description = o != nullptr ? string_member(*o, "description") : nullptr;
    if (description != nullptr) {
        reason += ": ";
        reason += std::string_view(*description);
    } else if (o == nullptr) {
        reason += " with a body that is not JSON";
    }
    const json::object* parameters = o != nullptr ? object_member(*o, "parameters") : nullptr;
    const json::value* retry_after =
        parameters != nullptr ? parameters->if_contains("retry_after") : nullptr;
    if (response.status == 429 && retry_after != nullptr && retry_after->is_int64()) {
        reason += " (rate limited, retry after " + std::to_string(retry_after->get_int64()) + " s)";
    }
    return reason;
}

class TelegramAdapter final : public ChannelAdapter {
public:
    TelegramAdapter(std::string bot_token, std::string secret_token,
                    std::chrono::seconds callback_ttl, core::SessionStore& store)
        : bot_token_(std::move(bot_token)),
          secret_token_(std::move(secret_token)),
          callback_ttl_(callback_ttl),
          store_(store) {}

    std::string_view channel() const noexcept override { return kChannel; }

    std::string_view path() const noexcept override { return kTelegramPath; }

    WebhookOutcome handle(const WebhookRequest& request) override {
        try {
            return handle_checked(request);
        } catch (const std::exception& e) {
            log_.error("telegram webhook failed", {{"error", e.what()}});
            return answer(500, "internal error");
        }
    }

    DeliveryReport deliver(const core::OutboundMessage& message, ProviderClient& client) override {
        try {
            return deliver_checked(message, client);
        } catch (const std::exception& e) {
            log_.error("telegram delivery failed",
                       {{"conversation", message.conversation}, {"error", e.what()}});
            return DeliveryReport{false, false, 0, std::string("telegram: ") + e.what()};
        }
    }

private:
    WebhookOutcome handle_checked(const WebhookRequest& request) {
        if (request.method != "POST") {
            return answer(405, "telegram webhooks are POST requests");
        }

        // The secret token proves the request comes from Telegram (setWebhook secret_token).
        const std::string_view secret = request.header(kSecretHeader);
        if (secret.empty()) {
            return answer(401, "missing X-Telegram-Bot-Api-Secret-Token");
        }
        if (!detail::secret_equals(secret, secret_token_)) {
            log_.warn("telegram webhook with a wrong secret token");
            return answer(403, "wrong X-Telegram-Bot-Api-Secret-Token");
        }

        if (request.body.size() > kTelegramMaxUpdateBytes) {
            return answer(413, "the update is larger than " +
                                   std::to_string(kTelegramMaxUpdateBytes) + " bytes");
        }
        if (!core::is_valid_utf8(request.body)) {
            return answer(400, "the update is not valid UTF-8");
        }
        // Boost.JSON refuses bad escapes (lone surrogates) and nesting past 32 levels.
        boost::system::error_code ec;
        json::value root = json::parse(request.body, ec);
        if (ec) {
            return answer(400, "the update is not valid JSON: " + ec.message());
        }
        const json::object* update = root.if_object();
        if (update == nullptr) {
            return answer(400, "the update must be a JSON object");
        }
        const std::optional<std::string> update_id = id_text(update->if_contains("update_id"));
        if (!update_id) {
            return answer(400, "update_id must be an integer");
        }

        if (const json::value* message = update->if_contains("message")) {
            if (!message->is_object()) {
                return answer(400, "message must be an object");
            }
            return on_message(*update_id, message->get_object());
        }
        if (const json::value* query = update->if_contains("callback_query")) {
            if (!query->is_object()) {
                return answer(400, "callback_query must be an object");
            }
            return on_callback(*update_id, query->get_object());
        }
        // Edits, channel posts, membership changes and the rest carry nothing to answer.
        log_.debug("telegram update ignored", {{"update_id", *update_id}});
        return answer(200, "");
    }

    WebhookOutcome on_message(const std::string& update_id, const json::object& message) {
        const json::object* chat = object_member(message, "chat");
        const std::optional<std::string> chat_id =
            chat != nullptr ? id_text(chat->if_contains("id")) : std::nullopt;
        if (!chat_id) {
            return answer(400, "message.chat.id must be an integer");
        }
        const std::optional<std::string> message_id = id_text(message.if_contains("message_id"));
        if (!message_id) {
            return answer(400, "message.message_id must be an integer");
        }
        const json::string* chat_type = string_member(*chat, "type");
        const std::string locale = locale_of(message);

        core::InboundMessage in;
        in.id = *chat_id + ":" + *message_id;
        in.channel = std::string(kChannel);
        in.conversation = std::string(kChannel) + ":" + *chat_id;
        in.sender = *chat_id;
        in.locale = locale;

        WebhookOutcome outcome = answer(200, "");
        const json::string* text = string_member(message, "text");
        if (text == nullptr) {
            // A photo, sticker or voice note: say so in a private chat, stay quiet in a group.
            if (chat_type != nullptr && *chat_type == "private") {
                core::OutboundMessage reply;
                reply.conversation = in.conversation;
                reply.channel = in.channel;
                reply.recipient = *chat_id;
                reply.locale = locale;
                reply.text = detail::only_text_reply(locale);
                reply.in_reply_to = in.id;
                outcome.direct_replies.push_back(std::move(reply));
            }
            return outcome;
        }

        in.text = std::string(*text);
        in.metadata["update_id"] = update_id;
        in.metadata["message_id"] = *message_id;
        in.metadata["chat_type"] = chat_type != nullptr ? *chat_type : json::string();
        if (const json::object* from = object_member(message, "from")) {
            // In a group the chat is the conversation; who spoke is kept for the engine.
            if (auto from_id = id_text(from->if_contains("id"))) {
                in.metadata["from_id"] = *from_id;
            }
        }
        outcome.messages.push_back(std::move(in));
        return outcome;
    }

    WebhookOutcome on_callback(const std::string& update_id, const json::object& query) {
        const json::string* query_id = string_member(query, "id");
        if (query_id == nullptr || query_id->empty()) {
            return answer(400, "callback_query.id must be a string");
        }
        const json::object* from = object_member(query, "from");
        const std::optional<std::string> from_id =
            from != nullptr ? id_text(from->if_contains("id")) : std::nullopt;
        if (!from_id) {
            return answer(400, "callback_query.from.id must be an integer");
        }

        // The chat the button was in; a button on an inline-mode message has none, so the
        // private chat with the user (whose id equals the user's) stands in.
        std::string chat_id = *from_id;
        std::string chat_type = "private";
        std::string keyboard_message_id;
        if (const json::object* message = object_member(query, "message")) {
            const json::object* chat = object_member(*message, "chat");
            if (auto id = chat != nullptr ? id_text(chat->if_contains("id")) : std::nullopt) {
                chat_id = *id;
                const json::string* type = string_member(*chat, "type");
                chat_type = type != nullptr ? std::string(*type) : std::string();
            }
            keyboard_message_id = id_text(message->if_contains("message_id")).value_or("");
        }

        // The webhook answer performs answerCallbackQuery, whatever happens next.
        WebhookOutcome outcome;
        outcome.response.status = 200;
        outcome.response.content_type = "application/json";
        json::object method;
        method["method"] = "answerCallbackQuery";
        method["callback_query_id"] = *query_id;
        outcome.response.body = json::serialize(method);

        const json::string* data = string_member(query, "data");
        if (data == nullptr) {
            return outcome;  // a game button: no payload to pass on
        }
        const std::string locale = locale_of(query);
        auto payload = detail::expand_payload(store_, kCallbackKeyPrefix, *data);
        if (!payload) {
            log_.warn("telegram callback payload lookup failed",
                      {{"error", payload.error().message()}, {"store", store_.last_error()}});
            return answer(503, "the session store is unavailable");
        }
        const std::string conversation = std::string(kChannel) + ":" + chat_id;
        const std::string id = "callback:" + std::string(*query_id);
        if (!*payload) {
            core::OutboundMessage reply;
            reply.conversation = conversation;
            reply.channel = std::string(kChannel);
            reply.recipient = chat_id;
            reply.locale = locale;
            reply.text = detail::expired_choice_reply(locale);
            reply.in_reply_to = id;
            outcome.direct_replies.push_back(std::move(reply));
            return outcome;
        }

        core::InboundMessage in;
        in.id = id;
        in.channel = std::string(kChannel);
        in.conversation = conversation;
        in.sender = chat_id;
        in.text = std::move(**payload);
        in.locale = locale;
        in.metadata["update_id"] = update_id;
        in.metadata["callback_query_id"] = *query_id;
        in.metadata["chat_type"] = chat_type;
        if (!keyboard_message_id.empty()) {
            in.metadata["message_id"] = keyboard_message_id;
        }
        outcome.messages.push_back(std::move(in));
        return outcome;
    }

    DeliveryReport deliver_checked(const core::OutboundMessage& message, ProviderClient& client) {
        if (message.recipient.empty()) {
            return DeliveryReport{false, false, 0, "telegram: the reply has no recipient"};
        }

        // Quick replies become an inline keyboard, one button per row.
        json::array rows;
        for (const core::Choice& choice : message.quick_replies) {
            const std::string& title = choice.title.empty() ? choice.payload : choice.title;
            const std::string& payload = choice.payload.empty() ? choice.title : choice.payload;
            if (title.empty()) {
                continue;
            }
            if (rows.size() == kMaxButtons) {
                log_.warn("telegram reply has too many quick replies; extra ones dropped",
                          {{"conversation", message.conversation}});
                break;
            }
            auto data = detail::shorten_payload(store_, kCallbackKeyPrefix, payload,
                                                kTelegramMaxCallbackBytes, callback_ttl_);
            if (!data) {
                return DeliveryReport{false, false, 0,
                                      "telegram: cannot store a button payload: " +
                                          data.error().message() + " " + store_.last_error()};
            }
            json::object button;
            button["text"] = title;
            button["callback_data"] = *data;
            rows.push_back(json::array{std::move(button)});
        }

        std::vector<std::string> pieces =
            detail::split_text(message.text, kTelegramMaxTextUnits, detail::TextUnit::utf16);
        if (pieces.empty()) {
            if (rows.empty()) {
                return DeliveryReport{false, false, 0, "telegram: the reply has no text"};
            }
            pieces.push_back(message.locale == "zh-CN" ? "请选择：" : "Please choose:");
        }

        // One sendMessage per piece; the keyboard rides on the last one.
        // TODO(teller): when a later piece fails, the earlier ones were already sent, and a
        // redelivery of the reply (from teller.dlq) sends them again: the customer sees them twice.
        DeliveryReport report;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            json::object body;
            body["chat_id"] = chat_id_value(message.recipient);
            body["text"] = pieces[i];
            if (i + 1 == pieces.size() && !rows.empty()) {
                json::object markup;
                markup["inline_keyboard"] = std::move(rows);
                body["reply_markup"] = std::move(markup);
            }
            ProviderCall call;
            call.method = "POST";
            call.target = "/bot" + bot_token_ + "/sendMessage";
            call.body = json::serialize(body);

            const std::string part = pieces.size() > 1
                                         ? " (piece " + std::to_string(i + 1) + " of " +
                                               std::to_string(pieces.size()) + ")"
                                         : std::string();
            auto response = client.send(call);
            if (!response) {
                return DeliveryReport{
                    false, false, 0,
                    "telegram sendMessage" + part + ": " + response.error().message()};
            }
            report.provider_status = response->status;
            std::string failure = judge_response(*response);
            if (!failure.empty()) {
                log_.warn("telegram refused a reply",
                          {{"conversation", message.conversation}, {"status", response->status}});
                report.reason = std::move(failure) + part;
                return report;
            }
        }
        report.delivered = true;
        log_.debug("telegram reply delivered",
                   {{"conversation", message.conversation}, {"pieces", pieces.size()}});
        return report;
    }

    const std::string bot_token_;
    const std::string secret_token_;
    const std::chrono::seconds callback_ttl_;
    core::SessionStore& store_;
    core::Logger log_{"telegram"};
};

const std::string& required_setting(const ChannelSettings& settings, const std::string& key) {
    auto it = settings.find(key);
    if (it == settings.end() || it->second.empty()) {
        throw core::Error("channels.telegram." + key + " is required");
    }
    return it->second;
}

}  // namespace

std::unique_ptr<ChannelAdapter> make_telegram_adapter(const ChannelSettings& settings,
                                                      ChannelContext context) {
    const std::string& bot_token = required_setting(settings, "bot_token");
    if (!valid_bot_token(bot_token)) {
        throw core::Error(
            "channels.telegram.bot_token is not a bot token (expected <digits>:<token>)");
    }
    const std::string& secret_token = required_setting(settings, "secret_token");
    if (!valid_secret_token(secret_token)) {
        throw core::Error(
            "channels.telegram.secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -");
    }

    std::chrono::seconds ttl = kDefaultCallbackTtl;
    if (auto it = settings.find("callback_ttl_seconds"); it != settings.end()) {
        long long seconds = 0;
        const char* end = it->second.data() + it->second.size();
        auto [ptr, ec] = std::from_chars(it->second.data(), end, seconds);
        if (ec != std::errc{} || ptr != end || seconds <= 0) {
            throw core::Error("channels.telegram.callback_ttl_seconds must be a positive integer");
        }
        ttl = std::chrono::seconds(seconds);
    }
    if (context.store == nullptr) {
        throw core::Error("channels.telegram: the adapter needs a session store");
    }
    return std::make_unique<TelegramAdapter>(bot_token, secret_token, ttl, *context.store);
}

}  // namespace teller::channels
