#include "triggers/event_source_mapping.h"

#include <filesystem>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/ids.h"
#include "store/sqlite/fault_vfs.h"
#include "store/sqlite/sqlite_store.h"
#include "triggers/functions/assignment_function.h"

namespace hirestream::triggers {
namespace {

namespace fs = std::filesystem;

FunctionSpec test_spec(std::string name, std::string handler) {
    FunctionSpec spec;
    spec.name = std::move(name);
    spec.handler = std::move(handler);
    return spec;
}

class RecordingFunction final : public Function {
public:
    const FunctionSpec& spec() const override { return spec_; }
    InvokeResult invoke(const Batch& batch, const InvocationContext&) override {
        ++calls;
        if (fail_next) {
            fail_next = false;
            InvokeResult failed;
            failed.ok = false;
            failed.error = "injected failure";
            return failed;
        }
        for (const auto& r : batch.records) seen.push_back(r.sequence);
        return {};
    }
    FunctionSpec spec_ = test_spec("recorder", "test:recorder");
    int calls = 0;
    bool fail_next = false;
    std::vector<std::uint64_t> seen;
};

// A function whose answer a test scripts; it records every record it was handed, by outcome.
class ScriptedFunction final : public Function {
public:
    using Script = std::function<InvokeResult(const Batch&)>;
    explicit ScriptedFunction(Script script) : script_(std::move(script)) {}
    const FunctionSpec& spec() const override { return spec_; }
    InvokeResult invoke(const Batch& batch, const InvocationContext&) override {
        auto result = script_(batch);
        std::lock_guard lock(mutex_);
        ++calls;
        for (const auto& r : batch.records) {
            (result.ok ? succeeded : failed).push_back(r.sequence);
            order.emplace_back(boost::json::serialize(r.keys), r.sequence);
        }
        return result;
    }
    static InvokeResult error(std::string why) {
        InvokeResult r;
        r.ok = false;
        r.error = std::move(why);
        return r;
    }
    FunctionSpec spec_ = test_spec("scripted", "test:scripted");
    Script script_;
    std::mutex mutex_;
    int calls = 0;
    std::vector<std::uint64_t> succeeded, failed;
    std::vector<std::pair<std::string, std::uint64_t>> order;
};

class MappingTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hs-esm-" + random_hex(6));
        fs::create_directories(dir_);
        reopen();
    }
    void TearDown() override {
        store::test_faults::FaultVfs::refuse_writes = false;
        store_.reset();
        fs::remove_all(dir_);
    }
    // Opens the database of a table with `shards` shards (one file per shard count, since a
    // table's shard count is fixed), through `vfs` when given (store/sqlite/fault_vfs.h).
    void reopen(int shards = 2, std::string vfs = {}) {
        store_.reset();
        store::SqliteOptions opts{(dir_ / fmt::format("db-{}.sqlite", shards)).string()};
        opts.vfs = std::move(vfs);
        auto s = store::SqliteStore::open(opts, clock_);
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
        spec_.name = "candidates-test";
        spec_.shard_count = shards;
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
        o.initial_backoff = std::chrono::milliseconds(1);
        o.max_backoff = std::chrono::milliseconds(2);
        return o;
    }
    EventSourceMapping mapping(Function& fn, MappingOptions o, FilterCriteria filters = {}) {
        return EventSourceMapping(*store_, clock_, identity_, spec_.shard_count, fn,
                                  std::move(filters), std::move(o));
    }

    // Puts n items (experience i % 12) and returns their record sequences in order.
    std::vector<std::uint64_t> put_many(int n) {
        for (int i = 0; i < n; ++i) put(fmt::format("m{}@example.com", i), std::to_string(i % 12));
        return all_sequences();
    }
    std::vector<std::uint64_t> all_sequences() {
        std::vector<std::uint64_t> out;
        for (int shard = 0; shard < spec_.shard_count; ++shard) {
            const auto records = store_->read_shard(spec_.name, shard, 0, 10000).value();
            for (const auto& r : records) out.push_back(r.sequence);
        }
        std::sort(out.begin(), out.end());
        return out;
    }
    // Polls until nothing is left to do (a test's stand-in for the shard threads).
    void drain(EventSourceMapping& m) {
        for (int i = 0; i < 1000; ++i) {
            if (m.poll_once().value() == 0) return;
        }
        FAIL() << "the mapping never drained";
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
        EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, {}, options());
        ASSERT_EQ(m.poll_once().value(), 5u);
        EXPECT_EQ(m.poll_once().value(), 0u);
    }
    reopen();
    put("late@example.com", "4");
    EventSourceMapping again(*store_, clock_, identity_, spec_.shard_count, fn, {}, options());
    EXPECT_EQ(again.poll_once().value(), 1u);
    EXPECT_EQ(fn.seen.size(), 6u);
    std::set<std::uint64_t> unique(fn.seen.begin(), fn.seen.end());
    EXPECT_EQ(unique.size(), 6u);
}

