#include "store/sqlite/sqlite_store.h"

#include "store/sqlite/fault_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/ids.h"

namespace hirestream::store {
namespace {

namespace fs = std::filesystem;
using test_faults::FaultVfs;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kTable = "candidates-test";

Item candidate(const std::string& id, const std::string& email = "") {
    Item item;
    item.set_string("id", id);
    if (!email.empty()) item.set_string("email", email);
    item.set_number("experience", std::int64_t{3});
    return item;
}

Delivery delivery_for(const std::string& candidate_id, std::int64_t due_ms) {
    Delivery d;
    d.candidate_id = candidate_id;
    d.recipient = candidate_id + "@example.com";
    d.recipient_name = "Ada " + candidate_id;
    d.assignment = "rate-limiter";
    d.message_id = candidate_id + ".rate-limiter@hirestream";
    d.next_attempt_ms = due_ms;
    return d;
}

class SqliteStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hirestream-store-test-" + random_hex(8));
        fs::create_directories(dir_);
        reopen();
    }
    void TearDown() override {
        FaultVfs::refuse_writes = false;
        FaultVfs::release_db_writes();
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::string db_path() const { return (dir_ / "store.db").string(); }

    // Runs `sql` on the database file through a connection of its own: what an older release,
    // or a change from outside the store, would have left there.
    bool exec_on_file(const char* sql) {
        sqlite3* raw = nullptr;
        const bool ok = sqlite3_open(db_path().c_str(), &raw) == SQLITE_OK &&
                        sqlite3_exec(raw, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
        if (!ok) ADD_FAILURE() << sqlite3_errmsg(raw);
        sqlite3_close(raw);
        return ok;
    }

    SqliteStore& reopen(int busy_timeout_ms = 5000, std::string vfs = {}) {
        store_.reset();
        auto opened = SqliteStore::open({db_path(), 2, busy_timeout_ms, std::move(vfs)}, clock_);
        if (!opened) throw std::runtime_error(opened.error().message);
        store_ = std::move(*opened);
        return *store_;
    }

    TableSpec spec(StreamViewType view = StreamViewType::new_and_old_images) const {
        TableSpec s;
        s.name = kTable;
        s.view_type = view;
        s.shard_count = 4;
        s.unique_attributes = {"email"};
        return s;
    }

    SqliteStore& store() { return *store_; }

    // Every record of the table across its shards, in sequence order.
    std::vector<ChangeRecord> all_records(int shard_count = 4) {
        std::vector<ChangeRecord> out;
        for (int shard = 0; shard < shard_count; ++shard) {
            auto records = store().read_shard(kTable, shard, 0, 1000);
            EXPECT_TRUE(records) << records.error().message;
            if (records) out.insert(out.end(), records->begin(), records->end());
        }
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
        return out;
    }

    // The item keys of all_records(), in sequence order.
    std::vector<std::string> record_ids(int shard_count = 4) {
        std::vector<std::string> out;
        for (const auto& r : all_records(shard_count)) {
            out.emplace_back(r.keys.at("id").at("S").as_string());
        }
        return out;
    }

    fs::path dir_;
    ManualClock clock_{1'780'000'000'000};
    std::unique_ptr<SqliteStore> store_;
};

// ---- items --------------------------------------------------------------------------------------

// Protects that every attribute type is stored and read back byte for byte, in order.
TEST_F(SqliteStoreTest, ItemWithEveryAttributeTypeRoundTripsThroughPutAndGet) {
    ASSERT_TRUE(store().ensure_table(spec()));
    auto item = Item::from_json(json::parse(R"({
        "id": {"S": "c-1"}, "experience": {"N": "-12.5e3"}, "photo": {"B": "aGk="},
        "active": {"BOOL": false}, "nickname": {"NULL": true},
        "history": {"L": [{"S": "a"}, {"M": {"n": {"N": "1"}}}]},
        "address": {"M": {"city": {"S": "Oslo"}}},
        "tags": {"SS": ["cpp", "sql"]}, "scores": {"NS": ["1", "2.5"]},
        "blobs": {"BS": ["aGk=", "aGV5"]}
    })"));
    ASSERT_TRUE(item);
    ASSERT_TRUE(store().put_item(kTable, *item, PutMode::create_only));

    auto got = store().get_item(kTable, "c-1");
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->to_json_text(), item->to_json_text());
    EXPECT_FALSE(store().get_item(kTable, "c-2")->has_value());
}

// Protects the store's own check of items: bad values and keys never reach the database.
TEST_F(SqliteStoreTest, PutRejectsInvalidAttributesAndKeysNamingTheField) {
    ASSERT_TRUE(store().ensure_table(spec()));
    Item bad_number = candidate("c-1");
    bad_number.set_number("experience", "lots");
    auto result = store().put_item(kTable, bad_number, PutMode::upsert);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
    EXPECT_EQ(result.error().field, "experience");

    Item no_key;
    no_key.set_string("email", "a@example.com");
    Item numeric_key;
    numeric_key.set_number("id", std::int64_t{7});
    Item empty_key;
    empty_key.set_string("id", "");
    for (const Item& item : {no_key, numeric_key, empty_key}) {
        auto refused = store().put_item(kTable, item, PutMode::upsert);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, Errc::invalid_argument);
        EXPECT_EQ(refused.error().field, "id");
    }
    EXPECT_TRUE(all_records().empty());
}

// Protects attribute_not_exists(id) semantics and that a refused write leaves no record.
TEST_F(SqliteStoreTest, CreateOnlyRefusesAnExistingKey) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));
    auto again = store().put_item(kTable, candidate("c-1"), PutMode::create_only);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::conflict);
    EXPECT_EQ(again.error().field, "id");
    EXPECT_EQ(all_records().size(), 1u);
}

// Protects update semantics: set and remove apply, the rest of the item is kept.
TEST_F(SqliteStoreTest, UpdateSetsAndRemovesAttributes) {
    ASSERT_TRUE(store().ensure_table(spec()));
    Item item = candidate("c-1", "a@example.com");
    item.set_string("note", "call back");
    ASSERT_TRUE(store().put_item(kTable, item, PutMode::create_only));

    ItemUpdate update;
    update.set["experience"] = json::object{{"N", "9"}};
    update.set["status"] = json::object{{"S", "invited"}};
    update.remove = {"note"};
    auto result = store().update_item(kTable, "c-1", update);
    ASSERT_TRUE(result) << result.error().message;
    ASSERT_TRUE(result->old_item && result->new_item);
    EXPECT_EQ(result->old_item->string_attr("note"), "call back");
    EXPECT_EQ(result->new_item->number_attr("experience"), "9");
    EXPECT_FALSE(result->new_item->contains("note"));

    auto stored = store().get_item(kTable, "c-1");
    ASSERT_TRUE(stored && stored->has_value());
    EXPECT_EQ((*stored)->to_json_text(), result->new_item->to_json_text());
    EXPECT_EQ((*stored)->string_attr("email"), "a@example.com");
    EXPECT_EQ((*stored)->string_attr("status"), "invited");
}

// Protects the key's immutability: an update can neither change nor drop it.
TEST_F(SqliteStoreTest, UpdateRefusesToChangeOrRemoveTheKey) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));
    ItemUpdate change;
    change.set["id"] = json::object{{"S", "c-2"}};
    ItemUpdate removal;
    removal.remove = {"id"};
    ItemUpdate bad_value;
    bad_value.set["experience"] = json::object{{"N", "many"}};
    for (const ItemUpdate& update : {change, removal, bad_value}) {
        auto result = store().update_item(kTable, "c-1", update);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, Errc::invalid_argument);
    }
    ItemUpdate same_key;
    same_key.set["id"] = json::object{{"S", "c-1"}};
    EXPECT_TRUE(store().update_item(kTable, "c-1", same_key));
}

// Protects not_found for writes to nothing, and that they append no record.
TEST_F(SqliteStoreTest, UpdateOrDeleteOfMissingItemIsNotFound) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ItemUpdate update;
    update.set["status"] = json::object{{"S", "x"}};
    EXPECT_EQ(store().update_item(kTable, "ghost", update).error().code, Errc::not_found);
    EXPECT_EQ(store().delete_item(kTable, "ghost").error().code, Errc::not_found);
    EXPECT_TRUE(all_records().empty());
}

// Protects not_found for a table nobody declared, on every item and stream call.
TEST_F(SqliteStoreTest, UnknownTableIsNotFound) {
    EXPECT_EQ(store().put_item("nope", candidate("c"), PutMode::upsert).error().code,
              Errc::not_found);
    EXPECT_EQ(store().get_item("nope", "c").error().code, Errc::not_found);
    EXPECT_EQ(store().delete_item("nope", "c").error().code, Errc::not_found);
    EXPECT_EQ(store().list_items("nope", std::nullopt, 10).error().code, Errc::not_found);
    EXPECT_EQ(store().read_shard("nope", 0, 0, 10).error().code, Errc::not_found);
    EXPECT_EQ(store().latest_sequence("nope", 0).error().code, Errc::not_found);
    EXPECT_EQ(store().trim_stream("nope", 0, {}).error().code, Errc::not_found);
    EXPECT_EQ(store().describe_table("nope").error().code, Errc::not_found);
}

// ---- unique attributes --------------------------------------------------------------------------

// Protects the duplicate-candidate rule: a second item with the same email is refused.
TEST_F(SqliteStoreTest, UniqueAttributeClashIsAConflictNamingTheAttribute) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    auto clash = store().put_item(kTable, candidate("c-2", "a@example.com"), PutMode::create_only);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code, Errc::conflict);
    EXPECT_EQ(clash.error().field, "email");
    EXPECT_EQ(clash.error().message, "email is already on file");

    ItemUpdate steal;
    steal.set["email"] = json::object{{"S", "a@example.com"}};
    ASSERT_TRUE(store().put_item(kTable, candidate("c-3", "c@example.com"), PutMode::create_only));
    auto stolen = store().update_item(kTable, "c-3", steal);
    ASSERT_FALSE(stolen);
    EXPECT_EQ(stolen.error().field, "email");
    EXPECT_FALSE(store().get_item(kTable, "c-2")->has_value());
    EXPECT_EQ(all_records().size(), 2u);
}

// Protects the deferred POST path: async puts from many threads each complete exactly once,
// after their commit, with what put_item would have answered (a taken email is a conflict).
TEST_F(SqliteStoreTest, AsyncPutsCompleteOnceWithTheSyncAnswers) {
    ASSERT_TRUE(store().ensure_table(spec()));
    constexpr int kThreads = 4, kEach = 50;
    std::mutex m;
    std::condition_variable cv;
    int completed = 0, ok = 0, conflicts = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                // Every thread also tries one shared email: exactly one of those may win.
                const auto email = i == 0 ? std::string("shared@example.com")
                                          : fmt::format("t{}-{}@example.com", t, i);
                store().put_item_async(
                    kTable, candidate(fmt::format("c-{}-{}", t, i), email), PutMode::create_only,
                    [&](Result<WriteResult> r) {
                        std::lock_guard lock(m);
                        ++completed;
                        if (r) ++ok;
                        if (!r && r.error().code == Errc::conflict) ++conflicts;
                        cv.notify_all();
                    });
            }
        });
    }
    for (auto& t : threads) t.join();
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return completed == kThreads * kEach; }));
    EXPECT_EQ(ok, kThreads * kEach - (kThreads - 1));
    EXPECT_EQ(conflicts, kThreads - 1);
    lock.unlock();
    EXPECT_EQ(all_records().size(), static_cast<std::size_t>(ok));
    // A failure found before the write (no key) completes at once, on the caller's thread.
    bool refused = false;
    store().put_item_async(kTable, Item(), PutMode::create_only,
                           [&](Result<WriteResult> r) { refused = !r; });
    EXPECT_TRUE(refused);
}

