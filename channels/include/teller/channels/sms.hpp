// The SMS channel (Twilio-style): signed form webhooks, STOP/START/HELP keywords, GSM-7 and
// UCS-2 segmentation, and delivery through the Messages API.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "teller/channels/channel_adapter.hpp"

namespace teller::channels {

// ---- Forms and signatures ------------------------------------------------------------------

/// The decoded name/value pairs of a form body, in the order received.
using FormFields = std::vector<std::pair<std::string, std::string>>;

/// Decodes an application/x-www-form-urlencoded body or query string (WHATWG URL standard
/// section 5.1: '+' is a space, %XX a byte; empty pieces between '&' are skipped). nullopt when
/// a '%' is not followed by two hex digits. Values are bytes: the caller checks UTF-8.
/// Thread-safe.
std::optional<FormFields> parse_form(std::string_view body);

/// The value of the first field called `name`, or nullopt.
std::optional<std::string_view> form_value(const FormFields& fields, std::string_view name);

/// Encodes one name or value for a form body: A-Z a-z 0-9 - . _ ~ as they are, space as '+',
/// every other byte as %XX.
std::string form_encode(std::string_view text);

/// Twilio's X-Twilio-Signature for a form POST to `url` (the full URL Twilio called, query
/// included): base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...)) with the
/// fields sorted by name, then by value (byte order, which is code point order for UTF-8).
/// https://www.twilio.com/docs/usage/webhooks/webhooks-security. Thread-safe.
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const FormFields& params);

// ---- Encoding and segments -----------------------------------------------------------------

/// The two alphabets an SMS travels in (3GPP TS 23.038).
enum class SmsEncoding { gsm7, ucs2 };

/// "GSM-7" or "UCS-2".
std::string_view to_string(SmsEncoding encoding) noexcept;

/// Capacity of one SMS: alone, and as one part of a concatenated message (the rest of the
/// 140 bytes carries the concatenation header).
inline constexpr std::size_t kGsm7SingleSeptets = 160;
inline constexpr std::size_t kGsm7PartSeptets = 153;
inline constexpr std::size_t kUcs2SingleUnits = 70;
inline constexpr std::size_t kUcs2PartUnits = 67;

/// Septets code point `c` takes in GSM-7: 1 for the GSM 03.38 basic set, 2 for the extension
/// table (form feed ^ { } \ [ ~ ] | €, sent as ESC + character), 0 when GSM-7 cannot carry it.
int gsm7_septets(char32_t c) noexcept;

/// How a text travels as SMS.
struct SmsMeasure {
    SmsEncoding encoding = SmsEncoding::gsm7;
    std::size_t units = 0;     ///< septets (GSM-7) or UTF-16 code units (UCS-2)
    std::size_t segments = 0;  ///< 0 for an empty text
};

/// Chooses GSM-7 when every character of UTF-8 `text` is in the basic set or the extension
/// table, else UCS-2 (where a character beyond U+FFFF, an emoji, counts two units), and counts
/// segments: one up to 160 septets / 70 units, otherwise parts of 153 / 67 where an escape
/// pair or a surrogate pair never straddles two parts. Bytes that are not UTF-8 count as one
/// UCS-2 unit each. Never throws.
SmsMeasure measure_sms(std::string_view text) noexcept;

/// The parts a phone would receive `text` in (UTF-8 substrings, concatenated they give `text`);
/// one part when it fits one SMS, none when it is empty.
std::vector<std::string> split_sms(std::string_view text);

/// `text` + `suffix` when that fits `max_segments`; otherwise the longest prefix of `text` (cut
/// between characters) followed by an ellipsis ("..." in GSM-7, "…" in UCS-2) and `suffix`
/// that fits; when even the suffix does not fit, the whole `text` + `suffix` cut the same way.
/// `max_segments` must be positive.
std::string fit_sms(std::string_view text, std::string_view suffix, std::size_t max_segments);

// ---- Keywords ------------------------------------------------------------------------------

/// The carriers' standard keywords.
enum class SmsKeyword { none, opt_out, opt_in, help };

/// What a whole message means when it is a keyword, matched after trimming and ignoring ASCII
/// case: STOP STOPALL UNSUBSCRIBE CANCEL END QUIT 退订 取消订阅 (opt_out), START YES UNSTOP
/// 订阅 (opt_in), HELP INFO 帮助 (help).
SmsKeyword classify_sms_keyword(std::string_view text);

// ---- The adapter ---------------------------------------------------------------------------

/// The SMS adapter (channel "sms"). Settings:
/// - `account_sid` (required; letters and digits), `auth_token` (required);
/// - `from_number` or `messaging_service_sid` (one required): the sender of replies;
/// - `path` (default "/webhooks/sms"), `max_segments` (1..50, default 10);
/// - `keyword_replies` ("true"/"false", default true: set false when Twilio's Advanced Opt-Out
///   already answers the keywords), `help_text`, `stop_text`, `start_text` (replace the
///   built-in English and Chinese confirmations).
/// Store keys: `sms:optout:<number>` (no expiry), `sms:options:<conversation>` (1 day) and
/// `sms:keyword-reply:<MessageSid>` (1 day: lets a confirmation reach an opted-out number).
/// STOP/START/HELP confirmations carry the keyword message's MessageSid in `in_reply_to` and
/// come back on every retry of the webhook; the gateway publishes them once.
/// Throws core::Error naming the setting when one is missing or invalid, or when
/// `context.store` is null.
std::unique_ptr<ChannelAdapter> make_sms_adapter(const ChannelSettings& settings,
                                                 ChannelContext context);

}  // namespace teller::channels