// A failed batch is retried with the same records until it succeeds (maximumRetryAttempts -1,
// AWS's default); the error stays visible in the status after the success.
TEST_F(MappingTest, FailedBatchIsRetriedWithTheSameRecords) {
    reopen(1);
    for (int i = 0; i < 3; ++i) put(fmt::format("p{}@example.com", i), "3");
    RecordingFunction fn;
    fn.fail_next = true;
    EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, {}, options());
    EXPECT_EQ(m.poll_once().value(), 3u);
    EXPECT_EQ(fn.calls, 2);
    EXPECT_EQ(fn.seen.size(), 3u);
    EXPECT_EQ(m.status().last_error, "injected failure");
    EXPECT_EQ(m.status().last_result, "OK");
    EXPECT_EQ(m.records_behind().value().records, 0u);
}

// Batches never exceed batchSize, and shard order is kept within a batch.
TEST_F(MappingTest, BatchesRespectBatchSizeAndOrder) {
    for (int i = 0; i < 9; ++i) put(fmt::format("p{}@example.com", i), "3");
    RecordingFunction fn;
    EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, {}, options(2));
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
    EventSourceMapping m(*store_, clock_, identity_, spec_.shard_count, fn, {}, o);
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
    AssignmentFunction fn(test_spec("sendAssignment", "builtin:assignment"), *store_, clock_,
                          rules, "example.com");
    const auto junior = put("junior@example.com", "2");
    const auto senior = put("senior@example.com", "20");
    const auto bad = put("bad@example.com", "abc");
    std::vector<store::ChangeRecord> all;
    for (int shard = 0; shard < spec_.shard_count; ++shard) {
        auto recs = store_->read_shard(spec_.name, shard, 0, 100).value();
        all.insert(all.end(), recs.begin(), recs.end());
    }
    Batch batch{&identity_, 0, all};
    ASSERT_TRUE(fn.invoke(batch, {}).ok);
    ASSERT_TRUE(fn.invoke(batch, {}).ok);  // a replay adds nothing

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

// Stands in for the delivery engine's idle senders: grants up to `free` reservations and keeps
// what it is given (the engine's own side is tested in mail/delivery_worker_test).
class RecordingHandoff final : public store::DeliveryHandoff {
public:
    RecordingHandoff(int free, ChangeSignal& deliveries) : free_(free), deliveries_(deliveries) {}
    int reserve(int wanted) override {
        const int granted = std::min(wanted, free_);
        free_ -= granted;
        reserved += granted;
        return granted;
    }
    void give(store::Delivery d) override {
        --reserved;
        given.push_back(std::move(d));
        signal_at_give.push_back(deliveries_.version());
    }
    void cancel(int count) override { reserved -= count; }

    int free_;
    ChangeSignal& deliveries_;
    int reserved = 0;  // outstanding: 0 once the function is done
    std::vector<store::Delivery> given;
    std::vector<std::uint64_t> signal_at_give;  // the store's delivery signal at each give()
};