// Protects a clean stop: close_writes() returns only after the writes queued before it have
// committed and their completions ran (a server hands those to its I/O threads, which must
// still exist); writes after it are refused, reads go on.
TEST_F(SqliteStoreTest, CloseWritesFinishesQueuedWritesThenRefuses) {
    ASSERT_TRUE(store().ensure_table(spec()));
    constexpr int kQueued = 200;
    std::atomic<int> stored{0};
    for (int i = 0; i < kQueued; ++i) {
        store().put_item_async(kTable, candidate(fmt::format("c-{}", i), fmt::format("{}@x.org", i)),
                               PutMode::create_only, [&](Result<WriteResult> r) {
                                   if (r) ++stored;
                               });
    }
    store().close_writes();
    EXPECT_EQ(stored.load(), kQueued);  // every completion ran before close_writes returned
    auto late = store().put_item(kTable, candidate("late", "late@x.org"), PutMode::create_only);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, Errc::unavailable);
    std::optional<Errc> late_async;
    store().put_item_async(kTable, candidate("later", "later@x.org"), PutMode::create_only,
                           [&](Result<WriteResult> r) { late_async = r ? Errc::internal : r.error().code; });
    EXPECT_EQ(late_async, Errc::unavailable);
    EXPECT_TRUE(store().get_item(kTable, "c-199")->has_value());
    store().close_writes();  // twice is harmless (a stop after a failed start)
}

// Protects the bulk import: in one batch each item stands or falls on its own, as put_item would,
// and only the items stored get a change record.
TEST_F(SqliteStoreTest, PutItemsStoresEachItemOnItsOwnInOneBatch) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-0", "taken@example.com"), PutMode::create_only));
    Item keyless;
    keyless.set_string("email", "nokey@example.com");
    const std::vector<Item> batch{candidate("c-1", "a@example.com"),
                                  candidate("c-2", "taken@example.com"),
                                  candidate("c-3", "b@example.com"),
                                  candidate("c-1", "again@example.com"),
                                  candidate("c-4", "a@example.com"), keyless,
                                  candidate("c-5", "c@example.com")};
    auto written = store().put_items(kTable, batch, PutMode::create_only);
    ASSERT_TRUE(written) << written.error().message;
    ASSERT_EQ(written->size(), batch.size());
    std::vector<std::string> outcome;
    for (const auto& w : *written) {
        outcome.push_back(w ? "ok" : std::string(errc_name(w.error().code)) + ":" + w.error().field);
    }
    EXPECT_EQ(outcome, (std::vector<std::string>{"ok", "conflict:email", "ok", "conflict:id",
                                                 "conflict:email", "invalid_argument:id", "ok"}));
    EXPECT_EQ((*written)[0]->sequence + 1, (*written)[2]->sequence);
    const auto records = all_records();
    ASSERT_EQ(records.size(), 4u);  // c-0, then c-1, c-3, c-5
    EXPECT_FALSE(store().get_item(kTable, "c-4")->has_value());
    EXPECT_EQ(store().get_item(kTable, "c-1")->value().string_attr("email"), "a@example.com");
    EXPECT_FALSE(store().put_items(kTable, std::vector<Item>(1001), PutMode::create_only));
}

// Protects atomicity of the uniqueness check under concurrent submissions.
TEST_F(SqliteStoreTest, ConcurrentInsertsOfOneEmailLetExactlyOneSucceed) {
    ASSERT_TRUE(store().ensure_table(spec()));
    constexpr int kThreads = 8;
    std::latch start(kThreads);
    std::atomic<int> succeeded{0};
    std::atomic<int> conflicts{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            auto result = store().put_item(kTable, candidate("c-" + std::to_string(i), "same@x.io"),
                                           PutMode::create_only);
            if (result) {
                ++succeeded;
            } else if (result.error().code == Errc::conflict && result.error().field == "email") {
                ++conflicts;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(succeeded.load(), 1);
    EXPECT_EQ(conflicts.load(), kThreads - 1);
    EXPECT_EQ(all_records().size(), 1u);
}

// Protects group commit: many concurrent writers share transactions, yet each write stands
// alone: a conflicting one (same email) fails by itself, every other is stored with exactly
// one change record, and every acknowledged write survives reopening.
TEST_F(SqliteStoreTest, ConcurrentWritersShareCommitsAndAFailureRollsBackOnlyItself) {
    ASSERT_TRUE(store().ensure_table(spec()));
    constexpr int kThreads = 16;
    constexpr int kWrites = 60;
    std::latch start(kThreads);
    std::atomic<int> conflicts{0};
    std::mutex mutex;
    std::set<std::string> acknowledged;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < kWrites; ++i) {
                const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
                // Every 5th write of every thread reuses one email: all but one of those clash.
                const std::string email =
                    i % 5 == 0 ? "shared@example.com" : id + "@example.com";
                auto r = store().put_item(kTable, candidate(id, email), PutMode::create_only);
                if (r) {
                    std::lock_guard lock(mutex);
                    acknowledged.insert(id);
                } else if (r.error().code == Errc::conflict) {
                    ++conflicts;
                } else {
                    ADD_FAILURE() << r.error().message;
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    const int clashing = kThreads * (kWrites / 5);
    EXPECT_EQ(conflicts.load(), clashing - 1);
    EXPECT_EQ(acknowledged.size(), static_cast<std::size_t>(kThreads * kWrites - clashing + 1));
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    for (const auto& id : acknowledged) {
        ASSERT_TRUE(store().get_item(kTable, id).value().has_value()) << id;
    }
    EXPECT_EQ(all_records().size(), acknowledged.size());
}

// Protects group commit's savepoint fallback: a write that fails after changing rows (here its
// change record is refused by a trigger, after its item and unique email were written) must
// leave nothing behind, while the writes sharing its batch commit as usual.
TEST_F(SqliteStoreTest, AWriteFailingAfterItsFirstChangesLeavesNothingAndSparesItsBatch) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(
        exec_on_file("CREATE TRIGGER refuse_boom BEFORE INSERT ON stream_records "
                     "WHEN NEW.keys_json LIKE '%boom%' "
                     "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"));
    constexpr int kWrites = 50;
    std::mutex m;
    std::condition_variable cv;
    int completed = 0;
    std::map<std::string, bool> stored;
    for (int i = 0; i < kWrites; ++i) {
        // Queued without waiting, so they share batches; the 25th is refused.
        const std::string id = i == 25 ? "boom" : fmt::format("c-{}", i);
        store().put_item_async(kTable, candidate(id, id + "@example.com"), PutMode::create_only,
                               [&, id](Result<WriteResult> r) {
                                   std::lock_guard lock(m);
                                   stored[id] = r.has_value();
                                   ++completed;
                                   cv.notify_all();
                               });
    }
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return completed == kWrites; }));
    }
    EXPECT_FALSE(stored["boom"]);
    EXPECT_FALSE(store().get_item(kTable, "boom")->has_value());
    for (int i = 0; i < kWrites; ++i) {
        if (i == 25) continue;
        const std::string id = fmt::format("c-{}", i);
        EXPECT_TRUE(stored[id]) << id;
        EXPECT_TRUE(store().get_item(kTable, id)->has_value()) << id;
    }
    EXPECT_EQ(all_records().size(), static_cast<std::size_t>(kWrites - 1));
    // The refused write's email was rolled back with it: someone else may take it.
    EXPECT_TRUE(store().put_item(kTable, candidate("c-other", "boom@example.com"),
                                 PutMode::create_only));
}

// Protects that a deleted or re-addressed candidate frees its email for someone else.
TEST_F(SqliteStoreTest, UniqueValueIsReleasedOnDeleteAndUpdate) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    ASSERT_TRUE(store().delete_item(kTable, "c-1"));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-2", "a@example.com"), PutMode::create_only));

    ItemUpdate readdress;
    readdress.set["email"] = json::object{{"S", "b@example.com"}};
    ASSERT_TRUE(store().update_item(kTable, "c-2", readdress));
    EXPECT_TRUE(store().put_item(kTable, candidate("c-3", "a@example.com"), PutMode::create_only));

    ItemUpdate drop;
    drop.remove = {"email"};
    ASSERT_TRUE(store().update_item(kTable, "c-2", drop));
    EXPECT_TRUE(store().put_item(kTable, candidate("c-4", "b@example.com"), PutMode::create_only));
}

// Protects a unique value against an index changed behind the store's back: an entry whose
// item is gone, or whose item now holds another value, gives way to the item that asks for the
// value (on the one-attribute insert and on the path that checks every attribute first).
TEST_F(SqliteStoreTest, AStaleUniqueEntryGivesWayToTheNextItem) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    store_.reset();
    ASSERT_TRUE(exec_on_file(
        "INSERT INTO unique_values (table_name, attribute, value, item_key) VALUES "
        "('candidates-test', 'email', 'ghost@example.com', 'gone'), "
        "('candidates-test', 'email', 'moved@example.com', 'c-1')"));
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    auto first = store().put_item(kTable, candidate("c-2", "ghost@example.com"),
                                  PutMode::create_only);
    EXPECT_TRUE(first) << first.error().message;
    auto second = store().put_item(kTable, candidate("c-3", "moved@example.com"), PutMode::upsert);
    EXPECT_TRUE(second) << second.error().message;
    // Each now holds its value for real.
    EXPECT_FALSE(store().put_item(kTable, candidate("c-4", "ghost@example.com"),
                                  PutMode::create_only));
    EXPECT_FALSE(store().put_item(kTable, candidate("c-4", "moved@example.com"),
                                  PutMode::create_only));
    EXPECT_FALSE(store().put_item(kTable, candidate("c-4", "a@example.com"),
                                  PutMode::create_only));
}

// Protects a table with two unique attributes: an update that changes one of them releases
// only that value, and the item keeps the other.
TEST_F(SqliteStoreTest, AnUpdateMovesOneOfTwoUniqueValues) {
    TableSpec two = spec();
    two.unique_attributes.push_back("phone");
    ASSERT_TRUE(store().ensure_table(two));
    auto with_phone = [](const std::string& id, const std::string& email,
                         const std::string& phone) {
        Item item = candidate(id, email);
        item.set_string("phone", phone);
        return item;
    };
    ASSERT_TRUE(store().put_item(kTable, with_phone("c-1", "a@example.com", "111"),
                                 PutMode::create_only));
    ItemUpdate readdress;
    readdress.set["email"] = json::object{{"S", "b@example.com"}};
    auto updated = store().update_item(kTable, "c-1", readdress);
    ASSERT_TRUE(updated) << updated.error().message;
    EXPECT_TRUE(store().put_item(kTable, with_phone("c-2", "a@example.com", "222"),
                                 PutMode::create_only));
    auto email_taken = store().put_item(kTable, with_phone("c-3", "b@example.com", "333"),
                                        PutMode::create_only);
    ASSERT_FALSE(email_taken);
    EXPECT_EQ(email_taken.error().field, "email");
    auto phone_taken = store().put_item(kTable, with_phone("c-3", "c@example.com", "111"),
                                        PutMode::create_only);
    ASSERT_FALSE(phone_taken);
    EXPECT_EQ(phone_taken.error().field, "phone");
}

// Protects that an item never conflicts with itself when upserted or updated.
TEST_F(SqliteStoreTest, UpsertAndUpdateKeepTheItemsOwnUniqueValue) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    EXPECT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::upsert));
    ItemUpdate update;
    update.set["email"] = json::object{{"S", "a@example.com"}};
    update.set["status"] = json::object{{"S", "invited"}};
    EXPECT_TRUE(store().update_item(kTable, "c-1", update));
}

// Protects start-up time: a start with the same unique attributes does not re-read the items
// (their index is kept by every write); a changed set rebuilds it. Seen through a stale index
// entry planted behind the store's back: kept by the first, repaired by the second.
TEST_F(SqliteStoreTest, EnsureTableRebuildsUniqueValuesOnlyWhenTheSetChanges) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    store_.reset();
    ASSERT_TRUE(exec_on_file("DELETE FROM unique_values"));
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    EXPECT_TRUE(store().put_item(kTable, candidate("c-2", "a@example.com"), PutMode::create_only))
        << "the same set: no rebuild, so the planted gap stays";
    ASSERT_TRUE(store().delete_item(kTable, "c-2"));
    TableSpec more = spec();
    more.unique_attributes.push_back("phone");
    reopen();
    ASSERT_TRUE(store().ensure_table(more));
    auto clash = store().put_item(kTable, candidate("c-3", "a@example.com"), PutMode::create_only);
    ASSERT_FALSE(clash) << "a changed set rebuilds the index from the items";
    EXPECT_EQ(clash.error().field, "email");
}

