#include "triggers/event_source_mapping.h"

#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/ids.h"
#include "store/sqlite/sqlite_store.h"
#include "triggers/functions/assignment_function.h"

namespace hirestream::triggers {
namespace {

namespace fs = std::filesystem;

class RecordingFunction final : public Function {
public:
    const std::string& name() const override { return name_; }
    InvokeResult invoke(const Batch& batch) override {
        ++calls;
        if (fail_next) {
            fail_next = false;
            return {false, "injected failure"};
        }
        for (const auto& r : batch.records) seen.push_back(r.sequence);
        return {};
    }
    std::string name_ = "recorder";
    int calls = 0;
    bool fail_next = false;
    std::vector<std::uint64_t> seen;
};

class MappingTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hs-esm-" + random_hex(6));
        fs::create_directories(dir_);
        reopen();
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }
    void reopen() {
        store_.reset();
        auto s = store::SqliteStore::open({(dir_ / "db.sqlite").string()}, clock_);
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
        spec_.name = "candidates-test";
        spec_.shard_count = 2;
        spec_.unique_attributes = {"email"};
        auto info = store_->ensure_table(spec_);
        ASSERT_TRUE(info) << info.error().message;
        identity_ = {"us-east-1", "000000000000", spec_.name, info->stream_label};
    }
    // `experience` is stored as N, or as S when it is not a number (a record another writer
    // could produce).
    std::string put(const std::string& email, const std::string& experience) {
        store::Item item;
        const auto id = new_uuid();
        item.set_string("id", id);
        item.set_string("email", email);
        item.set_string("fullname", "Test Person");
        if (store::is_dynamodb_number(experience)) {
            item.set_number("experience", experience);
        } else {
            item.set_string("experience", experience);
        }
        auto r = store_->put_item(spec_.name, item, store::PutMode::create_only);
        EXPECT_TRUE(r) << r.error().message;
        return id;
    }
    MappingOptions options(int batch = 100) {
        MappingOptions o;
        o.event.batch_size = batch;
        return o;
    }

    fs::path dir_;
    ManualClock clock_;
    std::unique_ptr<store::SqliteStore> store_;
    store::TableSpec spec_;
    stream::StreamIdentity identity_;
};

// Every record reaches the function once, and a restart resumes after the checkpoint.
TEST_F(MappingTest, CheckpointSurvivesRestartAndNothingIsRedelivered) {
    for (int i = 0; i < 5; ++i) put(fmt::format("p{}@example.com", i), "3");
    RecordingFunction fn;
    {
        EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, options());
        ASSERT_EQ(m.poll_once().value(), 5u);
        EXPECT_EQ(m.poll_once().value(), 0u);
    }
    reopen();
    put("late@example.com", "4");
    EventSourceMapping again(*store_, clock_, identity_, spec_.shard_count, fn, options());
    EXPECT_EQ(again.poll_once().value(), 1u);
    EXPECT_EQ(fn.seen.size(), 6u);
    std::set<std::uint64_t> unique(fn.seen.begin(), fn.seen.end());
    EXPECT_EQ(unique.size(), 6u);
}

// A failed batch does not move the checkpoint: the same records come again.
TEST_F(MappingTest, FailedBatchIsRetriedFromTheSameCheckpoint) {
    for (int i = 0; i < 3; ++i) put(fmt::format("p{}@example.com", i), "3");
    RecordingFunction fn;
    fn.fail_next = true;
    EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, options());
    EXPECT_FALSE(m.poll_once());
    EXPECT_FALSE(m.status().last_error.empty());
    EXPECT_EQ(m.poll_once().value(), 3u);
    EXPECT_EQ(fn.seen.size(), 3u);
    EXPECT_TRUE(m.status().last_error.empty());
}

// Batches never exceed batchSize, and shard order is kept within a batch.
TEST_F(MappingTest, BatchesRespectBatchSizeAndOrder) {
    for (int i = 0; i < 9; ++i) put(fmt::format("p{}@example.com", i), "3");
    RecordingFunction fn;
    EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, options(2));
    std::size_t total = 0;
    while (true) {
        auto n = m.poll_once().value();
        EXPECT_LE(n, 4u);  // two shards, at most 2 each
        if (n == 0) break;
        total += n;
    }
    EXPECT_EQ(total, 9u);
}

// LATEST skips what was in the stream before the mapping first ran, but not later writes.
TEST_F(MappingTest, LatestStartsAfterExistingRecords) {
    put("old@example.com", "3");
    RecordingFunction fn;
    auto o = options();
    o.event.starting_position = config::StartingPosition::latest;
    EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, o);
    EXPECT_EQ(m.poll_once().value(), 0u);
    put("new@example.com", "3");
    EXPECT_EQ(m.poll_once().value(), 1u);
}

// The built-in function records exactly one delivery per candidate, even when its batch is
// replayed, and a record without a valid experience is FAILED with the reason.
TEST_F(MappingTest, AssignmentFunctionRecordsOneDeliveryPerCandidate) {
    AssignmentRules rules({config::Rule{"assignment1", config::NumberRange{std::nullopt, 0.0,
                                                                           std::nullopt, 5.0}}},
                          "assignment3");
    AssignmentFunction fn("sendAssignment", *store_, clock_, rules, "example.com");
    const auto junior = put("junior@example.com", "2");
    const auto senior = put("senior@example.com", "20");
    const auto bad = put("bad@example.com", "abc");
    std::vector<store::ChangeRecord> all;
    for (int shard = 0; shard < spec_.shard_count; ++shard) {
        auto recs = store_->read_shard(spec_.name, shard, 0, 100).value();
        all.insert(all.end(), recs.begin(), recs.end());
    }
    Batch batch{&identity_, 0, all};
    ASSERT_TRUE(fn.invoke(batch).ok);
    ASSERT_TRUE(fn.invoke(batch).ok);  // a replay adds nothing

    auto d1 = store_->get_delivery(junior, "assignment").value();
    ASSERT_TRUE(d1);
    EXPECT_EQ(d1->assignment, "assignment1");
    EXPECT_EQ(d1->state, store::DeliveryState::pending);
    EXPECT_EQ(d1->message_id, assignment_message_id(junior, "assignment1", "example.com"));
    EXPECT_EQ(store_->get_delivery(senior, "assignment").value()->assignment, "assignment3");
    auto d3 = store_->get_delivery(bad, "assignment").value();
    ASSERT_TRUE(d3);
    EXPECT_EQ(d3->state, store::DeliveryState::failed);
    EXPECT_NE(d3->last_reply.find("experience"), std::string::npos);
    EXPECT_EQ(store_->claim_due_deliveries(clock_.now_ms(), 10).value().size(), 2u);
}

}  // namespace
}  // namespace hirestream::triggers
