// The guard on generated replies (see guard.hpp for the rules).
#include "teller/nlg/guard.hpp"

#include <algorithm>
#include <map>

#include "teller/nlg/templates.hpp"

namespace teller::nlg {

GuardVerdict check_generated(std::string_view text, std::span<const std::string> required,
                             std::span<const std::string> forbidden) {
    // Placeholders: each required one exactly once, nothing else.
    std::map<std::string, int> count;
    for (const std::string& name : placeholders(text)) {
        ++count[name];
    }
    for (const std::string& name : required) {
        auto it = count.find(name);
        if (it == count.end()) {
            return {false, "missing slot " + name};
        }
        if (it->second != 1) {
            return {false, "slot " + name + " repeated"};
        }
        count.erase(it);
    }
    if (!count.empty()) {
        return {false, "unexpected slot " + count.begin()->first};
    }

    // The text around the placeholders, which must carry no figure of its own.
    std::string rest;
    int depth = 0;
    for (char c : text) {
        if (c == '{') {
            ++depth;
            rest.push_back(' ');
        } else if (c == '}') {
            --depth;
            rest.push_back(' ');
        } else if (depth == 0) {
            rest.push_back(c);
        }
        if (depth < 0 || depth > 1) {
            return {false, "unbalanced braces"};
        }
    }
    if (depth != 0) {
        return {false, "unbalanced braces"};
    }
    if (std::any_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return {false, "a digit outside the slots"};
    }
    static const std::string_view kFigures[] = {
        "０", "１", "２", "３", "４", "５", "６", "７", "８", "９", "零",   "〇",   "一",  "二",
        "两", "三", "四", "五", "六", "七", "八", "九", "十", "百", "千",   "万",   "亿",  "¥",
        "￥", "$",  "€",  "£",  "元", "块", "角", "分", "%",  "％", "美元", "欧元", "英镑"};
    for (std::string_view figure : kFigures) {
        if (rest.find(figure) != std::string::npos) {
            return {false, "a figure outside the slots: " + std::string(figure)};
        }
    }
    for (const std::string& word : forbidden) {
        if (!word.empty() && rest.find(word) != std::string::npos) {
            return {false, "mentions a value it must not"};
        }
    }
    return {true, "ok"};
}

}  // namespace teller::nlg
