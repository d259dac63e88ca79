// The WhatsApp Cloud API channel: signed webhook notifications in, Graph API messages out.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "teller/channels/channel_adapter.hpp"

namespace teller::channels {

/// The webhook path the WhatsApp adapter serves.
inline constexpr std::string_view kWhatsAppPath = "/webhooks/whatsapp";

/// Largest notification body the adapter parses (bytes); a longer one gets 413.
inline constexpr std::size_t kWhatsAppMaxNotificationBytes = 1024 * 1024;

/// Longest text body WhatsApp accepts, in characters; longer replies are split.
inline constexpr std::size_t kWhatsAppMaxTextChars = 4096;

/// Limits of interactive messages: reply buttons (at most 3, titles of at most 20 characters,
/// body of at most 1024) and lists (at most 10 rows, titles of at most 24 characters, row ids
/// of at most 200, a button label of at most 20).
inline constexpr std::size_t kWhatsAppMaxButtons = 3;
inline constexpr std::size_t kWhatsAppMaxButtonTitle = 20;
inline constexpr std::size_t kWhatsAppMaxInteractiveBody = 1024;
inline constexpr std::size_t kWhatsAppMaxListRows = 10;
inline constexpr std::size_t kWhatsAppMaxRowTitle = 24;
inline constexpr std::size_t kWhatsAppMaxReplyId = 200;

/// The WhatsApp Cloud API adapter
/// (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks,
/// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).
///
/// Settings (`channels.whatsapp.*`):
/// - `app_secret` (required): the Meta app secret; every POST must carry
///   `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` (missing: 401, wrong: 403).
/// - `verify_token` (required): answers the GET handshake (`hub.mode=subscribe`,
///   `hub.verify_token`) with `hub.challenge`; any other GET gets 403.
/// - `access_token` (required): sent as `Authorization: Bearer` on Graph API calls.
/// - `phone_number_id` (required, digits): the business number replies are sent from.
/// - `api_version` (optional, default "v21.0"): the Graph API version, `v<major>.<minor>`.
/// - `choice_ttl_seconds` (optional, default 604800): how long a shortened button payload and
///   the numbered options offered as text stay in the store.
///
/// Inbound: every message of every change of every entry, in order. `text` gives its body,
/// an interactive `button_reply` / `list_reply` or a template `button` gives its payload, a
/// text that is only the number of an option offered as numbered text gives that option's
/// payload; other kinds (image, audio, location...) get a polite direct reply and reactions
/// are dropped. Id: the message id (wamid...), so a redelivered notification dedupes;
/// conversation `whatsapp:<from>`; sender `from`; metadata keeps `phone_number_id`. Status
/// notifications and other objects are acknowledged with 200. Malformed JSON, invalid UTF-8 or
/// a wrongly shaped entry: 400, for the whole batch; the session store failing during a lookup:
/// 503, so that Meta retries the batch.
///
/// Delivery: text messages split at kWhatsAppMaxTextChars; quick replies as reply buttons when
/// they fit, else as a list when they fit, else as numbered lines in the text (remembered in
/// `context.store` so that a typed number answers; the first reply of the next turn without
/// numbered options forgets them). A payload longer than kWhatsAppMaxReplyId travels as a short
/// id. A failed report carries the Graph API's `error.message` and `error.code`.
///
/// Throws core::Error naming the setting when one is missing or invalid, or when
/// `context.store` is null. The adapter is thread-safe.
std::unique_ptr<ChannelAdapter> make_whatsapp_adapter(const ChannelSettings& settings,
                                                      ChannelContext context);

}  // namespace teller::channels
