// Helpers the Telegram and WhatsApp adapters share: text splitting by the provider's unit,
// constant-time secret comparison, and short ids for payloads too long for a button.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/error.hpp"

namespace teller::core {
class SessionStore;
}

namespace teller::channels::detail {

/// How a provider counts the length of a text.
enum class TextUnit {
    code_point,  ///< Unicode scalar values (WhatsApp "characters")
    utf16,       ///< UTF-16 code units (Telegram: characters beyond U+FFFF count twice)
};

/// Length of UTF-8 `text` in `unit`. A byte that is not part of a well-formed sequence counts
/// as one unit.
std::size_t text_length(std::string_view text, TextUnit unit) noexcept;

/// Splits `text` into pieces of at most `limit` units, never inside a UTF-8 sequence. Cuts at
/// the last line break in the second half of the window, else the last space or tab there,
/// else after the last CJK sentence mark (。！？；) there, else the last whitespace anywhere,
/// else at the limit. The whitespace at a cut is dropped. Text within the limit
/// comes back as one piece; empty text as no pieces. `limit` must be positive.
std::vector<std::string> split_text(std::string_view text, std::size_t limit, TextUnit unit);

/// Compares two secrets in time that does not depend on where they differ: both are hashed with
/// SHA-256 and the equal-length digests compared with CRYPTO_memcmp.
bool secret_equals(std::string_view a, std::string_view b) noexcept;

/// Marks a button payload that stands for a longer one kept in the session store.
inline constexpr std::string_view kMappedPayloadPrefix = "tlr:";

/// The payload to put on a button whose provider allows at most `limit` bytes: `payload`
/// itself when it fits and does not start with kMappedPayloadPrefix, otherwise the prefix and a
/// random id, with `payload` stored under `<key_prefix><id>` for `ttl`. Errors: those of
/// SessionStore::put_value. Thread-safe when `store` is.
core::Result<std::string> shorten_payload(core::SessionStore& store, std::string_view key_prefix,
                                          std::string_view payload, std::size_t limit,
                                          std::chrono::seconds ttl);

/// The payload behind button data `data`: `data` itself when it was not shortened, the stored
/// payload when it was, nullopt when the stored payload expired. Errors: those of
/// SessionStore::get_value.
core::Result<std::optional<std::string>> expand_payload(core::SessionStore& store,
                                                        std::string_view key_prefix,
                                                        std::string_view data);

/// Normalises a provider's language code to the BCP 47 hint on InboundMessage: any Chinese
/// ("zh", "zh-hans", "zh_TW") becomes "zh-CN"; other well-formed tags (letters, digits and
/// '-', at most 35 characters) are kept with '_' read as '-'; anything else gives "".
std::string normalise_locale(std::string_view code);

/// The polite answer to a message the adapter cannot read (a photo, a voice note).
std::string only_text_reply(std::string_view locale);

/// The answer to a tap on a button whose payload expired from the store.
std::string expired_choice_reply(std::string_view locale);

}  // namespace teller::channels::detail
