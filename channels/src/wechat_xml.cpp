// A small, strict, bounded XML reader for WeChat's flat messages; it never defines or expands
// an entity and never reads anything outside the document.
#include <algorithm>

#include "sms_text.hpp"
#include "teller/channels/wechat.hpp"
#include "teller/core/events.hpp"

namespace teller::channels {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool is_name_char(char c) noexcept {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// XML 1.0 section 2.2 Char.
bool is_xml_char(char32_t c) noexcept {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

class Parser {
public:
    Parser(std::string_view in, const XmlLimits& limits) : in_(in), limits_(limits) {}

    XmlResult parse() {
        XmlResult result;
        XmlElement root;
        if (parse_document(root)) {
            result.root = std::move(root);
        } else {
            result.error = std::move(error_);
        }
        return result;
    }

private:
    bool fail(std::string_view reason) {
        error_ = std::string(reason) + " at byte " + std::to_string(pos_);
        return false;
    }

    bool at(std::string_view s) const noexcept { return in_.substr(pos_).starts_with(s); }

    void skip_space() noexcept {
        while (pos_ < in_.size() && is_space(in_[pos_])) {
            ++pos_;
        }
    }

    // Moves past the next `end`; false when it never comes.
    bool skip_past(std::string_view end) noexcept {
        std::size_t found = in_.find(end, pos_);
        if (found == std::string_view::npos) {
            return false;
        }
        pos_ = found + end.size();
        return true;
    }

    bool parse_document(XmlElement& root) {
        // Whole-document checks first: size, encoding, characters.
        if (in_.size() > limits_.max_bytes) {
            return fail("document larger than " + std::to_string(limits_.max_bytes) + " bytes");
        }
        if (!core::is_valid_utf8(in_)) {
            return fail("document is not valid UTF-8");
        }
        for (std::size_t i = 0; i < in_.size();) {
            detail::Utf8Char ch = detail::decode_utf8(in_, i);
            if (!is_xml_char(ch.code_point)) {
                pos_ = i;
                return fail("character not allowed in XML");
            }
            i += ch.size;
        }
        if (at("\xEF\xBB\xBF")) {
            pos_ += 3;
        }

        // Prolog: an optional declaration, then comments and white space.
        if (at("<?xml") && pos_ + 5 < in_.size() && is_space(in_[pos_ + 5])) {
            std::size_t start = pos_;
            if (!skip_past("?>") ||
                in_.substr(start, pos_ - start).find('<', 1) != std::string_view::npos) {
                pos_ = start;
                return fail("unterminated XML declaration");
            }
        }
        if (!skip_misc()) {
            return false;
        }
        if (pos_ >= in_.size() || in_[pos_] != '<') {
            return fail("expected the root element");
        }
        if (!parse_element(root, 1)) {
            return false;
        }
        if (!skip_misc()) {
            return false;
        }
        if (pos_ != in_.size()) {
            return fail("content after the root element");
        }
        return true;
    }

    // White space, comments; refuses declarations and processing instructions.
    bool skip_misc() {
        for (;;) {
            skip_space();
            if (at("<!--")) {
                if (!skip_comment()) {
                    return false;
                }
            } else if (at("<!")) {
                return fail("DOCTYPE and other declarations are not allowed");
            } else if (at("<?")) {
                return fail("processing instructions are not allowed");
            } else {
                return true;
            }
        }
    }

    bool skip_comment() {
        std::size_t start = pos_;
        pos_ += 4;
        if (!skip_past("-->")) {
            pos_ = start;
            return fail("unterminated comment");
        }
        return true;
    }

    bool read_name(std::string& name) {
        std::size_t start = pos_;
        if (pos_ >= in_.size() || !is_name_start(in_[pos_])) {
            return fail("expected a name");
        }
        while (pos_ < in_.size() && is_name_char(in_[pos_])) {
            ++pos_;
        }
        name.assign(in_.substr(start, pos_ - start));
        return true;
    }

    // Decodes the reference starting at '&' onto `out`.
    bool read_reference(std::string& out) {
        std::size_t semi = in_.find(';', pos_);
        if (semi == std::string_view::npos || semi - pos_ > 12) {
            return fail("unterminated entity reference");
        }
        std::string_view ref = in_.substr(pos_ + 1, semi - pos_ - 1);
        if (ref == "lt") {
            out.push_back('<');
        } else if (ref == "gt") {
            out.push_back('>');
        } else if (ref == "amp") {
            out.push_back('&');
        } else if (ref == "quot") {
            out.push_back('"');
        } else if (ref == "apos") {
            out.push_back('\'');
        } else if (ref.starts_with('#') && ref.size() > 1) {
            // &#NNN; or &#xHHH;
            bool hex = ref[1] == 'x';
            std::string_view digits = ref.substr(hex ? 2 : 1);
            if (digits.empty()) {
                return fail("empty character reference");
            }
            char32_t value = 0;
            for (char c : digits) {
                int d = -1;
                if (c >= '0' && c <= '9') {
                    d = c - '0';
                } else if (hex && c >= 'a' && c <= 'f') {
                    d = c - 'a' + 10;
                } else if (hex && c >= 'A' && c <= 'F') {
                    d = c - 'A' + 10;
                }
                if (d < 0) {
                    return fail("malformed character reference");
                }
                value = value * (hex ? 16 : 10) + static_cast<char32_t>(d);
                if (value > 0x10FFFF) {
                    return fail("character reference out of range");
                }
            }
            if (!is_xml_char(value)) {
                return fail("character reference to a character XML forbids");
            }
            detail::append_utf8(out, value);
        } else {
            return fail("unknown entity (only the five predefined ones are allowed)");
        }
        pos_ = semi + 1;
        return true;
    }

    bool skip_attributes(bool& empty_element) {
        for (;;) {
            std::size_t before = pos_;
            skip_space();
            if (at("/>")) {
                pos_ += 2;
                empty_element = true;
                return true;
            }
            if (at(">")) {
                pos_ += 1;
                empty_element = false;
                return true;
            }
            if (pos_ == before) {
                return fail("expected white space, '>' or '/>'");
            }

            // name = "value" (checked, then dropped).
            std::string name;
            if (!read_name(name)) {
                return false;
            }
            skip_space();
            if (!at("=")) {
                return fail("expected '=' after an attribute name");
            }
            ++pos_;
            skip_space();
            if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) {
                return fail("expected a quoted attribute value");
            }
            char quote = in_[pos_++];
            std::string ignored;
            while (pos_ < in_.size() && in_[pos_] != quote) {
                if (in_[pos_] == '<') {
                    return fail("'<' in an attribute value");
                }
                if (in_[pos_] == '&') {
                    if (!read_reference(ignored)) {
                        return false;
                    }
                } else {
                    ++pos_;
                }
            }
            if (pos_ >= in_.size()) {
                return fail("unterminated attribute value");
            }
            ++pos_;
        }
    }

    bool parse_element(XmlElement& element, std::size_t depth) {
        if (depth > limits_.max_depth) {
            return fail("elements nested deeper than " + std::to_string(limits_.max_depth));
        }
        if (++elements_ > limits_.max_elements) {
            return fail("more than " + std::to_string(limits_.max_elements) + " elements");
        }

        // Start tag.
        ++pos_;  // '<'
        if (!read_name(element.name)) {
            return false;
        }
        bool empty_element = false;
        if (!skip_attributes(empty_element)) {
            return false;
        }
        if (empty_element) {
            return true;
        }

        // Content up to the matching end tag.
        bool has_text = false;
        for (;;) {
            if (pos_ >= in_.size()) {
                return fail("unclosed <" + element.name + ">");
            }
            if (at("</")) {
                pos_ += 2;
                std::string name;
                if (!read_name(name)) {
                    return false;
                }
                if (name != element.name) {
                    return fail("</" + name + "> does not close <" + element.name + ">");
                }
                skip_space();
                if (!at(">")) {
                    return fail("expected '>'");
                }
                ++pos_;
                break;
            }
            if (at("<![CDATA[")) {
                std::size_t start = pos_ + 9;
                std::size_t end = in_.find("]]>", start);
                if (end == std::string_view::npos) {
                    return fail("unterminated CDATA section");
                }
                element.text.append(in_.substr(start, end - start));
                has_text = true;
                pos_ = end + 3;
            } else if (at("<!--")) {
                if (!skip_comment()) {
                    return false;
                }
            } else if (at("<!")) {
                return fail("declarations are not allowed inside elements");
            } else if (at("<?")) {
                return fail("processing instructions are not allowed");
            } else if (in_[pos_] == '<') {
                element.children.emplace_back();
                if (!parse_element(element.children.back(), depth + 1)) {
                    return false;
                }
            } else if (in_[pos_] == '&') {
                if (!read_reference(element.text)) {
                    return false;
                }
                has_text = true;
            } else {
                std::size_t end = in_.find_first_of("<&", pos_);
                if (end == std::string_view::npos) {
                    end = in_.size();
                }
                std::string_view run = in_.substr(pos_, end - pos_);
                if (run.find("]]>") != std::string_view::npos) {
                    return fail("']]>' outside a CDATA section");
                }
                element.text.append(run);
                has_text = has_text ||
                           std::any_of(run.begin(), run.end(), [](char c) { return !is_space(c); });
                pos_ = end;
            }
        }

        // Text beside child elements is not the flat format this reader is for.
        if (!element.children.empty()) {
            if (has_text) {
                return fail("text mixed with child elements in <" + element.name + ">");
            }
            element.text.clear();
        }
        return true;
    }

    std::string_view in_;
    const XmlLimits& limits_;
    std::size_t pos_ = 0;
    std::size_t elements_ = 0;
    std::string error_;
};

}  // namespace

const XmlElement* XmlElement::child(std::string_view name) const noexcept {
    for (const XmlElement& c : children) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

XmlResult parse_xml(std::string_view document, const XmlLimits& limits) {
    try {
        return Parser(document, limits).parse();
    } catch (const std::bad_alloc&) {
        return {std::nullopt, "out of memory"};
    }
}

}  // namespace teller::channels
