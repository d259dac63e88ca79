// The recording format (one JSON record per line) and `teller record`'s copy loop.
#include <fstream>
#include <ostream>

#include <boost/json.hpp>

#include "teller/core/events.hpp"
#include "teller/core/log.hpp"
#include "teller/core/replay.hpp"
#include "util/base64.hpp"

namespace teller::core {
namespace json = boost::json;
namespace {

// Sets `name` (text) or `name_base64` (bytes that are not UTF-8).
void put_bytes(json::object& o, std::string_view name, const std::string& bytes) {
    if (is_valid_utf8(bytes)) {
        o[name] = bytes;
    } else {
        o[std::string(name) + "_base64"] = detail::encode_base64(bytes);
    }
}

std::optional<std::string> get_bytes(const json::object& o, std::string_view name) {
    if (const json::value* v = o.if_contains(name); v != nullptr && v->is_string()) {
        return std::string(v->as_string());
    }
    if (const json::value* v = o.if_contains(std::string(name) + "_base64");
        v != nullptr && v->is_string()) {
        return detail::decode_base64(v->as_string());
    }
    return std::nullopt;
}

}  // namespace

std::string to_recording_line(const Record& record) {
    json::object o;
    o["topic"] = record.topic;
    o["partition"] = record.partition;
    o["offset"] = record.offset;
    put_bytes(o, "key", record.key);
    json::array headers;
    for (const Header& h : record.headers) {
        json::object header{{"name", h.name}};
        put_bytes(header, "value", h.value);
        headers.push_back(std::move(header));
    }
    o["headers"] = std::move(headers);
    o["timestamp"] = record.timestamp_ms;
    put_bytes(o, "value", record.value);
    return json::serialize(o);
}

Result<Record> parse_recording_line(std::string_view line) {
    boost::system::error_code ec;
    json::value parsed = json::parse(line, ec);
    if (ec || !parsed.is_object()) {
        return Errc::malformed_json;
    }
    const json::object& o = parsed.as_object();
    Record r;
    const json::value* topic = o.if_contains("topic");
    auto value = get_bytes(o, "value");
    if (topic == nullptr || !topic->is_string() || !value) {
        return Errc::missing_field;
    }
    r.topic = std::string(topic->as_string());
    r.value = std::move(*value);
    r.key = get_bytes(o, "key").value_or("");
    if (const json::value* v = o.if_contains("partition"); v != nullptr && v->is_int64()) {
        r.partition = static_cast<std::int32_t>(v->as_int64());
    }
    if (const json::value* v = o.if_contains("offset"); v != nullptr && v->is_int64()) {
        r.offset = v->as_int64();
    }
    if (const json::value* v = o.if_contains("timestamp"); v != nullptr && v->is_int64()) {
        r.timestamp_ms = v->as_int64();
    }
    if (const json::value* hs = o.if_contains("headers"); hs != nullptr && hs->is_array()) {
        for (const json::value& h : hs->as_array()) {
            const json::value* name = h.is_object() ? h.as_object().if_contains("name") : nullptr;
            if (name == nullptr || !name->is_string()) {
                return Errc::missing_field;
            }
            r.headers.push_back(
                {std::string(name->as_string()), get_bytes(h.as_object(), "value").value_or("")});
        }
    }
    return r;
}

std::vector<Record> read_recording(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("cannot read the recording " + path);
    }
    std::vector<Record> records;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        auto record = parse_recording_line(line);
        if (!record) {
            throw Error(path + ":" + std::to_string(number) + ": not a recorded record (" +
                        record.error().message() + ")");
        }
        records.push_back(std::move(*record));
    }
    return records;
}

void write_recording(const std::string& path, const std::vector<Record>& records) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const Record& r : records) {
        out << to_recording_line(r) << '\n';
    }
    out.flush();
    if (!out) {
        throw Error("cannot write " + path);
    }
}

RecordStats record_topics(const RecordOptions& options, std::ostream& out,
                          const std::function<bool()>& stop) {
    static const Logger log("record");
    TopicReader reader(options.kafka, options.topics, options.start);
    RecordStats stats;
    const auto started = std::chrono::steady_clock::now();
    auto last_progress = started;
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    auto all_done = [&] {
        for (const PartitionProgress& p : reader.partitions()) {
            if (!p.done()) {
                return false;
            }
        }
        return true;
    };

    while (true) {
        // Each stop condition, checked between polls.
        if (options.until_end && all_done()) {
            break;
        }
        if (options.max_records && stats.records >= *options.max_records) {
            break;
        }
        if (options.timeout && std::chrono::steady_clock::now() - started >= *options.timeout) {
            break;
        }
        if (stop && stop()) {
            break;
        }

        std::size_t want = 1000;
        if (options.max_records) {
            want = std::min(want, *options.max_records - stats.records);
        }
        for (const Record& r : reader.poll(want, std::chrono::milliseconds(100))) {
            if (options.until_end) {
                // Only what existed at start: later records of a finished partition are skipped.
                bool late = false;
                for (const PartitionProgress& p : reader.partitions()) {
                    if (p.partition.topic == r.topic && p.partition.partition == r.partition) {
                        late = r.offset >= p.end;
                    }
                }
                if (late) {
                    continue;
                }
            }
            out << to_recording_line(r) << '\n';
            ++stats.records;
        }
        if (!out) {
            throw Error("cannot write the recording");
        }
        if (options.progress &&
            std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(1)) {
            last_progress = std::chrono::steady_clock::now();
            options.progress(stats.records, seconds(), reader.partitions());
        }
    }
    out.flush();
    stats.seconds = seconds();
    if (options.progress) {
        options.progress(stats.records, stats.seconds, reader.partitions());
    }
    log.info("recording done", {{"records", stats.records}, {"seconds", stats.seconds}});
    return stats;
}

}  // namespace teller::core
