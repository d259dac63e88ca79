// WhatsApp Cloud API adapter: the verify handshake, signed notifications in, Graph API out.
#include "teller/channels/whatsapp.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

constexpr std::string_view kChannel = "whatsapp";
constexpr std::string_view kPayloadKeyPrefix = "whatsapp:payload:";
constexpr std::string_view kOfferedKeyPrefix = "whatsapp:offered:";
constexpr std::string_view kSignatureHeader = "x-hub-signature-256";
constexpr std::size_t kMaxChallengeBytes = 256;
constexpr std::chrono::seconds kDefaultChoiceTtl{7 * 24 * 3600};

WebhookOutcome answer(unsigned status, std::string body) {
    WebhookOutcome outcome;
    outcome.response.status = status;
    outcome.response.body = std::move(body);
    return outcome;
}

const json::object* object_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr ? v->if_object() : nullptr;
}

const json::string* string_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr ? v->if_string() : nullptr;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Decodes one query-string component (percent escapes, '+' as space); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out.push_back(' ');
        } else if (text[i] == '%') {
            if (i + 2 >= text.size()) {
                return std::nullopt;
            }
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

// The decoded value of query parameter `name` in `target` ("" when absent or malformed).
std::string query_parameter(std::string_view target, std::string_view name) {
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) {
        return {};
    }
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::size_t eq = pair.find('=');
        if (auto key = percent_decode(pair.substr(0, eq)); key && *key == name) {
            const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
            return percent_decode(raw).value_or("");
        }
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
    return {};
}

// True when `header` is `sha256=<hex>` and the hex is HMAC-SHA256(secret, body).
bool signature_matches(std::string_view header, std::string_view secret, std::string_view body) {
    constexpr std::string_view kScheme = "sha256=";
    if (!header.starts_with(kScheme) || header.size() != kScheme.size() + 64) {
        return false;
    }
    std::array<unsigned char, 32> claimed{};
    for (std::size_t i = 0; i < claimed.size(); ++i) {
        const int hi = hex_value(header[kScheme.size() + 2 * i]);
        const int lo = hex_value(header[kScheme.size() + 2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        claimed[i] = static_cast<unsigned char>(hi * 16 + lo);
    }

    std::array<unsigned char, EVP_MAX_MD_SIZE> actual{};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(body.data()), body.size(), actual.data(),
             &length) == nullptr ||
        length != claimed.size()) {
        return false;
    }
    return CRYPTO_memcmp(claimed.data(), actual.data(), claimed.size()) == 0;
}

// A locale for the replies the adapter writes itself: WhatsApp says none, so mainland China
// numbers get Chinese.
std::string guess_locale(std::string_view from) {
    return from.starts_with("86") ? "zh-CN" : "en";
}

// The 1-based option number a customer typed ("2", " 3 "), or 0 when the text is not one.
std::size_t option_number(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '.')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '.')) {
        text.remove_suffix(1);
    }
    if (text.empty() || text.size() > 2) {
        return 0;
    }
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    return ec == std::errc{} && ptr == text.data() + text.size() ? n : 0;
}

// Why a Graph API answer is a failure, or "" when it is a success.
std::string judge_response(const ProviderResponse& response) {
    boost::system::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    const json::object* o = ec ? nullptr : parsed.if_object();
    if (response.status >= 200 && response.status < 300 && o != nullptr && !o->contains("error")) {
        return {};
    }

    std::string reason = "whatsapp answered " + std::to_string(response.status);
    const json::object* error = o != nullptr ? object_member(*o, "error") : nullptr;
    const json::string* message = error != nullptr ? string_member(*error, "message") : nullptr;
    if (message != nullptr) {
        reason += ": ";
        reason += std::string_view(*message);
        const json::value* code = error->if_contains("code");
        if (code != nullptr && code->is_int64()) {
            reason += " (code " + std::to_string(code->get_int64()) + ")";
        }
    } else if (o == nullptr) {
        reason += " with a body that is not JSON";
    }
    return reason;
}

// Why a notification is refused: 400 for a malformed one, 503 when the store failed (Meta
// retries).
struct Refusal {
    unsigned status = 400;
    std::string reason;
};

const Refusal kStoreRefusal{503, "the session store is unavailable"};

