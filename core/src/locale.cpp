// Locale detection for routing replies: Chinese when the text holds CJK ideographs.
#include "teller/core/nlu.hpp"

#include <cstdint>

namespace teller::core {

std::string detect_locale(std::string_view text) {
    // Decode UTF-8 just enough to find code points in the CJK ideograph blocks.
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0;
    while (i < text.size()) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::uint32_t cp = 0;
        std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (i + len > text.size()) {
            break;
        }
        cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (std::size_t k = 1; k < len; ++k) {
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        bool ideograph = (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F);
        if (ideograph) {
            return "zh-CN";
        }
        i += len;
    }
    return "en";
}

}  // namespace teller::core
