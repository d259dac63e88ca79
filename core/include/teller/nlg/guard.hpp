// The guard on generated replies: exactly the required slots, and no figure of its own.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace teller::nlg {

/// Why a generated reply was accepted or refused.
struct GuardVerdict {
    bool accepted = false;
    std::string reason;  ///< "ok", or what was wrong (for the nlg event)
};

/// Checks a generator's delexicalised output, e.g. "Your payment is {amount} a month.", before
/// its slots are filled. Accepted only when:
///  - its placeholders are exactly `required` (each required slot once, no other placeholder,
///    no unbalanced brace);
///  - outside the placeholders it holds no figure of its own: no digit (ASCII or full-width),
///    no Chinese numeral character (零〇一二两三四五六七八九十百千万亿), no currency sign
///    (¥ ￥ $ € £) or currency word (元 块 角 分 美元 欧元 英镑), no percent sign, and no word
///    from `forbidden` (the values of slots the reply must not mention, e.g. names).
/// Since every figure in the final text then comes from filling the required slots with their
/// formatted values, a generated reply can never show a wrong amount, date or rate.
/// Thread-safe.
GuardVerdict check_generated(std::string_view delexicalised, std::span<const std::string> required,
                             std::span<const std::string> forbidden = {});

}  // namespace teller::nlg