// A quick reply as the adapter offers it: what it shows and what it stands for.
struct Option {
    std::string title;
    std::string payload;
};

// How the options of one reply are shown.
enum class OptionForm { none, buttons, list, numbered };

OptionForm choose_form(const std::vector<Option>& options) {
    if (options.empty()) {
        return OptionForm::none;
    }
    std::set<std::string> titles;
    std::size_t longest = 0;
    for (const Option& option : options) {
        titles.insert(option.title);
        longest =
            std::max(longest, detail::text_length(option.title, detail::TextUnit::code_point));
    }
    if (titles.size() != options.size()) {
        return OptionForm::numbered;  // WhatsApp refuses two buttons or rows with one title
    }
    if (options.size() <= kWhatsAppMaxButtons && longest <= kWhatsAppMaxButtonTitle) {
        return OptionForm::buttons;
    }
    if (options.size() <= kWhatsAppMaxListRows && longest <= kWhatsAppMaxRowTitle) {
        return OptionForm::list;
    }
    return OptionForm::numbered;
}

class WhatsAppAdapter final : public ChannelAdapter {
public:
    WhatsAppAdapter(std::string app_secret, std::string verify_token, std::string access_token,
                    std::string phone_number_id, std::string api_version,
                    std::chrono::seconds choice_ttl, core::SessionStore& store)
        : app_secret_(std::move(app_secret)),
          verify_token_(std::move(verify_token)),
          access_token_(std::move(access_token)),
          messages_target_("/" + api_version + "/" + phone_number_id + "/messages"),
          choice_ttl_(choice_ttl),
          store_(store) {}

    std::string_view channel() const noexcept override { return kChannel; }

    std::string_view path() const noexcept override { return kWhatsAppPath; }

    WebhookOutcome handle(const WebhookRequest& request) override {
        try {
            if (request.method == "GET") {
                return verify(request);
            }
            if (request.method == "POST") {
                return notification(request);
            }
            return answer(405, "whatsapp webhooks are GET or POST requests");
        } catch (const std::exception& e) {
            log_.error("whatsapp webhook failed", {{"error", e.what()}});
            return answer(500, "internal error");
        }
    }

    DeliveryReport deliver(const core::OutboundMessage& message, ProviderClient& client) override {
        try {
            return deliver_checked(message, client);
        } catch (const std::exception& e) {
            log_.error("whatsapp delivery failed",
                       {{"conversation", message.conversation}, {"error", e.what()}});
            return DeliveryReport{false, false, 0, std::string("whatsapp: ") + e.what()};
        }
    }

private:
    // The subscription handshake: echo hub.challenge when hub.verify_token is ours.
    WebhookOutcome verify(const WebhookRequest& request) const {
        const std::string mode = query_parameter(request.target, "hub.mode");
        const std::string token = query_parameter(request.target, "hub.verify_token");
        const std::string challenge = query_parameter(request.target, "hub.challenge");
        const bool printable = std::all_of(challenge.begin(), challenge.end(),
                                           [](char c) { return c > ' ' && c < 0x7F; });
        if (mode != "subscribe" || !detail::secret_equals(token, verify_token_) ||
            challenge.empty() || challenge.size() > kMaxChallengeBytes || !printable) {
            log_.warn("whatsapp verification refused");
            return answer(403, "verification refused");
        }
        log_.info("whatsapp webhook verified");
        return answer(200, challenge);
    }

