// The Telegram Bot API channel: webhook Updates in, sendMessage out.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "teller/channels/channel_adapter.hpp"

namespace teller::channels {

/// The webhook path the Telegram adapter serves.
inline constexpr std::string_view kTelegramPath = "/webhooks/telegram";

/// Largest Update body the adapter parses (bytes); a longer one gets 413.
inline constexpr std::size_t kTelegramMaxUpdateBytes = 256 * 1024;

/// Longest message text Telegram accepts, in UTF-16 code units; longer replies are split.
inline constexpr std::size_t kTelegramMaxTextUnits = 4096;

/// Longest `callback_data` of an inline button, in bytes; longer payloads are shortened.
inline constexpr std::size_t kTelegramMaxCallbackBytes = 64;

/// The Telegram adapter (https://core.telegram.org/bots/api).
///
/// Settings (`channels.telegram.*`):
/// - `bot_token` (required): the token from @BotFather, `<digits>:<letters, digits, - and _>`.
/// - `secret_token` (required): the `secret_token` given to setWebhook, 1-256 characters of
///   letters, digits, `_` and `-`; every webhook must carry it in
///   `X-Telegram-Bot-Api-Secret-Token` (missing: 401, different: 403).
/// - `callback_ttl_seconds` (optional, default 604800): how long a shortened button payload
///   stays in the store, i.e. how long an old button can still be tapped.
///
/// Inbound: `message` with text becomes an InboundMessage with id `<chat.id>:<message_id>`
/// (what identifies a message in Telegram, so a redelivered Update dedupes), conversation
/// `telegram:<chat.id>`, sender the chat id, locale from `from.language_code` (zh* → zh-CN).
/// A `callback_query` (a tapped inline button) becomes an InboundMessage whose text is the
/// button's payload, with id `callback:<callback_query.id>`; the webhook answer itself carries
/// the answerCallbackQuery call (Telegram's "reply to the webhook with a method" form), so the
/// button stops spinning without waiting for the engine and without a second HTTP call; a
/// payload that was shortened (see below) is looked up, and an expired one gets a polite direct
/// reply. Messages without text (photos, stickers) get a polite direct reply in a private chat
/// and nothing in a group; edits, channel posts and other Update kinds are acknowledged and
/// dropped. Malformed JSON or invalid UTF-8: 400; the session store failing during a lookup:
/// 503, so that Telegram retries.
///
/// Delivery: sendMessage with the text split into pieces of at most kTelegramMaxTextUnits and
/// the quick replies as an inline keyboard (one button per row) on the last piece. A payload
/// longer than kTelegramMaxCallbackBytes travels as a short id, the payload being kept in
/// `context.store` (put_value) for `callback_ttl_seconds`. A failed report carries Telegram's
/// `description` (and `retry_after` for a final 429).
///
/// Throws core::Error naming the setting when one is missing or invalid, or when
/// `context.store` is null. The adapter is thread-safe.
std::unique_ptr<ChannelAdapter> make_telegram_adapter(const ChannelSettings& settings,
                                                      ChannelContext context);

}  // namespace teller::channels
