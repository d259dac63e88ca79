// Redis-only behaviour of the session store: key layout, outages, timeouts, AUTH and SELECT.
#include "teller/core/session_store.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_scripts.hpp"
#include "redis_server.hpp"

namespace teller::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// A plain hiredis connection for looking behind the store's back.
class RawRedis {
public:
    explicit RawRedis(int port) : context_(redisConnect("127.0.0.1", port)) {}
    ~RawRedis() { redisFree(context_); }
    RawRedis(const RawRedis&) = delete;
    RawRedis& operator=(const RawRedis&) = delete;

    // The reply to `args` as text: strings and statuses as they are, integers in decimal,
    // nil as "(nil)", errors as "ERR: ...".
    std::string call(std::initializer_list<std::string> args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const std::string& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        auto* reply = static_cast<redisReply*>(
            redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        if (reply == nullptr) {
            return "connection error";
        }
        std::string text;
        switch (reply->type) {
            case REDIS_REPLY_STRING:
            case REDIS_REPLY_STATUS:
                text.assign(reply->str, reply->len);
                break;
            case REDIS_REPLY_INTEGER:
                text = std::to_string(reply->integer);
                break;
            case REDIS_REPLY_NIL:
                text = "(nil)";
                break;
            case REDIS_REPLY_ERROR:
                text = "ERR: " + std::string(reply->str, reply->len);
                break;
            default:
                text = "(other)";
                break;
        }
        freeReplyObject(reply);
        return text;
    }

private:
    redisContext* context_;
};

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

class RedisSessionStoreTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(server_.available()) << server_.why(); }

    testing::RedisServer server_;
};

TEST_F(RedisSessionStoreTest, UsesTheDocumentedKeysAndSetsTheTtl) {
    auto store = make_redis_session_store(server_.url());
    ASSERT_TRUE(store->compare_and_set("web:c1", 0, "{}", seconds(120)).value());
    ASSERT_TRUE(store->mark_seen("sms:m1", seconds(30)).value());

    RawRedis raw(server_.port());
    EXPECT_EQ(raw.call({"TYPE", "teller:session:web:c1"}), "hash");
    EXPECT_EQ(raw.call({"HGET", "teller:session:web:c1", "version"}), "1");
    EXPECT_EQ(raw.call({"HGET", "teller:session:web:c1", "data"}), "{}");
    long session_ttl = std::stol(raw.call({"TTL", "teller:session:web:c1"}));
    EXPECT_GT(session_ttl, 100);
    EXPECT_LE(session_ttl, 120);
    long seen_ttl = std::stol(raw.call({"TTL", "teller:seen:sms:m1"}));
    EXPECT_GT(seen_ttl, 20);
    EXPECT_LE(seen_ttl, 30);

    // A write refreshes the idle TTL.
    ASSERT_EQ(raw.call({"EXPIRE", "teller:session:web:c1", "5"}), "1");
    ASSERT_TRUE(store->compare_and_set("web:c1", 1, "{}", seconds(120)).value());
    EXPECT_GT(std::stol(raw.call({"TTL", "teller:session:web:c1"})), 100);
    EXPECT_EQ(store->describe(), "redis 127.0.0.1:" + std::to_string(server_.port()) + "/0");
}

TEST_F(RedisSessionStoreTest, CompareAndSetFallsBackToEvalAfterTheScriptCacheIsFlushed) {
    auto store = make_redis_session_store(server_.url());
    ASSERT_TRUE(store->compare_and_set("c", 0, "one", seconds(60)).value());

    RawRedis raw(server_.port());
    ASSERT_EQ(raw.call({"SCRIPT", "FLUSH"}), "OK");
    auto stored = store->compare_and_set("c", 1, "two", seconds(60));
    ASSERT_TRUE(stored) << store->last_error();
    EXPECT_TRUE(*stored);
    EXPECT_FALSE(store->compare_and_set("c", 1, "stale", seconds(60)).value());
    EXPECT_EQ(store->load("c").value()->data, "two");

    ASSERT_EQ(raw.call({"SCRIPT", "FLUSH"}), "OK");
    const SessionWrite writes[] = {{"c", 2, "three"}, {"d", 0, "D"}, {"c", 2, "stale"}};
    auto many = store->compare_and_set_many(writes, seconds(60));
    ASSERT_TRUE(many) << store->last_error();
    EXPECT_EQ(*many, (std::vector<bool>{true, true, false}));
    EXPECT_EQ(store->load("c").value()->data, "three");
}

