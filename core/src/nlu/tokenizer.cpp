// Tokenizer: UTF-8 repair, word and CJK-character tokens, n-gram features and their hashes.
#include "teller/nlu/tokenizer.hpp"

#include <cstddef>

namespace teller::nlu {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes UTF-8 into code points; each byte that does not start a well-formed sequence
// becomes one U+FFFD.
std::u32string decode_utf8(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    while (i < size) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            out.push_back(c);
            ++i;
            continue;
        }
        std::size_t len = 0;
        char32_t cp = 0;
        char32_t min_cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
            min_cp = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
            min_cp = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
            min_cp = 0x10000;
        }
        bool ok = len != 0 && i + len <= size;
        for (std::size_t k = 1; ok && k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) {
                ok = false;
            } else {
                cp = (cp << 6) | (s[i + k] & 0x3F);
            }
        }
        ok = ok && cp >= min_cp && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!ok) {
            out.push_back(kReplacement);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += len;
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string encode_utf8(std::u32string_view cps) {
    std::string out;
    out.reserve(cps.size());
    for (char32_t cp : cps) {
        append_utf8(out, cp);
    }
    return out;
}

// CJK ideographs, kana and hangul syllables: one token per character.
bool is_cjk(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F) ||
           (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

// Punctuation, symbols, spaces and controls outside ASCII: they separate words.
bool is_separator_non_ascii(char32_t cp) {
    return cp <= 0xBF || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
           (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
           (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
           (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
           (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp >= 0x1F000 && cp <= 0x1FAFF);
}

bool is_digit(char32_t cp) {
    return (cp >= '0' && cp <= '9') || (cp >= 0xFF10 && cp <= 0xFF19);
}

// Lowercases ASCII, fullwidth Latin, Latin-1, Greek and Cyrillic capitals; digits become '0'.
char32_t normalize(char32_t cp) {
    if (is_digit(cp)) {
        return '0';
    }
    if (cp >= 0xFF21 && cp <= 0xFF3A) {
        return cp - 0xFF21 + 'a';
    }
    if (cp >= 0xFF41 && cp <= 0xFF5A) {
        return cp - 0xFF41 + 'a';
    }
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
        (cp >= 0x391 && cp <= 0x3A9) || (cp >= 0x410 && cp <= 0x42F)) {
        return cp + 0x20;
    }
    return cp;
}

bool is_word_char(char32_t cp) {
    if (cp < 0x80) {
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    }
    return !is_cjk(cp) && !is_separator_non_ascii(cp);
}

struct Token {
    std::u32string text;
    bool cjk = false;
};

std::vector<Token> split(std::string_view text) {
    const std::u32string cps = decode_utf8(text);
    std::vector<Token> tokens;
    Token word;
    auto flush = [&] {
        if (!word.text.empty()) {
            tokens.push_back(std::move(word));
            word = Token{};
        }
    };
    for (std::size_t i = 0; i < cps.size(); ++i) {
        const char32_t cp = cps[i];
        const char32_t next = i + 1 < cps.size() ? cps[i + 1] : 0;
        if (is_cjk(cp)) {
            flush();
            tokens.push_back(Token{std::u32string(1, cp), true});
            continue;
        }
        if (is_word_char(cp)) {
            word.text.push_back(normalize(cp));
            continue;
        }

        // Keep "5,000" and "12.50" whole, and apostrophes inside words ("hasn't").
        const bool in_number = (cp == ',' || cp == '.') && !word.text.empty() &&
                               word.text.back() == '0' && is_digit(next);
        const bool apostrophe = (cp == '\'' || cp == 0x2019) && !word.text.empty() &&
                                is_word_char(next) && !is_digit(next);
        if (in_number || apostrophe) {
            word.text.push_back(cp == 0x2019 ? U'\'' : cp);
            continue;
        }
        flush();
    }
    flush();
    return tokens;
}

}  // namespace

std::uint64_t fnv1a_64(std::string_view bytes) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string sanitize_utf8(std::string_view text) {
    return encode_utf8(decode_utf8(text));
}

Tokenizer::Tokenizer(TokenizerOptions options) : options_(options) {}

std::vector<std::string> Tokenizer::tokens(std::string_view text) const {
    std::vector<std::string> out;
    for (const Token& token : split(text)) {
        out.push_back(encode_utf8(token.text));
    }
    return out;
}

std::vector<std::string> Tokenizer::features(std::string_view text) const {
    const std::vector<Token> tokens = split(text);
    std::vector<std::string> words;
    words.reserve(tokens.size());
    for (const Token& token : tokens) {
        words.push_back(encode_utf8(token.text));
    }

    std::vector<std::string> out;
    out.reserve(words.size() * 12);
    for (const std::string& word : words) {
        out.push_back("w:" + word);
    }
    if (options_.word_bigrams) {
        for (std::size_t i = 1; i < words.size(); ++i) {
            out.push_back("b:" + words[i - 1] + " " + words[i]);
        }
    }

    // Character n-grams of non-CJK words, with boundary marks.
    if (options_.min_n > 0) {
        for (const Token& token : tokens) {
            if (token.cjk) {
                continue;
            }
            const std::u32string marked = U"<" + token.text + U">";
            const std::size_t len = marked.size();
            for (std::size_t n = options_.min_n; n <= static_cast<std::size_t>(options_.max_n);
                 ++n) {
                if (n >= len) {
                    break;
                }
                for (std::size_t start = 0; start + n <= len; ++start) {
                    out.push_back("c:" + encode_utf8(std::u32string_view(marked).substr(start, n)));
                }
            }
        }
    }
    return out;
}

std::vector<std::int64_t> Tokenizer::feature_ids(std::string_view text) const {
    const std::vector<std::string> strings = features(text);
    std::vector<std::int64_t> ids;
    ids.reserve(strings.size());
    const auto buckets = static_cast<std::uint64_t>(options_.buckets > 0 ? options_.buckets : 1);
    for (const std::string& feature : strings) {
        ids.push_back(static_cast<std::int64_t>(fnv1a_64(feature) % buckets));
    }
    return ids;
}

boost::json::object to_json(const TokenizerOptions& options) {
    return boost::json::object{{"min_n", options.min_n},
                               {"max_n", options.max_n},
                               {"word_bigrams", options.word_bigrams},
                               {"buckets", options.buckets},
                               {"hash", "fnv1a64"}};
}

std::optional<TokenizerOptions> tokenizer_options_from_json(const boost::json::object& json) {
    const boost::json::value* min_n = json.if_contains("min_n");
    const boost::json::value* max_n = json.if_contains("max_n");
    const boost::json::value* bigrams = json.if_contains("word_bigrams");
    const boost::json::value* buckets = json.if_contains("buckets");
    const boost::json::value* hash = json.if_contains("hash");
    if (min_n == nullptr || !min_n->is_int64() || max_n == nullptr || !max_n->is_int64() ||
        bigrams == nullptr || !bigrams->is_bool() || buckets == nullptr || !buckets->is_int64() ||
        hash == nullptr || !hash->is_string() || hash->as_string() != "fnv1a64") {
        return std::nullopt;
    }
    TokenizerOptions options;
    options.min_n = static_cast<int>(min_n->as_int64());
    options.max_n = static_cast<int>(max_n->as_int64());
    options.word_bigrams = bigrams->as_bool();
    options.buckets = buckets->as_int64();
    if (options.buckets < 1 || options.min_n < 0 || options.max_n < options.min_n ||
        options.max_n > 64) {
        return std::nullopt;
    }
    return options;
}

}  // namespace teller::nlu