// Protects that declaring an attribute unique later covers the items already stored, and that
// existing duplicates are reported instead of silently tolerated.
TEST_F(SqliteStoreTest, EnsureTableIndexesExistingItemsForANewUniqueAttribute) {
    TableSpec loose = spec();
    loose.unique_attributes.clear();
    ASSERT_TRUE(store().ensure_table(loose));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));

    ASSERT_TRUE(store().ensure_table(spec()));
    auto clash = store().put_item(kTable, candidate("c-2", "a@example.com"), PutMode::create_only);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().field, "email");

    ASSERT_TRUE(store().ensure_table(loose));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-2", "a@example.com"), PutMode::create_only));
    auto refused = store().ensure_table(spec());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::conflict);
    EXPECT_EQ(refused.error().field, "email");
}

// ---- change records -----------------------------------------------------------------------------

class ViewTypeTest : public SqliteStoreTest,
                     public ::testing::WithParamInterface<StreamViewType> {};

// Protects the stream contract: one record per write, in the same transaction, carrying the
// images the view type asks for (never an old image on INSERT nor a new one on REMOVE).
TEST_P(ViewTypeTest, EachWriteAppendsExactlyOneRecordWithTheViewTypesImages) {
    const StreamViewType view = GetParam();
    ASSERT_TRUE(store().ensure_table(spec(view)));
    auto put = store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only);
    ASSERT_TRUE(put);
    Item replaced = candidate("c-1", "a@example.com");
    replaced.set_string("status", "screened");
    auto upsert = store().put_item(kTable, replaced, PutMode::upsert);
    ASSERT_TRUE(upsert);
    ItemUpdate update;
    update.set["status"] = json::object{{"S", "invited"}};
    auto updated = store().update_item(kTable, "c-1", update);
    ASSERT_TRUE(updated);
    auto deleted = store().delete_item(kTable, "c-1");
    ASSERT_TRUE(deleted);

    const auto records = all_records();
    ASSERT_EQ(records.size(), 4u);
    const std::vector<WriteResult> writes = {*put, *upsert, *updated, *deleted};
    const EventName expected[] = {EventName::insert, EventName::modify, EventName::modify,
                                  EventName::remove};
    const bool wants_new =
        view == StreamViewType::new_image || view == StreamViewType::new_and_old_images;
    const bool wants_old =
        view == StreamViewType::old_image || view == StreamViewType::new_and_old_images;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const ChangeRecord& record = records[i];
        SCOPED_TRACE(i);
        EXPECT_EQ(record.sequence, writes[i].sequence);
        EXPECT_EQ(record.event_name, expected[i]);
        EXPECT_EQ(record.view_type, view);
        EXPECT_EQ(record.keys, (json::object{{"id", json::object{{"S", "c-1"}}}}));
        EXPECT_EQ(record.shard, shard_for_key("c-1", 4));
        const bool has_new = wants_new && expected[i] != EventName::remove;
        const bool has_old = wants_old && expected[i] != EventName::insert;
        ASSERT_EQ(record.new_image.has_value(), has_new);
        ASSERT_EQ(record.old_image.has_value(), has_old);
        if (has_new) {
            EXPECT_EQ(*record.new_image, writes[i].new_item->attributes());
        }
        if (has_old) {
            EXPECT_EQ(*record.old_image, writes[i].old_item->attributes());
        }
    }
    EXPECT_FALSE(put->old_item);
    EXPECT_FALSE(deleted->new_item);
}

INSTANTIATE_TEST_SUITE_P(AllViewTypes, ViewTypeTest,
                         ::testing::Values(StreamViewType::keys_only, StreamViewType::new_image,
                                           StreamViewType::old_image,
                                           StreamViewType::new_and_old_images),
                         [](const auto& info) { return std::string(view_type_text(info.param)); });

// Protects the record fields a Lambda sees: a unique 32-hex event id, the write time, a size.
TEST_F(SqliteStoreTest, ChangeRecordCarriesEventIdCreationTimeAndSize) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));
    clock_.advance(1500ms);
    ASSERT_TRUE(store().delete_item(kTable, "c-1"));
    const auto records = all_records();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].created_ms, 1'780'000'000'000);
    EXPECT_EQ(records[1].created_ms, 1'780'000'001'500);
    EXPECT_NE(records[0].event_id, records[1].event_id);
    for (const ChangeRecord& record : records) {
        EXPECT_EQ(record.event_id.size(), 32u);
        EXPECT_EQ(record.event_id.find_first_not_of("0123456789abcdef"), std::string::npos);
        EXPECT_GE(record.size_bytes, 1u);
        EXPECT_EQ(record.table, kTable);
    }
}

// Protects ordering: sequences rise in commit order and each item's records stay in write order
// within its shard.
TEST_F(SqliteStoreTest, SequencesStrictlyIncreaseAndEachShardKeepsWriteOrder) {
    ASSERT_TRUE(store().ensure_table(spec()));
    std::map<std::string, std::vector<std::uint64_t>> written;  // key -> sequences in order
    std::uint64_t previous = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 12; ++i) {
            const std::string key = "c-" + std::to_string(i);
            Item item = candidate(key);
            item.set_number("round", std::int64_t{round});
            auto result = store().put_item(kTable, item, PutMode::upsert);
            ASSERT_TRUE(result);
            EXPECT_GT(result->sequence, previous);
            previous = result->sequence;
            written[key].push_back(result->sequence);
        }
    }
    std::set<int> shards_used;
    std::size_t total = 0;
    for (int shard = 0; shard < 4; ++shard) {
        auto records = store().read_shard(kTable, shard, 0, 1000);
        ASSERT_TRUE(records);
        total += records->size();
        std::map<std::string, std::vector<std::uint64_t>> seen;
        for (std::size_t i = 0; i < records->size(); ++i) {
            const ChangeRecord& record = (*records)[i];
            if (i > 0) {
                EXPECT_GT(record.sequence, (*records)[i - 1].sequence);
            }
            const std::string key(record.keys.at("id").at("S").as_string());
            EXPECT_EQ(shard_for_key(key, 4), shard);
            seen[key].push_back(record.sequence);
            shards_used.insert(shard);
        }
        for (const auto& [key, sequences] : seen) EXPECT_EQ(sequences, written[key]) << key;
    }
    EXPECT_EQ(total, 36u);
    EXPECT_GT(shards_used.size(), 1u);

    // Reading after a sequence continues exactly where the reader stopped.
    const int shard = shard_for_key("c-0", 4);
    auto first = store().read_shard(kTable, shard, 0, 2);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->size(), 2u);
    auto rest = store().read_shard(kTable, shard, first->back().sequence, 1000);
    ASSERT_TRUE(rest);
    auto whole = store().read_shard(kTable, shard, 0, 1000);
    EXPECT_EQ(first->size() + rest->size(), whole->size());
    EXPECT_EQ(store().latest_sequence(kTable, shard), whole->back().sequence);
}

// Protects retention: only records older than the cut-off go, newer ones stay readable.
TEST_F(SqliteStoreTest, TrimRemovesOnlyRecordsOlderThanTheCutoff) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("old"), PutMode::create_only));
    clock_.advance(25h);
    const std::int64_t cutoff = clock_.now_ms() - std::chrono::milliseconds(24h).count();
    ASSERT_TRUE(store().put_item(kTable, candidate("new"), PutMode::create_only));

    auto trimmed = store().trim_stream(kTable, cutoff, {});
    ASSERT_TRUE(trimmed);
    EXPECT_EQ(*trimmed, 1u);
    const auto records = all_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].keys.at("id").at("S").as_string(), "new");
    EXPECT_TRUE(store().get_item(kTable, "old")->has_value());  // items are not touched
}