// Protects the hand-off's contract: as many new deliveries as there are idle senders are added
// claimed (SENDING, attempt 1) in the batch's one commit and given, with their ids; the rest are
// PENDING for the senders to claim; a candidate that already has its delivery gives nothing
// back and its reservation is returned. Senders are woken for the PENDING ones only after the
// gives: woken before, the reserved senders would claim those and leave the given ones waiting.
TEST_F(MappingTest, AssignmentFunctionHandsNewDeliveriesToIdleSenders) {
    AssignmentRules rules({}, "assignment3");
    RecordingHandoff handoff(2, store_->delivery_signal());
    AssignmentFunction fn(test_spec("sendAssignment", "builtin:assignment"), *store_, clock_,
                          rules, "example.com", &handoff);
    const auto first = put("first@example.com", "2");
    std::vector<store::ChangeRecord> all;
    auto read_all = [&] {
        all.clear();
        for (int shard = 0; shard < spec_.shard_count; ++shard) {
            auto recs = store_->read_shard(spec_.name, shard, 0, 100).value();
            all.insert(all.end(), recs.begin(), recs.end());
        }
        std::sort(all.begin(), all.end(),
                  [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
    };
    read_all();
    ASSERT_TRUE(fn.invoke(Batch{&identity_, 0, all}, {}).ok);  // first: given
    ASSERT_EQ(handoff.given.size(), 1u);
    handoff.free_ = 2;
    const auto second = put("second@example.com", "3");
    const auto third = put("third@example.com", "4");
    read_all();  // first (a replay), second, third: two reservations for three sendable
    const auto signal_before = store_->delivery_signal().version();
    ASSERT_TRUE(fn.invoke(Batch{&identity_, 0, all}, {}).ok);
    EXPECT_EQ(handoff.reserved, 0);
    ASSERT_EQ(handoff.signal_at_give.size(), 2u);
    EXPECT_EQ(handoff.signal_at_give[1], signal_before);  // no wake-up before the give
    EXPECT_GT(store_->delivery_signal().version(), signal_before);  // then one for "third"
    ASSERT_EQ(handoff.given.size(), 2u);
    EXPECT_EQ(handoff.given[0].candidate_id, first);
    EXPECT_EQ(handoff.given[1].candidate_id, second);
    for (const auto& g : handoff.given) {
        auto stored = store_->get_delivery(g.candidate_id, "assignment").value();
        ASSERT_TRUE(stored);
        EXPECT_EQ(stored->state, store::DeliveryState::sending);
        EXPECT_EQ(stored->attempts, 1);
        EXPECT_EQ(g.id, stored->id);
        EXPECT_EQ(g.message_id, stored->message_id);
    }
    EXPECT_EQ(store_->get_delivery(third, "assignment").value()->state,
              store::DeliveryState::pending);
    auto claimable = store_->claim_due_deliveries(clock_.now_ms(), 10).value();
    ASSERT_EQ(claimable.size(), 1u);
    EXPECT_EQ(claimable[0].candidate_id, third);
}

}  // namespace
}  // namespace hirestream::triggers