    WebhookOutcome notification(const WebhookRequest& request) {
        // The signature proves Meta sent exactly this body (HMAC-SHA256 with the app secret).
        const std::string_view signature = request.header(kSignatureHeader);
        if (signature.empty()) {
            return answer(401, "missing X-Hub-Signature-256");
        }
        if (request.body.size() > kWhatsAppMaxNotificationBytes) {
            return answer(413, "the notification is larger than " +
                                   std::to_string(kWhatsAppMaxNotificationBytes) + " bytes");
        }
        if (!signature_matches(signature, app_secret_, request.body)) {
            log_.warn("whatsapp notification with a wrong signature");
            return answer(403, "wrong X-Hub-Signature-256");
        }

        if (!core::is_valid_utf8(request.body)) {
            return answer(400, "the notification is not valid UTF-8");
        }
        // Boost.JSON refuses bad escapes (lone surrogates) and nesting past 32 levels.
        boost::system::error_code ec;
        json::value root = json::parse(request.body, ec);
        if (ec) {
            return answer(400, "the notification is not valid JSON: " + ec.message());
        }
        const json::object* top = root.if_object();
        if (top == nullptr) {
            return answer(400, "the notification must be a JSON object");
        }
        const json::string* object = string_member(*top, "object");
        if (object == nullptr || *object != "whatsapp_business_account") {
            log_.debug("whatsapp notification for another object ignored");
            return answer(200, "");
        }
        const json::value* entries = top->if_contains("entry");
        if (entries == nullptr || !entries->is_array()) {
            return answer(400, "entry must be an array");
        }

        // Every entry, every change, every message, in the order Meta sent them.
        WebhookOutcome outcome = answer(200, "");
        for (const json::value& entry : entries->get_array()) {
            const json::object* e = entry.if_object();
            const json::value* changes = e != nullptr ? e->if_contains("changes") : nullptr;
            if (changes == nullptr || !changes->is_array()) {
                return answer(400, "each entry needs a changes array");
            }
            for (const json::value& change : changes->get_array()) {
                if (std::optional<Refusal> refusal = on_change(change, outcome)) {
                    return answer(refusal->status, std::move(refusal->reason));
                }
            }
        }
        return outcome;
    }

    // Adds the messages of one change to `outcome`; a refusal when the change is malformed or
    // the session store failed.
    std::optional<Refusal> on_change(const json::value& change, WebhookOutcome& outcome) {
        const json::object* c = change.if_object();
        if (c == nullptr) {
            return Refusal{400, "each change must be an object"};
        }
        const json::string* field = string_member(*c, "field");
        if (field != nullptr && *field != "messages") {
            return std::nullopt;  // account updates, template status and the like
        }
        const json::object* value = object_member(*c, "value");
        if (value == nullptr) {
            return Refusal{400, "each change needs a value object"};
        }
        const json::value* messages = value->if_contains("messages");
        if (messages == nullptr) {
            return std::nullopt;  // statuses (sent, delivered, read) only
        }
        if (!messages->is_array()) {
            return Refusal{400, "value.messages must be an array"};
        }
        std::string phone_number_id;
        if (const json::object* metadata = object_member(*value, "metadata")) {
            if (const json::string* id = string_member(*metadata, "phone_number_id")) {
                phone_number_id = std::string(*id);
            }
        }
        for (const json::value& message : messages->get_array()) {
            if (std::optional<Refusal> refusal = on_message(message, phone_number_id, outcome)) {
                return refusal;
            }
        }
        return std::nullopt;
    }