// Protects retention when the clock stepped back: trimming stops at the first record newer than
// the cutoff (it walks only the old records, not the whole stream), so an old-stamped record
// written after a newer one waits for a later pass, and nothing newer than the cutoff goes.
TEST_F(SqliteStoreTest, TrimStopsAtTheFirstRecordNewerThanTheCutoff) {
    auto one_shard = spec();
    one_shard.shard_count = 1;
    ASSERT_TRUE(store().ensure_table(one_shard));
    const auto start = clock_.now_ms();
    ASSERT_TRUE(store().put_item(kTable, candidate("old"), PutMode::create_only));
    clock_.set_ms(start + 10'000);
    ASSERT_TRUE(store().put_item(kTable, candidate("new"), PutMode::create_only));
    clock_.set_ms(start + 1'000);  // stepped back
    ASSERT_TRUE(store().put_item(kTable, candidate("stepped-back"), PutMode::create_only));

    auto trimmed = store().trim_stream(kTable, start + 5'000, {});
    ASSERT_TRUE(trimmed) << trimmed.error().message;
    EXPECT_EQ(*trimmed, 1u);
    EXPECT_EQ(record_ids(1), (std::vector<std::string>{"new", "stepped-back"}));
    // Once "new" is old too, both go.
    EXPECT_EQ(store().trim_stream(kTable, start + 20'000, {}).value(), 2u);
    EXPECT_TRUE(record_ids(1).empty());
}

// Protects retention after a clock that ran fast was corrected: a record stamped far ahead of
// the clock does not hold back the trim of the old records written after it (it stays until
// it is old itself).
TEST_F(SqliteStoreTest, ARecordStampedAheadOfTheClockDoesNotHoldBackTheTrim) {
    auto one_shard = spec();
    one_shard.shard_count = 1;
    ASSERT_TRUE(store().ensure_table(one_shard));
    const auto start = clock_.now_ms();
    ASSERT_TRUE(store().put_item(kTable, candidate("old-1"), PutMode::create_only));
    clock_.set_ms(start + std::chrono::milliseconds(100 * 24h).count());  // ran fast
    ASSERT_TRUE(store().put_item(kTable, candidate("future"), PutMode::create_only));
    clock_.set_ms(start + 1'000);  // corrected
    ASSERT_TRUE(store().put_item(kTable, candidate("old-2"), PutMode::create_only));
    clock_.set_ms(start + std::chrono::milliseconds(25h).count());
    ASSERT_TRUE(store().put_item(kTable, candidate("fresh"), PutMode::create_only));

    const std::int64_t cutoff = clock_.now_ms() - std::chrono::milliseconds(24h).count();
    auto trimmed = store().trim_stream(kTable, cutoff, {});
    ASSERT_TRUE(trimmed) << trimmed.error().message;
    EXPECT_EQ(*trimmed, 2u);
    EXPECT_EQ(record_ids(1), (std::vector<std::string>{"future", "fresh"}));
}

// Retention never removes a record a consumer has not handled: with per-shard bounds, only
// records at or below the bound of their shard go, even when old; and big trims are chunked.
TEST_F(SqliteStoreTest, TrimKeepsRecordsAboveEachShardsBound) {
    ASSERT_TRUE(store().ensure_table(spec()));
    for (int i = 0; i < 2500; ++i) {
        ASSERT_TRUE(store().put_item(kTable, candidate("k" + std::to_string(i)),
                                     PutMode::create_only));
    }
    clock_.advance(25h);
    const auto all = all_records();
    ASSERT_EQ(all.size(), 2500u);
    // Shard 0 handled up to its 10th record, shard 1 nothing, shards 2 and 3 everything.
    std::vector<std::uint64_t> bounds(4, 0);
    std::vector<std::size_t> per_shard(4, 0);
    for (const auto& r : all) {
        ++per_shard[static_cast<std::size_t>(r.shard)];
        if (r.shard == 0 && per_shard[0] == 10) bounds[0] = r.sequence;
        if (r.shard >= 2) bounds[static_cast<std::size_t>(r.shard)] = r.sequence;
    }
    auto trimmed = store().trim_stream(kTable, clock_.now_ms(), bounds);
    ASSERT_TRUE(trimmed) << trimmed.error().message;
    EXPECT_EQ(*trimmed, 10 + per_shard[2] + per_shard[3]);
    EXPECT_EQ(all_records().size(), per_shard[0] - 10 + per_shard[1]);
    EXPECT_FALSE(store().trim_stream(kTable, clock_.now_ms(), {1, 2}));
}

// A reader of the whole stream gets every shard's records in sequence order, from one snapshot.
TEST_F(SqliteStoreTest, ReadStreamMergesShardsInSequenceOrder) {
    ASSERT_TRUE(store().ensure_table(spec()));
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(store().put_item(kTable, candidate("k" + std::to_string(i)),
                                     PutMode::create_only));
    }
    const auto all = all_records();
    auto page = store().read_stream(kTable, all[4].sequence, 10);
    ASSERT_TRUE(page) << page.error().message;
    ASSERT_EQ(page->size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) {
        EXPECT_EQ((*page)[i].sequence, all[5 + i].sequence);
        EXPECT_EQ((*page)[i].shard, all[5 + i].shard);
    }
}

// Protects consumers' checkpoints: after the whole stream is trimmed, new sequences must still
// be above every sequence handed out before.
TEST_F(SqliteStoreTest, SequencesKeepIncreasingAfterTheStreamIsTrimmedEmpty) {
    ASSERT_TRUE(store().ensure_table(spec()));
    auto before = store().put_item(kTable, candidate("c-1"), PutMode::create_only);
    ASSERT_TRUE(before);
    clock_.advance(1s);
    ASSERT_EQ(store().trim_stream(kTable, clock_.now_ms(), {}), 1u);
    EXPECT_EQ(store().latest_sequence(kTable, shard_for_key("c-1", 4)), 0u);
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    auto after = store().put_item(kTable, candidate("c-1"), PutMode::upsert);
    ASSERT_TRUE(after);
    EXPECT_GT(after->sequence, before->sequence);
}

// Protects the stream calls' argument checks: a shard the table does not have is refused.
TEST_F(SqliteStoreTest, StreamCallsRejectAShardOutsideTheTable) {
    ASSERT_TRUE(store().ensure_table(spec()));
    EXPECT_EQ(store().read_shard(kTable, 4, 0, 10).error().field, "shard");
    EXPECT_EQ(store().read_shard(kTable, -1, 0, 10).error().field, "shard");
    EXPECT_EQ(store().read_shard(kTable, 0, 0, 0).error().field, "limit");
    EXPECT_EQ(store().latest_sequence(kTable, 4).error().field, "shard");
}

// ---- listing ------------------------------------------------------------------------------------

// Protects paging: newest first, every item exactly once, no cursor after the last page, and an
// upsert does not move an item.
TEST_F(SqliteStoreTest, ListItemsPagesNewestFirstWithACursor) {
    ASSERT_TRUE(store().ensure_table(spec()));
    for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(store().put_item(kTable, candidate("c-" + std::to_string(i)),
                                     PutMode::create_only));
    }
    ASSERT_TRUE(store().put_item(kTable, candidate("c-3"), PutMode::upsert));

    std::vector<std::string> keys;
    std::vector<std::size_t> page_sizes;
    std::optional<std::string> cursor;
    do {
        auto page = store().list_items(kTable, cursor, 10);
        ASSERT_TRUE(page) << page.error().message;
        page_sizes.push_back(page->items.size());
        for (const Item& item : page->items) keys.emplace_back(*item.string_attr("id"));
        cursor = page->next_cursor;
    } while (cursor);
    EXPECT_EQ(page_sizes, (std::vector<std::size_t>{10, 10, 5}));
    ASSERT_EQ(keys.size(), 25u);
    for (int i = 0; i < 25; ++i) EXPECT_EQ(keys[i], "c-" + std::to_string(24 - i));

    auto exact = store().list_items(kTable, std::nullopt, 25);
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->items.size(), 25u);
    EXPECT_FALSE(exact->next_cursor);
}

// Protects input checking of list_items: a forged cursor or an out-of-range limit is refused.
TEST_F(SqliteStoreTest, ListItemsRejectsAMalformedCursorAndLimit) {
    ASSERT_TRUE(store().ensure_table(spec()));
    for (const char* cursor : {"", "abc", "-1", "0", "12x", " 12", "99999999999999999999999"}) {
        auto page = store().list_items(kTable, std::string(cursor), 10);
        ASSERT_FALSE(page) << cursor;
        EXPECT_EQ(page.error().code, Errc::invalid_argument);
        EXPECT_EQ(page.error().field, "cursor");
    }
    EXPECT_EQ(store().list_items(kTable, std::nullopt, 0).error().field, "limit");
    EXPECT_EQ(store().list_items(kTable, std::nullopt, 1001).error().field, "limit");
}

// Protects the candidates page's search: the text matches a name or an email as a
// case-insensitive substring (literally: '%' and '_' are no wildcards), the delivery conditions
// match the assignment and state of the item's delivery, the conditions combine, and a filtered
// list pages with its cursor without skipping or repeating an item.
TEST_F(SqliteStoreTest, FindItemsMatchesTextAssignmentAndDeliveryStateAndPages) {
    ASSERT_TRUE(store().ensure_table(spec()));
    auto person = [](const std::string& id, const std::string& name, const std::string& email) {
        Item item = candidate(id, email);
        item.set_string("fullname", name);
        return item;
    };
    ASSERT_TRUE(store().put_item(kTable, person("a", "Ada Lovelace", "ada@example.com"),
                                 PutMode::create_only));
    ASSERT_TRUE(store().put_item(kTable, person("b", "Grace Hopper", "grace@navy.example"),
                                 PutMode::create_only));
    ASSERT_TRUE(store().put_item(kTable, person("c", "Alan Turing", "alan@example.com"),
                                 PutMode::create_only));
    ASSERT_TRUE(store().put_item(kTable, person("d", "100%_sure", "pct@example.org"),
                                 PutMode::create_only));
    const std::int64_t now = 1'000'000;
    clock_.set_ms(now);
    for (const auto& [id, assignment] : {std::pair{"a", "junior"}, std::pair{"b", "senior"},
                                         std::pair{"c", "senior"}}) {
        Delivery d = delivery_for(id, now);
        d.assignment = assignment;
        ASSERT_TRUE(store().add_delivery(d));
    }
    ASSERT_EQ(store().claim_due_deliveries(now, 10)->size(), 3u);
    ASSERT_TRUE(store().finish_delivery("a", "assignment",
                                        AttemptOutcome{DeliveryState::sent, 250, "250 OK", 0}, now));
    ASSERT_TRUE(store().finish_delivery("b", "assignment",
                                        AttemptOutcome{DeliveryState::failed, 550, "550 no", 0}, now));
    ASSERT_TRUE(store().finish_delivery("c", "assignment",
                                        AttemptOutcome{DeliveryState::sent, 250, "250 OK", 0}, now));

    auto filter = [](std::string text, std::optional<std::string> assignment = std::nullopt,
                     std::optional<DeliveryState> state = std::nullopt) {
        ItemFilter f;
        f.text = std::move(text);
        f.assignment = std::move(assignment);
        f.delivery_state = state;
        return f;
    };
    auto ids = [&](ItemFilter filter, int limit = 100) {
        filter.text_attributes = {"fullname", "email"};
        std::vector<std::string> out;
        std::optional<std::string> cursor;
        do {
            auto page = store().find_items(kTable, filter, cursor, limit);
            EXPECT_TRUE(page) << page.error().message;
            if (!page) return out;
            for (const Item& item : page->items) out.emplace_back(*item.string_attr("id"));
            cursor = page->next_cursor;
        } while (cursor);
        return out;
    };
    using Ids = std::vector<std::string>;
    EXPECT_EQ(ids(filter("")), (Ids{"d", "c", "b", "a"}));
    EXPECT_EQ(ids(filter("LOVE")), (Ids{"a"}));               // name, any case
    EXPECT_EQ(ids(filter("NAVY.EX")), (Ids{"b"}));            // email
    EXPECT_EQ(ids(filter("example.com")), (Ids{"c", "a"}));
    EXPECT_EQ(ids(filter("%")), (Ids{"d"}));                  // no LIKE wildcard
    EXPECT_EQ(ids(filter("_")), (Ids{"d"}));
    EXPECT_EQ(ids(filter("nobody")), Ids{});
    EXPECT_EQ(ids(filter("", "senior")), (Ids{"c", "b"}));
    EXPECT_EQ(ids(filter("", std::nullopt, DeliveryState::sent)), (Ids{"c", "a"}));
    EXPECT_EQ(ids(filter("", "senior", DeliveryState::sent)), (Ids{"c"}));
    EXPECT_EQ(ids(filter("grace", "senior", DeliveryState::sent)), Ids{});
    EXPECT_EQ(ids(filter("", std::nullopt, DeliveryState::pending)), Ids{});  // d has none
    // Pages of one through a filtered list: every match once, in order.
    EXPECT_EQ(ids(filter("ac"), 1), (Ids{"b", "a"}));
    EXPECT_EQ(ids(filter("", std::nullopt, DeliveryState::sent), 1), (Ids{"c", "a"}));

    ItemFilter bad;
    EXPECT_EQ(store().find_items(kTable, bad, std::string("x"), 10).error().field, "cursor");
    EXPECT_EQ(store().find_items(kTable, bad, std::nullopt, 0).error().field, "limit");
    EXPECT_EQ(store().find_items("nope", bad, std::nullopt, 10).error().code, Errc::not_found);
}

// ---- tables -------------------------------------------------------------------------------------

// Protects the stream ARN: its label is set once and survives restarts.
TEST_F(SqliteStoreTest, EnsureTableKeepsTheStreamLabelAcrossReopen) {
    clock_.set_ms(1'795'600'800'000);  // 2026-11-25T10:00:00.000Z
    auto created = store().ensure_table(spec());
    ASSERT_TRUE(created);
    EXPECT_EQ(created->stream_label, "2026-11-25T10:00:00.000");
    EXPECT_EQ(created->created_ms, 1'795'600'800'000);

    clock_.advance(48h);
    reopen();
    auto reopened = store().ensure_table(spec());
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->stream_label, "2026-11-25T10:00:00.000");
    auto described = store().describe_table(kTable);
    ASSERT_TRUE(described);
    EXPECT_EQ(described->stream_label, "2026-11-25T10:00:00.000");
    EXPECT_EQ(described->spec.unique_attributes, std::vector<std::string>{"email"});
}

// Protects DynamoDB's rule that a stream's view type, and the table's key and sharding, are
// fixed once the stream exists.
TEST_F(SqliteStoreTest, EnsureTableRefusesAChangedViewTypeKeyOrShardCount) {
    ASSERT_TRUE(store().ensure_table(spec()));
    reopen();
    TableSpec view = spec(StreamViewType::keys_only);
    TableSpec key = spec();
    key.key_attribute = "candidate_id";
    TableSpec shards = spec();
    shards.shard_count = 8;
    const std::pair<TableSpec, const char*> cases[] = {
        {view, "view_type"}, {key, "key_attribute"}, {shards, "shard_count"}};
    for (const auto& [changed, field] : cases) {
        auto refused = store().ensure_table(changed);
        ASSERT_FALSE(refused) << field;
        EXPECT_EQ(refused.error().code, Errc::invalid_argument);
        EXPECT_EQ(refused.error().field, field);
    }
    EXPECT_TRUE(store().ensure_table(spec()));
}

// ---- checkpoints --------------------------------------------------------------------------------

// Protects exactly-once processing across restarts: checkpoints live in the database file.
TEST_F(SqliteStoreTest, CheckpointsSurviveReopeningTheDatabase) {
    EXPECT_EQ(store().load_checkpoint("mailer", kTable, 2).value(), std::nullopt);
    ASSERT_TRUE(store().save_checkpoint("mailer", kTable, 2, 41));
    ASSERT_TRUE(store().save_checkpoint("mailer", kTable, 2, 42));
    ASSERT_TRUE(store().save_checkpoint("audit", kTable, 2, 7));
    reopen();
    EXPECT_EQ(store().load_checkpoint("mailer", kTable, 2).value(), 42u);
    EXPECT_EQ(store().load_checkpoint("audit", kTable, 2).value(), 7u);
    EXPECT_EQ(store().load_checkpoint("mailer", kTable, 3).value(), std::nullopt);
}

// A consumer's lag is the number of records after its checkpoint.
TEST_F(SqliteStoreTest, CountRecordsAfterGivesTheLag) {
    ASSERT_TRUE(store().ensure_table(spec()));
    for (int i = 0; i < 6; ++i) {
        Item item;
        item.set_string("id", "k" + std::to_string(i));
        ASSERT_TRUE(store().put_item(kTable, item, PutMode::create_only));
    }
    std::uint64_t total = 0;
    for (int shard = 0; shard < 4; ++shard) {
        total += store().count_records_after(kTable, shard, 0, 100).value();
    }
    EXPECT_EQ(total, 6u);
    const auto records = all_records();
    const auto& last = records.back();
    EXPECT_EQ(store().count_records_after(kTable, last.shard, last.sequence, 100).value(), 0u);
}

// Protects GET /functions on a large backlog: the count stops at its limit instead of walking
// millions of index entries.
TEST_F(SqliteStoreTest, CountRecordsAfterStopsAtItsLimit) {
    auto one_shard = spec();
    one_shard.shard_count = 1;
    ASSERT_TRUE(store().ensure_table(one_shard));
    for (int i = 0; i < 5; ++i) {
        Item item;
        item.set_string("id", "k" + std::to_string(i));
        ASSERT_TRUE(store().put_item(kTable, item, PutMode::create_only));
    }
    EXPECT_EQ(store().count_records_after(kTable, 0, 0, 3).value(), 3u);
    EXPECT_EQ(store().count_records_after(kTable, 0, 0, 5).value(), 5u);
    EXPECT_EQ(store().count_records_after(kTable, 0, 0, 9).value(), 5u);
}

// ---- dead letters -------------------------------------------------------------------------------

// Dead letters keep the invocation record and the records, list newest first, and can be marked
// redriven; the pending count follows.
TEST_F(SqliteStoreTest, DeadLettersAreKeptListedAndMarkedRedriven) {
    DeadLetter d;
    d.destination = "deadletters";
    d.function = "sendAssignment";
    d.table = kTable;
    d.shard = 1;
    d.condition = "RetryAttemptsExhausted";
    d.invocation_record = R"({"version":"1.0"})";
    d.records = R"({"Records":[]})";
    d.first_sequence = 5;
    d.last_sequence = 9;
    d.record_count = 2;
    const auto first = store().add_dead_letter(d).value();
    const auto second = store().add_dead_letter(d).value();
    EXPECT_GT(second, first);
    auto other = d;
    other.function = "audit";
    ASSERT_TRUE(store().add_dead_letter(other));

    auto listed = store().list_dead_letters("sendAssignment", 0, 10).value();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].id, second);
    EXPECT_EQ(listed[1].invocation_record, d.invocation_record);
    EXPECT_EQ(listed[1].records, d.records);
    EXPECT_EQ(listed[1].last_sequence, 9u);
    EXPECT_EQ(listed[1].created_ms, clock_.now_ms());
    EXPECT_EQ(store().list_dead_letters("sendAssignment", second, 10).value().size(), 1u);
    EXPECT_EQ(store().count_pending_dead_letters("sendAssignment").value(), 2u);

    reopen();
    ASSERT_TRUE(store().mark_dead_letter_redriven(first, clock_.now_ms()));
    EXPECT_EQ(store().count_pending_dead_letters("sendAssignment").value(), 1u);
    EXPECT_EQ(store().get_dead_letter(first).value()->redriven_ms, clock_.now_ms());
    EXPECT_FALSE(store().get_dead_letter(9999).value());
    auto missing = store().mark_dead_letter_redriven(9999, 1);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
}