// A resent compare-and-set whose first copy already landed (its reply was lost) must answer
// "written", not "conflict"; another writer's token must still conflict.
TEST_F(RedisSessionStoreTest, CompareAndSetScriptRecognisesItsOwnResentWrite) {
    RawRedis raw(server_.port());
    std::string script(detail::kCompareAndSetScript);
    auto cas = [&](const std::string& expected, const std::string& data, const std::string& token) {
        return raw.call({"EVAL", script, "1", "teller:session:c", expected, data, "60", token});
    };

    EXPECT_EQ(cas("0", "first", "token-a"), "1");
    EXPECT_EQ(cas("0", "first", "token-a"), "1") << "the resend of the same write";
    EXPECT_EQ(cas("0", "other", "token-b"), "0") << "a different writer at the same version";
    EXPECT_EQ(cas("1", "second", "token-c"), "1");
    EXPECT_EQ(cas("0", "first", "token-a"), "0") << "a resend after someone else wrote";
    EXPECT_EQ(raw.call({"HGET", "teller:session:c", "version"}), "2");
    EXPECT_EQ(raw.call({"HGET", "teller:session:c", "data"}), "second");

    auto store = make_redis_session_store(server_.url());
    EXPECT_EQ(store->load("c").value()->data, "second");
}

// hiredis writes with write(): without care, a write to a vanished server raises SIGPIPE and
// kills the whole process. A multi-megabyte write makes hiredis call write() several times.
TEST_F(RedisSessionStoreTest, LargeWriteToAVanishedServerDoesNotKillTheProcess) {
    auto store = make_redis_session_store(server_.url(), milliseconds(1000));
    ASSERT_TRUE(store->load("c"));
    server_.kill();

    std::string big(32 * 1024 * 1024, 'x');
    for (int i = 0; i < 3; ++i) {
        auto stored = store->compare_and_set("c", 0, big, seconds(60));
        ASSERT_FALSE(stored);
        EXPECT_EQ(stored.error(), make_error_code(Errc::store_unavailable));
        server_.start();
        ASSERT_TRUE(server_.available()) << server_.why();
        ASSERT_TRUE(store->load("c")) << store->last_error();
        server_.kill();
    }
}

TEST_F(RedisSessionStoreTest, WrongTypedKeyIsAProtocolError) {
    auto store = make_redis_session_store(server_.url());
    RawRedis raw(server_.port());
    ASSERT_EQ(raw.call({"SET", "teller:session:odd", "not a hash"}), "OK");

    auto session = store->load("odd");
    ASSERT_FALSE(session);
    EXPECT_EQ(session.error(), make_error_code(Errc::store_protocol));
    auto stored = store->compare_and_set("odd", 0, "x", seconds(60));
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error(), make_error_code(Errc::store_protocol));
    EXPECT_NE(store->last_error().find("WRONGTYPE"), std::string::npos) << store->last_error();
}

