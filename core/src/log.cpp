// Logger implementation: one spdlog logger per subsystem on a shared stderr sink.
#include "teller/core/log.hpp"

#include <atomic>
#include <cctype>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace teller::core {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};

spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
        case LogLevel::trace:
            return spdlog::level::trace;
        case LogLevel::debug:
            return spdlog::level::debug;
        case LogLevel::info:
            return spdlog::level::info;
        case LogLevel::warn:
            return spdlog::level::warn;
        case LogLevel::error:
            return spdlog::level::err;
        case LogLevel::off:
            return spdlog::level::off;
    }
    return spdlog::level::info;
}

std::shared_ptr<spdlog::sinks::sink> shared_sink() {
    static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    return sink;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Length of a run of digits starting at `i`, allowing single spaces or dashes between digits;
// `digits` receives the digit count.
std::size_t digit_run(std::string_view s, std::size_t i, std::size_t& digits) {
    std::size_t j = i;
    digits = 0;
    std::size_t end = i;
    while (j < s.size()) {
        if (is_digit(s[j])) {
            ++digits;
            ++j;
            end = j;
            continue;
        }
        // Up to three separators (spaces, dashes, dots, the parentheses of "+1 (415) 555-0100")
        // between digits keep the run going.
        std::size_t k = j;
        while (k < s.size() && k - j < 3 &&
               (s[k] == ' ' || s[k] == '-' || s[k] == '.' || s[k] == '(' || s[k] == ')')) {
            ++k;
        }
        if (k == j || k >= s.size() || !is_digit(s[k]) || digits == 0) {
            break;
        }
        j = k;
    }
    return end - i;
}

// Full-width digits (U+FF10..U+FF19, typed by CJK input methods) as ASCII digits, so that the
// digit rules below see them.
std::string ascii_digits(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xEF &&
            static_cast<unsigned char>(text[i + 1]) == 0xBC &&
            static_cast<unsigned char>(text[i + 2]) >= 0x90 &&
            static_cast<unsigned char>(text[i + 2]) <= 0x99) {
            out += static_cast<char>('0' + (static_cast<unsigned char>(text[i + 2]) - 0x90));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Masks the 3-6 digits that follow a card-security word ("cvv 123", "CVC: 1234", "pin 0000").
void mask_security_codes(std::string& text) {
    static const std::string_view kWords[] = {"cvv2", "cvv", "cvc", "pin", "安全码", "密码"};
    std::string lower = text;
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (std::string_view word : kWords) {
        std::size_t pos = 0;
        while ((pos = lower.find(word, pos)) != std::string::npos) {
            std::size_t j = pos + word.size();
            while (j < text.size() &&
                   (text[j] == ' ' || text[j] == ':' || text[j] == '=' || text[j] == '#')) {
                ++j;
            }
            std::size_t start = j;
            while (j < text.size() && is_digit(text[j])) {
                ++j;
            }
            if (j - start >= 3 && j - start <= 6 && (j == text.size() || !is_digit(text[j]))) {
                for (std::size_t k = start; k < j; ++k) {
                    text[k] = '*';
                    lower[k] = '*';
                }
            }
            pos += word.size();
        }
    }
}

bool is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}

// True when `iban` (compact, upper case) passes the ISO 13616 mod-97 check.
bool iban_checksum_ok(std::string_view iban) {
    int remainder = 0;
    for (std::size_t n = 0; n < iban.size(); ++n) {
        char c = iban[(n + 4) % iban.size()];
        int value = is_digit(c) ? c - '0' : c - 'A' + 10;
        remainder = (value >= 10 ? remainder * 100 : remainder * 10) + value;
        remainder %= 97;
    }
    return remainder == 1;
}

// Masks IBANs, compact ("GB82WEST12345698765432") or in groups of four separated by single
// spaces, keeping the country code and the last four characters. Only upper-case IBANs that
// pass the mod-97 check are masked, so identifiers and ordinary words are left alone.
void mask_ibans(std::string& text) {
    auto is_alnum = [](char c) { return is_digit(c) || is_upper(c); };
    for (std::size_t i = 0; i + 15 <= text.size(); ++i) {
        bool starts = is_upper(text[i]) && is_upper(text[i + 1]) && is_digit(text[i + 2]) &&
                      is_digit(text[i + 3]) &&
                      (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])));
        if (!starts) {
            continue;
        }
        // Gather up to 34 characters, skipping single spaces; the longest prefix that ends
        // where a word ends and passes the check is the IBAN.
        std::string compact;
        std::vector<std::size_t> where;
        std::size_t best_end = 0;
        std::size_t best_length = 0;
        for (std::size_t j = i; j < text.size() && compact.size() < 34; ++j) {
            if (text[j] == ' ' && j + 1 < text.size() && is_alnum(text[j + 1]) &&
                !compact.empty()) {
                continue;
            }
            if (!is_alnum(text[j])) {
                break;
            }
            compact += text[j];
            where.push_back(j);
            bool word_ends =
                j + 1 == text.size() || !std::isalnum(static_cast<unsigned char>(text[j + 1]));
            if (word_ends && compact.size() >= 15 && iban_checksum_ok(compact)) {
                best_end = j + 1;
                best_length = compact.size();
            }
        }
        if (best_length == 0) {
            continue;
        }
        for (std::size_t n = 2; n + 4 < best_length; ++n) {
            text[where[n]] = '*';
        }
        i = best_end;
    }
}