// ---- deliveries ---------------------------------------------------------------------------------

// Protects the one-email-per-candidate rule: a replayed stream cannot add a second delivery.
TEST_F(SqliteStoreTest, AddingTheSameDeliveryTwiceKeepsTheFirst) {
    EXPECT_EQ(store().add_delivery(delivery_for("c-1", 0)), true);
    Delivery replay = delivery_for("c-1", 0);
    replay.assignment = "other";
    EXPECT_EQ(store().add_delivery(replay), false);
    auto stored = store().get_delivery("c-1", "assignment");
    ASSERT_TRUE(stored && stored->has_value());
    EXPECT_EQ((*stored)->assignment, "rate-limiter");
    EXPECT_EQ((*stored)->state, DeliveryState::pending);
    EXPECT_EQ((*stored)->created_ms, clock_.now_ms());
    EXPECT_FALSE(store().get_delivery("c-1", "reminder")->has_value());
}

// Protects claiming: due deliveries move to SENDING with an attempt counted, oldest due first,
// and a claimed delivery is not handed out twice.
TEST_F(SqliteStoreTest, ClaimMovesDueDeliveriesToSendingAndCountsAttempts) {
    const std::int64_t now = clock_.now_ms();
    ASSERT_TRUE(store().add_delivery(delivery_for("late", now - 10)));
    ASSERT_TRUE(store().add_delivery(delivery_for("early", now - 500)));
    ASSERT_TRUE(store().add_delivery(delivery_for("future", now + 60'000)));

    auto claimed = store().claim_due_deliveries(now, 10);
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 2u);
    EXPECT_EQ((*claimed)[0].candidate_id, "early");
    EXPECT_EQ((*claimed)[1].candidate_id, "late");
    for (const Delivery& d : *claimed) {
        EXPECT_EQ(d.state, DeliveryState::sending);
        EXPECT_EQ(d.attempts, 1);
        EXPECT_EQ(d.updated_ms, now);
    }
    EXPECT_TRUE(store().claim_due_deliveries(now, 10)->empty());
    auto limited = store().claim_due_deliveries(now + 60'000, 1);
    ASSERT_TRUE(limited);
    ASSERT_EQ(limited->size(), 1u);
    EXPECT_EQ((*limited)[0].candidate_id, "future");
}

// Protects the outcome states: SENT records when, RETRY waits for its time and counts again,
// FAILED is final.
TEST_F(SqliteStoreTest, FinishRecordsSentRetryAndFailed) {
    const std::int64_t now = clock_.now_ms();
    for (const char* id : {"ok", "again", "bad"}) {
        ASSERT_TRUE(store().add_delivery(delivery_for(id, now)));
    }
    ASSERT_EQ(store().claim_due_deliveries(now, 10)->size(), 3u);
    ASSERT_TRUE(store().finish_delivery("ok", "assignment", AttemptOutcome{DeliveryState::sent, 0, "250 OK", 0}, now + 1));
    ASSERT_TRUE(store().finish_delivery("again", "assignment", AttemptOutcome{DeliveryState::retry, 0, "451 try later", now + 30'000}, now + 1));
    ASSERT_TRUE(store().finish_delivery("bad", "assignment", AttemptOutcome{DeliveryState::failed, 0, "550 no such user", 0}, now + 1));

    auto ok = store().get_delivery("ok", "assignment");
    EXPECT_EQ((*ok)->state, DeliveryState::sent);
    EXPECT_EQ((*ok)->sent_ms, now + 1);
    EXPECT_EQ((*ok)->last_reply, "250 OK");
    auto bad = store().get_delivery("bad", "assignment");
    EXPECT_EQ((*bad)->state, DeliveryState::failed);
    EXPECT_EQ((*bad)->last_reply, "550 no such user");

    EXPECT_TRUE(store().claim_due_deliveries(now + 29'999, 10)->empty());
    EXPECT_EQ(store().next_delivery_due_ms().value(), std::optional<std::int64_t>(now + 30'000));
    auto retried = store().claim_due_deliveries(now + 30'000, 10);
    ASSERT_TRUE(retried);
    ASSERT_EQ(retried->size(), 1u);
    EXPECT_EQ((*retried)[0].candidate_id, "again");
    EXPECT_EQ((*retried)[0].attempts, 2);
    EXPECT_EQ(store().next_delivery_due_ms().value(), std::nullopt);
}

// Protects the state machine: only a SENDING delivery can be finished.
TEST_F(SqliteStoreTest, FinishRefusesADeliveryThatIsNotSending) {
    ASSERT_TRUE(store().add_delivery(delivery_for("c-1", 0)));
    auto early = store().finish_delivery("c-1", "assignment", AttemptOutcome{DeliveryState::sent, 0, "250", 0}, 1);
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, Errc::conflict);
    EXPECT_EQ(store().finish_delivery("ghost", "assignment", AttemptOutcome{DeliveryState::sent, 0, "", 0}, 1)
                  .error()
                  .code,
              Errc::not_found);
    EXPECT_EQ(store().finish_delivery("c-1", "assignment", AttemptOutcome{DeliveryState::pending, 0, "", 0}, 1)
                  .error()
                  .field,
              "state");
}

// Protects recovery: a send interrupted by a crash is retried after restart, not lost.
TEST_F(SqliteStoreTest, InterruptedDeliveriesBecomeDueAfterReopen) {
    const std::int64_t now = clock_.now_ms();
    ASSERT_TRUE(store().add_delivery(delivery_for("c-1", now)));
    ASSERT_TRUE(store().add_delivery(delivery_for("c-2", now)));
    ASSERT_EQ(store().claim_due_deliveries(now, 10)->size(), 2u);
    ASSERT_TRUE(store().finish_delivery("c-2", "assignment", AttemptOutcome{DeliveryState::sent, 0, "250", 0}, now));

    reopen();  // the process died with c-1 in SENDING
    clock_.advance(5s);
    EXPECT_TRUE(store().claim_due_deliveries(clock_.now_ms(), 10)->empty());
    const auto seen = store().delivery_signal().version();
    EXPECT_EQ(store().requeue_interrupted_deliveries(clock_.now_ms()), 1);
    EXPECT_GT(store().delivery_signal().version(), seen);
    auto claimed = store().claim_due_deliveries(clock_.now_ms(), 10);
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ((*claimed)[0].candidate_id, "c-1");
    EXPECT_EQ((*claimed)[0].attempts, 2);
    EXPECT_EQ(store().get_delivery("c-2", "assignment")->value().state, DeliveryState::sent);
}

// Protects GET /emails: every delivery has an id, lists newest first, by state, in pages.
TEST_F(SqliteStoreTest, DeliveriesHaveIdsAndListNewestFirstByState) {
    for (const char* id : {"a", "b", "c", "d"}) {
        ASSERT_TRUE(store().add_delivery(delivery_for(id, 0)));
    }
    ASSERT_EQ(store().claim_due_deliveries(0, 1)->size(), 1u);  // "a" (oldest due first)
    ASSERT_TRUE(store().finish_delivery("a", "assignment",
                                        AttemptOutcome{DeliveryState::failed, 550, "550 no", 0}, 1));
    auto all = store().list_deliveries(DeliveryQuery{std::nullopt, 0, 3});
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].candidate_id, "d");
    EXPECT_EQ((*all)[2].candidate_id, "b");
    auto rest = store().list_deliveries(DeliveryQuery{std::nullopt, (*all)[2].id, 3});
    ASSERT_EQ(rest->size(), 1u);
    EXPECT_EQ((*rest)[0].candidate_id, "a");
    EXPECT_EQ((*rest)[0].last_code, 550);
    auto failed = store().list_deliveries(DeliveryQuery{DeliveryState::failed, 0, 10});
    ASSERT_EQ(failed->size(), 1u);
    EXPECT_EQ((*failed)[0].candidate_id, "a");
    auto by_id = store().get_delivery_by_id((*failed)[0].id);
    ASSERT_TRUE(by_id && *by_id);
    EXPECT_EQ((*by_id)->candidate_id, "a");
    EXPECT_FALSE(store().get_delivery_by_id(999).value().has_value());
    EXPECT_EQ(store().list_deliveries(DeliveryQuery{std::nullopt, 0, 0}).error().field, "limit");
}

// Protects the delivery timeline: each attempt is kept with its reply, an interrupted one too,
// and a delivery retried for days keeps a bounded history (the most recent attempts).
TEST_F(SqliteStoreTest, AttemptsAreKeptInTheTimelineAndBounded) {
    const std::int64_t now = clock_.now_ms();
    ASSERT_TRUE(store().add_delivery(delivery_for("c-1", now)));
    ASSERT_EQ(store().claim_due_deliveries(now, 1)->size(), 1u);
    ASSERT_TRUE(store().finish_delivery(
        "c-1", "assignment", AttemptOutcome{DeliveryState::retry, 451, "451 later", now + 5}, now + 2));
    ASSERT_EQ(store().claim_due_deliveries(now + 5, 1)->size(), 1u);
    reopen();  // died mid-attempt
    ASSERT_EQ(store().requeue_interrupted_deliveries(now + 9).value(), 1);
    ASSERT_EQ(store().claim_due_deliveries(now + 9, 1)->size(), 1u);
    ASSERT_TRUE(store().finish_delivery(
        "c-1", "assignment", AttemptOutcome{DeliveryState::sent, 250, "250 ok", 0}, now + 12));

    const auto id = store().get_delivery("c-1", "assignment").value()->id;
    auto timeline = store().delivery_attempts(id, 100);
    ASSERT_TRUE(timeline);
    ASSERT_EQ(timeline->size(), 3u);
    EXPECT_EQ((*timeline)[0].outcome, "RETRY");
    EXPECT_EQ((*timeline)[0].reply_code, 451);
    EXPECT_EQ((*timeline)[0].started_ms, now);
    EXPECT_EQ((*timeline)[0].finished_ms, now + 2);
    EXPECT_EQ((*timeline)[1].outcome, "INTERRUPTED");
    EXPECT_EQ((*timeline)[1].started_ms, now + 5);
    EXPECT_EQ((*timeline)[2].outcome, "SENT");
    EXPECT_EQ((*timeline)[2].reply, "250 ok");
    EXPECT_EQ(store().delivery_attempts(id, 1).value().at(0).outcome, "SENT");

    ASSERT_TRUE(store().add_delivery(delivery_for("busy", now)));
    for (int i = 0; i < 130; ++i) {
        ASSERT_EQ(store().claim_due_deliveries(now + 100 + i, 1)->size(), 1u);
        ASSERT_TRUE(store().finish_delivery(
            "busy", "assignment",
            AttemptOutcome{DeliveryState::retry, 421, "421 busy " + std::to_string(i), now + 101 + i},
            now + 100 + i));
    }
    const auto busy = store().get_delivery("busy", "assignment").value()->id;
    auto kept = store().delivery_attempts(busy, 1000);
    ASSERT_TRUE(kept);
    ASSERT_EQ(kept->size(), 100u);
    EXPECT_EQ(kept->back().reply, "421 busy 129");
    EXPECT_EQ(kept->front().reply, "421 busy 30");
}

// Protects "never mailed twice" under a manual retry: FAILED and SUPPRESSED go back to PENDING
// with a fresh attempt count and give-up age; a SENT, SENDING or PENDING email is refused.
TEST_F(SqliteStoreTest, RetryByHandRequeuesAFailedEmailButNeverASentOne) {
    const std::int64_t now = clock_.now_ms();
    for (const char* id : {"failed", "sent", "pending"}) {
        ASSERT_TRUE(store().add_delivery(delivery_for(id, now)));
    }
    ASSERT_EQ(store().claim_due_deliveries(now, 2)->size(), 2u);  // failed, sent
    ASSERT_TRUE(store().finish_delivery(
        "failed", "assignment", AttemptOutcome{DeliveryState::failed, 554, "554 no", 0}, now));
    ASSERT_TRUE(store().finish_delivery(
        "sent", "assignment", AttemptOutcome{DeliveryState::sent, 250, "250 ok", 0}, now));
    const auto id_of = [&](const char* c) {
        return store().get_delivery(c, "assignment").value()->id;
    };
    const auto seen = store().delivery_signal().version();
    auto retried = store().retry_delivery(id_of("failed"), now + 1000);
    ASSERT_TRUE(retried) << retried.error().message;
    EXPECT_EQ(retried->state, DeliveryState::pending);
    EXPECT_EQ(retried->attempts, 0);
    EXPECT_EQ(retried->queued_ms, now + 1000);
    EXPECT_EQ(retried->next_attempt_ms, now + 1000);
    EXPECT_GT(store().delivery_signal().version(), seen);
    EXPECT_EQ(store().delivery_attempts(retried->id, 10).value().size(), 1u);  // kept

    auto sent = store().retry_delivery(id_of("sent"), now);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::conflict);
    EXPECT_NE(sent.error().message.find("never sent twice"), std::string::npos);
    EXPECT_EQ(store().retry_delivery(id_of("pending"), now).error().code, Errc::conflict);
    EXPECT_EQ(store().retry_delivery(424242, now).error().code, Errc::not_found);
    EXPECT_EQ(store().get_delivery("sent", "assignment").value()->state, DeliveryState::sent);
}

// Protects the suppression list: a bad-mailbox outcome suppresses the recipient in the same
// transaction; lookups ignore case; list pages by address; remove is not_found when absent.
TEST_F(SqliteStoreTest, BadMailboxOutcomeSuppressesTheRecipient) {
    Delivery d = delivery_for("c-1", 0);
    d.recipient = "Nobody@Example.com";
    ASSERT_TRUE(store().add_delivery(d));
    ASSERT_EQ(store().claim_due_deliveries(0, 1)->size(), 1u);
    ASSERT_TRUE(store().finish_delivery(
        "c-1", "assignment",
        AttemptOutcome{DeliveryState::failed, 550, "550 5.1.1 user unknown", 0, true}, 7));
    auto found = store().find_suppression("NOBODY@example.COM");
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->address, "nobody@example.com");
    EXPECT_EQ((*found)->reason, "550 5.1.1 user unknown");
    EXPECT_EQ((*found)->delivery_id, store().get_delivery("c-1", "assignment").value()->id);
    EXPECT_EQ((*found)->created_ms, 7);

    ASSERT_TRUE(store().add_suppression(Suppression{"b@example.com", "by hand", 0, 0}));
    ASSERT_TRUE(store().add_suppression(Suppression{"a@example.com", "by hand", 0, 0}));
    auto page = store().list_suppressions("", 2);
    ASSERT_TRUE(page);
    ASSERT_EQ(page->size(), 2u);
    EXPECT_EQ((*page)[0].address, "a@example.com");
    EXPECT_EQ((*page)[1].address, "b@example.com");
    EXPECT_EQ(store().list_suppressions("b@example.com", 2).value().at(0).address,
              "nobody@example.com");
    ASSERT_TRUE(store().remove_suppression("A@example.com"));
    EXPECT_FALSE(store().find_suppression("a@example.com").value().has_value());
    EXPECT_EQ(store().remove_suppression("a@example.com").error().code, Errc::not_found);
    EXPECT_EQ(store().add_suppression(Suppression{}).error().field, "address");
}

// Protects the daily quota after a restart: SENT deliveries are counted per minute.
TEST_F(SqliteStoreTest, SentPerMinuteCountsForTheDailyQuota) {
    for (const char* id : {"a", "b", "c", "old"}) {
        ASSERT_TRUE(store().add_delivery(delivery_for(id, 0)));
    }
    ASSERT_EQ(store().claim_due_deliveries(0, 4)->size(), 4u);
    const AttemptOutcome ok{DeliveryState::sent, 250, "250", 0};
    ASSERT_TRUE(store().finish_delivery("old", "assignment", ok, 60'000));
    ASSERT_TRUE(store().finish_delivery("a", "assignment", ok, 120'000));
    ASSERT_TRUE(store().finish_delivery("b", "assignment", ok, 179'999));
    ASSERT_TRUE(store().finish_delivery("c", "assignment", ok, 180'000));
    auto counts = store().sent_per_minute_since(120'000);
    ASSERT_TRUE(counts);
    using P = std::pair<std::int64_t, std::int64_t>;
    EXPECT_EQ(*counts, (std::vector<P>{{120'000, 2}, {180'000, 1}}));
}

// Protects the batch lookup used to show delivery status next to each candidate.
TEST_F(SqliteStoreTest, DeliveriesForReturnsEveryKindOfTheGivenCandidates) {
    ASSERT_TRUE(store().add_delivery(delivery_for("c-1", 0)));
    Delivery reminder = delivery_for("c-1", 0);
    reminder.kind = "reminder";
    ASSERT_TRUE(store().add_delivery(reminder));
    ASSERT_TRUE(store().add_delivery(delivery_for("c-2", 0)));
    ASSERT_TRUE(store().add_delivery(delivery_for("c-3", 0)));

    auto found = store().deliveries_for({"c-1", "c-3", "c-1", "missing"});
    ASSERT_TRUE(found);
    std::vector<std::pair<std::string, std::string>> keys;
    for (const Delivery& d : *found) keys.emplace_back(d.candidate_id, d.kind);
    EXPECT_EQ(keys, (std::vector<std::pair<std::string, std::string>>{
                        {"c-1", "assignment"}, {"c-1", "reminder"}, {"c-3", "assignment"}}));
    EXPECT_TRUE(store().deliveries_for({})->empty());
}

// ---- signals, faults, maintenance ---------------------------------------------------------------

// Protects wake-ups: stream readers and the mailer learn of work without polling.
TEST_F(SqliteStoreTest, SignalsAreNotifiedAfterWrites) {
    ASSERT_TRUE(store().ensure_table(spec()));
    auto stream_seen = store().stream_signal().version();
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));
    EXPECT_GT(store().stream_signal().version(), stream_seen);
    stream_seen = store().stream_signal().version();
    ItemUpdate update;
    update.set["status"] = json::object{{"S", "invited"}};
    ASSERT_TRUE(store().update_item(kTable, "c-1", update));
    EXPECT_GT(store().stream_signal().version(), stream_seen);
    stream_seen = store().stream_signal().version();
    ASSERT_TRUE(store().delete_item(kTable, "c-1"));
    EXPECT_GT(store().stream_signal().version(), stream_seen);
    stream_seen = store().stream_signal().version();
    EXPECT_FALSE(store().delete_item(kTable, "c-1"));
    EXPECT_EQ(store().stream_signal().version(), stream_seen);  // nothing committed

    auto delivery_seen = store().delivery_signal().version();
    ASSERT_TRUE(store().add_delivery(delivery_for("c-1", 0)));
    EXPECT_GT(store().delivery_signal().version(), delivery_seen);
    delivery_seen = store().delivery_signal().version();
    ASSERT_EQ(store().add_delivery(delivery_for("c-1", 0)), false);
    EXPECT_EQ(store().delivery_signal().version(), delivery_seen);
    ASSERT_EQ(store().claim_due_deliveries(clock_.now_ms(), 1)->size(), 1u);
    ASSERT_TRUE(store().finish_delivery("c-1", "assignment", AttemptOutcome{DeliveryState::retry, 0, "451", 1}, 0));
    EXPECT_GT(store().delivery_signal().version(), delivery_seen);
}

// Protects the error mapping for a locked database: callers get unavailable (retry later),
// and reads keep working while another writer holds the lock (WAL).
TEST_F(SqliteStoreTest, WriteWhileAnotherProcessHoldsTheLockIsUnavailable) {
    reopen(/*busy_timeout_ms=*/0);
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));

    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    auto blocked = store().put_item(kTable, candidate("c-2"), PutMode::create_only);
    EXPECT_TRUE(store().get_item(kTable, "c-1")->has_value());
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);

    ASSERT_FALSE(blocked);
    EXPECT_EQ(blocked.error().code, Errc::unavailable);
    EXPECT_NE(blocked.error().message.find("busy"), std::string::npos);
    EXPECT_TRUE(store().put_item(kTable, candidate("c-2"), PutMode::create_only));
    EXPECT_EQ(all_records().size(), 2u);
}

// Protects the read-only database: while its file system refuses writes, a write fails with
// unavailable saying the database is read-only, stores nothing, and write_problem() says so;
// reads keep working; once writes work again the next one commits and the problem clears.
TEST_F(SqliteStoreTest, WritesToAReadOnlyFileSystemAreUnavailableAndReadsKeepWorking) {
    reopen(5000, FaultVfs::install());
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    EXPECT_FALSE(store().write_problem());

    FaultVfs::refuse_writes = true;
    auto refused = store().put_item(kTable, candidate("c-2", "b@example.com"), PutMode::create_only);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::unavailable);
    EXPECT_NE(refused.error().message.find("read-only"), std::string::npos)
        << refused.error().message;
    ASSERT_TRUE(store().write_problem());
    EXPECT_NE(store().write_problem()->message.find("read-only"), std::string::npos);
    EXPECT_FALSE(store().add_delivery(delivery_for("c-1", 0)));
    EXPECT_TRUE(store().get_item(kTable, "c-1")->has_value());
    EXPECT_FALSE(store().get_item(kTable, "c-2")->has_value());
    EXPECT_EQ(store().list_items(kTable, std::nullopt, 10)->items.size(), 1u);
    EXPECT_EQ(all_records().size(), 1u);

    FaultVfs::refuse_writes = false;
    ASSERT_TRUE(store().put_item(kTable, candidate("c-2", "b@example.com"), PutMode::create_only));
    EXPECT_FALSE(store().write_problem());
    EXPECT_EQ(all_records().size(), 2u);
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    EXPECT_EQ(store().list_items(kTable, std::nullopt, 10)->items.size(), 2u);
}

// Protects /healthz from a false all-clear: a transaction that changed nothing (a refused
// duplicate) commits without writing, so it must not clear the recorded problem.
TEST_F(SqliteStoreTest, ACommitThatWritesNothingKeepsTheWriteProblem) {
    reopen(5000, FaultVfs::install());
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    FaultVfs::refuse_writes = true;
    ASSERT_FALSE(store().put_item(kTable, candidate("c-2"), PutMode::create_only));
    auto duplicate = store().put_item(kTable, candidate("c-1"), PutMode::create_only);
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().code, Errc::conflict);
    EXPECT_TRUE(store().write_problem());
}

// Protects recovery without traffic: checkpoint() (the background loop) probes with a real
// write while a problem is recorded, so the problem clears once the disk takes writes again.
TEST_F(SqliteStoreTest, CheckpointProbesWritesSoTheProblemClearsWithoutOtherWrites) {
    reopen(5000, FaultVfs::install());
    ASSERT_TRUE(store().ensure_table(spec()));
    FaultVfs::refuse_writes = true;
    ASSERT_FALSE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));
    auto probed = store().checkpoint();
    ASSERT_FALSE(probed);
    EXPECT_EQ(probed.error().code, Errc::unavailable);
    EXPECT_TRUE(store().write_problem());

    FaultVfs::refuse_writes = false;
    ASSERT_TRUE(store().checkpoint());
    EXPECT_FALSE(store().write_problem());
}

// Frames in the WAL, read through a connection of its own (its PASSIVE checkpoint copies
// nothing new: the store's checkpoint already did).
int wal_frames(const std::string& path) {
    sqlite3* raw = nullptr;
    int log = -1;
    int copied = -1;
    // A query first: a connection learns the file is in WAL mode when it first reads it.
    if (sqlite3_open(path.c_str(), &raw) == SQLITE_OK &&
        sqlite3_exec(raw, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
            SQLITE_OK) {
        sqlite3_wal_checkpoint_v2(raw, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    }
    sqlite3_close(raw);
    return log;
}

// Protects ingest while a large WAL is copied back (after a bulk load, seconds): commits go on
// during the checkpoint, and the WAL still starts over afterwards (the tail written meanwhile
// is copied too), so it does not grow without end under steady writes.
TEST_F(SqliteStoreTest, CheckpointRunsBesideWritesAndTheWalStartsOver) {
    reopen(5000, FaultVfs::install());
    ASSERT_TRUE(store().ensure_table(spec()));
    for (int i = 0; i < 100; ++i) {  // a hundred commits, none checkpointed yet
        ASSERT_TRUE(store().put_item(kTable, candidate(fmt::format("c-{}", i),
                                                       fmt::format("c{}@example.com", i)),
                                     PutMode::create_only));
    }
    FaultVfs::hold_db_writes();
    auto checkpointed = std::async(std::launch::async, [&] { return store().checkpoint(); });
    ASSERT_TRUE(FaultVfs::wait_until_held(std::chrono::seconds(10)));
    auto put = std::async(std::launch::async, [&] {
        return store().put_item(kTable, candidate("during", "during@example.com"),
                                PutMode::create_only);
    });
    const bool committed_during = put.wait_for(std::chrono::seconds(10)) ==
                                  std::future_status::ready;
    FaultVfs::release_db_writes();
    EXPECT_TRUE(committed_during) << "a commit waited for the checkpoint's copy";
    EXPECT_TRUE(put.get());
    ASSERT_TRUE(checkpointed.get());
    ASSERT_TRUE(store().put_item(kTable, candidate("after", "after@example.com"),
                                 PutMode::create_only));
    // Started over: the WAL holds the last commit's frames (about ten), not the hundreds of
    // all commits since the first.
    const int frames = wal_frames(db_path());
    EXPECT_GT(frames, 0);
    EXPECT_LT(frames, 40);
    EXPECT_EQ(store().get_item(kTable, "during").value().has_value(), true);
}

// Protects the start-up error: a database that cannot be created names its path.
TEST_F(SqliteStoreTest, OpeningInAMissingFolderIsUnavailableNamingThePath) {
    const std::string path = (dir_ / "missing" / "store.db").string();
    auto opened = SqliteStore::open({path, 1, 100}, clock_);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::unavailable);
    EXPECT_NE(opened.error().message.find(path), std::string::npos);
}

// Protects the maintenance path: a passive checkpoint succeeds while the store is in use and
// the data stays readable after reopening.
TEST_F(SqliteStoreTest, CheckpointKeepsDataReadable) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1"), PutMode::create_only));
    ASSERT_TRUE(store().checkpoint());
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    EXPECT_TRUE(store().get_item(kTable, "c-1")->has_value());
}

}  // namespace
}  // namespace hirestream::store

namespace hirestream::store {
namespace {

// Protects upgrades: a database made by the first release (schema 1: no dead letters, deliveries
// without ids, attempts or suppressions) is migrated in place, keeping items and deliveries.
TEST_F(SqliteStoreTest, SchemaOneDatabaseIsMigratedKeepingItsData) {
    ASSERT_TRUE(store().ensure_table(spec()));
    Item item;
    item.set_string("id", "kept");
    ASSERT_TRUE(store().put_item(kTable, item, PutMode::create_only));
    store_.reset();
    // The first release's deliveries table, with one delivery in it.
    const char* downgrade = R"sql(
        DROP TABLE dead_letters; DROP TABLE delivery_attempts; DROP TABLE suppressions;
        DROP TABLE assignments; DROP TABLE downloads;
        DROP TABLE api_keys; DROP TABLE idempotency_keys; DROP TABLE unique_attribute_sets;
        DROP TABLE deliveries;
        CREATE TABLE deliveries (
            candidate_id TEXT NOT NULL, kind TEXT NOT NULL, recipient TEXT NOT NULL,
            recipient_name TEXT NOT NULL, assignment TEXT NOT NULL, message_id TEXT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL, last_reply TEXT NOT NULL,
            created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
            next_attempt_ms INTEGER NOT NULL, sent_ms INTEGER NOT NULL,
            PRIMARY KEY (candidate_id, kind)) WITHOUT ROWID;
        CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms);
        INSERT INTO deliveries VALUES ('kept', 'assignment', 'kept@example.com', 'Kept',
            'assignment1', 'm1@example.com', 'RETRY', 2, '451 later', 1000, 2000, 3000, 0);
        PRAGMA user_version = 1;)sql";
    ASSERT_TRUE(exec_on_file(downgrade));

    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    EXPECT_TRUE(store().get_item(kTable, "kept").value().has_value());
    DeadLetter d;
    d.function = "f";
    EXPECT_TRUE(store().add_dead_letter(d));
    auto kept = store().get_delivery("kept", "assignment");
    ASSERT_TRUE(kept && *kept);
    EXPECT_EQ((*kept)->id, 1);
    EXPECT_EQ((*kept)->state, DeliveryState::retry);
    EXPECT_EQ((*kept)->attempts, 2);
    EXPECT_EQ((*kept)->last_reply, "451 later");
    EXPECT_EQ((*kept)->queued_ms, 1000);
    EXPECT_EQ((*kept)->next_attempt_ms, 3000);
    ASSERT_TRUE(store().add_delivery(delivery_for("new", 0)));
    EXPECT_EQ(store().get_delivery("new", "assignment").value()->id, 2);
}

// A database at schema 3 gets the assignments and downloads tables of version 4 and keeps what
// it held (the whole chain from schema 1 is the test above).
TEST_F(SqliteStoreTest, SchemaThreeDatabaseGetsTheVersionFourTables) {
    ASSERT_TRUE(store().add_delivery(delivery_for("kept", 0)));
    store_.reset();
    ASSERT_TRUE(
        exec_on_file("DROP TABLE assignments; DROP TABLE downloads; DROP TABLE api_keys; "
                     "DROP TABLE idempotency_keys; DROP TABLE unique_attribute_sets; "
                     "DROP INDEX deliveries_due_in_order; "
                     "CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms); "
                     "PRAGMA user_version = 3;"));
    reopen();
    EXPECT_TRUE(store().list_assignments().value().empty());
    EXPECT_TRUE(store().add_download({0, "c", "a", 1, "127.0.0.1"}));
    EXPECT_TRUE(store().get_delivery("kept", "assignment").value().has_value());
}

// A database at schema 4 gets the API key and idempotency tables of version 5, keeping its data.
TEST_F(SqliteStoreTest, SchemaFourDatabaseGetsTheVersionFiveTables) {
    ASSERT_TRUE(store().add_delivery(delivery_for("kept", 0)));
    store_.reset();
    ASSERT_TRUE(
        exec_on_file("DROP TABLE api_keys; DROP TABLE idempotency_keys; "
                     "DROP TABLE unique_attribute_sets; "
                     "DROP INDEX deliveries_due_in_order; "
                     "CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms); "
                     "PRAGMA user_version = 4;"));
    reopen();
    EXPECT_TRUE(store().list_api_keys().value().empty());
    EXPECT_TRUE(store().get_delivery("kept", "assignment").value().has_value());
}

// A database at schema 6 trades its due-deliveries index for the one claims read in order
// (version 7), and its queued deliveries are claimed as before: oldest due first.
TEST_F(SqliteStoreTest, SchemaSixDatabaseGetsTheDueDeliveriesIndex) {
    ASSERT_TRUE(store().add_delivery(delivery_for("second", 20)));
    ASSERT_TRUE(store().add_delivery(delivery_for("first", 10)));
    store_.reset();
    ASSERT_TRUE(
        exec_on_file("DROP INDEX deliveries_due_in_order; "
                     "CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms); "
                     "PRAGMA user_version = 6;"));
    reopen();
    auto claimed = store().claim_due_deliveries(1000, 10);
    ASSERT_TRUE(claimed) << claimed.error().message;
    ASSERT_EQ(claimed->size(), 2u);
    EXPECT_EQ((*claimed)[0].candidate_id, "first");
    EXPECT_EQ((*claimed)[1].candidate_id, "second");
}

// Protects that a database at schema 7 loses the two indexes every write paid for (version 8)
// and keeps what they were for: a unique email is still refused, an item's email is released
// when it is deleted or given another, and retention still trims each shard's old records.
TEST_F(SqliteStoreTest, SchemaSevenDatabaseDropsTheTwoPerWriteIndexes) {
    ASSERT_TRUE(store().ensure_table(spec()));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-1", "a@example.com"), PutMode::create_only));
    ASSERT_TRUE(store().put_item(kTable, candidate("c-2", "b@example.com"), PutMode::create_only));
    store_.reset();
    ASSERT_TRUE(exec_on_file(
        "CREATE INDEX unique_values_by_item ON unique_values(table_name, item_key); "
        "CREATE INDEX stream_records_by_age ON stream_records(table_name, created_ms); "
        "PRAGMA user_version = 7;"));
    reopen();
    ASSERT_TRUE(store().ensure_table(spec()));
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw,
                                 "SELECT count(*) FROM sqlite_master WHERE name IN "
                                 "('unique_values_by_item', 'stream_records_by_age')",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(stmt, 0), 0);
    sqlite3_finalize(stmt);
    sqlite3_close(raw);

    auto taken = store().put_item(kTable, candidate("c-3", "a@example.com"), PutMode::create_only);
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, Errc::conflict);
    ASSERT_TRUE(store().delete_item(kTable, "c-1"));
    EXPECT_TRUE(store().put_item(kTable, candidate("c-3", "a@example.com"), PutMode::create_only));
    ItemUpdate readdress;
    readdress.set["email"] = json::object{{"S", "c@example.com"}};
    ASSERT_TRUE(store().update_item(kTable, "c-2", readdress));
    EXPECT_TRUE(store().put_item(kTable, candidate("c-4", "b@example.com"), PutMode::create_only));
    EXPECT_FALSE(store().put_item(kTable, candidate("c-5", "c@example.com"), PutMode::create_only));

    // Every record so far (2 inserts, 1 remove, 1 insert, 1 modify, 1 insert) is past the
    // cutoff once the clock moves on; the one written after it stays.
    clock_.advance(25h);
    ASSERT_TRUE(store().put_item(kTable, candidate("c-6", "f@example.com"), PutMode::create_only));
    const std::int64_t cutoff = clock_.now_ms() - std::chrono::milliseconds(24h).count();
    EXPECT_EQ(store().trim_stream(kTable, cutoff, {}).value(), 6u);
    const auto records = all_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].keys.at("id").at("S").as_string(), "c-6");
}