TEST_F(RedisSessionStoreTest, KilledServerGivesStoreUnavailableQuicklyAndRecoversOnStart) {
    constexpr milliseconds kTimeout(500);
    auto store = make_redis_session_store(server_.url(), kTimeout);
    ASSERT_TRUE(store->compare_and_set("c", 0, "x", seconds(60)).value());

    server_.kill();
    const auto unavailable = make_error_code(Errc::store_unavailable);
    for (int round = 0; round < 2; ++round) {
        auto started = Clock::now();
        auto session = store->load("c");
        ASSERT_FALSE(session);
        EXPECT_EQ(session.error(), unavailable);
        auto stored = store->compare_and_set("c", 1, "y", seconds(60));
        ASSERT_FALSE(stored);
        EXPECT_EQ(stored.error(), unavailable);
        auto seen = store->mark_seen("m", seconds(60));
        ASSERT_FALSE(seen);
        EXPECT_EQ(seen.error(), unavailable);
        auto forgot = store->forget_seen("m");
        ASSERT_FALSE(forgot);
        EXPECT_EQ(forgot.error(), unavailable);
        std::vector<std::string> many{"c", "d"};
        auto sessions = store->load_many(many);
        ASSERT_FALSE(sessions);
        EXPECT_EQ(sessions.error(), unavailable);
        EXPECT_LT(elapsed_ms(started), 5 * kTimeout.count()) << "five calls took too long";
    }
    EXPECT_NE(store->last_error().find("connect failed"), std::string::npos) << store->last_error();

    server_.start();
    ASSERT_TRUE(server_.available()) << server_.why();
    auto session = store->load("c");
    ASSERT_TRUE(session) << store->last_error();
    EXPECT_FALSE(session->has_value()) << "the restarted server has no data";
    EXPECT_TRUE(store->compare_and_set("c", 0, "z", seconds(60)).value());
    EXPECT_TRUE(store->mark_seen("m", seconds(60)).value());
}

TEST_F(RedisSessionStoreTest, RestartedServerIsReconnectedWithoutAnError) {
    auto store = make_redis_session_store(server_.url(), milliseconds(1000));
    ASSERT_TRUE(store->compare_and_set("c", 0, "x", seconds(60)).value());

    // Each call below finds its connection broken by the restart; each is resent once.
    server_.restart();
    ASSERT_TRUE(server_.available()) << server_.why();
    auto session = store->load("c");
    ASSERT_TRUE(session) << store->last_error();
    EXPECT_FALSE(session->has_value());

    server_.restart();
    auto stored = store->compare_and_set("c", 0, "y", seconds(60));
    ASSERT_TRUE(stored) << store->last_error();
    EXPECT_TRUE(*stored);
    EXPECT_EQ(store->load("c").value()->version, 1);

    server_.restart();
    const SessionWrite writes[] = {{"c", 0, "batch"}, {"d", 0, "D"}};
    auto many = store->compare_and_set_many(writes, seconds(60));
    ASSERT_TRUE(many) << store->last_error();
    EXPECT_EQ(*many, (std::vector<bool>{true, true}));

    server_.restart();
    auto seen = store->mark_seen("m", seconds(60));
    ASSERT_TRUE(seen) << store->last_error();
    EXPECT_TRUE(*seen);
    EXPECT_FALSE(store->mark_seen("m", seconds(60)).value());
}

TEST_F(RedisSessionStoreTest, PausedServerTimesOutInsteadOfHanging) {
    constexpr milliseconds kTimeout(300);
    auto store = make_redis_session_store(server_.url(), kTimeout);
    ASSERT_TRUE(store->load("c"));

    server_.pause();
    auto started = Clock::now();
    auto session = store->load("c");
    long load_ms = elapsed_ms(started);
    started = Clock::now();
    auto stored = store->compare_and_set("c", 0, "x", seconds(60));
    long cas_ms = elapsed_ms(started);
    server_.resume();

    ASSERT_FALSE(session);
    EXPECT_EQ(session.error(), make_error_code(Errc::store_unavailable));
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error(), make_error_code(Errc::store_unavailable));
    EXPECT_GE(load_ms, kTimeout.count() - 50);
    EXPECT_LT(load_ms, 3 * kTimeout.count());
    EXPECT_LT(cas_ms, 3 * kTimeout.count());
    EXPECT_NE(store->last_error().find("timed out"), std::string::npos) << store->last_error();
    EXPECT_TRUE(store->load("c")) << store->last_error();
}

