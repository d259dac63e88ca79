// Base64 encoding and decoding (RFC 4648 section 4, padded).
#include "base64.hpp"

#include <cstdint>

namespace teller::core::detail {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string encode_base64(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                 (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
        for (int shift : {18, 12, 6, 0}) {
            out.push_back(kBase64[(n >> shift) & 63]);
        }
    }
    if (i < in.size()) {
        std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (i + 1 < in.size()) {
            n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        }
        out.push_back(kBase64[(n >> 18) & 63]);
        out.push_back(kBase64[(n >> 12) & 63]);
        out.push_back(i + 1 < in.size() ? kBase64[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> decode_base64(std::string_view in) {
    if (in.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    std::size_t padding = 0;
    for (char c : in) {
        int v = -1;
        if (c == '=') {
            ++padding;
            v = 0;
        } else if (padding > 0) {
            return std::nullopt;
        } else if (const char* p = std::char_traits<char>::find(kBase64, 64, c)) {
            v = static_cast<int>(p - kBase64);
        }
        if (v < 0) {
            return std::nullopt;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        if (++count == 4) {
            out.push_back(static_cast<char>((bits >> 16) & 0xff));
            out.push_back(static_cast<char>((bits >> 8) & 0xff));
            out.push_back(static_cast<char>(bits & 0xff));
            bits = 0;
            count = 0;
        }
    }
    if (padding > 2) {
        return std::nullopt;
    }
    out.resize(out.size() - padding);
    return out;
}

}  // namespace teller::core::detail