    std::optional<Refusal> on_message(const json::value& message,
                                      const std::string& phone_number_id, WebhookOutcome& outcome) {
        const json::object* m = message.if_object();
        if (m == nullptr) {
            return Refusal{400, "each message must be an object"};
        }
        const json::string* from = string_member(*m, "from");
        const json::string* id = string_member(*m, "id");
        const json::string* type = string_member(*m, "type");
        if (from == nullptr || from->empty() || id == nullptr || id->empty() || type == nullptr) {
            return Refusal{400, "each message needs string from, id and type"};
        }

        core::InboundMessage in;
        in.id = std::string(*id);
        in.channel = std::string(kChannel);
        in.conversation = std::string(kChannel) + ":" + std::string(*from);
        in.sender = std::string(*from);
        in.metadata["phone_number_id"] = phone_number_id;
        in.metadata["type"] = *type;
        if (const json::string* timestamp = string_member(*m, "timestamp")) {
            in.metadata["timestamp"] = *timestamp;
        }
        if (const json::object* context = object_member(*m, "context")) {
            if (const json::string* replied = string_member(*context, "id")) {
                in.metadata["context_id"] = *replied;
            }
        }

        // What the customer said: the text, or the payload of what they tapped.
        std::optional<std::string> said;
        bool mapped = false;
        if (*type == "text") {
            const json::object* text = object_member(*m, "text");
            const json::string* body = text != nullptr ? string_member(*text, "body") : nullptr;
            if (body == nullptr) {
                return Refusal{400, "a text message needs text.body"};
            }
            said = std::string(*body);
        } else if (*type == "interactive") {
            const json::object* interactive = object_member(*m, "interactive");
            const json::string* kind =
                interactive != nullptr ? string_member(*interactive, "type") : nullptr;
            const json::object* reply = nullptr;
            if (kind != nullptr && (*kind == "button_reply" || *kind == "list_reply")) {
                reply = object_member(*interactive, *kind);
            }
            const json::string* reply_id = reply != nullptr ? string_member(*reply, "id") : nullptr;
            if (reply_id != nullptr) {
                said = std::string(*reply_id);
                mapped = true;
            }
        } else if (*type == "button") {
            const json::object* button = object_member(*m, "button");
            const json::string* payload =
                button != nullptr ? string_member(*button, "payload") : nullptr;
            const json::string* text = button != nullptr ? string_member(*button, "text") : nullptr;
            if (payload != nullptr || text != nullptr) {
                said = std::string(payload != nullptr ? *payload : *text);
            }
        } else if (*type == "reaction" || *type == "system") {
            return std::nullopt;  // an emoji on an earlier message, a number change: nothing to
                                  // answer
        }

        if (!said) {
            outcome.direct_replies.push_back(
                direct_reply(in, detail::only_text_reply(guess_locale(in.sender))));
            return std::nullopt;
        }

        // A tapped button or row whose payload was too long for WhatsApp was shortened.
        if (mapped) {
            auto payload = detail::expand_payload(store_, kPayloadKeyPrefix, *said);
            if (!payload) {
                log_.warn("whatsapp payload lookup failed",
                          {{"error", payload.error().message()}, {"store", store_.last_error()}});
                return kStoreRefusal;
            }
            if (!*payload) {
                outcome.direct_replies.push_back(
                    direct_reply(in, detail::expired_choice_reply(guess_locale(in.sender))));
                return std::nullopt;
            }
            said = std::move(*payload);
        } else if (std::size_t n = *type == "text" ? option_number(*said) : 0; n > 0) {
            // The number of an option offered as numbered text stands for that option.
            auto offered = offered_payload(in.sender, n);
            if (!offered) {
                return kStoreRefusal;
            }
            if (*offered) {
                in.metadata["option"] = n;
                said = std::move(**offered);
            }
        }

        in.text = std::move(*said);
        outcome.messages.push_back(std::move(in));
        return std::nullopt;
    }

    core::OutboundMessage direct_reply(const core::InboundMessage& in, std::string text) const {
        core::OutboundMessage reply;
        reply.conversation = in.conversation;
        reply.channel = in.channel;
        reply.recipient = in.sender;
        reply.locale = guess_locale(in.sender);
        reply.text = std::move(text);
        reply.in_reply_to = in.id;
        return reply;
    }

    // The payload of option `n` last offered to `recipient` as numbered text, if any.
    core::Result<std::optional<std::string>> offered_payload(const std::string& recipient,
                                                             std::size_t n) {
        auto stored = store_.get_value(std::string(kOfferedKeyPrefix) + recipient);
        if (!stored) {
            log_.warn("whatsapp offered options lookup failed",
                      {{"error", stored.error().message()}, {"store", store_.last_error()}});
            return stored.error();
        }
        if (!*stored) {
            return std::optional<std::string>{};
        }
        boost::system::error_code ec;
        json::value parsed = json::parse(**stored, ec);
        const json::array* payloads = ec ? nullptr : parsed.if_array();
        if (payloads == nullptr || n > payloads->size() || !(*payloads)[n - 1].is_string()) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>(std::string((*payloads)[n - 1].get_string()));
    }

    json::object envelope(const std::string& to, std::string_view type) const {
        json::object body;
        body["messaging_product"] = "whatsapp";
        body["recipient_type"] = "individual";
        body["to"] = to;
        body["type"] = type;
        return body;
    }