// Replaces the value after `key` (up to whitespace, '&', '"' or ',') with "***".
void mask_key_values(std::string& text, std::string_view key) {
    std::size_t pos = 0;
    while (true) {
        auto it =
            std::search(text.begin() + pos, text.end(), key.begin(), key.end(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            });
        if (it == text.end()) {
            return;
        }
        std::size_t start = static_cast<std::size_t>(it - text.begin()) + key.size();
        std::size_t end = start;
        while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
               text[end] != '&' && text[end] != '"' && text[end] != ',') {
            ++end;
        }
        if (end > start) {
            text.replace(start, end - start, "***");
        }
        pos = start + 3;
    }
}

}  // namespace

LogLevel parse_log_level(std::string_view name) noexcept {
    if (name == "trace")
        return LogLevel::trace;
    if (name == "debug")
        return LogLevel::debug;
    if (name == "warn" || name == "warning")
        return LogLevel::warn;
    if (name == "error")
        return LogLevel::error;
    if (name == "off")
        return LogLevel::off;
    return LogLevel::info;
}

void set_log_level(LogLevel level) {
    g_level = level;
    spdlog::apply_all(
        [level](const std::shared_ptr<spdlog::logger>& l) { l->set_level(to_spdlog(level)); });
}

Logger::Logger(std::string_view subsystem) {
    static std::mutex registry_mutex;
    std::lock_guard lock(registry_mutex);
    std::string name(subsystem);
    logger_ = spdlog::get(name);
    if (!logger_) {
        logger_ = std::make_shared<spdlog::logger>(name, shared_sink());
        logger_->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
        logger_->set_level(to_spdlog(g_level.load()));
        spdlog::register_logger(logger_);
    }
}

bool Logger::enabled(LogLevel level) const {
    return logger_->should_log(to_spdlog(level));
}

void Logger::trace(std::string_view m, std::initializer_list<LogField> f) const {
    write(LogLevel::trace, m, f);
}
void Logger::debug(std::string_view m, std::initializer_list<LogField> f) const {
    write(LogLevel::debug, m, f);
}
void Logger::info(std::string_view m, std::initializer_list<LogField> f) const {
    write(LogLevel::info, m, f);
}
void Logger::warn(std::string_view m, std::initializer_list<LogField> f) const {
    write(LogLevel::warn, m, f);
}
void Logger::error(std::string_view m, std::initializer_list<LogField> f) const {
    write(LogLevel::error, m, f);
}

void Logger::write(LogLevel level, std::string_view message,
                   std::initializer_list<LogField> fields) const {
    if (!enabled(level)) {
        return;
    }
    std::string line(message);
    for (const LogField& field : fields) {
        line += ' ';
        line += field.key;
        line += '=';
        bool quote = field.value.empty() || field.value.find(' ') != std::string::npos;
        if (quote) {
            line += '"';
        }
        line += field.value;
        if (quote) {
            line += '"';
        }
    }
    logger_->log(to_spdlog(level), "{}", mask_personal_data(line));
}

std::string mask_personal_data(std::string_view original) {
    std::string normalised = ascii_digits(original);
    mask_ibans(normalised);
    const std::string_view text = normalised;
    std::string out;
    out.reserve(text.size());

    // Digit runs: card numbers keep the last four digits, phone numbers the last two.
    std::size_t i = 0;
    while (i < text.size()) {
        bool starts_run = is_digit(text[i]) && (i == 0 || !is_digit(text[i - 1]));
        if (!starts_run) {
            out += text[i++];
            continue;
        }
        std::size_t digits = 0;
        std::size_t len = digit_run(text, i, digits);

        // Digits inside an identifier (a hex trace id, "gw-3f2a...") are not a number.
        auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
        if ((i > 0 && is_alpha(text[i - 1])) ||
            (i + len < text.size() && is_alpha(text[i + len]))) {
            out.append(text.substr(i, len));
            i += len;
            continue;
        }
        bool after_plus = i > 0 && text[i - 1] == '+';
        std::size_t keep = 0;
        if (after_plus && digits >= 7 && digits <= 15) {
            keep = 2;
        } else if (digits >= 13 && digits <= 19) {
            keep = 4;
        } else if (digits >= 10) {
            keep = 2;
        }
        if (keep == 0) {
            out.append(text.substr(i, len));
        } else {
            std::size_t seen = 0;
            for (std::size_t k = i; k < i + len; ++k) {
                if (is_digit(text[k])) {
                    ++seen;
                    out += seen + keep > digits ? text[k] : '*';
                } else {
                    out += text[k];
                }
            }
        }
        i += len;
    }

    // Secrets written as key=value, "key: value", or as a bearer token.
    for (std::string_view key :
         {"bearer ", "token=", "secret=", "password=", "passwd=", "\"token\":\"",
          "token: ", "secret: ", "password: ", "passwd: ", "passcode: ", "api_key=", "apikey="}) {
        mask_key_values(out, key);
    }
    mask_security_codes(out);
    return out;
}

}  // namespace teller::core