namespace hirestream::triggers {
namespace {

// filterPatterns keep only INSERTs: MODIFY and REMOVE records never reach the function, and the
// checkpoint moves past them (nothing is behind afterwards).
TEST_F(MappingTest, FilterSkipsRecordsAndMovesTheCheckpoint) {
    const auto id = put("f@example.com", "3");
    store::ItemUpdate u;
    u.set["evaluated"] = boost::json::object{{"BOOL", true}};
    ASSERT_TRUE(store_->update_item(spec_.name, id, u));
    ASSERT_TRUE(store_->delete_item(spec_.name, id));
    ScriptedFunction fn([](const Batch& b) {
        for (const auto& r : b.records) EXPECT_EQ(r.event_name, store::EventName::insert);
        return InvokeResult{};
    });
    auto filters = FilterCriteria::parse({R"({"eventName": ["INSERT"]})"});
    ASSERT_TRUE(filters);
    auto m = mapping(fn, options(), *filters);
    drain(m);
    EXPECT_EQ(fn.calls, 1);
    EXPECT_EQ(fn.succeeded.size(), 1u);
    EXPECT_EQ(m.status().records_filtered, 2u);
    EXPECT_EQ(m.records_behind().value().records, 0u);
}

// batchWindow holds a batch that is not full until its first record is that old.
TEST_F(MappingTest, BatchWindowWaitsToFillTheBatch) {
    put("w1@example.com", "3");
    ScriptedFunction fn([](const Batch&) { return InvokeResult{}; });
    auto o = options(10);
    o.event.batch_window_seconds = 5;
    auto m = mapping(fn, o);
    EXPECT_EQ(m.poll_once().value(), 0u);
    clock_.advance(std::chrono::seconds(4));
    EXPECT_EQ(m.poll_once().value(), 0u);
    EXPECT_EQ(fn.calls, 0);
    clock_.advance(std::chrono::seconds(1));
    EXPECT_EQ(m.poll_once().value(), 1u);
    EXPECT_EQ(fn.calls, 1);
}

// maximumRetryAttempts N: a batch that always fails is invoked 1 + N times, then goes to the
// on-failure destination with AWS's invocation record, and the shard flows on.
TEST_F(MappingTest, RetriesThenDeadLettersWithAwsInvocationRecord) {
    const auto seqs = put_many(3);
    ScriptedFunction fn([](const Batch&) { return ScriptedFunction::error("boom"); });
    auto o = options();
    o.event.maximum_retry_attempts = 2;
    o.event.on_failure = "deadletters";
    auto m = mapping(fn, o);
    drain(m);
    EXPECT_EQ(m.records_behind().value().records, 0u);
    auto letters = store_->list_dead_letters("scripted", 0, 10).value();
    ASSERT_FALSE(letters.empty());
    std::size_t dead = 0;
    for (const auto& l : letters) {
        dead += static_cast<std::size_t>(l.record_count);
        EXPECT_EQ(l.condition, "RetryAttemptsExhausted");
        EXPECT_EQ(l.destination, "deadletters");
        auto record = boost::json::parse(l.invocation_record).as_object();
        const auto& ctx = record.at("requestContext").as_object();
        EXPECT_EQ(ctx.at("condition"), "RetryAttemptsExhausted");
        EXPECT_EQ(ctx.at("approximateInvokeCount"), 3);
        EXPECT_EQ(ctx.at("functionArn").as_string(),
                  "arn:aws:lambda:us-east-1:000000000000:function:scripted");
        EXPECT_EQ(record.at("version"), "1.0");
        EXPECT_EQ(record.at("responseContext").at("functionError"), "Unhandled");
        const auto& info = record.at("DDBStreamBatchInfo").as_object();
        EXPECT_EQ(info.at("streamArn").as_string(), identity_.stream_arn());
        EXPECT_EQ(info.at("batchSize"), l.record_count);
        EXPECT_EQ(info.at("startSequenceNumber").as_string(),
                  stream::format_sequence_number(l.first_sequence));
        EXPECT_EQ(info.at("endSequenceNumber").as_string(),
                  stream::format_sequence_number(l.last_sequence));
        EXPECT_TRUE(info.at("shardId").as_string().starts_with("shardId-"));
        auto records = boost::json::parse(l.records).as_object().at("Records").as_array();
        EXPECT_EQ(records.size(), static_cast<std::size_t>(l.record_count));
    }
    EXPECT_EQ(dead, seqs.size());
    EXPECT_EQ(fn.calls, static_cast<int>(3 * letters.size()));
    EXPECT_EQ(store_->count_pending_dead_letters("scripted").value(), letters.size());
}

// maximumRecordAgeInSeconds: records older than that are not retried again; they go to the
// destination with RecordAgeExceeded.
TEST_F(MappingTest, RecordsPastTheirMaximumAgeAreDeadLettered) {
    reopen(1);
    put("old@example.com", "3");
    ScriptedFunction fn([this](const Batch&) {
        clock_.advance(std::chrono::seconds(61));  // each attempt takes a while
        return ScriptedFunction::error("boom");
    });
    auto o = options();
    o.event.maximum_record_age_seconds = 60;
    o.event.on_failure = "deadletters";
    auto m = mapping(fn, o);
    drain(m);
    auto letters = store_->list_dead_letters("scripted", 0, 10).value();
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].condition, "RecordAgeExceeded");
    EXPECT_EQ(fn.calls, 1);
}

// bisectBatchOnFunctionError: one poison record among 100 is isolated in a handful of
// invocations, every other record succeeds exactly once, the poison reaches the dead letters.
TEST_F(MappingTest, BisectIsolatesOnePoisonRecordAmongAHundred) {
    reopen(1);
    const auto seqs = put_many(100);
    const auto poison = seqs[37];
    ScriptedFunction fn([poison](const Batch& b) {
        for (const auto& r : b.records) {
            if (r.sequence == poison) return ScriptedFunction::error("poison");
        }
        return InvokeResult{};
    });
    auto o = options(100);
    o.event.bisect_batch_on_function_error = true;
    o.event.maximum_retry_attempts = 1;
    o.event.on_failure = "deadletters";
    auto m = mapping(fn, o);
    drain(m);
    std::map<std::uint64_t, int> successes;
    for (auto seq : fn.succeeded) ++successes[seq];
    EXPECT_EQ(successes.size(), 99u);
    for (auto [seq, n] : successes) EXPECT_EQ(n, 1) << seq;
    EXPECT_EQ(successes.count(poison), 0u);
    EXPECT_LE(fn.calls, 2 * 8 + 2);  // log2(100) levels of halves, plus the poison's retry
    auto letters = store_->list_dead_letters("scripted", 0, 10).value();
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].first_sequence, poison);
    EXPECT_EQ(letters[0].record_count, 1);
}

