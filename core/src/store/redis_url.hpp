// Parsing of redis:// URLs into what a connection needs (private to the store component).
#pragma once

#include <string>
#include <string_view>

namespace teller::core::detail {

/// The parts of redis://[[user]:password@]host[:port][/db].
struct RedisUrl {
    std::string host;
    int port = 6379;
    int db = 0;
    std::string user;      ///< empty: AUTH with the password alone
    std::string password;  ///< empty: no AUTH

    /// "host:port/db", IPv6 hosts in brackets; no credentials.
    std::string endpoint() const;
};

/// Parses `url`. Throws core::Error naming the problem (with any password masked) when the URL
/// is malformed.
RedisUrl parse_redis_url(std::string_view url);

}  // namespace teller::core::detail
