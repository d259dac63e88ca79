// Redis URLs: what make_redis_session_store accepts, and the messages for what it rejects.
#include "teller/core/session_store.hpp"

#include <gtest/gtest.h>

#include <string>

namespace teller::core {
namespace {

// The message make_redis_session_store throws for `url`, or "" when it accepts it.
std::string rejection(const std::string& url) {
    try {
        make_redis_session_store(url);
    } catch (const Error& error) {
        return error.what();
    }
    return {};
}

TEST(RedisUrlTest, DescribeShowsHostPortAndDatabaseWithDefaults) {
    EXPECT_EQ(make_redis_session_store("redis://127.0.0.1")->describe(), "redis 127.0.0.1:6379/0");
    EXPECT_EQ(make_redis_session_store("redis://localhost:7000/3")->describe(),
              "redis localhost:7000/3");
    EXPECT_EQ(make_redis_session_store("redis://[::1]:6380/")->describe(), "redis [::1]:6380/0");
}

TEST(RedisUrlTest, DescribeNeverShowsThePassword) {
    auto store = make_redis_session_store("redis://:s3cr%40t@127.0.0.1:6379/2");
    EXPECT_EQ(store->describe(), "redis 127.0.0.1:6379/2");
    auto acl = make_redis_session_store("redis://alice:pa:ss@127.0.0.1");
    EXPECT_EQ(acl->describe(), "redis 127.0.0.1:6379/0");
}

TEST(RedisUrlTest, MalformedUrlsThrowNamingTheProblem) {
    struct Case {
        std::string url;
        std::string problem;
    };
    const Case cases[] = {
        {"", "scheme must be redis://"},
        {"127.0.0.1:6379", "scheme must be redis://"},
        {"http://127.0.0.1", "scheme must be redis://"},
        {"rediss://127.0.0.1", "TLS"},
        {"redis://", "host is missing"},
        {"redis://:6379", "host is missing"},
        {"redis://127.0.0.1:", "port is empty"},
        {"redis://127.0.0.1:abc", "port \"abc\" is not a number"},
        {"redis://127.0.0.1:70000", "port \"70000\""},
        {"redis://127.0.0.1:0", "port \"0\""},
        {"redis://127.0.0.1/x", "database \"x\""},
        {"redis://127.0.0.1/-1", "database \"-1\""},
        {"redis://127.0.0.1/1/2", "database \"1/2\""},
        {"redis://::1", "brackets"},
        {"redis://[::1", "closing ']'"},
        {"redis://127.0.0.1?db=1", "query"},
        {"redis://alice@127.0.0.1", "without a password"},
        {"redis://:bad%zzpw@127.0.0.1", "%-escape"},
    };
    for (const Case& c : cases) {
        std::string message = rejection(c.url);
        EXPECT_NE(message.find(c.problem), std::string::npos)
            << "url: " << c.url << "\nmessage: " << message;
        EXPECT_NE(message.find("invalid Redis URL"), std::string::npos) << message;
    }
}

TEST(RedisUrlTest, RejectionMessagesMaskThePassword) {
    std::string message = rejection("redis://:hunter2@127.0.0.1:notaport");
    EXPECT_NE(message.find("port"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
    EXPECT_NE(message.find("redis://:***@127.0.0.1:notaport"), std::string::npos) << message;

    std::string acl = rejection("redis://alice:hunter2@127.0.0.1/db");
    EXPECT_EQ(acl.find("hunter2"), std::string::npos) << acl;

    std::string bare = rejection("redis://hunter2@127.0.0.1");
    EXPECT_EQ(bare.find("hunter2"), std::string::npos) << bare;
}

TEST(RedisUrlTest, NonPositiveTimeoutIsRejected) {
    EXPECT_THROW(make_redis_session_store("redis://127.0.0.1", std::chrono::milliseconds(0)),
                 Error);
}

}  // namespace
}  // namespace teller::core
