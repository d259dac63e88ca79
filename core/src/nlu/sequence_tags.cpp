// Token spans with byte offsets, BIO encoding and constrained Viterbi decoding for the tagger.
#include "sequence_tags.hpp"

#include <algorithm>
#include <limits>

#include "teller/nlu/intent_model.hpp"
#include "teller/nlu/tokenizer.hpp"

namespace teller::nlu::detail {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// One decoded code point and the byte range it came from.
struct CodePoint {
    char32_t cp = 0;
    std::size_t begin = 0;
    std::size_t end = 0;
};

// Decodes UTF-8 as Tokenizer does: each byte that does not start a well-formed sequence becomes
// one U+FFFD.
std::vector<CodePoint> decode(std::string_view text) {
    std::vector<CodePoint> out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    while (i < size) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            out.push_back({c, i, i + 1});
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
            out.push_back({kReplacement, i, i + 1});
            ++i;
            continue;
        }
        out.push_back({cp, i, i + len});
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

// The character classes below mirror tokenizer.cpp, so both cut text at the same places.
// TODO(teller): tokenizer.cpp and this file each carry the character classes; a change to one
// that is not made in the other makes tagger offsets disagree with the intent features.
bool is_cjk(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F) ||
           (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

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

std::int64_t hash_into(std::string_view feature, std::int64_t buckets) {
    return static_cast<std::int64_t>(fnv1a_64(feature) % static_cast<std::uint64_t>(buckets));
}

}  // namespace

std::vector<TokenSpan> token_spans(std::string_view text) {
    const std::vector<CodePoint> cps = decode(text);
    std::vector<TokenSpan> tokens;
    TokenSpan word;
    bool open = false;
    auto flush = [&] {
        if (open) {
            tokens.push_back(std::move(word));
            word = TokenSpan{};
            open = false;
        }
    };
    for (std::size_t i = 0; i < cps.size(); ++i) {
        const CodePoint& c = cps[i];
        const char32_t next = i + 1 < cps.size() ? cps[i + 1].cp : 0;
        if (is_cjk(c.cp)) {
            flush();
            TokenSpan cjk{{}, c.begin, c.end, true};
            append_utf8(cjk.text, c.cp);
            tokens.push_back(std::move(cjk));
            continue;
        }
        if (is_word_char(c.cp)) {
            if (!open) {
                word.begin = c.begin;
                open = true;
            }
            append_utf8(word.text, normalize(c.cp));
            word.end = c.end;
            continue;
        }

        // Keep "5,000" and "12.50" whole, and apostrophes inside words ("hasn't").
        const bool in_number =
            (c.cp == ',' || c.cp == '.') && open && word.text.back() == '0' && is_digit(next);
        const bool apostrophe =
            (c.cp == '\'' || c.cp == 0x2019) && open && is_word_char(next) && !is_digit(next);
        if (in_number || apostrophe) {
            append_utf8(word.text, c.cp == 0x2019 ? U'\'' : c.cp);
            word.end = c.end;
            continue;
        }
        flush();
    }
    flush();
    return tokens;
}

std::vector<std::vector<std::int64_t>> token_features(const std::vector<TokenSpan>& tokens,
                                                      int min_n, int max_n, std::int64_t buckets) {
    std::vector<std::vector<std::int64_t>> out(tokens.size());
    const std::int64_t b = std::max<std::int64_t>(1, buckets);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        std::vector<std::int64_t>& f = out[i];
        const std::string& t = tokens[i].text;
        f.push_back(hash_into("t:" + t, b));
        f.push_back(hash_into("l:" + (i == 0 ? std::string("<s>") : tokens[i - 1].text), b));
        f.push_back(hash_into(
            "r:" + (i + 1 == tokens.size() ? std::string("</s>") : tokens[i + 1].text), b));
        if (tokens[i].cjk || min_n <= 0) {
            continue;
        }

        // Character n-grams over code points of "<token>".
        std::vector<std::size_t> starts;  // byte offset of each code point in `marked`
        const std::string marked = "<" + t + ">";
        for (std::size_t k = 0; k < marked.size(); ++k) {
            if ((static_cast<unsigned char>(marked[k]) & 0xC0) != 0x80) {
                starts.push_back(k);
            }
        }
        starts.push_back(marked.size());
        const std::size_t len = starts.size() - 1;
        for (std::size_t n = static_cast<std::size_t>(min_n);
             n <= static_cast<std::size_t>(max_n) && n < len; ++n) {
            for (std::size_t s = 0; s + n <= len; ++s) {
                f.push_back(
                    hash_into("n:" + marked.substr(starts[s], starts[s + n] - starts[s]), b));
            }
        }
    }
    return out;
}

TagSet::TagSet(std::vector<std::string> types) : types_(std::move(types)) {
    std::sort(types_.begin(), types_.end());
    types_.erase(std::unique(types_.begin(), types_.end()), types_.end());
}

