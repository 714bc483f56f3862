#include "triggers/event_source_mapping.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

namespace hirestream::triggers {

EventSourceMapping::EventSourceMapping(store::Store& store, const Clock& clock,
                                       stream::StreamIdentity stream, int shard_count,
                                       Function& function, MappingOptions options)
    : store_(store),
      clock_(clock),
      stream_(std::move(stream)),
      shard_count_(shard_count),
      function_(function),
      options_(options) {
    status_.function = function_.name();
    status_.enabled = options_.event.enabled;
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
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void EventSourceMapping::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
}

MappingStatus EventSourceMapping::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

Result<std::size_t> EventSourceMapping::poll_once() {
    std::size_t handled = 0;
    for (int shard = 0; shard < shard_count_; ++shard) {
        auto n = poll_shard(shard);
        if (!n) return n;
        handled += *n;
    }
    return handled;
}

Result<std::size_t> EventSourceMapping::poll_shard(int shard) {
    auto checkpoint = store_.load_checkpoint(consumer(), stream_.table, shard);
    if (!checkpoint) return fail(checkpoint.error());
    std::uint64_t after = checkpoint->value_or(0);
    if (!*checkpoint && options_.event.starting_position == config::StartingPosition::latest) {
        // LATEST: start after what is in the shard now, and save that position at once (even
        // 0, an empty shard), so records written later, or while we are down, are not skipped.
        auto latest = store_.latest_sequence(stream_.table, shard);
        if (!latest) return fail(latest.error());
        if (auto saved = store_.save_checkpoint(consumer(), stream_.table, shard, *latest);
            !saved) {
            return fail(saved.error());
        }
        after = *latest;
    }
    auto records = store_.read_shard(stream_.table, shard, after, options_.event.batch_size);
    if (!records) return fail(records.error());
    if (records->empty()) return std::size_t{0};

    Batch batch{&stream_, shard, std::move(*records)};
    const auto last_sequence = batch.records.back().sequence;
    const auto last_created_ms = batch.records.back().created_ms;
    const auto result = function_.invoke(batch);
    {
        std::lock_guard lock(status_mutex_);
        ++status_.invocations;
        if (!result.ok) {
            ++status_.failed_invocations;
            status_.last_error = result.error;
        }
    }
    if (!result.ok) {
        return fail(Errc::unavailable,
                    fmt::format("function {} failed: {}", function_.name(), result.error));
    }
    if (auto saved = store_.save_checkpoint(consumer(), stream_.table, shard, last_sequence);
        !saved) {
        return fail(saved.error());
    }
    std::lock_guard lock(status_mutex_);
    status_.records_processed += batch.records.size();
    status_.iterator_age_ms = std::max<std::int64_t>(0, clock_.now_ms() - last_created_ms);
    status_.last_error.clear();
    return batch.records.size();
}

void EventSourceMapping::run(std::stop_token stop) {
    std::mt19937_64 rng(std::random_device{}());
    auto& signal = store_.stream_signal();
    while (!stop.stop_requested()) {
        // Read the version before polling: a commit that lands while we poll bumps it, and the
        // wait below then returns at once instead of missing the wake-up.
        const auto seen = signal.version();
        auto handled = poll_once();
        if (!handled) {
            ++consecutive_failures_;
            // Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
            // and Jitter"), so a broken function is not hammered.
            const auto exp = std::min<std::int64_t>(
                options_.max_backoff.count(),
                options_.initial_backoff.count() << std::min(consecutive_failures_ - 1, 20));
            const auto delay = std::uniform_int_distribution<std::int64_t>(exp / 2, exp)(rng);
            spdlog::warn("function batch failed function={} attempt={} retry_in_ms={} error=\"{}\"",
                         function_.name(), consecutive_failures_, delay, handled.error().message);
            sleep_unless_stopped(std::chrono::milliseconds(delay), stop);
            continue;
        }
        consecutive_failures_ = 0;
        if (*handled > 0) continue;  // more may be waiting: read again before sleeping
        signal.wait_past(seen, options_.idle_wait, stop);
    }
}

}  // namespace hirestream::triggers
