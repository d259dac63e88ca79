// SMS alphabets and segments: GSM 03.38 (GSM-7 with its extension table) or UCS-2.
#include <array>

#include "sms_text.hpp"
#include "teller/channels/sms.hpp"

namespace teller::channels {
namespace {

// The GSM 03.38 default alphabet in code order; position 0x1B (ESC) is 0, it leads the
// extension table below.
constexpr std::array<char32_t, 128> kGsmBasic = {
    U'@', U'£', U'$',  U'¥', U'è', U'é',  U'ù', U'ì',   // 0x00
    U'ò', U'Ç', U'\n', U'Ø', U'ø', U'\r', U'Å', U'å',   // 0x08
    U'Δ', U'_', U'Φ',  U'Γ', U'Λ', U'Ω',  U'Π', U'Ψ',   // 0x10
    U'Σ', U'Θ', U'Ξ',  0,    U'Æ', U'æ',  U'ß', U'É',   // 0x18
    U' ', U'!', U'"',  U'#', U'¤', U'%',  U'&', U'\'',  // 0x20
    U'(', U')', U'*',  U'+', U',', U'-',  U'.', U'/',   // 0x28
    U'0', U'1', U'2',  U'3', U'4', U'5',  U'6', U'7',   // 0x30
    U'8', U'9', U':',  U';', U'<', U'=',  U'>', U'?',   // 0x38
    U'¡', U'A', U'B',  U'C', U'D', U'E',  U'F', U'G',   // 0x40
    U'H', U'I', U'J',  U'K', U'L', U'M',  U'N', U'O',   // 0x48
    U'P', U'Q', U'R',  U'S', U'T', U'U',  U'V', U'W',   // 0x50
    U'X', U'Y', U'Z',  U'Ä', U'Ö', U'Ñ',  U'Ü', U'§',   // 0x58
    U'¿', U'a', U'b',  U'c', U'd', U'e',  U'f', U'g',   // 0x60
    U'h', U'i', U'j',  U'k', U'l', U'm',  U'n', U'o',   // 0x68
    U'p', U'q', U'r',  U's', U't', U'u',  U'v', U'w',   // 0x70
    U'x', U'y', U'z',  U'ä', U'ö', U'ñ',  U'ü', U'à',   // 0x78
};

// The extension table's characters (each sent as ESC + one septet).
constexpr std::array<char32_t, 10> kGsmExtension = {
    U'\f', U'^', U'{', U'}', U'\\', U'[', U'~', U']', U'|', U'€',
};

// Septets per ASCII character, computed once from the tables above.
constexpr std::array<signed char, 128> make_ascii_septets() {
    std::array<signed char, 128> out{};
    for (char32_t c : kGsmBasic) {
        if (c != 0 && c < 128) {
            out[c] = 1;
        }
    }
    for (char32_t c : kGsmExtension) {
        if (c < 128) {
            out[c] = 2;
        }
    }
    return out;
}
constexpr std::array<signed char, 128> kAsciiSeptets = make_ascii_septets();

// One character of a text with its cost in both alphabets.
struct Piece {
    std::size_t offset = 0;
    std::size_t size = 0;
    int septets = 0;  // 0: not in GSM-7
    int utf16_units = 1;
};

std::vector<Piece> pieces_of(std::string_view text) {
    std::vector<Piece> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        detail::Utf8Char ch = detail::decode_utf8(text, i);
        out.push_back({i, ch.size, ch.valid ? gsm7_septets(ch.code_point) : 0,
                       ch.code_point > 0xFFFF ? 2 : 1});
        i += ch.size;
    }
    return out;
}

// Walks the pieces into parts; calls `cut(offset)` at each part boundary after the first.
// Returns the measure.
template <class Cut>
SmsMeasure walk(const std::vector<Piece>& pieces, Cut&& cut) {
    SmsMeasure m;
    for (const Piece& p : pieces) {
        if (p.septets == 0) {
            m.encoding = SmsEncoding::ucs2;
            break;
        }
    }
    const bool gsm = m.encoding == SmsEncoding::gsm7;
    for (const Piece& p : pieces) {
        m.units +=
            gsm ? static_cast<std::size_t>(p.septets) : static_cast<std::size_t>(p.utf16_units);
    }
    if (pieces.empty()) {
        return m;
    }
    if (m.units <= (gsm ? kGsm7SingleSeptets : kUcs2SingleUnits)) {
        m.segments = 1;
        return m;
    }

    // Concatenated: fill parts greedily; a character whose units do not fit opens a new part,
    // so an escape pair or a surrogate pair is never split.
    const std::size_t capacity = gsm ? kGsm7PartSeptets : kUcs2PartUnits;
    std::size_t used = 0;
    m.segments = 1;
    for (const Piece& p : pieces) {
        std::size_t cost =
            gsm ? static_cast<std::size_t>(p.septets) : static_cast<std::size_t>(p.utf16_units);
        if (used + cost > capacity) {
            ++m.segments;
            used = 0;
            cut(p.offset);
        }
        used += cost;
    }
    return m;
}

}  // namespace

