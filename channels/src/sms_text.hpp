// Text helpers the SMS and WeChat adapters share: UTF-8 decoding, keyword trimming, CJK
// detection, and numbered options (a menu in text whose numbers map back to payloads).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "teller/core/events.hpp"
#include "teller/core/log.hpp"

namespace teller::core {
class SessionStore;
}

namespace teller::channels::detail {

/// One decoded UTF-8 character. A byte that starts no well-formed sequence decodes as
/// U+FFFD with `size` 1 and `valid` false.
struct Utf8Char {
    char32_t code_point = 0;
    std::size_t size = 1;
    bool valid = true;
};

/// The character starting at byte `at` of `text` (`at` < text.size()).
Utf8Char decode_utf8(std::string_view text, std::size_t at) noexcept;

/// Appends `c` to `out` as UTF-8 (`c` must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t c);

/// True when `a` equals `b`, in time that depends on their lengths only (CRYPTO_memcmp): for
/// comparing a received signature with the expected one.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

/// `text` without leading and trailing ASCII whitespace and ideographic spaces (U+3000).
std::string_view trim_text(std::string_view text) noexcept;

/// ASCII letters upper-cased, every other byte unchanged.
std::string ascii_upper(std::string_view text);

/// True when `text` holds a Han (CJK unified or compatibility) ideograph: the hint for a
/// Chinese locale.
bool has_han(std::string_view text) noexcept;

/// The option number `text` is: ASCII or full-width digits only (after trimming), 1 to 99;
/// 0 otherwise.
std::size_t option_number(std::string_view text) noexcept;

/// The menu appended to a text for `choices`: a blank line, then one line per choice,
/// "Reply 1 for <title>" or, in Chinese, "回复 1：<title>". Empty when there are no choices.
std::string numbered_menu(const std::vector<core::Choice>& choices, bool chinese);

/// The options last offered to each conversation of one channel, kept in the session store
/// under `<prefix><conversation>` for `ttl`, so that any gateway instance maps a reply "2"
/// back to the second option's payload. Thread-safe when the store is.
class OfferedOptions {
public:
    OfferedOptions(std::string prefix, std::chrono::seconds ttl, core::Logger log)
        : prefix_(std::move(prefix)), ttl_(ttl), log_(std::move(log)) {}

    /// Records `choices` as offered to `conversation` (replacing earlier ones). Errors: the
    /// store's.
    core::Result<void> remember(core::SessionStore& store, std::string_view conversation,
                                const std::vector<core::Choice>& choices) const;

    /// Forgets what was offered to `conversation`. Errors: the store's.
    core::Result<void> forget(core::SessionStore& store, std::string_view conversation) const;

    /// When `message.text` is just an option number and that option was offered to the
    /// conversation, replaces the text with the option's payload and records the original
    /// text in metadata (`original_text`, `option`). A store failure leaves the message as it
    /// is (logged as a warning): the customer's "2" then reaches the engine as "2".
    void apply(core::SessionStore& store, core::InboundMessage& message) const;

private:
    std::string prefix_;
    std::chrono::seconds ttl_;
    core::Logger log_;
};

}  // namespace teller::channels::detail
