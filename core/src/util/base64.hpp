// Base64 (RFC 4648, with padding) for bytes that must travel inside JSON: DLQ records and
// recordings of values that are not UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace teller::core::detail {

std::string encode_base64(std::string_view bytes);

/// nullopt when `text` is not padded base64.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace teller::core::detail