std::string_view to_string(SmsEncoding encoding) noexcept {
    return encoding == SmsEncoding::gsm7 ? "GSM-7" : "UCS-2";
}

int gsm7_septets(char32_t c) noexcept {
    if (c < 128) {
        return kAsciiSeptets[c];
    }
    for (char32_t b : kGsmBasic) {
        if (b == c) {
            return 1;
        }
    }
    for (char32_t e : kGsmExtension) {
        if (e == c) {
            return 2;
        }
    }
    return 0;
}

SmsMeasure measure_sms(std::string_view text) noexcept {
    try {
        return walk(pieces_of(text), [](std::size_t) {});
    } catch (...) {  // std::bad_alloc only
        return {SmsEncoding::ucs2, text.size(), text.size()};
    }
}

std::vector<std::string> split_sms(std::string_view text) {
    std::vector<std::size_t> cuts;
    walk(pieces_of(text), [&](std::size_t offset) { cuts.push_back(offset); });
    std::vector<std::string> parts;
    if (text.empty()) {
        return parts;
    }
    std::size_t start = 0;
    for (std::size_t cut : cuts) {
        parts.emplace_back(text.substr(start, cut - start));
        start = cut;
    }
    parts.emplace_back(text.substr(start));
    return parts;
}

std::string fit_sms(std::string_view text, std::string_view suffix, std::size_t max_segments) {
    std::string whole = std::string(text) + std::string(suffix);
    if (max_segments == 0 || measure_sms(whole).segments <= max_segments) {
        return whole;
    }

    // The text cut after `boundary` characters, an ellipsis in the alphabet the result would
    // use anyway, then the suffix.
    std::vector<std::size_t> boundaries;  // byte offsets where a character starts, plus the end
    for (std::size_t i = 0; i < text.size();) {
        boundaries.push_back(i);
        i += detail::decode_utf8(text, i).size;
    }
    boundaries.push_back(text.size());
    auto candidate = [&](std::size_t count) {
        std::string_view head = text.substr(0, boundaries[count]);
        while (!head.empty() && (head.back() == ' ' || head.back() == '\n')) {
            head.remove_suffix(1);
        }
        std::string out(head);
        out += suffix;
        std::string_view ellipsis =
            measure_sms(out).encoding == SmsEncoding::gsm7 ? "..." : "\xE2\x80\xA6";
        out.insert(head.size(), ellipsis);
        return out;
    };
    auto fits = [&](std::size_t count) {
        return measure_sms(candidate(count)).segments <= max_segments;
    };

    // Even the bare suffix is too long: cut the whole text instead.
    if (!fits(0)) {
        return fit_sms(whole, {}, max_segments);
    }

    // The segment count grows with the prefix: binary search the longest prefix that fits.
    std::size_t lo = 0;
    std::size_t hi = boundaries.size() - 1;  // text itself does not fit (checked above)
    while (lo + 1 < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (fits(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return candidate(lo);
}

}  // namespace teller::channels
