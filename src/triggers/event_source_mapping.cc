#include "triggers/event_source_mapping.h"

#include <algorithm>
#include <random>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/change_signal.h"
#include "common/ids.h"
#include "common/thread_name.h"

namespace hirestream::triggers {
namespace {

namespace json = boost::json;

std::string key_of(const store::ChangeRecord& record) { return json::serialize(record.keys); }

}  // namespace

EventSourceMapping::EventSourceMapping(store::Store& store, const Clock& clock,
                                       stream::StreamIdentity stream, int shard_count,
                                       Function& function, FilterCriteria filters,
                                       MappingOptions options, MappingServices services)
    : store_(store),
      clock_(clock),
      stream_(std::move(stream)),
      shard_count_(shard_count),
      function_(function),
      filters_(std::move(filters)),
      options_(std::move(options)),
      services_(services),
      function_arn_(fmt::format("arn:aws:lambda:{}:{}:function:{}", stream_.region,
                                stream_.account_id, function.name())) {
    status_.function = function_.name();
    status_.table = stream_.table;
    status_.enabled = options_.event.enabled;
    positions_.resize(static_cast<std::size_t>(std::max(shard_count_, 0)));
    if (services_.metrics) {
        const auto labels =
            fmt::format("function=\"{}\"", MetricsRegistry::label_value(function_.name()));
        auto& m = *services_.metrics;
        invocations_ = &m.counter("hirestream_function_invocations_total",
                                  "Invocations of a function by its stream mapping.", labels);
        errors_ = &m.counter("hirestream_function_errors_total",
                             "Invocations that ended in a function error.", labels);
        dead_letters_ = &m.counter("hirestream_function_dead_letter_records_total",
                                   "Records sent to the on-failure destination.", labels);
        duration_ = &m.histogram("hirestream_function_duration_seconds",
                                 "How long invocations took.",
                                 {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30}, labels);
        iterator_age_ = &m.gauge("hirestream_function_iterator_age_milliseconds",
                                 "Age of the last record of the last batch when it was done "
                                 "(Lambda's IteratorAge).",
                                 labels);
    }
}

EventSourceMapping::~EventSourceMapping() { stop(); }

std::string EventSourceMapping::consumer() const {
    return function_.name() + "@" + stream_.table;
}

void EventSourceMapping::start() {
    if (!options_.event.enabled) {
        spdlog::info("function disabled function={} (its checkpoint is kept)", function_.name());
        return;
    }
    start_threads();
}

void EventSourceMapping::stop() { stop_threads(); }

void EventSourceMapping::start_threads() {
    std::lock_guard lock(threads_mutex_);
    if (!threads_.empty()) return;
    for (int shard = 0; shard < shard_count_; ++shard) {
        threads_.emplace_back([this, shard](std::stop_token stop) {
            name_this_thread("hs-poll-" + std::to_string(shard));
            run(shard, stop);
        });
    }
}

void EventSourceMapping::stop_threads() {
    {
        std::lock_guard lock(threads_mutex_);
        for (auto& t : threads_) t.request_stop();
        threads_.clear();  // jthread joins
    }
    wait_for_saves();  // stopped means its checkpoints are durable
}

void EventSourceMapping::advance(int shard, std::uint64_t sequence) {
    {
        std::lock_guard lock(positions_mutex_);
        positions_[static_cast<std::size_t>(shard)] = sequence;
        ++saves_in_flight_;
    }
    store_.save_checkpoint_async(
        consumer(), stream_.table, shard, sequence, [this, shard, sequence](Result<void> saved) {
            if (!saved) {
                spdlog::error("cannot save checkpoint function={} shard={} sequence={} "
                              "error=\"{}\"",
                              function_.name(), shard, sequence, saved.error().message);
            }
            std::lock_guard lock(positions_mutex_);
            // Only while nothing newer was handled: a later save covers this one.
            auto& known = positions_[static_cast<std::size_t>(shard)];
            if (!saved && known == sequence) known.reset();
            --saves_in_flight_;
            saves_done_.notify_all();
        });
}

void EventSourceMapping::wait_for_saves() {
    std::unique_lock lock(positions_mutex_);
    saves_done_.wait(lock, [&] { return saves_in_flight_ == 0; });
}

void EventSourceMapping::set_enabled(bool enabled) {
    {
        std::lock_guard lock(status_mutex_);
        status_.enabled = enabled;
    }
    if (enabled) {
        start_threads();
        spdlog::info("function enabled function={}", function_.name());
    } else {
        stop_threads();
        spdlog::info("function disabled function={} (its checkpoint is kept)", function_.name());
    }
}

MappingStatus EventSourceMapping::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

Result<EventSourceMapping::Backlog> EventSourceMapping::records_behind() {
    // One more than the limit is counted, to tell "exactly the limit" from "more".
    std::uint64_t behind = 0;
    for (int shard = 0; shard < shard_count_ && behind <= kRecordsBehindLimit; ++shard) {
        auto handled = kept_position(shard);
        if (!handled) {
            auto checkpoint = store_.load_checkpoint(consumer(), stream_.table, shard);
            if (!checkpoint) return fail(checkpoint.error());
            handled = checkpoint->value_or(0);
        }
        auto n = store_.count_records_after(stream_.table, shard, *handled,
                                            kRecordsBehindLimit + 1 - behind);
        if (!n) return fail(n.error());
        behind += *n;
    }
    if (behind > kRecordsBehindLimit) return Backlog{kRecordsBehindLimit, true};
    return Backlog{behind, false};
}

Result<std::size_t> EventSourceMapping::poll_once() {
    std::size_t handled = 0;
    for (int shard = 0; shard < shard_count_; ++shard) {
        std::optional<std::int64_t> wait_ms;
        auto n = process_shard(shard, std::stop_token(), wait_ms);
        if (!n) return n;
        handled += *n;
    }
    return handled;
}

std::optional<std::uint64_t> EventSourceMapping::kept_position(int shard) {
    std::lock_guard lock(positions_mutex_);
    return positions_[static_cast<std::size_t>(shard)];
}

Result<std::uint64_t> EventSourceMapping::position(int shard) {
    if (auto known = kept_position(shard)) return *known;
    auto loaded = load_position(shard);
    if (!loaded) return loaded;
    std::lock_guard lock(positions_mutex_);
    auto& known = positions_[static_cast<std::size_t>(shard)];
    if (!known) known = *loaded;
    return *known;
}

Result<std::uint64_t> EventSourceMapping::load_position(int shard) {
    auto checkpoint = store_.load_checkpoint(consumer(), stream_.table, shard);
    if (!checkpoint) return fail(checkpoint.error());
    if (*checkpoint) return **checkpoint;
    if (options_.event.starting_position != config::StartingPosition::latest) return 0;
    // LATEST: start after what is in the shard now, and save that position at once (even 0, an
    // empty shard), so records written later, or while we are down, are not skipped.
    auto latest = store_.latest_sequence(stream_.table, shard);
    if (!latest) return fail(latest.error());
    if (auto saved = store_.save_checkpoint(consumer(), stream_.table, shard, *latest); !saved) {
        return fail(saved.error());
    }
    return *latest;
}

Result<std::size_t> EventSourceMapping::process_shard(int shard, std::stop_token stop,
                                                      std::optional<std::int64_t>& wait_ms) {
    auto after = position(shard);
    if (!after) return fail(after.error());
    const auto& ev = options_.event;
    const std::size_t want = static_cast<std::size_t>(ev.batch_size) *
                             static_cast<std::size_t>(std::max(1, ev.parallelization_factor));

    // Gather up to `want` matching records; `scanned_to` is the last record looked at, so
    // filtered records before it are passed over with the batch.
    std::vector<store::ChangeRecord> matched;
    std::uint64_t scanned_to = *after;
    std::uint64_t filtered = 0;
    bool end_of_shard = false;
    while (matched.size() < want && !end_of_shard) {
        const int limit = static_cast<int>(std::min<std::size_t>(want - matched.size(), 1000));
        auto records = store_.read_shard(stream_.table, shard, scanned_to, limit);
        if (!records) return fail(records.error());
        end_of_shard = records->size() < static_cast<std::size_t>(limit);
        for (auto& r : *records) {
            scanned_to = r.sequence;
            if (filters_.empty() || filters_.matches(stream::to_stream_record(r, stream_))) {
                matched.push_back(std::move(r));
            } else {
                ++filtered;
            }
        }
    }
    if (filtered > 0) {
        std::lock_guard lock(status_mutex_);
        status_.records_filtered += filtered;
    }
    if (matched.empty()) {
        if (scanned_to == *after) return std::size_t{0};
        advance(shard, scanned_to);
        return static_cast<std::size_t>(filtered);
    }

    // batchWindow: a batch that is not full waits until its first record is that old.
    if (ev.batch_window_seconds > 0 && matched.size() < want) {
        const auto deadline = matched.front().created_ms + ev.batch_window_seconds * 1000LL;
        const auto now = clock_.now_ms();
        if (now < deadline) {
            wait_ms = deadline - now;
            return std::size_t{0};
        }
    }

    const auto last_created_ms = matched.back().created_ms;
    const std::size_t count = matched.size();
    const int lanes = std::max(1, ev.parallelization_factor);
    if (lanes == 1) {
        if (auto done = run_lane(std::move(matched), shard, stop); !done) return fail(done.error());
    } else {
        // One lane per key hash: a key's records stay in one lane, in order.
        std::vector<std::vector<store::ChangeRecord>> split(static_cast<std::size_t>(lanes));
        for (auto& r : matched) {
            split[static_cast<std::size_t>(store::shard_for_key(key_of(r), lanes))].push_back(
                std::move(r));
        }
        std::vector<Result<void>> results(split.size());
        {
            std::vector<std::jthread> workers;
            for (std::size_t i = 0; i < split.size(); ++i) {
                if (split[i].empty()) continue;
                workers.emplace_back([&, i] { results[i] = run_lane(std::move(split[i]), shard, stop); });
            }
        }
        for (auto& r : results) {
            if (!r) return fail(r.error());
        }
    }
    advance(shard, scanned_to);
    const auto age = std::max<std::int64_t>(0, clock_.now_ms() - last_created_ms);
    if (iterator_age_) iterator_age_->set(static_cast<double>(age));
    std::lock_guard lock(status_mutex_);
    status_.iterator_age_ms = age;
    return count + static_cast<std::size_t>(filtered);
}

struct EventSourceMapping::Round {
    std::vector<store::ChangeRecord> records;
    int retries = 0;   // failed invocations of these records that counted as retries
    int invokes = 0;   // invocations of these records, for approximateInvokeCount
};

// Handles one lane's records to the end: each record is either part of a successful invocation
// or dead-lettered. Fails only when the store fails or a stop is requested; the caller then does
// not move the checkpoint, and the records come again (at-least-once).
Result<void> EventSourceMapping::run_lane(std::vector<store::ChangeRecord> records, int shard,
                                          std::stop_token stop) {
    const auto& ev = options_.event;
    const std::int64_t max_age_ms =
        ev.maximum_record_age_seconds >= 0
            ? ev.maximum_record_age_seconds * 1000LL
            : std::chrono::duration_cast<std::chrono::milliseconds>(options_.retention).count();
    std::vector<Round> queue;  // used as a stack: back() is next, so halves run in order
    queue.push_back(Round{std::move(records), 0, 0});
    while (!queue.empty()) {
        if (stop.stop_requested()) return fail(Errc::unavailable, "stopping");
        Round round = std::move(queue.back());
        queue.pop_back();

        // Records past their maximum age are not invoked again (AWS: RecordAgeExceeded). They
        // are the oldest, so they are a prefix.
        const auto now = clock_.now_ms();
        auto fresh = std::find_if(round.records.begin(), round.records.end(),
                                  [&](const auto& r) { return now - r.created_ms <= max_age_ms; });
        if (fresh != round.records.begin() && round.invokes > 0) {
            std::vector<store::ChangeRecord> expired(round.records.begin(), fresh);
            if (auto d = dead_letter(expired, shard, "RecordAgeExceeded", round.invokes,
                                     "records exceeded the maximum record age");
                !d) {
                return d;
            }
            round.records.erase(round.records.begin(), fresh);
            if (round.records.empty()) continue;
        }

        auto result = invoke(round.records, shard);
        ++round.invokes;
        std::size_t first_failed = 0;
        std::string error;
        const auto outcome = judge(result, round.records, first_failed, error);
        if (outcome == Outcome::success) {
            std::lock_guard lock(status_mutex_);
            status_.records_processed += round.records.size();
            status_.last_result = "OK";
            continue;
        }
        {
            std::lock_guard lock(status_mutex_);
            status_.last_result = "PROBLEM: Function call failed";
            status_.last_error = error;
            status_.last_error_ms = clock_.now_ms();
            if (outcome == Outcome::partial) status_.records_processed += first_failed;
        }
        if (outcome == Outcome::partial) {
            // ReportBatchItemFailures: what came before the lowest failed record is done.
            round.records.erase(round.records.begin(),
                                round.records.begin() + static_cast<std::ptrdiff_t>(first_failed));
        } else if (ev.bisect_batch_on_function_error && round.records.size() > 1) {
            // Split in halves; splitting is not a retry (AWS). The first half runs first.
            const auto mid = round.records.begin() +
                             static_cast<std::ptrdiff_t>(round.records.size() / 2);
            Round second{std::vector<store::ChangeRecord>(mid, round.records.end()),
                         round.retries, round.invokes};
            Round first{std::vector<store::ChangeRecord>(round.records.begin(), mid),
                        round.retries, round.invokes};
            queue.push_back(std::move(second));
            queue.push_back(std::move(first));
            continue;
        }
        ++round.retries;
        if (ev.maximum_retry_attempts >= 0 && round.retries > ev.maximum_retry_attempts) {
            if (auto d = dead_letter(round.records, shard, "RetryAttemptsExhausted",
                                     round.invokes, error);
                !d) {
                return d;
            }
            continue;
        }
        const auto delay = retry_delay(round.retries, result.retry_after);
        spdlog::warn("function batch failed function={} records={} retry={} retry_in_ms={} "
                     "error=\"{}\"",
                     function_.name(), round.records.size(), round.retries, delay.count(), error);
        if (!sleep_unless_stopped(delay, stop)) return fail(Errc::unavailable, "stopping");
        queue.push_back(std::move(round));
    }
    return {};
}

std::chrono::milliseconds EventSourceMapping::retry_delay(
    int retries, std::optional<std::chrono::milliseconds> retry_after) {
    // Exponential backoff with full jitter on the upper half (AWS Architecture Blog,
    // "Exponential Backoff and Jitter"), so a broken function is not hammered.
    thread_local std::mt19937_64 rng(std::random_device{}());
    const auto cap = std::min<std::int64_t>(
        options_.max_backoff.count(),
        options_.initial_backoff.count() << std::clamp(retries - 1, 0, 20));
    auto delay = std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(cap / 2, std::max<std::int64_t>(cap, 1))(rng));
    if (retry_after && *retry_after > delay) delay = *retry_after;
    return delay;
}

