// Builds teller.dlq records.
#include "teller/core/dead_letter.hpp"

#include <boost/json.hpp>

#include "teller/core/events.hpp"
#include "util/base64.hpp"

namespace teller::core {

Record dead_letter(std::string_view dlq_topic, const Record& source, DeadLetterReason why,
                   std::int64_t at_ms, std::string_view key) {
    boost::json::object dead{{"reason", why.reason}, {"error", why.error}};
    if (why.error_code != 0) {
        dead["error_code"] = why.error_code;
    }
    for (auto& [name, value] : why.extra) {
        dead[name] = std::move(value);
    }
    dead["source"] = boost::json::object{{"topic", source.topic},
                                         {"partition", source.partition},
                                         {"offset", source.offset},
                                         {"key", source.key}};
    dead["value_base64"] = detail::encode_base64(source.value);
    dead["at"] = format_timestamp(at_ms);
    std::string header = why.header.empty() ? why.reason : why.header;
    return Record{std::string(dlq_topic),
                  std::string(key.empty() ? source.key : key),
                  boost::json::serialize(dead),
                  {{"reason", std::move(header)}}};
}

}  // namespace teller::core