// ReportBatchItemFailures: processing resumes from the lowest failed sequence number; what came
// before it is not invoked again.
TEST_F(MappingTest, ReportBatchItemFailuresResumesFromTheLowestFailure) {
    reopen(1);
    const auto seqs = put_many(10);
    int call = 0;
    ScriptedFunction fn([&](const Batch& b) {
        InvokeResult r;
        if (++call == 1) {
            r.response = fmt::format(
                R"({{"batchItemFailures":[{{"itemIdentifier":"{}"}},{{"itemIdentifier":"{}"}}]}})",
                stream::format_sequence_number(b.records[7].sequence),
                stream::format_sequence_number(b.records[4].sequence));
        }
        return r;
    });
    auto o = options();
    o.event.report_batch_item_failures = true;
    auto m = mapping(fn, o);
    drain(m);
    ASSERT_EQ(fn.calls, 2);
    std::vector<std::uint64_t> second(fn.order.size() - 10);
    for (std::size_t i = 10; i < fn.order.size(); ++i) second[i - 10] = fn.order[i].second;
    EXPECT_EQ(second, std::vector<std::uint64_t>(seqs.begin() + 4, seqs.end()));
    EXPECT_EQ(m.records_behind().value().records, 0u);
}

// An answer that is not JSON, or names a record outside the batch, fails the whole batch.
TEST_F(MappingTest, MalformedAnswersFailTheBatch) {
    reopen(1);
    put("x@example.com", "3");
    int call = 0;
    ScriptedFunction fn([&](const Batch&) {
        InvokeResult r;
        if (++call == 1) r.response = "<html>oops</html>";
        if (call == 2) r.response = R"({"batchItemFailures":[{"itemIdentifier":"42"}]})";
        return r;
    });
    auto o = options();
    o.event.report_batch_item_failures = true;
    auto m = mapping(fn, o);
    drain(m);
    EXPECT_EQ(fn.calls, 3);
    EXPECT_NE(m.status().last_error.find("not in the batch"), std::string::npos);
}

// parallelizationFactor 4 under concurrent writes: every record is handled and the records of
// one item always arrive in write order.
TEST_F(MappingTest, ParallelLanesKeepOrderPerItem) {
    reopen(1);
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(put(fmt::format("p{}@example.com", i), "1"));
    ScriptedFunction fn([](const Batch&) { return InvokeResult{}; });
    auto o = options(5);
    o.event.parallelization_factor = 4;
    auto m = mapping(fn, o);
    std::atomic<bool> writing{true};
    std::thread writer([&] {
        for (int round = 0; round < 20; ++round) {
            for (const auto& id : ids) {
                store::ItemUpdate u;
                u.set["round"] = boost::json::object{{"N", std::to_string(round)}};
                ASSERT_TRUE(store_->update_item(spec_.name, id, u));
            }
        }
        writing = false;
    });
    while (writing) (void)m.poll_once();
    writer.join();
    drain(m);
    EXPECT_EQ(fn.succeeded.size(), 8u + 8u * 20u);
    std::map<std::string, std::uint64_t> last;
    for (const auto& [key, seq] : fn.order) {
        EXPECT_GT(seq, last[key]) << key;
        last[key] = seq;
    }
}

// A dead letter keeps its records: once the function is fixed they can be redriven, after the
// stream has trimmed them.
TEST_F(MappingTest, DeadLettersCanBeRedrivenAfterTheStreamTrimmedThem) {
    reopen(1);
    put("r@example.com", "3");
    bool broken = true;
    ScriptedFunction fn([&](const Batch&) {
        return broken ? ScriptedFunction::error("down") : InvokeResult{};
    });
    auto o = options();
    o.event.maximum_retry_attempts = 0;
    o.event.on_failure = "deadletters";
    auto m = mapping(fn, o);
    drain(m);
    auto letters = store_->list_dead_letters("scripted", 0, 10).value();
    ASSERT_EQ(letters.size(), 1u);
    clock_.advance(std::chrono::hours(25));
    ASSERT_TRUE(store_->trim_stream(spec_.name, clock_.now_ms(), {}));
    EXPECT_TRUE(all_sequences().empty());
    auto again = m.redrive(letters[0].id);
    EXPECT_FALSE(again);
    broken = false;
    ASSERT_TRUE(m.redrive(letters[0].id));
    EXPECT_EQ(fn.succeeded.size(), 1u);
    EXPECT_EQ(store_->count_pending_dead_letters("scripted").value(), 0u);
    EXPECT_EQ(m.redrive(9999).error().code, Errc::not_found);
}

