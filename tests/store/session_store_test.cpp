// The SessionStore contract, checked the same way against the memory store and real Redis.
#include "teller/core/session_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace teller::core {
namespace {

using std::chrono::seconds;

struct MemoryBackend {
    bool ready() const { return true; }
    std::string why() const { return {}; }
    std::unique_ptr<SessionStore> make() const { return make_memory_session_store(); }
};

struct RedisBackend {
    testing::RedisServer server;
    bool ready() const { return server.available(); }
    std::string why() const { return server.why(); }
    std::unique_ptr<SessionStore> make() const {
        return make_redis_session_store(server.url(), std::chrono::milliseconds(2000));
    }
};

template <class Backend>
class SessionStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        // A missing redis-server is a failure, not a skip: CI installs it.
        ASSERT_TRUE(backend_.ready()) << backend_.why();
        store_ = backend_.make();
    }

    Backend backend_;
    std::unique_ptr<SessionStore> store_;
};

using Backends = ::testing::Types<MemoryBackend, RedisBackend>;

class BackendNames {
public:
    template <class T>
    static std::string GetName(int) {
        return std::is_same_v<T, MemoryBackend> ? "Memory" : "Redis";
    }
};
TYPED_TEST_SUITE(SessionStoreTest, Backends, BackendNames);

TYPED_TEST(SessionStoreTest, LoadOfMissingSessionIsEmpty) {
    auto session = this->store_->load("nobody");
    ASSERT_TRUE(session) << session.error().message();
    EXPECT_FALSE(session->has_value());
}

TYPED_TEST(SessionStoreTest, CompareAndSetAtVersionZeroCreatesVersionOne) {
    auto created = this->store_->compare_and_set("c1", 0, R"({"turn":1})", seconds(60));
    ASSERT_TRUE(created) << created.error().message();
    EXPECT_TRUE(*created);

    auto session = this->store_->load("c1");
    ASSERT_TRUE(session && session->has_value());
    EXPECT_EQ((*session)->version, 1);
    EXPECT_EQ((*session)->data, R"({"turn":1})");
}

TYPED_TEST(SessionStoreTest, StaleVersionFailsAndLeavesDataUnchanged) {
    ASSERT_TRUE(this->store_->compare_and_set("c1", 0, "first", seconds(60)).value());
    ASSERT_TRUE(this->store_->compare_and_set("c1", 1, "second", seconds(60)).value());

    // Both an old version and "create" lose against version 2.
    auto stale = this->store_->compare_and_set("c1", 1, "stale", seconds(60));
    ASSERT_TRUE(stale);
    EXPECT_FALSE(*stale);
    auto recreate = this->store_->compare_and_set("c1", 0, "again", seconds(60));
    ASSERT_TRUE(recreate);
    EXPECT_FALSE(*recreate);
    auto ahead = this->store_->compare_and_set("c1", 7, "ahead", seconds(60));
    ASSERT_TRUE(ahead);
    EXPECT_FALSE(*ahead);

    auto session = this->store_->load("c1");
    ASSERT_TRUE(session && session->has_value());
    EXPECT_EQ((*session)->version, 2);
    EXPECT_EQ((*session)->data, "second");
}

TYPED_TEST(SessionStoreTest, VersionsIncreaseByOnePerWrite) {
    for (std::int64_t version = 0; version < 5; ++version) {
        // (Built with append: "v" + to_string trips GCC 12 bug 105329, a false -Wrestrict.)
        std::string data = std::string("v").append(std::to_string(version + 1));
        ASSERT_TRUE(this->store_->compare_and_set("c1", version, data, seconds(60)).value());
        auto session = this->store_->load("c1");
        ASSERT_TRUE(session && session->has_value());
        EXPECT_EQ((*session)->version, version + 1);
        EXPECT_EQ((*session)->data, data);
    }
}