    DeliveryReport deliver_checked(const core::OutboundMessage& message, ProviderClient& client) {
        if (message.recipient.empty()) {
            return DeliveryReport{false, false, 0, "whatsapp: the reply has no recipient"};
        }
        std::vector<Option> options;
        for (const core::Choice& choice : message.quick_replies) {
            Option option{choice.title.empty() ? choice.payload : choice.title,
                          choice.payload.empty() ? choice.title : choice.payload};
            if (!option.title.empty()) {
                options.push_back(std::move(option));
            }
        }
        const OptionForm form = choose_form(options);
        const bool zh = message.locale == "zh-CN";

        // Remember numbered options so that a typed number can stand for one; a new turn
        // without them forgets the last ones, so a later "2" is read as the number it is.
        std::string text = message.text;
        const std::string offered_key = std::string(kOfferedKeyPrefix) + message.recipient;
        if (form == OptionForm::numbered) {
            json::array payloads;
            for (std::size_t i = 0; i < options.size(); ++i) {
                text += (i == 0 && !text.empty() ? "\n\n" : "\n");
                text += std::to_string(i + 1) + ". " + options[i].title;
                payloads.emplace_back(options[i].payload);
            }
            if (auto put = store_.put_value(offered_key, json::serialize(payloads), choice_ttl_);
                !put) {
                return store_failure(put.error());
            }
        } else if (message.sequence == 0) {
            if (auto erased = store_.erase_value(offered_key); !erased) {
                return store_failure(erased.error());
            }
        }

        // The text as plain messages; with buttons or a list, the last piece (at most 1024
        // characters) becomes the interactive message's body.
        std::vector<std::string> pieces =
            detail::split_text(text, kWhatsAppMaxTextChars, detail::TextUnit::code_point);
        std::optional<json::object> interactive;
        if (form == OptionForm::buttons || form == OptionForm::list) {
            std::string body_text = zh ? "请选择：" : "Please choose:";
            if (!pieces.empty()) {
                std::vector<std::string> tail = detail::split_text(
                    pieces.back(), kWhatsAppMaxInteractiveBody, detail::TextUnit::code_point);
                pieces.pop_back();
                body_text = std::move(tail.back());
                tail.pop_back();
                pieces.insert(pieces.end(), tail.begin(), tail.end());
            }
            auto built = build_interactive(form, options, body_text, zh);
            if (!built) {
                return store_failure(built.error());
            }
            interactive = std::move(*built);
        }
        if (pieces.empty() && !interactive) {
            return DeliveryReport{false, false, 0, "whatsapp: the reply has no text"};
        }

        // Send the pieces in order, then the interactive message.
        // TODO(teller): when a later message fails, the earlier ones were already sent, and a
        // redelivery of the reply (from teller.dlq) sends them again: the customer sees them twice.
        // TODO(teller): free-form messages only reach a customer within 24 hours of their last
        // message; later replies fail with Graph error 131047 because template messages are not
        // supported.
        DeliveryReport report;
        const std::size_t total = pieces.size() + (interactive ? 1 : 0);
        for (std::size_t i = 0; i < total; ++i) {
            json::object body;
            if (i < pieces.size()) {
                body = envelope(message.recipient, "text");
                json::object text_object;
                text_object["preview_url"] = false;
                text_object["body"] = pieces[i];
                body["text"] = std::move(text_object);
            } else {
                body = envelope(message.recipient, "interactive");
                body["interactive"] = std::move(*interactive);
            }
            ProviderCall call;
            call.method = "POST";
            call.target = messages_target_;
            call.headers.emplace_back("authorization", "Bearer " + access_token_);
            call.body = json::serialize(body);

            const std::string part = total > 1 ? " (message " + std::to_string(i + 1) + " of " +
                                                     std::to_string(total) + ")"
                                               : std::string();
            auto response = client.send(call);
            if (!response) {
                return DeliveryReport{false, false, 0,
                                      "whatsapp send" + part + ": " + response.error().message()};
            }
            report.provider_status = response->status;
            std::string failure = judge_response(*response);
            if (!failure.empty()) {
                log_.warn("whatsapp refused a reply",
                          {{"conversation", message.conversation}, {"status", response->status}});
                report.reason = std::move(failure) + part;
                return report;
            }
        }
        report.delivered = true;
        log_.debug("whatsapp reply delivered",
                   {{"conversation", message.conversation}, {"messages", total}});
        return report;
    }

