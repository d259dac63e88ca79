// The Lua scripts the Redis session store runs (private; tests run them directly too).
#pragma once

#include <string_view>

namespace teller::core::detail {

/// The compare-and-set, atomic inside Redis. KEYS[1]: the session hash. ARGV: expected
/// version, data, TTL in seconds (<= 0: none), the writer's token. Returns 1 when it wrote, and
/// also when this very write (same token, one version up) had already landed: a resend after a
/// lost reply then answers truthfully instead of reporting a conflict. Returns 0 on a conflict.
inline constexpr std::string_view kCompareAndSetScript = R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local expected = tonumber(ARGV[1])
if current == expected + 1 and redis.call('HGET', KEYS[1], 'writer') == ARGV[4] then
    return 1
end
if current ~= expected then
    return 0
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'writer', ARGV[4])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
else
    redis.call('PERSIST', KEYS[1])
end
return 1
)lua";

}  // namespace teller::core::detail