// Disabling keeps the checkpoint; enabling resumes from it, on the mapping's own threads.
TEST_F(MappingTest, DisableKeepsTheCheckpointAndEnableResumes) {
    ScriptedFunction fn([](const Batch&) { return InvokeResult{}; });
    auto o = options();
    o.idle_wait = std::chrono::milliseconds(5);
    auto m = mapping(fn, o);
    m.start();
    put("one@example.com", "3");
    auto wait_for = [&](std::size_t n) {
        for (int i = 0; i < 2000 && [&] {
                 std::lock_guard lock(fn.mutex_);
                 return fn.succeeded.size() < n;
             }();
             ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        std::lock_guard lock(fn.mutex_);
        return fn.succeeded.size();
    };
    EXPECT_EQ(wait_for(1), 1u);
    m.set_enabled(false);
    EXPECT_FALSE(m.status().enabled);
    put("two@example.com", "3");
    EXPECT_EQ(m.records_behind().value().records, 1u);
    m.set_enabled(true);
    EXPECT_EQ(wait_for(2), 2u);
    m.stop();
    EXPECT_EQ(m.records_behind().value().records, 0u);
}

// Protects GET /functions with millions behind: the count stops past its limit and says so,
// exact below it.
TEST_F(MappingTest, RecordsBehindIsCountedUpToItsLimit) {
    ScriptedFunction fn([](const Batch&) { return InvokeResult{}; });
    auto m = mapping(fn, options());
    constexpr auto kLimit = EventSourceMapping::kRecordsBehindLimit;
    std::uint64_t stored = 0;
    auto store_up_to = [&](std::uint64_t n) {
        while (stored < n) {
            std::vector<store::Item> items;
            for (; stored < n && items.size() < 1000; ++stored) {
                store::Item item;
                item.set_string("id", fmt::format("bulk-{}", stored));
                items.push_back(std::move(item));
            }
            auto written = store_->put_items(spec_.name, items, store::PutMode::create_only);
            ASSERT_TRUE(written) << written.error().message;
        }
    };
    store_up_to(kLimit);
    auto exact = m.records_behind().value();
    EXPECT_EQ(exact.records, kLimit);
    EXPECT_FALSE(exact.capped);
    store_up_to(kLimit + 1);
    auto capped = m.records_behind().value();
    EXPECT_EQ(capped.records, kLimit);
    EXPECT_TRUE(capped.capped);
}

// Protects at-least-once with checkpoints saved without waiting: when a save fails (the disk
// refuses writes), the kept position is dropped, so the batch runs again once writes commit,
// and the checkpoint is durable after that.
TEST_F(MappingTest, AFailedCheckpointSaveRunsTheBatchAgain) {
    using store::test_faults::FaultVfs;
    reopen(1, FaultVfs::install());
    for (int i = 0; i < 3; ++i) put(fmt::format("f{}@example.com", i), "3");
    ScriptedFunction fn([](const Batch&) { return InvokeResult{}; });
    {
        auto m = mapping(fn, options());
        FaultVfs::refuse_writes = true;
        EXPECT_EQ(m.poll_once().value(), 3u);  // invoked; its checkpoint's commit fails
        bool dropped = false;
        for (int i = 0; i < 5000 && !dropped; ++i) {  // the save fails on the committer
            dropped = m.records_behind().value().records == 3;
            if (!dropped) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        FaultVfs::refuse_writes = false;
        ASSERT_TRUE(dropped) << "the position was kept after its save failed";
        EXPECT_EQ(m.poll_once().value(), 3u);  // the same records again
        EXPECT_EQ(m.poll_once().value(), 0u);
    }  // stopped: its saves are durable
    {
        std::lock_guard lock(fn.mutex_);
        EXPECT_EQ(fn.calls, 2);
        EXPECT_EQ(fn.succeeded.size(), 6u);
    }
    reopen(1);
    auto m = mapping(fn, options());
    EXPECT_EQ(m.records_behind().value().records, 0u);
    EXPECT_EQ(m.poll_once().value(), 0u);
}

}  // namespace
}  // namespace hirestream::triggers