    // The `interactive` object for reply buttons or a list; errors from the session store.
    core::Result<json::object> build_interactive(OptionForm form,
                                                 const std::vector<Option>& options,
                                                 const std::string& body_text, bool zh) {
        json::array items;
        for (const Option& option : options) {
            auto id = detail::shorten_payload(store_, kPayloadKeyPrefix, option.payload,
                                              kWhatsAppMaxReplyId, choice_ttl_);
            if (!id) {
                return id.error();
            }
            json::object item;
            item["id"] = *id;
            item["title"] = option.title;
            if (form == OptionForm::buttons) {
                json::object button;
                button["type"] = "reply";
                button["reply"] = std::move(item);
                items.push_back(std::move(button));
            } else {
                items.push_back(std::move(item));
            }
        }

        json::object action;
        if (form == OptionForm::buttons) {
            action["buttons"] = std::move(items);
        } else {
            action["button"] = zh ? "选项" : "Options";  // at most 20 characters
            json::object section;
            section["rows"] = std::move(items);
            action["sections"] = json::array{std::move(section)};
        }
        json::object body;
        body["text"] = body_text;
        json::object interactive;
        interactive["type"] = form == OptionForm::buttons ? "button" : "list";
        interactive["body"] = std::move(body);
        interactive["action"] = std::move(action);
        return interactive;
    }

    DeliveryReport store_failure(const boost::system::error_code& ec) const {
        return DeliveryReport{
            false, false, 0,
            "whatsapp: the session store failed: " + ec.message() + " " + store_.last_error()};
    }

    const std::string app_secret_;
    const std::string verify_token_;
    const std::string access_token_;
    // TODO(teller): replies always go out from the configured phone_number_id; a customer who
    // wrote to another number of the same app (metadata.phone_number_id) is answered from this
    // one, because OutboundMessage carries no channel metadata to route by.
    const std::string messages_target_;
    const std::chrono::seconds choice_ttl_;
    core::SessionStore& store_;
    core::Logger log_{"whatsapp"};
};

const std::string& required_setting(const ChannelSettings& settings, const std::string& key) {
    auto it = settings.find(key);
    if (it == settings.end() || it->second.empty()) {
        throw core::Error("channels.whatsapp." + key + " is required");
    }
    return it->second;
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_api_version(std::string_view version) {
    if (version.size() < 4 || version.front() != 'v') {
        return false;
    }
    const std::size_t dot = version.find('.');
    return dot != std::string_view::npos && all_digits(version.substr(1, dot - 1)) &&
           all_digits(version.substr(dot + 1));
}

bool valid_token(std::string_view token) {
    // Sent in a header: printable ASCII without spaces.
    return std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

}  // namespace

std::unique_ptr<ChannelAdapter> make_whatsapp_adapter(const ChannelSettings& settings,
                                                      ChannelContext context) {
    const std::string& app_secret = required_setting(settings, "app_secret");
    const std::string& verify_token = required_setting(settings, "verify_token");
    const std::string& access_token = required_setting(settings, "access_token");
    if (!valid_token(access_token)) {
        throw core::Error("channels.whatsapp.access_token must be printable ASCII without spaces");
    }
    const std::string& phone_number_id = required_setting(settings, "phone_number_id");
    if (!all_digits(phone_number_id)) {
        throw core::Error("channels.whatsapp.phone_number_id must be digits");
    }
    std::string api_version = "v21.0";
    if (auto it = settings.find("api_version"); it != settings.end()) {
        if (!valid_api_version(it->second)) {
            throw core::Error("channels.whatsapp.api_version must look like v21.0");
        }
        api_version = it->second;
    }
    std::chrono::seconds ttl = kDefaultChoiceTtl;
    if (auto it = settings.find("choice_ttl_seconds"); it != settings.end()) {
        long long seconds = 0;
        const char* end = it->second.data() + it->second.size();
        auto [ptr, ec] = std::from_chars(it->second.data(), end, seconds);
        if (ec != std::errc{} || ptr != end || seconds <= 0) {
            throw core::Error("channels.whatsapp.choice_ttl_seconds must be a positive integer");
        }
        ttl = std::chrono::seconds(seconds);
    }
    if (context.store == nullptr) {
        throw core::Error("channels.whatsapp: the adapter needs a session store");
    }
    return std::make_unique<WhatsAppAdapter>(app_secret, verify_token, access_token,
                                             phone_number_id, api_version, ttl, *context.store);
}

}  // namespace teller::channels