TYPED_TEST(SessionStoreTest, ConversationsAreIndependent) {
    ASSERT_TRUE(this->store_->compare_and_set("a", 0, "A", seconds(60)).value());
    ASSERT_TRUE(this->store_->compare_and_set("b", 0, "B", seconds(60)).value());
    EXPECT_EQ(this->store_->load("a").value()->data, "A");
    EXPECT_EQ(this->store_->load("b").value()->data, "B");
}

TYPED_TEST(SessionStoreTest, SessionsAndSeenMarksExpireAfterTheirTtl) {
    ASSERT_TRUE(this->store_->compare_and_set("short", 0, "x", seconds(1)).value());
    ASSERT_TRUE(this->store_->compare_and_set("long", 0, "y", seconds(60)).value());
    ASSERT_TRUE(this->store_->compare_and_set("forever", 0, "z", seconds(0)).value());
    ASSERT_TRUE(this->store_->mark_seen("m1", seconds(1)).value());
    ASSERT_TRUE(this->store_->load("short").value().has_value());

    std::this_thread::sleep_for(std::chrono::milliseconds(1300));

    EXPECT_FALSE(this->store_->load("short").value().has_value());
    EXPECT_TRUE(this->store_->load("long").value().has_value());
    EXPECT_TRUE(this->store_->load("forever").value().has_value());
    EXPECT_TRUE(this->store_->mark_seen("m1", seconds(60)).value());

    // An expired session counts as absent: it is created again from version 0.
    EXPECT_TRUE(this->store_->compare_and_set("short", 0, "new", seconds(60)).value());
    EXPECT_EQ(this->store_->load("short").value()->version, 1);
}

TYPED_TEST(SessionStoreTest, MarkSeenIsTrueOnceThenFalse) {
    auto first = this->store_->mark_seen("sms:msg-1", seconds(60));
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_TRUE(*first);
    auto second = this->store_->mark_seen("sms:msg-1", seconds(60));
    ASSERT_TRUE(second);
    EXPECT_FALSE(*second);
    EXPECT_TRUE(this->store_->mark_seen("sms:msg-2", seconds(60)).value());
}

TYPED_TEST(SessionStoreTest, ForgetSeenLetsTheKeyBeMarkedAgain) {
    ASSERT_TRUE(this->store_->mark_seen("k", seconds(60)).value());
    ASSERT_TRUE(this->store_->forget_seen("k"));
    EXPECT_TRUE(this->store_->mark_seen("k", seconds(60)).value());
    EXPECT_FALSE(this->store_->mark_seen("k", seconds(60)).value());
    EXPECT_TRUE(this->store_->forget_seen("never-marked"));
}

TYPED_TEST(SessionStoreTest, ValuesAreStoredReplacedErasedAndExpire) {
    EXPECT_FALSE(this->store_->get_value("sms:optout:+15550001").value().has_value());

    ASSERT_TRUE(this->store_->put_value("sms:optout:+15550001", "1", seconds(0)));
    ASSERT_TRUE(this->store_->put_value("short", "退订", seconds(1)));
    EXPECT_EQ(this->store_->get_value("sms:optout:+15550001").value(), "1");
    EXPECT_EQ(this->store_->get_value("short").value(), "退订");

    ASSERT_TRUE(this->store_->put_value("sms:optout:+15550001", "2", seconds(0)));
    EXPECT_EQ(this->store_->get_value("sms:optout:+15550001").value(), "2");

    // Values live apart from sessions and seen marks of the same name.
    ASSERT_TRUE(this->store_->mark_seen("short", seconds(60)).value());
    EXPECT_FALSE(this->store_->load("short").value().has_value());

    ASSERT_TRUE(this->store_->erase_value("sms:optout:+15550001"));
    EXPECT_FALSE(this->store_->get_value("sms:optout:+15550001").value().has_value());
    EXPECT_TRUE(this->store_->erase_value("never-stored"));

    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    EXPECT_FALSE(this->store_->get_value("short").value().has_value());
}

