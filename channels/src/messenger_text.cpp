// Text splitting, secret comparison and payload shortening shared by the Telegram and WhatsApp
// adapters.
#include "messenger_text.hpp"

#include <array>
#include <cstdint>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "teller/core/session_store.hpp"

namespace teller::channels::detail {

namespace {

// One decoded step through UTF-8: how many bytes the character takes and its code point
// (a malformed byte is one byte standing for itself).
struct Step {
    std::size_t bytes = 1;
    std::uint32_t code_point = 0;
};

Step next_step(std::string_view text, std::size_t at) noexcept {
    const auto lead = static_cast<unsigned char>(text[at]);
    std::size_t len = lead < 0x80           ? 1
                      : (lead >> 5) == 0x6  ? 2
                      : (lead >> 4) == 0xE  ? 3
                      : (lead >> 3) == 0x1E ? 4
                                            : 0;
    if (len == 0 || at + len > text.size()) {
        return {1, lead};
    }
    std::uint32_t cp = len == 1   ? lead
                       : len == 2 ? (lead & 0x1F)
                       : len == 3 ? (lead & 0x0F)
                                  : (lead & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
        const auto c = static_cast<unsigned char>(text[at + k]);
        if ((c & 0xC0) != 0x80) {
            return {1, lead};
        }
        cp = (cp << 6) | (c & 0x3F);
    }
    return {len, cp};
}

std::size_t units_of(std::uint32_t code_point, TextUnit unit) noexcept {
    return unit == TextUnit::utf16 && code_point >= 0x10000 ? 2 : 1;
}

bool is_cjk_sentence_mark(std::uint32_t cp) noexcept {
    return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF1B;
}

// Where to cut `window` (the longest prefix within the limit): the byte where the piece ends
// and the byte where the rest starts.
std::pair<std::size_t, std::size_t> choose_cut(std::string_view window) {
    const std::size_t half = window.size() / 2;
    std::size_t last_newline = 0;
    std::size_t last_space = 0;
    std::size_t last_mark_end = 0;
    for (std::size_t i = 0; i < window.size();) {
        const Step step = next_step(window, i);
        if (i > 0 && step.code_point == '\n') {
            last_newline = i;
        } else if (i > 0 && (step.code_point == ' ' || step.code_point == '\t')) {
            last_space = i;
        } else if (is_cjk_sentence_mark(step.code_point)) {
            last_mark_end = i + step.bytes;
        }
        i += step.bytes;
    }

    if (last_newline >= half && last_newline > 0) {
        return {last_newline, last_newline + 1};
    }
    if (last_space >= half && last_space > 0) {
        return {last_space, last_space + 1};
    }
    if (last_mark_end >= half && last_mark_end > 0) {
        return {last_mark_end, last_mark_end};
    }
    const std::size_t last_whitespace = std::max(last_newline, last_space);
    if (last_whitespace > 0) {
        return {last_whitespace, last_whitespace + 1};
    }
    return {window.size(), window.size()};
}

std::string random_id() {
    // 15 random bytes as 20 characters of base64url: collisions are out of reach.
    std::array<unsigned char, 15> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw core::Error("payload id: the OpenSSL random generator failed");
    }
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string id;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::uint32_t n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) {
            id.push_back(kAlphabet[(n >> shift) & 0x3F]);
        }
    }
    return id;
}

}  // namespace

std::size_t text_length(std::string_view text, TextUnit unit) noexcept {
    std::size_t units = 0;
    for (std::size_t i = 0; i < text.size();) {
        const Step step = next_step(text, i);
        units += units_of(step.code_point, unit);
        i += step.bytes;
    }
    return units;
}

// TODO(teller): cuts respect code points, not grapheme clusters: a family emoji (joined with
// U+200D) or a letter with combining marks that straddles a cut is shown broken across two
// messages.
std::vector<std::string> split_text(std::string_view text, std::size_t limit, TextUnit unit) {
    std::vector<std::string> pieces;
    while (!text.empty()) {
        // The longest prefix within the limit, ending on a character boundary.
        std::size_t units = 0;
        std::size_t end = 0;
        while (end < text.size()) {
            const Step step = next_step(text, end);
            const std::size_t more = units_of(step.code_point, unit);
            if (units + more > limit) {
                break;
            }
            units += more;
            end += step.bytes;
        }
        if (end == text.size()) {
            pieces.emplace_back(text);
            break;
        }
        if (end == 0) {
            // A limit of one UTF-16 unit cannot hold a surrogate pair: send it alone.
            end = next_step(text, 0).bytes;
        }

        const auto [piece_end, rest_start] = choose_cut(text.substr(0, end));
        pieces.emplace_back(text.substr(0, piece_end));
        text.remove_prefix(rest_start);
        while (!text.empty() && (text.front() == '\n' || text.front() == '\r' ||
                                 text.front() == ' ' || text.front() == '\t')) {
            text.remove_prefix(1);
        }
    }
    return pieces;
}

bool secret_equals(std::string_view a, std::string_view b) noexcept {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> da{};
    std::array<unsigned char, SHA256_DIGEST_LENGTH> db{};
    SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da.data());
    SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db.data());
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

core::Result<std::string> shorten_payload(core::SessionStore& store, std::string_view key_prefix,
                                          std::string_view payload, std::size_t limit,
                                          std::chrono::seconds ttl) {
    if (payload.size() <= limit && !payload.starts_with(kMappedPayloadPrefix)) {
        return std::string(payload);
    }
    const std::string id = random_id();
    std::string key(key_prefix);
    key += id;
    if (auto put = store.put_value(key, payload, ttl); !put) {
        return put.error();
    }
    std::string data(kMappedPayloadPrefix);
    data += id;
    return data;
}

core::Result<std::optional<std::string>> expand_payload(core::SessionStore& store,
                                                        std::string_view key_prefix,
                                                        std::string_view data) {
    if (!data.starts_with(kMappedPayloadPrefix)) {
        return std::optional<std::string>(std::string(data));
    }
    std::string key(key_prefix);
    key += data.substr(kMappedPayloadPrefix.size());
    return store.get_value(key);
}

std::string normalise_locale(std::string_view code) {
    if (code.empty() || code.size() > 35) {
        return {};
    }
    std::string tag;
    for (char c : code) {
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        if (!letter && !digit && c != '-' && c != '_') {
            return {};
        }
        tag.push_back(c == '_' ? '-' : c);
    }
    const bool chinese = tag.size() >= 2 && (tag[0] == 'z' || tag[0] == 'Z') &&
                         (tag[1] == 'h' || tag[1] == 'H') && (tag.size() == 2 || tag[2] == '-');
    if (chinese) {
        return "zh-CN";
    }
    return tag;
}

std::string only_text_reply(std::string_view locale) {
    if (locale == "zh-CN") {
        return "抱歉，我目前只能阅读文字消息。请用文字描述您的问题。";
    }
    return "Sorry, I can only read text messages for now. Please type your question.";
}

std::string expired_choice_reply(std::string_view locale) {
    if (locale == "zh-CN") {
        return "该选项已过期，请直接输入您的回答。";
    }
    return "That option has expired. Please type your answer instead.";
}

}  // namespace teller::channels::detail