std::string TagSet::name(std::size_t tag) const {
    if (tag == 0 || tag >= size()) {
        return "O";
    }
    return (tag % 2 == 1 ? "B-" : "I-") + types_[(tag - 1) / 2];
}

bool TagSet::allowed(std::int64_t previous, std::int64_t next) const noexcept {
    if (next <= 0 || next % 2 == 1) {
        return true;  // O and B-x may follow anything
    }
    // I-x follows only B-x (next - 1) or I-x (next).
    return previous == next - 1 || previous == next;
}

std::vector<std::int64_t> TagSet::encode(const std::vector<TokenSpan>& tokens,
                                         const std::vector<core::Entity>& entities) const {
    std::vector<std::int64_t> tags(tokens.size(), 0);
    for (const core::Entity& e : entities) {
        const auto it = std::lower_bound(types_.begin(), types_.end(), e.type);
        if (it == types_.end() || *it != e.type || e.end <= e.begin) {
            continue;
        }
        const auto b_tag = static_cast<std::int64_t>(1 + 2 * (it - types_.begin()));

        // The tokens the entity overlaps, if none of them is claimed already.
        std::vector<std::size_t> covered;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (tokens[i].begin < e.end && tokens[i].end > e.begin) {
                covered.push_back(i);
            }
        }
        const bool free = std::all_of(covered.begin(), covered.end(),
                                      [&](std::size_t i) { return tags[i] == 0; });
        if (covered.empty() || !free) {
            continue;
        }
        for (std::size_t k = 0; k < covered.size(); ++k) {
            tags[covered[k]] = k == 0 ? b_tag : b_tag + 1;
        }
    }
    return tags;
}

std::vector<std::int64_t> TagSet::viterbi(const float* scores, std::size_t tokens) const {
    const std::size_t k = size();
    std::vector<std::int64_t> best(tokens, 0);
    if (tokens == 0) {
        return best;
    }
    constexpr float kNever = -std::numeric_limits<float>::infinity();
    std::vector<float> score(k);
    std::vector<float> next_score(k);
    std::vector<std::int64_t> back(tokens * k, 0);
    for (std::size_t j = 0; j < k; ++j) {
        score[j] = allowed(-1, static_cast<std::int64_t>(j)) ? scores[j] : kNever;
    }
    for (std::size_t t = 1; t < tokens; ++t) {
        for (std::size_t j = 0; j < k; ++j) {
            float top = kNever;
            std::int64_t arg = 0;
            for (std::size_t i = 0; i < k; ++i) {
                if (score[i] > top &&
                    allowed(static_cast<std::int64_t>(i), static_cast<std::int64_t>(j))) {
                    top = score[i];
                    arg = static_cast<std::int64_t>(i);
                }
            }
            next_score[j] = top == kNever ? kNever : top + scores[t * k + j];
            back[t * k + j] = arg;
        }
        score.swap(next_score);
    }
    std::int64_t tag = std::max_element(score.begin(), score.end()) - score.begin();
    for (std::size_t t = tokens; t-- > 0;) {
        best[t] = tag;
        tag = back[t * k + static_cast<std::size_t>(tag)];
    }
    return best;
}

std::vector<core::Entity> TagSet::decode(std::string_view text,
                                         const std::vector<TokenSpan>& tokens,
                                         const std::vector<std::int64_t>& tags) const {
    std::vector<core::Entity> out;
    const std::size_t n = std::min(tokens.size(), tags.size());
    for (std::size_t i = 0; i < n;) {
        const std::int64_t tag = tags[i];
        if (tag <= 0 || static_cast<std::size_t>(tag) >= size()) {
            ++i;
            continue;
        }
        // A chunk starts at B-x (or a stray I-x) and runs over the following I-x.
        const std::int64_t inside = tag % 2 == 1 ? tag + 1 : tag;
        std::size_t last = i;
        while (last + 1 < n && tags[last + 1] == inside) {
            ++last;
        }
        core::Entity e;
        e.type = types_[static_cast<std::size_t>((inside - 2) / 2)];
        e.begin = tokens[i].begin;
        e.end = tokens[last].end;
        e.text = std::string(text.substr(e.begin, e.end - e.begin));
        e.value = e.text;
        out.push_back(std::move(e));
        i = last + 1;
    }
    return out;
}

}  // namespace teller::nlu::detail

namespace teller::nlu {

std::vector<core::Entity> merge_entities(std::vector<core::Entity> rules,
                                         std::vector<core::Entity> model) {
    std::vector<core::Entity> out = std::move(rules);
    const std::size_t rule_count = out.size();
    for (core::Entity& e : model) {
        const bool overlaps =
            std::any_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(rule_count),
                        [&](const core::Entity& r) { return r.begin < e.end && e.begin < r.end; });
        if (!overlaps) {
            out.push_back(std::move(e));
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const core::Entity& a, const core::Entity& b) {
        return a.begin < b.begin;
    });
    return out;
}

}  // namespace teller::nlu
