// Reading the versioned JSON records of Teller's topics: shared by the codecs (private).
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "teller/core/error.hpp"

namespace teller::core::detail {

/// Parses `text` into an object after the checks every record goes through: at most
/// kMaxEventBytes (payload_too_large), valid UTF-8 (invalid_utf8), a JSON object
/// (malformed_json) whose integer `v` is kSchemaVersion (missing_field, unsupported_version).
Result<boost::json::object> parse_record_object(std::string_view text);

/// Reads a string field into `out`: false when it has another type, or when `required` and it
/// is absent, null or empty.
bool read_string(const boost::json::object& object, std::string_view key, std::string& out,
                 bool required);

}  // namespace teller::core::detail