// The SET of a timed-out mark_seen runs once the server wakes up. The next mark_seen of that key
// must recognise its own write instead of reporting a duplicate and losing the message.
TEST_F(RedisSessionStoreTest, MarkSeenAfterATimedOutAttemptIsNotTakenForADuplicate) {
    auto store = make_redis_session_store(server_.url(), milliseconds(300));
    ASSERT_TRUE(store->load("warm-up"));

    server_.pause();
    auto lost = store->mark_seen("sms:m1", seconds(60));
    server_.resume();
    ASSERT_FALSE(lost);

    // Let the woken server run the SET it had queued.
    RawRedis raw(server_.port());
    for (int i = 0; i < 100 && raw.call({"EXISTS", "teller:seen:sms:m1"}) != "1"; ++i) {
        std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_EQ(raw.call({"EXISTS", "teller:seen:sms:m1"}), "1");

    auto retried = store->mark_seen("sms:m1", seconds(60));
    ASSERT_TRUE(retried) << store->last_error();
    EXPECT_TRUE(*retried);
    EXPECT_FALSE(store->mark_seen("sms:m1", seconds(60)).value());
}

TEST_F(RedisSessionStoreTest, WrongOrMissingPasswordGivesAClearError) {
    testing::RedisServer secured({"--requirepass", "right-secret"});
    ASSERT_TRUE(secured.available()) << secured.why();
    std::string address = "127.0.0.1:" + std::to_string(secured.port());

    auto wrong = make_redis_session_store("redis://:hunter2-wrong@" + address);
    auto session = wrong->load("c");
    ASSERT_FALSE(session);
    EXPECT_EQ(session.error(), make_error_code(Errc::store_unavailable));
    std::string why = wrong->last_error();
    EXPECT_NE(why.find("AUTH failed"), std::string::npos) << why;
    EXPECT_NE(why.find("WRONGPASS"), std::string::npos) << why;
    EXPECT_EQ(why.find("hunter2"), std::string::npos) << "the password leaked: " << why;

    auto missing = make_redis_session_store("redis://" + address);
    ASSERT_FALSE(missing->mark_seen("m", seconds(60)));
    EXPECT_NE(missing->last_error().find("NOAUTH"), std::string::npos) << missing->last_error();

    auto right = make_redis_session_store("redis://:right-secret@" + address + "/1");
    EXPECT_TRUE(right->compare_and_set("c", 0, "x", seconds(60)).value()) << right->last_error();
}

TEST_F(RedisSessionStoreTest, AclUserAndPasswordAuthenticate) {
    testing::RedisServer acl({"--user", "alice", "on", ">alice-pw", "~*", "+@all"});
    ASSERT_TRUE(acl.available()) << acl.why();
    std::string address = "127.0.0.1:" + std::to_string(acl.port());

    auto alice = make_redis_session_store("redis://alice:alice-pw@" + address);
    EXPECT_TRUE(alice->compare_and_set("c", 0, "x", seconds(60)).value()) << alice->last_error();
    auto impostor = make_redis_session_store("redis://alice:not-it@" + address);
    ASSERT_FALSE(impostor->load("c"));
    EXPECT_NE(impostor->last_error().find("AUTH failed"), std::string::npos);
}

TEST_F(RedisSessionStoreTest, DatabaseFromTheUrlIsSelectedOnEveryConnection) {
    auto db5 = make_redis_session_store(server_.url() + "/5");
    auto db0 = make_redis_session_store(server_.url() + "/0");
    ASSERT_TRUE(db5->compare_and_set("c", 0, "five", seconds(60)).value());
    EXPECT_FALSE(db0->load("c").value().has_value());

    // After a reconnect the store must still be in database 5.
    server_.restart();
    ASSERT_TRUE(server_.available()) << server_.why();
    ASSERT_TRUE(db5->compare_and_set("c", 0, "five again", seconds(60)).value())
        << db5->last_error();
    RawRedis raw(server_.port());
    EXPECT_EQ(raw.call({"EXISTS", "teller:session:c"}), "0");
    ASSERT_EQ(raw.call({"SELECT", "5"}), "OK");
    EXPECT_EQ(raw.call({"HGET", "teller:session:c", "data"}), "five again");
}

}  // namespace
}  // namespace teller::core
