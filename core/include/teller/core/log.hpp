// Named loggers with structured fields over spdlog; every line is masked before it is written.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace spdlog {
class logger;
}

namespace teller::core {

enum class LogLevel { trace, debug, info, warn, error, off };

/// Parses "trace", "debug", "info", "warn", "error", "off"; info when unknown.
LogLevel parse_log_level(std::string_view name) noexcept;

/// Sets the level of every Teller logger (default info; TELLER_LOG_LEVEL at start-up).
void set_log_level(LogLevel level);

/// One `key=value` pair attached to a log line.
struct LogField {
    std::string_view key;
    std::string value;

    LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
    LogField(std::string_view k, const char* v) : key(k), value(v) {}
    LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
    template <class N>
        requires std::is_arithmetic_v<N>
    LogField(std::string_view k, N v) : key(k), value(std::to_string(v)) {}
};

/// A subsystem's logger ("gateway", "engine", "kafka", ...). Cheap to copy; thread-safe.
/// Lines read `message key=value ...`; card numbers, phone numbers and secrets are masked.
class Logger {
public:
    explicit Logger(std::string_view subsystem);

    void trace(std::string_view message, std::initializer_list<LogField> fields = {}) const;
    void debug(std::string_view message, std::initializer_list<LogField> fields = {}) const;
    void info(std::string_view message, std::initializer_list<LogField> fields = {}) const;
    void warn(std::string_view message, std::initializer_list<LogField> fields = {}) const;
    void error(std::string_view message, std::initializer_list<LogField> fields = {}) const;

    bool enabled(LogLevel level) const;

private:
    void write(LogLevel level, std::string_view message,
               std::initializer_list<LogField> fields) const;

    std::shared_ptr<spdlog::logger> logger_;
};

/// Masks personal data in free text: card numbers (13-19 digits, spaces or dashes allowed) keep
/// their last four digits, phone numbers keep their last two, bearer tokens, `token=`,
/// `secret=` and `password=` values are replaced. Used for logs, events and topics.
std::string mask_personal_data(std::string_view text);

}  // namespace teller::core