// Protects "a database is never half-migrated": a migration that fails after its first
// statements (here schema 7's CREATE INDEX, after its DROP INDEX) commits none of them. Row
// counts miss DDL, so the group commit must still see the failed write as one that changed
// the database.
TEST_F(SqliteStoreTest, AMigrationThatFailsHalfwayCommitsNothing) {
    store_.reset();
    ASSERT_TRUE(
        exec_on_file("DROP INDEX deliveries_due_in_order; "
                     "CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms); "
                     "CREATE TABLE deliveries_due_in_order (x); PRAGMA user_version = 6;"));
    auto opened = SqliteStore::open({db_path(), 2, 5000, {}}, clock_);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("deliveries_due_in_order"), std::string::npos)
        << opened.error().message;
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    auto count = [&](const char* sql) {
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(raw, sql, -1, &stmt, nullptr), SQLITE_OK);
        const int n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
        sqlite3_finalize(stmt);
        return n;
    };
    EXPECT_EQ(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'deliveries_due'"), 1);
    EXPECT_EQ(count("PRAGMA user_version"), 6);
    sqlite3_close(raw);
    // Once the obstacle is gone, the migration runs whole.
    ASSERT_TRUE(exec_on_file("DROP TABLE deliveries_due_in_order"));
    reopen();
    EXPECT_TRUE(store().claim_due_deliveries(1000, 10));
}