InvokeResult EventSourceMapping::invoke(const std::vector<store::ChangeRecord>& records,
                                        int shard) {
    const std::string request_id = new_uuid();
    const std::string& name = function_.name();
    auto* log = services_.log;
    if (log) log->start(name, request_id);
    InvocationContext context;
    context.request_id = request_id;
    context.timeout = function_.spec().timeout;
    context.log = [log, &name, &request_id](std::string_view line) {
        if (log) log->line(name, request_id, "INFO", line);
    };
    Batch batch{&stream_, shard, records};
    const auto started = std::chrono::steady_clock::now();
    InvokeResult result;
    try {
        result = function_.invoke(batch, context);
    } catch (const std::exception& e) {
        result.ok = false;
        result.error = fmt::format("the function threw: {}", e.what());
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (log) {
        if (!result.ok) log->line(name, request_id, "ERROR", result.error);
        log->end(name, request_id, ms, function_.spec().memory_size_mb,
                 result.max_memory_used_mb);
    }
    if (invocations_) invocations_->inc();
    if (duration_) duration_->observe(ms / 1000.0);
    {
        std::lock_guard lock(status_mutex_);
        ++status_.invocations;
        if (!result.ok) ++status_.failed_invocations;
    }
    if (!result.ok && errors_) errors_->inc();
    return result;
}

EventSourceMapping::Outcome EventSourceMapping::judge(
    const InvokeResult& result, const std::vector<store::ChangeRecord>& records,
    std::size_t& first_failed, std::string& error) const {
    if (!result.ok) {
        error = result.error;
        return Outcome::failure;
    }
    auto failures = parse_batch_item_failures(result.response);
    if (!failures) {
        // An answer that is not JSON is a function error whatever the response type; a JSON
        // answer is only read for batchItemFailures when ReportBatchItemFailures is on.
        const bool not_json = failures.error().message.find("not JSON") != std::string::npos;
        if (not_json || options_.event.report_batch_item_failures) {
            error = "malformed answer: " + failures.error().message;
            return Outcome::failure;
        }
        return Outcome::success;
    }
    if (!options_.event.report_batch_item_failures || failures->empty()) return Outcome::success;
    // Resume from the lowest failed sequence number. An identifier that names no record of the
    // batch makes the whole batch failed, as in AWS.
    std::size_t lowest = records.size();
    for (const auto& id : *failures) {
        auto seq = stream::parse_sequence_number(id);
        auto it = seq ? std::find_if(records.begin(), records.end(),
                                     [&](const auto& r) { return r.sequence == *seq; })
                      : records.end();
        if (it == records.end()) {
            error = fmt::format("batchItemFailures names '{}', which is not in the batch", id);
            return Outcome::failure;
        }
        lowest = std::min(lowest, static_cast<std::size_t>(it - records.begin()));
    }
    first_failed = lowest;
    error = fmt::format("the function reported {} failed record(s)", failures->size());
    return Outcome::partial;
}

Result<void> EventSourceMapping::dead_letter(const std::vector<store::ChangeRecord>& records,
                                             int shard, const std::string& condition,
                                             int invoke_count, const std::string& error) {
    const auto& destination = options_.event.on_failure;
    {
        std::lock_guard lock(status_mutex_);
        status_.dead_lettered += records.size();
    }
    if (dead_letters_) dead_letters_->inc(records.size());
    if (destination.empty()) {
        spdlog::error("records discarded (no on-failure destination) function={} records={} "
                      "condition={} error=\"{}\"",
                      function_.name(), records.size(), condition, error);
        return {};
    }
    const auto now = clock_.now_ms();
    // AWS's on-failure invocation record for a stream source, field for field.
    json::object request{{"requestId", new_uuid()},
                         {"functionArn", function_arn_},
                         {"condition", condition},
                         {"approximateInvokeCount", invoke_count}};
    json::object response{{"statusCode", 200},
                          {"executedVersion", "$LATEST"},
                          {"functionError", "Unhandled"}};
    json::object info{
        {"shardId", stream::shard_id(stream_, shard)},
        {"startSequenceNumber", stream::format_sequence_number(records.front().sequence)},
        {"endSequenceNumber", stream::format_sequence_number(records.back().sequence)},
        {"approximateArrivalOfFirstRecord", iso8601_ms(records.front().created_ms)},
        {"approximateArrivalOfLastRecord", iso8601_ms(records.back().created_ms)},
        {"batchSize", records.size()},
        {"streamArn", stream_.stream_arn()}};
    json::object record{{"requestContext", std::move(request)},
                        {"responseContext", std::move(response)},
                        {"version", "1.0"},
                        {"timestamp", iso8601_ms(now)},
                        {"DDBStreamBatchInfo", std::move(info)}};
    store::DeadLetter letter;
    letter.destination = destination;
    letter.function = function_.name();
    letter.table = stream_.table;
    letter.shard = shard;
    letter.condition = condition;
    letter.invocation_record = json::serialize(record);
    letter.records = render_event(Batch{&stream_, shard, records});
    letter.first_sequence = records.front().sequence;
    letter.last_sequence = records.back().sequence;
    letter.record_count = static_cast<int>(records.size());
    letter.created_ms = now;
    auto id = store_.add_dead_letter(letter);
    if (!id) return fail(id.error());
    spdlog::error("records sent to dead letters function={} destination={} dead_letter={} "
                  "records={} condition={} error=\"{}\"",
                  function_.name(), destination, *id, records.size(), condition, error);
    return {};
}

Result<void> EventSourceMapping::redrive(std::int64_t dead_letter_id) {
    auto letter = store_.get_dead_letter(dead_letter_id);
    if (!letter) return fail(letter.error());
    if (!*letter || (*letter)->function != function_.name()) {
        return fail(Errc::not_found,
                    fmt::format("no dead letter {} of function {}", dead_letter_id,
                                function_.name()),
                    "id");
    }
    boost::system::error_code ec;
    auto event = json::parse((*letter)->records, ec);
    const auto* list = !ec && event.is_object() ? event.as_object().if_contains("Records")
                                                : nullptr;
    if (!list || !list->is_array()) {
        return fail(Errc::internal, "the dead letter's records are unreadable");
    }
    std::vector<store::ChangeRecord> records;
    for (const auto& r : list->as_array()) {
        auto parsed = stream::parse_stream_record(r);
        if (!parsed) return fail(parsed.error());
        parsed->table = stream_.table;
        parsed->shard = (*letter)->shard;
        records.push_back(std::move(*parsed));
    }
    auto result = invoke(records, (*letter)->shard);
    std::size_t first_failed = 0;
    std::string error;
    if (judge(result, records, first_failed, error) != Outcome::success) {
        return fail(Errc::unavailable, "redrive failed: " + error);
    }
    spdlog::info("dead letter redriven function={} dead_letter={} records={}", function_.name(),
                 dead_letter_id, records.size());
    return store_.mark_dead_letter_redriven(dead_letter_id, clock_.now_ms());
}

void EventSourceMapping::run(int shard, std::stop_token stop) {
    auto& signal = store_.stream_signal();
    int failures = 0;
    while (!stop.stop_requested()) {
        // Read the version before working: a commit that lands meanwhile bumps it, and the wait
        // below then returns at once instead of missing the wake-up.
        const auto seen = signal.version();
        std::optional<std::int64_t> wait_ms;
        auto handled = process_shard(shard, stop, wait_ms);
        if (!handled) {
            if (stop.stop_requested()) break;
            ++failures;
            const auto delay = retry_delay(failures, std::nullopt);
            spdlog::warn("stream mapping cannot proceed function={} shard={} retry_in_ms={} "
                         "error=\"{}\"",
                         function_.name(), shard, delay.count(), handled.error().message);
            sleep_unless_stopped(delay, stop);
            continue;
        }
        failures = 0;
        if (*handled > 0) continue;  // more may be waiting: read again before sleeping
        auto wait = options_.idle_wait;
        if (wait_ms) wait = std::min(wait, std::chrono::milliseconds(std::max<std::int64_t>(1, *wait_ms)));
        signal.wait_past(seen, wait, stop);
    }
}

}  // namespace hirestream::triggers
