// Text helpers the SMS and WeChat adapters share: UTF-8, keywords, CJK, numbered options.
#include "sms_text.hpp"

#include <openssl/crypto.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "teller/core/session_store.hpp"

namespace teller::channels::detail {
namespace json = boost::json;

namespace {

bool is_continuation(unsigned char c) noexcept {
    return (c & 0xC0) == 0x80;
}

bool is_ascii_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// "\u3000", the ideographic space, in UTF-8.
constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";

}  // namespace

Utf8Char decode_utf8(std::string_view text, std::size_t at) noexcept {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    const unsigned char c = s[at];
    constexpr Utf8Char kInvalid{0xFFFD, 1, false};
    if (c < 0x80) {
        return {c, 1, true};
    }

    // Lead byte: the sequence's length, its payload bits, and the smallest code point it may
    // encode (anything smaller is an overlong form).
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return kInvalid;
    }
    if (at + len > n) {
        return kInvalid;
    }
    for (std::size_t k = 1; k < len; ++k) {
        if (!is_continuation(s[at + k])) {
            return kInvalid;
        }
        cp = (cp << 6) | (s[at + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return kInvalid;
    }
    return {cp, len, true};
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim_text(std::string_view text) noexcept {
    for (;;) {
        if (!text.empty() && is_ascii_space(text.front())) {
            text.remove_prefix(1);
        } else if (text.starts_with(kIdeographicSpace)) {
            text.remove_prefix(kIdeographicSpace.size());
        } else {
            break;
        }
    }
    for (;;) {
        if (!text.empty() && is_ascii_space(text.back())) {
            text.remove_suffix(1);
        } else if (text.ends_with(kIdeographicSpace)) {
            text.remove_suffix(kIdeographicSpace.size());
        } else {
            break;
        }
    }
    return text;
}

std::string ascii_upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

bool has_han(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        Utf8Char ch = decode_utf8(text, i);
        char32_t c = ch.code_point;
        if ((c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
            (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F)) {
            return true;
        }
        i += ch.size;
    }
    return false;
}

std::size_t option_number(std::string_view text) noexcept {
    text = trim_text(text);
    std::size_t value = 0;
    std::size_t digits = 0;
    for (std::size_t i = 0; i < text.size();) {
        Utf8Char ch = decode_utf8(text, i);
        char32_t c = ch.code_point;
        unsigned digit = 0;
        if (c >= U'0' && c <= U'9') {
            digit = static_cast<unsigned>(c - U'0');
        } else if (c >= 0xFF10 && c <= 0xFF19) {  // full-width digits
            digit = static_cast<unsigned>(c - 0xFF10);
        } else {
            return 0;
        }
        if (++digits > 2) {
            return 0;
        }
        value = value * 10 + digit;
        i += ch.size;
    }
    return value;
}

std::string numbered_menu(const std::vector<core::Choice>& choices, bool chinese) {
    if (choices.empty()) {
        return {};
    }
    std::string menu = "\n";
    for (std::size_t i = 0; i < choices.size(); ++i) {
        const std::string& title = choices[i].title.empty() ? choices[i].payload : choices[i].title;
        menu += chinese ? "\n回复 " : "\nReply ";
        menu += std::to_string(i + 1);
        menu += chinese ? "：" : " for ";
        menu += title;
    }
    return menu;
}

core::Result<void> OfferedOptions::remember(core::SessionStore& store,
                                            std::string_view conversation,
                                            const std::vector<core::Choice>& choices) const {
    json::array stored;
    for (const core::Choice& choice : choices) {
        stored.push_back(json::object{{"title", choice.title}, {"payload", choice.payload}});
    }
    return store.put_value(prefix_ + std::string(conversation), json::serialize(stored), ttl_);
}

core::Result<void> OfferedOptions::forget(core::SessionStore& store,
                                          std::string_view conversation) const {
    return store.erase_value(prefix_ + std::string(conversation));
}

void OfferedOptions::apply(core::SessionStore& store, core::InboundMessage& message) const {
    std::size_t number = option_number(message.text);
    if (number == 0) {
        return;
    }

    auto stored = store.get_value(prefix_ + message.conversation);
    if (!stored) {
        log_.warn("cannot read the options offered; the reply goes on as typed",
                  {{"conversation", message.conversation}, {"error", stored.error().message()}});
        return;
    }
    if (!stored->has_value()) {
        return;
    }

    // Find the option; a corrupt record is ignored like a missing one.
    boost::system::error_code ec;
    json::value parsed = json::parse(**stored, ec);
    const json::array* options = ec ? nullptr : parsed.if_array();
    if (options == nullptr || number > options->size()) {
        return;
    }
    const json::object* option = (*options)[number - 1].if_object();
    const json::value* payload = option == nullptr ? nullptr : option->if_contains("payload");
    if (payload == nullptr || !payload->is_string()) {
        return;
    }
    message.metadata["original_text"] = message.text;
    message.metadata["option"] = static_cast<std::int64_t>(number);
    message.text = std::string(payload->get_string());
}

}  // namespace teller::channels::detail