TYPED_TEST(SessionStoreTest, LoadManyKeepsOrderAndGaps) {
    ASSERT_TRUE(this->store_->compare_and_set("a", 0, "A", seconds(60)).value());
    ASSERT_TRUE(this->store_->compare_and_set("c", 0, "C1", seconds(60)).value());
    ASSERT_TRUE(this->store_->compare_and_set("c", 1, "C2", seconds(60)).value());
    std::vector<std::string> wanted{"c", "b", "a", "c"};

    auto sessions = this->store_->load_many(wanted);
    ASSERT_TRUE(sessions) << sessions.error().message();
    ASSERT_EQ(sessions->size(), 4U);
    EXPECT_EQ((*sessions)[0]->data, "C2");
    EXPECT_EQ((*sessions)[0]->version, 2);
    EXPECT_FALSE((*sessions)[1].has_value());
    EXPECT_EQ((*sessions)[2]->data, "A");
    EXPECT_EQ((*sessions)[3]->data, "C2");
    EXPECT_TRUE(this->store_->load_many({}).value().empty());
}

TYPED_TEST(SessionStoreTest, CompareAndSetManyAppliesEachWriteInOrder) {
    ASSERT_TRUE(this->store_->compare_and_set("a", 0, "A1", seconds(60)).value());
    const SessionWrite writes[] = {
        {"a", 1, "A2"}, {"b", 0, "B1"}, {"a", 5, "stale"}, {"a", 2, "A3"}, {"c", 1, "ahead"},
    };

    auto stored = this->store_->compare_and_set_many(writes, seconds(60));
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_EQ(*stored, (std::vector<bool>{true, true, false, true, false}));
    EXPECT_EQ(this->store_->load("a").value()->data, "A3");
    EXPECT_EQ(this->store_->load("a").value()->version, 3);
    EXPECT_EQ(this->store_->load("b").value()->data, "B1");
    EXPECT_FALSE(this->store_->load("c").value().has_value());
    EXPECT_TRUE(this->store_->compare_and_set_many({}, seconds(60)).value().empty());
}

TYPED_TEST(SessionStoreTest, ChineseTextAndBinaryBytesRoundTrip) {
    const std::string conversation = "wechat:用户-42";
    constexpr char kBinary[] = "\0\xff\xfe\r\n$3\r\n";
    const std::string text = R"({"text":"我想查询信用卡余额，谢谢"})";
    const std::string data = text + std::string(kBinary, sizeof kBinary - 1);
    ASSERT_EQ(data.size(), text.size() + 9);
    ASSERT_TRUE(this->store_->compare_and_set(conversation, 0, data, seconds(60)).value());

    auto session = this->store_->load(conversation);
    ASSERT_TRUE(session && session->has_value());
    EXPECT_EQ((*session)->data, data);
    EXPECT_TRUE(this->store_->mark_seen("wechat:消息\r\n1", seconds(60)).value());
    EXPECT_FALSE(this->store_->mark_seen("wechat:消息\r\n1", seconds(60)).value());
}

// 8 threads each add kPerThread to one counter with load / compare_and_set / retry on conflict:
// optimistic concurrency must lose no increment.
TYPED_TEST(SessionStoreTest, ConcurrentIncrementsLoseNoUpdate) {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 50;
    std::atomic<int> conflicts{0};
    std::atomic<int> errors{0};

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kPerThread; ++i) {
                while (true) {
                    auto session = this->store_->load("counter");
                    if (!session) {
                        ++errors;
                        return;
                    }
                    std::int64_t version = session->has_value() ? (*session)->version : 0;
                    long value = session->has_value() ? std::stol((*session)->data) : 0;
                    auto stored = this->store_->compare_and_set(
                        "counter", version, std::to_string(value + 1), seconds(60));
                    if (!stored) {
                        ++errors;
                        return;
                    }
                    if (*stored) {
                        break;
                    }
                    ++conflicts;
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }

    EXPECT_EQ(errors.load(), 0);
    auto session = this->store_->load("counter");
    ASSERT_TRUE(session && session->has_value());
    EXPECT_EQ((*session)->data, std::to_string(kThreads * kPerThread));
    EXPECT_EQ((*session)->version, kThreads * kPerThread);
    this->RecordProperty("conflicts", conflicts.load());
}

}  // namespace
}  // namespace teller::core
