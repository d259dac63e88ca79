// Form bodies (application/x-www-form-urlencoded) and Twilio's request signature.
#include <algorithm>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "teller/channels/sms.hpp"

namespace teller::channels {
namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Decodes one name or value; false on a broken %XX.
bool decode_component(std::string_view in, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= in.size()) {
                return false;
            }
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return true;
}

}  // namespace

std::optional<FormFields> parse_form(std::string_view body) {
    FormFields fields;
    std::string name;
    std::string value;
    while (!body.empty()) {
        std::size_t amp = body.find('&');
        std::string_view piece = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (piece.empty()) {
            continue;
        }
        std::size_t eq = piece.find('=');
        std::string_view raw_name = piece.substr(0, eq);
        std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
        if (!decode_component(raw_name, name) || !decode_component(raw_value, value)) {
            return std::nullopt;
        }
        fields.emplace_back(name, value);
    }
    return fields;
}

std::optional<std::string_view> form_value(const FormFields& fields, std::string_view name) {
    for (const auto& [key, value] : fields) {
        if (key == name) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

std::string form_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        }
    }
    return out;
}

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const FormFields& params) {
    // The signed string: the URL, then every field's name and value in sorted order.
    std::vector<const std::pair<std::string, std::string>*> sorted;
    sorted.reserve(params.size());
    for (const auto& field : params) {
        sorted.push_back(&field);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });
    std::string data(url);
    for (const auto* field : sorted) {
        data += field->first;
        data += field->second;
    }

    // HMAC-SHA1 with the auth token, base64-encoded.
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_size);
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int encoded_size = EVP_EncodeBlock(encoded, mac, static_cast<int>(mac_size));
    return std::string(reinterpret_cast<const char*>(encoded),
                       static_cast<std::size_t>(encoded_size));
}

}  // namespace teller::channels