ApiKey api_key(const std::string& id, Role role = Role::recruiter) {
    ApiKey k;
    k.id = id;
    k.name = "label " + id;
    k.role = role;
    k.hash = sha256_hex("secret-" + id);
    return k;
}

// A key is found by the hash of its secret only, keeps its role and label, survives a reopen,
// and a second key with the same id or secret is refused.
TEST_F(SqliteStoreTest, ApiKeyIsFoundByItsHashAndIsUnique) {
    ASSERT_TRUE(store().add_api_key(api_key("k1", Role::admin)));
    reopen();
    auto found = store().find_api_key_by_hash(sha256_hex("secret-k1")).value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, "k1");
    EXPECT_EQ(found->role, Role::admin);
    EXPECT_EQ(found->name, "label k1");
    EXPECT_EQ(found->created_ms, clock_.now_ms());
    EXPECT_EQ(found->last_used_ms, 0);
    EXPECT_EQ(found->revoked_ms, 0);
    EXPECT_FALSE(store().find_api_key_by_hash(sha256_hex("secret-k2")).value());
    auto same_id = api_key("k1");
    same_id.hash = sha256_hex("other");
    EXPECT_EQ(store().add_api_key(same_id).error().code, Errc::conflict);
    auto same_secret = api_key("k1");
    same_secret.id = "k9";
    EXPECT_EQ(store().add_api_key(same_secret).error().code, Errc::conflict);
    ApiKey empty;
    EXPECT_EQ(store().add_api_key(empty).error().code, Errc::invalid_argument);
}

