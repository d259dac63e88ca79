// Parses redis:// URLs strictly, so that a typo fails at start-up rather than at the first turn.
#include "redis_url.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "teller/core/error.hpp"

namespace teller::core::detail {
namespace {

// The URL as it may be shown in an error message: the password replaced by "***".
std::string masked(std::string_view url) {
    std::size_t scheme = url.find("://");
    std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
    std::size_t at = url.rfind('@');
    if (at == std::string_view::npos || at < start) {
        return std::string(url);
    }
    std::size_t colon = url.find(':', start);
    if (colon == std::string_view::npos || colon > at) {
        // No colon: the text may be a password written without one; hide it all.
        return std::string(url.substr(0, start)) + "***" + std::string(url.substr(at));
    }
    return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

[[noreturn]] void fail(std::string_view url, std::string_view problem) {
    throw Error("invalid Redis URL \"" + masked(url) + "\": " + std::string(problem) +
                " (expected redis://[[user]:password@]host[:port][/db])");
}

// Decodes %XX escapes in a user or password.
std::string percent_decode(std::string_view url, std::string_view text, std::string_view what) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        unsigned value = 0;
        auto* first = text.data() + i + 1;
        auto [end, ec] = std::from_chars(
            first, first + std::min<std::size_t>(2, text.size() - i - 1), value, 16);
        if (ec != std::errc() || end != first + 2) {
            fail(url, std::string(what) + " has a malformed %-escape");
        }
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

// Parses a decimal number in [low, high] into `value`; false if `text` is not one.
bool parse_int(std::string_view text, int low, int high, int& value) {
    if (text.empty()) {
        return false;
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
    return ec == std::errc() && end == text.data() + text.size() && value >= low && value <= high;
}

}  // namespace

std::string RedisUrl::endpoint() const {
    bool ipv6 = host.find(':') != std::string::npos;
    std::string shown = ipv6 ? "[" + host + "]" : host;
    return shown + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisUrl parse_redis_url(std::string_view url) {
    constexpr std::string_view kScheme = "redis://";
    // TODO(teller): no rediss:// (TLS) or unix:// sockets; a deployment that needs either must
    // put a local TLS proxy in front of Redis until they are added.
    if (url.starts_with("rediss://")) {
        fail(url, "TLS (rediss://) is not supported");
    }
    if (!url.starts_with(kScheme)) {
        fail(url, "the scheme must be redis://");
    }
    std::string_view rest = url.substr(kScheme.size());
    if (rest.find_first_of("?#") != std::string_view::npos) {
        fail(url, "query parameters and fragments are not supported");
    }
    RedisUrl parsed;

    // Credentials: everything before the last '@' (a password may contain '/' or ':').
    std::size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            fail(url,
                 "a user is given without a password (write redis://:password@host for a "
                 "password alone)");
        }
        parsed.user = percent_decode(url, userinfo.substr(0, colon), "the user");
        parsed.password = percent_decode(url, userinfo.substr(colon + 1), "the password");
        if (parsed.password.empty() && !parsed.user.empty()) {
            fail(url, "a user is given with an empty password");
        }
    }

    // Host and port, then the database.
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    std::string_view port_text;
    if (authority.starts_with('[')) {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            fail(url, "an IPv6 host lacks its closing ']'");
        }
        parsed.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) {
                fail(url, "unexpected text after the IPv6 host");
            }
            port_text = after.substr(1);
            if (port_text.empty()) {
                fail(url, "the port is empty");
            }
        }
    } else {
        std::size_t colon = authority.find(':');
        parsed.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) {
                fail(url, "the port is empty");
            }
            if (port_text.find(':') != std::string_view::npos) {
                fail(url, "an IPv6 host must be written in brackets");
            }
        }
    }
    if (parsed.host.empty()) {
        fail(url, "the host is missing");
    }
    if (!port_text.empty() && !parse_int(port_text, 1, 65535, parsed.port)) {
        fail(url, "the port \"" + std::string(port_text) + "\" is not a number from 1 to 65535");
    }
    if (!path.empty() && !parse_int(path, 0, std::numeric_limits<int>::max(), parsed.db)) {
        fail(url, "the database \"" + std::string(path) + "\" is not a non-negative number");
    }
    return parsed;
}

}  // namespace teller::core::detail