// The first-start key is stored only into an empty key table.
TEST_F(SqliteStoreTest, FirstApiKeyIsAddedOnlyWhenThereIsNone) {
    EXPECT_TRUE(store().add_first_api_key(api_key("first", Role::admin)).value());
    EXPECT_FALSE(store().add_first_api_key(api_key("second", Role::admin)).value());
    auto keys = store().list_api_keys().value();
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].id, "first");
}

// Revoking keeps the key listed with its revocation time (a second revoke keeps the first
// time); a use is recorded; unknown ids are not_found.
TEST_F(SqliteStoreTest, ApiKeyIsRevokedAndTouched) {
    ASSERT_TRUE(store().add_api_key(api_key("a")));
    clock_.advance(5s);
    ASSERT_TRUE(store().add_api_key(api_key("b")));
    ASSERT_TRUE(store().touch_api_key("a", clock_.now_ms()));
    const auto revoked_at = clock_.now_ms() + 1000;
    EXPECT_EQ(store().revoke_api_key("a", revoked_at).value().revoked_ms, revoked_at);
    EXPECT_EQ(store().revoke_api_key("a", revoked_at + 5000).value().revoked_ms, revoked_at);
    auto keys = store().list_api_keys().value();
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].id, "a");
    EXPECT_EQ(keys[0].last_used_ms, clock_.now_ms());
    EXPECT_EQ(keys[0].revoked_ms, revoked_at);
    EXPECT_EQ(keys[1].revoked_ms, 0);
    EXPECT_EQ(store().revoke_api_key("nope", 1).error().code, Errc::not_found);
    EXPECT_EQ(store().touch_api_key("nope", 1).error().code, Errc::not_found);
}

IdempotentResponse idempotency_claim(const std::string& key, const std::string& hash,
                                     std::int64_t at_ms) {
    IdempotentResponse r;
    r.scope = "k1 POST /candidates";
    r.key = key;
    r.request_hash = hash;
    r.created_ms = at_ms;
    return r;
}

// The first claim wins; its completed answer (status, body, headers) comes back to later
// claims; an unfinished claim is reported as such until it is stale; expired entries go.
TEST_F(SqliteStoreTest, IdempotencyKeyIsClaimedCompletedReplayedAndExpires) {
    const auto t0 = clock_.now_ms();
    EXPECT_FALSE(store().claim_idempotency_key(idempotency_claim("r1", "h1", t0), 0, 0).value());
    auto pending = store().claim_idempotency_key(idempotency_claim("r1", "h1", t0), 0, 0).value();
    ASSERT_TRUE(pending);
    EXPECT_EQ(pending->status, 0);
    EXPECT_EQ(pending->request_hash, "h1");
    auto done = idempotency_claim("r1", "h1", t0);
    done.status = 201;
    done.content_type = "application/json";
    done.body = R"({"candidateId":"c1"})";
    done.headers = {{"Location", "/candidates/c1"}};
    ASSERT_TRUE(store().complete_idempotency_key(done));
    auto replay = store().claim_idempotency_key(idempotency_claim("r1", "h2", t0 + 1), 0,
                                                t0 + 10).value();
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->status, 201);
    EXPECT_EQ(replay->request_hash, "h1");
    EXPECT_EQ(replay->body, done.body);
    EXPECT_EQ(replay->headers, done.headers);

    // An unfinished claim older than the stale bound is taken over by the next request.
    EXPECT_FALSE(store().claim_idempotency_key(idempotency_claim("r2", "h", t0), 0, 0).value());
    EXPECT_FALSE(
        store().claim_idempotency_key(idempotency_claim("r2", "h", t0 + 100), 0, t0 + 50).value());
    // Released claims and expired answers are gone.
    ASSERT_TRUE(store().release_idempotency_key("k1 POST /candidates", "r2"));
    EXPECT_FALSE(store().claim_idempotency_key(idempotency_claim("r2", "h", t0), 0, 0).value());
    EXPECT_FALSE(store()
                     .claim_idempotency_key(idempotency_claim("r1", "h1", t0 + 2), t0 + 1, 0)
                     .value());
    EXPECT_EQ(store().complete_idempotency_key(idempotency_claim("zz", "h", 1)).error().code,
              Errc::invalid_argument);
}

// An uploaded zip comes back byte for byte (NULs included), with its size and digest; a
// replace keeps created_ms and reports it was not a create; a delete makes it gone for good.
TEST_F(SqliteStoreTest, AssignmentRoundTripsReplacesAndDeletes) {
    AssignmentRecord a;
    a.name = "graphs";
    a.title = "Graphs";
    a.delivery = DeliveryMode::link;
    a.bytes = std::string("PK\x03\x04\0\0binary\xff", 13);
    EXPECT_TRUE(store().put_assignment(a).value());
    auto got = store().get_assignment("graphs").value();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->bytes, a.bytes);
    EXPECT_EQ(got->size, 13);
    EXPECT_EQ(got->sha256, sha256_hex(a.bytes));
    EXPECT_EQ(got->delivery, DeliveryMode::link);
    const auto created = got->created_ms;

    clock_.advance(std::chrono::seconds(5));
    a.title = "Graphs, again";
    a.bytes = "PK\x05\x06";
    EXPECT_FALSE(store().put_assignment(a).value());
    reopen();
    auto listed = store().list_assignments().value();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].title, "Graphs, again");
    EXPECT_EQ(listed[0].size, 4);
    EXPECT_TRUE(listed[0].bytes.empty());
    EXPECT_EQ(listed[0].created_ms, created);
    EXPECT_EQ(listed[0].updated_ms, created + 5000);

    EXPECT_TRUE(store().delete_assignment("graphs"));
    EXPECT_FALSE(store().get_assignment("graphs").value());
    auto again = store().delete_assignment("graphs");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::not_found);
}

// Downloads are kept per candidate, oldest first, with time and client address.
TEST_F(SqliteStoreTest, DownloadsAreListedPerCandidateOldestFirst) {
    EXPECT_TRUE(store().downloads_for("c1", 10).value().empty());
    ASSERT_TRUE(store().add_download({0, "c1", "assignment1", 1000, "127.0.0.1"}));
    ASSERT_TRUE(store().add_download({0, "c2", "assignment2", 1500, "10.0.0.2"}));
    ASSERT_TRUE(store().add_download({0, "c1", "assignment1", 2000, "::1"}));
    auto got = store().downloads_for("c1", 10).value();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].at_ms, 1000);
    EXPECT_EQ(got[0].client, "127.0.0.1");
    EXPECT_EQ(got[1].client, "::1");
    EXPECT_EQ(got[1].assignment, "assignment1");
    EXPECT_EQ(store().downloads_for("c1", 1).value().size(), 1u);
    EXPECT_FALSE(store().add_download({0, "", "a", 1, ""}));
    EXPECT_FALSE(store().downloads_for("c1", 0));
}

}  // namespace
}  // namespace hirestream::store
